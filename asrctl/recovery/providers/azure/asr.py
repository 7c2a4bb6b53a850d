"""Pure mapping between asrctl's plan vocabulary and ASR's REST inputs/outputs (no network, unit-testable).

* :func:`stack_azure_ids` — resource group, vault, test VNet, policies, cache account and Automation account of a
  stack, named exactly as the Pulumi program names them (:mod:`asrctl.infra.naming`).
* :func:`operation_request` — which per-item ASR action an operation is, and its SDK input model.
* :func:`machine_state` — ASR's ``protection_state`` / ``active_location`` / ``allowed_operations`` → asrctl's
  machine state vocabulary.
* :func:`recovery_plan_context` — the ``RecoveryPlanContext`` ASR hands to Automation runbooks.

Classic VMware → Azure facts this relies on (per-item API, SDK 2.0.0). The InMageRcm (modernized) inputs and the
corrections of REFERENCE.md §5 are not applied yet: see the open issue on modernized operations.
* ``InMageAzureV2`` failover inputs take a **recovery point id**, not a type: ``latest`` sends none (ASR processes
  all pending data first), the other types pick the newest point of that kind from the item's recovery points.
* VMware → Azure has no "planned failover" provider input: a planned failover is an unplanned failover with
  ``sourceSiteOperations: Required`` (ASR shuts the source VMs down and syncs the last changes first).
* Failback (Azure → VMware) is an unplanned failover in direction ``RecoveryToPrimary`` with an ``InMage`` input
  whose point type is ``LatestTime`` or ``LatestTag`` (app-consistent). It must then be **committed**
  (``commit-failback``) before the VM can be re-protected to Azure (``reenable``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.recovery.operations import OPERATIONS
from asrctl.recovery.providers.protocol import OperationRejected

ASR_DIRECTIONS = {"primary-to-recovery": "PrimaryToRecovery", "recovery-to-primary": "RecoveryToPrimary"}
# ASR's recovery plan input enumerations, kept for the recovery-plan API and reports.
RECOVERY_POINT_TYPE_ASR = {
    "latest": "Latest",
    "latest-processed": "LatestProcessed",
    "latest-app-consistent": "LatestApplicationConsistent",
    "latest-crash-consistent": "LatestCrashConsistent",
}
# Which recovery points a per-item failover may use, by asrctl type (None: any kind, newest first).
POINT_KIND = {"latest-processed": None, "latest-app-consistent": "ApplicationConsistent",
              "latest-crash-consistent": "CrashConsistent"}  # fmt: skip


def asr_names(operation: str, architecture: str = "classic"):  # noqa: ANN201 - operations.AsrNames
    """ASR's action, allowedOperations entry and job scenario names of an operation (the operations table)."""
    op = OPERATIONS[operation]
    if architecture not in op.asr:
        raise OperationRejected(f"{op.title} does not exist for {architecture} replication")
    return op.asr[architecture]  # type: ignore[index]


def operation_of_scenario(scenario: str | None, architecture: str = "classic") -> str:
    """Our operation for an ASR job scenario name (reconciliation of a running job)."""
    for name, op in OPERATIONS.items():
        names = op.asr.get(architecture)  # type: ignore[call-overload]
        if names is not None and scenario in names.scenarios:
            return name
    return scenario or "unknown"
CLIENT_REQUEST_NAMESPACE = uuid.UUID("6f1d3c2a-5b7e-4e59-9f4c-2a8d1b0c7e31")


def client_request_id(request_id: str) -> str:
    """ARM wants a bare GUID in ``x-ms-client-request-id``; derive it from the engine's stable request id so a
    resumed run sends (and finds) the same one."""
    return str(uuid.uuid5(CLIENT_REQUEST_NAMESPACE, request_id))


@dataclass(frozen=True)
class StackAzureIds:
    subscription_id: str
    resource_group: str
    vault: str
    test_network_id: str
    replication_policy_id: str
    failback_policy_id: str
    cache_storage_id: str
    automation_account: str

    @property
    def vault_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{self.vault}"
        )


def stack_azure_ids(cfg: StackConfig) -> StackAzureIds:
    """Names as the Pulumi program creates them (asrctl.infra.naming); ids built from them."""
    from asrctl.infra.naming import AzureNames, region_short_name

    names = AzureNames(cfg.environment, cfg.location)
    sub, rg, vault = cfg.subscription_id, names.resource_group, names.vault
    rg_id = f"/subscriptions/{sub}/resourceGroups/{rg}"
    vault_id = f"{rg_id}/providers/Microsoft.RecoveryServices/vaults/{vault}"
    return StackAzureIds(
        subscription_id=sub,
        resource_group=rg,
        vault=vault,
        test_network_id=f"{rg_id}/providers/Microsoft.Network/virtualNetworks/{names.virtual_network('test')}",
        replication_policy_id=f"{vault_id}/replicationPolicies/{names.replication_policy('replication')}",
        failback_policy_id=f"{vault_id}/replicationPolicies/{names.replication_policy('failback')}",
        cache_storage_id=f"{rg_id}/providers/Microsoft.Storage/storageAccounts/{names.storage_account('cache')}",
        # naming.py has no Automation account rule yet: CAF prefix "aa-" with the same suffix as every other name.
        automation_account=f"aa-asr-{cfg.environment}-{region_short_name(cfg.location)}",
    )


def pick_recovery_point(points: list[Any], recovery_point_type: str) -> str | None:
    """The recovery point id a per-item failover should use (None = ASR's "Latest")."""
    if recovery_point_type == "latest":
        return None
    if recovery_point_type not in POINT_KIND:
        raise BadInput(f"--recovery-point {recovery_point_type!r} is not one of {', '.join(RECOVERY_POINT_TYPE_ASR)}")
    kind = POINT_KIND[recovery_point_type]
    usable = [
        p
        for p in points
        if p.properties is not None
        and p.properties.recovery_point_time is not None
        and (kind is None or (p.properties.recovery_point_type or "").lower() == kind.lower())
    ]
    if not usable:
        raise OperationRejected(f"no {recovery_point_type} recovery point exists; choose another --recovery-point")
    return max(usable, key=lambda p: p.properties.recovery_point_time).id


def operation_request(
    operation: str,
    cfg: StackConfig,
    ids: StackAzureIds,
    *,
    direction: str,
    recovery_point_type: str = "latest",
    recovery_point_id: str | None = None,
    comment: str = "asrctl",
) -> tuple[str, Any]:
    """(ASR action, SDK input model or None) for one protected item.

    ``recovery_point_id`` is the point chosen by :func:`pick_recovery_point` for InMageAzureV2 failovers.
    """
    from azure.mgmt.recoveryservicessiterecovery import models as m

    if operation not in OPERATIONS:
        raise BadInput(f"operation {operation!r} is not one of {', '.join(OPERATIONS)}")
    action = asr_names(operation).action
    asr_direction = ASR_DIRECTIONS.get(direction)
    if asr_direction is None:
        raise BadInput(f"direction {direction!r} is not one of {', '.join(ASR_DIRECTIONS)}")
    reg = cfg.registration
    if operation == "test-failover":
        return action, m.TestFailoverInput(
            properties=m.TestFailoverInputProperties(
                failover_direction=asr_direction,
                network_type="VmNetworkAsInput",
                network_id=ids.test_network_id,
                provider_specific_details=m.InMageAzureV2TestFailoverInput(recovery_point_id=recovery_point_id),
            )
        )
    if operation == "cleanup-test-failover":
        return action, m.TestFailoverCleanupInput(properties=m.TestFailoverCleanupInputProperties(comments=comment))
    if operation in ("planned-failover", "unplanned-failover"):
        return action, m.UnplannedFailoverInput(
            properties=m.UnplannedFailoverInputProperties(
                failover_direction=asr_direction,
                source_site_operations="Required" if operation == "planned-failover" else "NotRequired",
                provider_specific_details=m.InMageAzureV2UnplannedFailoverInput(recovery_point_id=recovery_point_id),
            )
        )
    if operation in ("commit", "commit-failback", "cancel-failback"):
        return action, None
    if operation == "failback":
        point = "LatestTag" if recovery_point_type == "latest-app-consistent" else "LatestTime"
        return action, m.UnplannedFailoverInput(
            properties=m.UnplannedFailoverInputProperties(
                failover_direction=asr_direction,
                source_site_operations="Required",
                provider_specific_details=m.InMageUnplannedFailoverInput(recovery_point_type=point),
            )
        )
    if reg is None:
        raise BadInput(
            f"{operation} needs vmware-azure-dr:registration (master target, process server ids) in the stack "
            "file; it is filled in once the configuration server has registered with the vault"
        )
    if operation == "reprotect":
        missing = [k for k, v in (("failbackProcessServerId", reg.failback_process_server_id),
                                  ("retentionDrive", reg.retention_drive)) if not v]  # fmt: skip
        if missing or not cfg.failback.enabled:
            what = ", ".join(f"registration.{k}" for k in missing) or "failback.enabled"
            raise BadInput(f"reprotect to on-premises needs vmware-azure-dr:{what} (the failback infrastructure)")
        return action, m.ReverseReplicationInput(
            properties=m.ReverseReplicationInputProperties(
                failover_direction=asr_direction,
                provider_specific_details=m.InMageReprotectInput(
                    master_target_id=reg.master_target_id,
                    process_server_id=reg.failback_process_server_id,
                    retention_drive=reg.retention_drive,
                    profile_id=ids.failback_policy_id,
                    run_as_account_id=reg.run_as_account_id,
                    datastore_name=cfg.vcenter.datastore,
                ),
            )
        )
    # reenable: replicate the failed-back on-prem VM to Azure again, through the on-prem process server.
    return action, m.ReverseReplicationInput(
        properties=m.ReverseReplicationInputProperties(
            failover_direction=asr_direction,
            provider_specific_details=m.InMageAzureV2ReprotectInput(
                master_target_id=reg.master_target_id,
                process_server_id=reg.process_server_id,
                storage_account_id=ids.cache_storage_id,
                log_storage_account_id=ids.cache_storage_id,
                run_as_account_id=reg.run_as_account_id,
                policy_id=ids.replication_policy_id,
            ),
        )
    )


def machine_state(props: Any) -> str:
    """asrctl's machine state from a ReplicationProtectedItemProperties.

    Read from what ASR lets you do next (``allowed_operations``), where the VM runs (``active_location``) and
    which provider replicates it (InMageAzureV2 to Azure, InMage back to VMware).
    """
    allowed = {a.lower() for a in (props.allowed_operations or [])}
    tfo = (props.test_failover_state or "None").lower()
    location = (props.active_location or "Primary").lower()
    provider = getattr(props.provider_specific_details, "instance_type", None) or "InMageAzureV2"
    protection = (props.protection_state or "").lower()
    if tfo not in ("none", "") or "testfailovercleanup" in allowed:
        return "test-failed-over"
    if "commit" in allowed:
        if location == "primary" and provider == "InMage":
            # Failed back to VMware, commit pending: the commit-failback stage commits it.
            return "failback-pending"
        # A failover to Azure that is not committed yet: the engine's `commit` finishes it.
        return "failed-over"
    if location == "recovery":
        return "reprotected" if provider == "InMage" and protection == "protected" else "committed"
    if provider == "InMage":
        return "failed-back"
    return "protected"


def recovery_plan_context(context: dict[str, Any], ids: StackAzureIds) -> dict[str, Any]:
    """ASR's RecoveryPlanContext (what ASR passes runbooks) from the engine's run context.

    Keys already in ASR's shape are kept; otherwise they are derived from the engine's ``plan``, ``operation``,
    ``direction``, ``group`` and ``machines`` entries.
    """
    if "RecoveryPlanName" in context:
        return context
    operation = str(context.get("operation", ""))
    failover_type = {"test-failover": "Test", "planned-failover": "Planned"}.get(operation, "Unplanned")
    direction = str(context.get("direction", "primary-to-recovery"))
    vm_map: dict[str, Any] = {}
    for machine in context.get("machines") or []:
        if isinstance(machine, dict):
            name = str(machine.get("name"))
            vm_map[name] = {
                "SubscriptionId": ids.subscription_id,
                "ResourceGroupName": ids.resource_group,
                "RoleName": machine.get("recovery_name") or name,
                "IPAddress": machine.get("ip") or machine.get("recovery_ip"),
            }
        else:
            vm_map[str(machine)] = {"SubscriptionId": ids.subscription_id, "ResourceGroupName": ids.resource_group,
                                    "RoleName": str(machine)}  # fmt: skip
    return {
        "RecoveryPlanName": context.get("plan"),
        "FailoverType": failover_type,
        "FailoverDirection": "PrimaryToSecondary" if direction == "primary-to-recovery" else "SecondaryToPrimary",
        "GroupId": context.get("group"),
        "VmMap": vm_map,
    }

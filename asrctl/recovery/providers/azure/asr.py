"""Pure mapping between ASR's view of a protected item and asrctl's (no network, unit-testable).

* :func:`stack_azure_ids` — resource group, vault, networks, policies, cache account and Automation account of a
  stack, named exactly as the Pulumi program names them (:mod:`asrctl.infra.naming`).
* :func:`machine_state` — asrctl's machine state from ASR's own fields, per architecture: the replication
  provider (``providerSpecificDetails.instanceType``), ``protectionState``, ``activeLocation``,
  ``testFailoverState`` and ``allowedOperations`` (:data:`ITEM_STATES`, each row with its source).
* :func:`operation_of_scenario` — which asrctl operation a running ASR job is (reconciliation), from its
  ``scenarioName`` and the item's state (the operations table's scenario names).
* :func:`recovery_plan_context` — the ``RecoveryPlanContext`` ASR hands to Automation runbooks.

The request bodies are in :mod:`.inputs`; the infrastructure a reprotect needs is read by :mod:`.fabric`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.recovery.operations import OPERATIONS, Architecture, AsrNames, MachineState
from asrctl.recovery.providers.protocol import OperationRejected

ASR_DIRECTIONS = {"primary-to-recovery": "PrimaryToRecovery", "recovery-to-primary": "RecoveryToPrimary"}
# ASR's recovery-plan point types (RecoveryPlanPointType / InMageV2RpRecoveryPointType, SDK 2.0.0).
RECOVERY_POINT_TYPE_ASR = {
    "latest": "Latest",
    "latest-processed": "LatestProcessed",
    "latest-app-consistent": "LatestApplicationConsistent",
    "latest-crash-consistent": "LatestCrashConsistent",
}
# Which recovery points a per-item failover may use, by asrctl type (None: any kind, newest first). InMageAzureV2
# and InMageRcm per-item failovers take a recovery point *id*, not a type.
POINT_KIND = {"latest-processed": None, "latest-app-consistent": "ApplicationConsistent",
              "latest-crash-consistent": "CrashConsistent"}  # fmt: skip

# The replication provider (providerSpecificDetails.instanceType) of each direction, per architecture: forward
# replicates VMware → Azure, reverse Azure → VMware after a reprotect (REFERENCE §1, REFERENCE-modernized §4.1).
PROVIDERS: dict[Architecture, tuple[str, str]] = {
    "modernized": ("InMageRcm", "InMageRcmFailback"),
    "classic": ("InMageAzureV2", "InMage"),
}
FORWARD_PROVIDERS = frozenset(p[0] for p in PROVIDERS.values())
REVERSE_PROVIDERS = frozenset(p[1] for p in PROVIDERS.values())


def architecture_of(instance_type: str | None, default: Architecture = "modernized") -> Architecture:
    for architecture, providers in PROVIDERS.items():
        if instance_type in providers:
            return architecture
    return default


def asr_names(operation: str, architecture: str) -> AsrNames:
    """ASR's action, allowedOperations entry and job scenario names of an operation (the operations table)."""
    op = OPERATIONS[operation]
    if architecture not in op.asr:
        raise OperationRejected(f"{op.title} does not exist for {architecture} replication")
    return op.asr[architecture]  # type: ignore[index]


def plan_direction(operation: str) -> str:
    """``failoverDirection`` of a recovery-plan operation. At plan level the primary is always the VMware fabric, so
    the direction is the way the VMs move (REFERENCE-modernized §3.2 "Note on direction"; PS
    StartAzureRmRecoveryServicesAsrUnPlannedFailover.cs RP branch: InMage only with RecoveryToPrimary)."""
    return ASR_DIRECTIONS[OPERATIONS[operation].direction]


CLIENT_REQUEST_NAMESPACE = uuid.UUID("6f1d3c2a-5b7e-4e59-9f4c-2a8d1b0c7e31")


def client_request_id(request_id: str) -> str:
    """ARM wants a bare GUID in ``x-ms-client-request-id``; derive it from the engine's stable request id so a
    resumed run sends (and finds) the same one. ASR records it in the job's ``activityId``."""
    return str(uuid.uuid5(CLIENT_REQUEST_NAMESPACE, request_id))


# ---------------------------------------------------------------------------------------------------------------
# Stack → Azure names and ids


@dataclass(frozen=True)
class StackAzureIds:
    subscription_id: str
    resource_group: str
    vault: str
    test_network_id: str
    recovery_network_id: str
    replication_policy_id: str
    failback_policy_id: str
    cache_storage_id: str
    automation_account: str
    fabric: str | None  # the registration's fabric and protection container (phase 2), else None
    container: str | None

    @property
    def vault_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{self.vault}"
        )

    def fabric_id(self) -> str | None:
        return f"{self.vault_id}/replicationFabrics/{self.fabric}" if self.fabric else None

    def container_id(self) -> str | None:
        return f"{self.fabric_id()}/replicationProtectionContainers/{self.container}" if self.container else None

    def runbook_id(self, runbook: str) -> str:
        """The published runbook (asrctl.infra.automation names each after the plan's ``runbook:``)."""
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
                f"Microsoft.Automation/automationAccounts/{self.automation_account}/runbooks/{runbook}")


def stack_azure_ids(cfg: StackConfig) -> StackAzureIds:
    """Names as the Pulumi program creates them (asrctl.infra.naming); ids built from them."""
    from asrctl.infra.naming import AzureNames, region_short_name

    names = AzureNames(cfg.environment, cfg.location)
    sub, rg, vault = cfg.subscription_id, names.resource_group, names.vault
    rg_id = f"/subscriptions/{sub}/resourceGroups/{rg}"
    vault_id = f"{rg_id}/providers/Microsoft.RecoveryServices/vaults/{vault}"
    reg = cfg.registration
    return StackAzureIds(
        subscription_id=sub,
        resource_group=rg,
        vault=vault,
        test_network_id=f"{rg_id}/providers/Microsoft.Network/virtualNetworks/{names.virtual_network('test')}",
        recovery_network_id=f"{rg_id}/providers/Microsoft.Network/virtualNetworks/{names.virtual_network('recovery')}",
        replication_policy_id=f"{vault_id}/replicationPolicies/{names.replication_policy('replication')}",
        failback_policy_id=f"{vault_id}/replicationPolicies/{names.replication_policy('failback')}",
        cache_storage_id=f"{rg_id}/providers/Microsoft.Storage/storageAccounts/{names.storage_account('cache')}",
        # naming.py has no Automation account rule yet: CAF prefix "aa-" with the same suffix as every other name.
        automation_account=f"aa-asr-{cfg.environment}-{region_short_name(cfg.location)}",
        fabric=reg.fabric_name if reg is not None else None,
        container=reg.protection_container_name if reg is not None else None,
    )


# ---------------------------------------------------------------------------------------------------------------
# Item state


@dataclass(frozen=True)
class StateRow:
    provider: str  # providerSpecificDetails.instanceType
    protection_state: str
    state: MachineState
    source: str


# What ASR's protectionState means per provider. The provider says the direction (forward before a reprotect,
# reverse after it), so "Protected" is "protected" for InMageRcm/InMageAzureV2 and "reprotected" for
# InMageRcmFailback/InMage: a reprotected classic item (InMage, Protected, activeLocation Primary — the item's primary
# is Azure now) is NOT failed back (issue 13). States not in this table are derived by :func:`_by_location`.
ITEM_STATES: tuple[StateRow, ...] = (
    StateRow("InMageRcm", "Protected", "protected", "PSrec TestV2ARCMFailover.json, CLIrec"),
    StateRow("InMageRcm", "UnplannedFailoverFailed", "protected",
             "LearnREST: 'Failover failed', item back on Primary, TestFailover/UnplannedFailover allowed again"),
    StateRow("InMageRcm", "UnplannedFailoverCommitPendingStatesBegin", "failed-over", "PSrec TestV2ARCMFailover.json"),
    StateRow("InMageRcm", "UnplannedFailoverCommitted", "committed", "PSrec TestV2ARCMCommit.json"),
    StateRow("InMageRcmFailback", "Protected", "reprotected", "PSrec TestV2ARCMReprotect.json"),
    StateRow("InMageRcmFailback", "CommitPendingStatesBegin", "failback-pending",
             "PSrec TestV2ARCMFailback.json, TestV2ARCMCancelFailover.json ('Planned failover finished')"),
    StateRow("InMageRcmFailback", "PlannedFailoverCommitted", "failed-back",
             "[U] REFERENCE-modernized §4.1: the state after a failback commit is not captured"),
    StateRow("InMageAzureV2", "Protected", "protected", "REFERENCE §5; PS InMageAzureV2 branches"),
    StateRow("InMageAzureV2", "UnplannedFailoverCommitPendingStatesBegin", "failed-over",
             "[U] by analogy with the recorded InMageRcm state"),
    StateRow("InMageAzureV2", "UnplannedFailoverCommitted", "committed", "[U] by analogy with InMageRcm"),
    StateRow("InMage", "Protected", "reprotected",
             "issue 13 / REFERENCE §5: a reprotected classic item reports InMage, Protected, activeLocation Primary"),
    StateRow("InMage", "UnplannedFailoverCommitPendingStatesBegin", "failback-pending", "[U] by analogy"),
    StateRow("InMage", "UnplannedFailoverCommitted", "failed-back", "[U] by analogy"),
)
_STATES = {(r.provider.lower(), r.protection_state.lower()): r.state for r in ITEM_STATES}
# testFailoverState values that mean "no test VM up": "None", and "MarkedForDeletion" which ASR keeps after a
# successful cleanup (REST ReplicationProtectedItems_Reprotect.json, PSrec TestV2ARCMCommit.json, LearnREST) — with
# TestFailover and UnplannedFailover allowed again. Reading it as "test failed over" blocks every failover after the
# first drill (issue 13).
TFO_IDLE_STATES = frozenset({"", "none", "markedfordeletion"})


def instance_type(props: Any) -> str | None:
    details = props.provider_specific_details if props is not None else None
    return details.instance_type if details is not None else None


def machine_state(props: Any) -> MachineState:
    """asrctl's machine state from a ReplicationProtectedItemProperties (see :data:`ITEM_STATES`)."""
    provider = instance_type(props) or "InMageAzureV2"
    allowed = {a.lower() for a in (props.allowed_operations or [])}
    protection = (props.protection_state or "").lower()
    state = _STATES.get((provider.lower(), protection)) or _by_location(provider, props, allowed)
    if state == "protected" and _test_vm_up(props, allowed):
        return "test-failed-over"
    return state


def _by_location(provider: str, props: Any, allowed: set[str]) -> MachineState:
    """A protectionState the table does not know: where the VM runs and what ASR offers next decide."""
    reverse = provider in REVERSE_PROVIDERS
    if (props.active_location or "Primary").lower() == "primary":
        return "reprotected" if reverse else "protected"
    pending = bool(allowed & {"commit", "cancelfailover"})
    if reverse:
        return "failback-pending" if pending else "failed-back"
    return "failed-over" if pending else "committed"


def _test_vm_up(props: Any, allowed: set[str]) -> bool:
    if "testfailovercleanup" in allowed:
        return True
    tfo = (props.test_failover_state or "None").lower()
    return tfo not in TFO_IDLE_STATES and "testfailover" not in allowed


def operation_of_scenario(scenario: str | None, architecture: str, state: str | None = None) -> str:
    """Our operation for an ASR job ``scenarioName`` on an item in ``state`` (the state ASR still shows while the
    job runs). Several operations share a scenario (CommitFailover: commit or commit-failback); the item's state
    tells them apart. Planned and unplanned failover are both UnplannedFailover jobs: the first listed wins."""
    candidates = [name for name, op in OPERATIONS.items()
                  if architecture in op.asr and scenario in op.asr[architecture].scenarios]  # type: ignore[index]
    if state is not None:
        fitting = [n for n in candidates if state in OPERATIONS[n].allowed_from(architecture)]  # type: ignore[arg-type]
        candidates = fitting or candidates
    return candidates[0] if candidates else (scenario or "unknown")


# ---------------------------------------------------------------------------------------------------------------
# Recovery points


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


def latest_points(points: list[Any]) -> dict[str, Any]:
    """``{"crash-consistent": time, "app-consistent": time}`` from an item's recovery points (newest of each)."""
    out: dict[str, Any] = {}
    for point in points:
        p = point.properties
        if p is None or p.recovery_point_time is None:
            continue
        key = "app-consistent" if (p.recovery_point_type or "") == POINT_KIND["latest-app-consistent"] \
            else "crash-consistent"
        if key not in out or p.recovery_point_time > out[key]:
            out[key] = p.recovery_point_time
    return out


# ---------------------------------------------------------------------------------------------------------------
# Automation runbooks


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

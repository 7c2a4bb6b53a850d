"""ASR request bodies per operation, architecture and target (one protected item, or a recovery plan), built with
the SDK's own models (azure-mgmt-recoveryservicessiterecovery 2.0.0). Pure: the caller reads what a body needs
(recovery point ids, the failback infrastructure of :mod:`.fabric`) and passes it in.

Per item (REFERENCE-modernized §3.1, REFERENCE §5; action names and directions from the operations table):

========================  =================================================  ======================================
operation                 modernized (InMageRcm / InMageRcmFailback)         classic (InMageAzureV2 / InMage)
========================  =================================================  ======================================
test-failover             TestFailoverInput + InMageRcmTestFailoverInput     + InMageAzureV2TestFailoverInput
cleanup-test-failover     TestFailoverCleanupInput                           same
planned-failover          UnplannedFailoverInput, performShutdown "true"     sourceSiteOperations Required
unplanned-failover        UnplannedFailoverInput, performShutdown "false"    sourceSiteOperations NotRequired
commit / commit-failback  no body                                            no body
reprotect                 InMageRcmReprotectInput (agent, datastore, log     InMageReprotectInput (Azure process
                          storage account, failback policy)                  server, master target of the VM's OS,
                                                                             its retention drive and datastore,
                                                                             profile from the failback mapping)
failback                  PlannedFailoverInput, no direction,                UnplannedFailoverInput,
                          InMageRcmFailbackPlannedFailoverProviderInput      PrimaryToRecovery, InMageUnplanned…
cancel-failback           no body                                            (does not exist)
reenable                  InMageRcmFailbackReprotectInput (process server,   InMageAzureV2ReprotectInput,
                          forward policy), PrimaryToRecovery                 RecoveryToPrimary, no storage fields
========================  =================================================  ======================================

Per recovery plan (multi-VM groups, REFERENCE-modernized §3.2): the same operations with the plan-level inputs
``RecoveryPlanInMageRcmFailoverInput`` / ``RecoveryPlanInMageAzureV2FailoverInput`` (forward),
``RecoveryPlanInMageRcmFailbackFailoverInput`` / ``RecoveryPlanInMageFailoverInput`` (failback), plan-level
directions (:func:`asrctl.recovery.providers.azure.asr.plan_direction`) and the multi-VM sync point when asked.
Reprotect and re-enable have no plan form (PS refuses plan reprotect for these providers).

The classic → modernized move (``switch-provider``, REFERENCE-modernized "Classic→modernized migration"):
``SwitchProviderInput`` with target provider ``InMageRcm`` and ``InMageAzureV2SwitchProviderInput`` naming the
modernized vault, its InMageRcm fabric and the appliance that takes the machine over (:class:`SwitchTarget`).

A recovery plan's own body (``CreateRecoveryPlanInput``, REFERENCE-modernized §3.2) is
:func:`recovery_plan_input`, from the :class:`~asrctl.infra.plan_layout.PlanLayout` the Pulumi program renders too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asrctl.errors import BadInput
from asrctl.recovery.operations import OPERATIONS, Architecture
from asrctl.recovery.providers.azure.asr import (
    RECOVERY_POINT_TYPE_ASR,
    StackAzureIds,
    asr_names,
    plan_direction,
)
from asrctl.recovery.providers.protocol import OperationRejected

if TYPE_CHECKING:
    from asrctl.infra.plan_layout import PlanLayout, RenderedAction


# -- what a reverse-direction request needs (read from the fabric by the provider) ----------------------------------
@dataclass(frozen=True)
class ClassicReprotect:
    """InMageReprotectInput: replicate Azure → VMware through the temporary Azure process server and the master
    target of the machine's OS (REFERENCE §5)."""

    process_server_id: str
    master_target_id: str
    retention_drive: str
    datastore_name: str | None
    profile_id: str  # the failback policy of the container mapped to itself
    run_as_account_id: str | None = None


@dataclass(frozen=True)
class ModernizedReprotect:
    """InMageRcmReprotectInput (REFERENCE-modernized §3.1 step 7)."""

    reprotect_agent_id: str
    datastore_name: str
    log_storage_account_id: str
    policy_id: str | None  # the InMageRcmFailback policy (PS passes it; the CLI test omits it)


@dataclass(frozen=True)
class ClassicReenable:
    """InMageAzureV2ReprotectInput of a failed-back InMage item: RecoveryToPrimary, and neither storage field
    (``storageAccountId`` is the *target* storage of unmanaged disks, never the cache account: REFERENCE §5)."""

    process_server_id: str
    master_target_id: str
    policy_id: str
    run_as_account_id: str | None = None


@dataclass(frozen=True)
class ModernizedReenable:
    """InMageRcmFailbackReprotectInput (REFERENCE-modernized §3.1 step 10)."""

    process_server_id: str
    policy_id: str
    run_as_account_id: str | None = None


ReverseInput = ClassicReprotect | ModernizedReprotect | ClassicReenable | ModernizedReenable


@dataclass(frozen=True)
class SwitchTarget:
    """InMageAzureV2SwitchProviderInput: where a classic item moves. All three are required (SDK 2.0.0; wire names
    ``targetVaultID``, ``targetFabricID``, ``targetApplianceID``); the REST example sends full ARM ids for the vault
    and fabric and the appliance's GUID (the id every component of one appliance shares, REFERENCE-modernized §2.4)."""

    vault_id: str
    fabric_id: str
    appliance_id: str
# Failback recovery point: ASR's recommendation and PowerShell's default is crash-consistent
# (failover-failback-overview-modernized.md; PS StartAzureRmRecoveryServicesAsrPlannedFailoverJob.cs).
FAILBACK_POINT = {"modernized": {"latest-app-consistent": "ApplicationConsistent"},
                  "classic": {"latest-app-consistent": "LatestTag"}}  # fmt: skip
FAILBACK_POINT_DEFAULT = {"modernized": "CrashConsistent", "classic": "LatestTime"}


def _direction(operation: str, architecture: Architecture) -> str | None:
    return asr_names(operation, architecture).asr_direction


def item_request(operation: str, architecture: Architecture, ids: StackAzureIds, *, recovery_point: str = "latest",
                 recovery_point_id: str | None = None, comment: str = "asrctl",
                 reverse: ReverseInput | None = None, switch: SwitchTarget | None = None) -> tuple[str, Any]:
    """(ASR action on the protected item, SDK input model or None)."""
    from azure.mgmt.recoveryservicessiterecovery import models as m

    if operation not in OPERATIONS:
        raise BadInput(f"operation {operation!r} is not one of {', '.join(OPERATIONS)}")
    action = asr_names(operation, architecture).action
    direction = _direction(operation, architecture)
    modern = architecture == "modernized"
    if operation == "test-failover":
        details: Any = (m.InMageRcmTestFailoverInput(network_id=ids.test_network_id, recovery_point_id=recovery_point_id)
                        if modern else m.InMageAzureV2TestFailoverInput(recovery_point_id=recovery_point_id))
        return action, m.TestFailoverInput(properties=m.TestFailoverInputProperties(
            failover_direction=direction, network_type="VmNetworkAsInput", network_id=ids.test_network_id,
            provider_specific_details=details))  # fmt: skip
    if operation == "cleanup-test-failover":
        return action, m.TestFailoverCleanupInput(properties=m.TestFailoverCleanupInputProperties(comments=comment))
    if operation in ("planned-failover", "unplanned-failover"):
        # VMware → Azure has no planned-failover input: a planned move is an unplanned failover that shuts the source
        # down and syncs first (InMageRcm performShutdown; classic sourceSiteOperations Required).
        planned = operation == "planned-failover"
        point_id = None if planned else recovery_point_id
        details = (m.InMageRcmUnplannedFailoverInput(perform_shutdown="true" if planned else "false",
                                                     recovery_point_id=point_id)
                   if modern else m.InMageAzureV2UnplannedFailoverInput(recovery_point_id=point_id))  # fmt: skip
        return action, m.UnplannedFailoverInput(properties=m.UnplannedFailoverInputProperties(
            failover_direction=direction, source_site_operations="Required" if planned else "NotRequired",
            provider_specific_details=details))  # fmt: skip
    if operation in ("commit", "commit-failback", "cancel-failback"):
        return action, None
    if operation == "failback":
        point = FAILBACK_POINT[architecture].get(recovery_point, FAILBACK_POINT_DEFAULT[architecture])
        if modern:
            # PS sends FailoverDirection null for InMageRcmFailback; the recorded body has none.
            return action, m.PlannedFailoverInput(properties=m.PlannedFailoverInputProperties(
                failover_direction=None,
                provider_specific_details=m.InMageRcmFailbackPlannedFailoverProviderInput(recovery_point_type=point)))
        return action, m.UnplannedFailoverInput(properties=m.UnplannedFailoverInputProperties(
            failover_direction=direction, source_site_operations="Required",
            provider_specific_details=m.InMageUnplannedFailoverInput(recovery_point_type=point)))  # fmt: skip
    if operation in ("reprotect", "reenable"):
        return action, m.ReverseReplicationInput(properties=m.ReverseReplicationInputProperties(
            failover_direction=direction, provider_specific_details=_reverse_details(operation, architecture, reverse)))
    if operation == "switch-provider":
        if switch is None:
            raise OperationRejected("switch-provider needs the modernized vault, fabric and appliance to move to")
        return action, m.SwitchProviderInput(properties=m.SwitchProviderInputProperties(
            target_instance_type="InMageRcm", provider_specific_details=m.InMageAzureV2SwitchProviderInput(
                target_vault_id=switch.vault_id, target_fabric_id=switch.fabric_id,
                target_appliance_id=switch.appliance_id)))  # fmt: skip
    raise OperationRejected(f"{OPERATIONS[operation].title} is not an operation on a protected item")


def _reverse_details(operation: str, architecture: Architecture, reverse: ReverseInput | None) -> Any:
    from azure.mgmt.recoveryservicessiterecovery import models as m

    wanted = {("reprotect", "modernized"): ModernizedReprotect, ("reprotect", "classic"): ClassicReprotect,
              ("reenable", "modernized"): ModernizedReenable, ("reenable", "classic"): ClassicReenable}
    kind = wanted[(operation, architecture)]
    if not isinstance(reverse, kind):
        raise OperationRejected(f"{operation} of a {architecture} item needs {kind.__name__} inputs")
    if isinstance(reverse, ModernizedReprotect):
        return m.InMageRcmReprotectInput(reprotect_agent_id=reverse.reprotect_agent_id,
                                         datastore_name=reverse.datastore_name,
                                         log_storage_account_id=reverse.log_storage_account_id,
                                         policy_id=reverse.policy_id)  # fmt: skip
    if isinstance(reverse, ClassicReprotect):
        return m.InMageReprotectInput(master_target_id=reverse.master_target_id,
                                      process_server_id=reverse.process_server_id,
                                      retention_drive=reverse.retention_drive, datastore_name=reverse.datastore_name,
                                      profile_id=reverse.profile_id, run_as_account_id=reverse.run_as_account_id)
    if isinstance(reverse, ModernizedReenable):
        return m.InMageRcmFailbackReprotectInput(process_server_id=reverse.process_server_id,
                                                 policy_id=reverse.policy_id,
                                                 run_as_account_id=reverse.run_as_account_id)  # fmt: skip
    assert isinstance(reverse, ClassicReenable)
    return m.InMageAzureV2ReprotectInput(process_server_id=reverse.process_server_id,
                                         master_target_id=reverse.master_target_id, policy_id=reverse.policy_id,
                                         run_as_account_id=reverse.run_as_account_id)  # fmt: skip


def plan_request(operation: str, architecture: Architecture, ids: StackAzureIds, *, recovery_point: str = "latest",
                 multi_vm_sync_point: bool = False, comment: str = "asrctl") -> tuple[str, Any]:
    """(ASR action on a recovery plan, SDK input model or None) for the members of a multi-VM group."""
    from azure.mgmt.recoveryservicessiterecovery import models as m

    names = asr_names(operation, architecture)
    if names.plan_action is None:
        raise OperationRejected(f"{OPERATIONS[operation].title} has no recovery-plan form for {architecture} "
                                "replication (ASR reprotects each item)")
    action = names.plan_action
    direction = plan_direction(operation)
    sync = "true" if multi_vm_sync_point else "false"
    modern = architecture == "modernized"

    def forward(point: str) -> list[Any]:
        kind = RECOVERY_POINT_TYPE_ASR[point]
        return [m.RecoveryPlanInMageRcmFailoverInput(recovery_point_type=kind, use_multi_vm_sync_point=sync)
                if modern else m.RecoveryPlanInMageAzureV2FailoverInput(recovery_point_type=kind,
                                                                         use_multi_vm_sync_point=sync)]  # fmt: skip

    if operation == "test-failover":
        return action, m.RecoveryPlanTestFailoverInput(properties=m.RecoveryPlanTestFailoverInputProperties(
            failover_direction=direction, network_type="VmNetworkAsInput", network_id=ids.test_network_id,
            provider_specific_details=forward(recovery_point)))  # fmt: skip
    if operation == "cleanup-test-failover":
        return action, m.RecoveryPlanTestFailoverCleanupInput(
            properties=m.RecoveryPlanTestFailoverCleanupInputProperties(comments=comment))
    if operation in ("planned-failover", "unplanned-failover"):
        planned = operation == "planned-failover"
        return action, m.RecoveryPlanUnplannedFailoverInput(properties=m.RecoveryPlanUnplannedFailoverInputProperties(
            failover_direction=direction, source_site_operations="Required" if planned else "NotRequired",
            provider_specific_details=forward("latest" if planned else recovery_point)))  # fmt: skip
    if operation in ("commit", "commit-failback", "cancel-failback"):
        return action, None
    if operation == "failback":
        point = FAILBACK_POINT[architecture].get(recovery_point, FAILBACK_POINT_DEFAULT[architecture])
        if modern:
            return action, m.RecoveryPlanPlannedFailoverInput(properties=m.RecoveryPlanPlannedFailoverInputProperties(
                failover_direction=direction, provider_specific_details=[
                    m.RecoveryPlanInMageRcmFailbackFailoverInput(recovery_point_type=point,
                                                                 use_multi_vm_sync_point=sync)]))  # fmt: skip
        return action, m.RecoveryPlanUnplannedFailoverInput(properties=m.RecoveryPlanUnplannedFailoverInputProperties(
            failover_direction=direction, source_site_operations="Required",
            provider_specific_details=[m.RecoveryPlanInMageFailoverInput(recovery_point_type=point)]))  # fmt: skip
    raise OperationRejected(f"{OPERATIONS[operation].title} is not a recovery-plan operation")



# -- recovery plans themselves ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanItem:
    """A protected item a recovery plan holds: its ARM id and the item's ``internalIdentifier`` (the plan's
    ``virtualMachineId``, REFERENCE-modernized §3.2)."""

    id: str
    virtual_machine_id: str | None


def recovery_plan_input(layout: PlanLayout, primary_fabric_id: str, items: Mapping[str, PlanItem],
                        runbook_id: Callable[[str], str]) -> Any:
    """``CreateRecoveryPlanInput`` of ``layout`` (the same rendering as phase 2's Pulumi component): VMware fabric →
    ``Microsoft Azure``, Resource Manager VMs, groups in ASR's order, actions in file order. ``items``: machine →
    its item; ``runbook_id``: runbook name → the published runbook's ARM id."""
    from azure.mgmt.recoveryservicessiterecovery import models as m

    from asrctl.infra.plan_layout import AZURE_FABRIC

    def group(g: Any) -> Any:
        protected = [m.RecoveryPlanProtectedItem(id=items[name].id, virtual_machine_id=items[name].virtual_machine_id)
                     for name in g.machines]  # fmt: skip
        if g.group_type != "Boot" or not layout.has_actions:
            return m.RecoveryPlanGroup(group_type=g.group_type, replication_protected_items=protected)
        return m.RecoveryPlanGroup(group_type="Boot", replication_protected_items=protected,
                                   start_group_actions=_plan_actions(g.start_actions, runbook_id),
                                   end_group_actions=_plan_actions(g.end_actions, runbook_id))  # fmt: skip

    return m.CreateRecoveryPlanInput(properties=m.CreateRecoveryPlanInputProperties(
        primary_fabric_id=primary_fabric_id, recovery_fabric_id=AZURE_FABRIC, failover_deployment_model="ResourceManager",
        groups=[group(g) for g in layout.groups]))  # fmt: skip


def _plan_actions(rendered: tuple[RenderedAction, ...], runbook_id: Callable[[str], str]) -> list[Any]:
    from azure.mgmt.recoveryservicessiterecovery import models as m

    from asrctl.infra.plan_layout import FAILOVER_DIRECTIONS, RUNBOOK_FABRIC_LOCATION, iso_duration
    from asrctl.plans import ManualAction, RunbookAction

    out = []
    for r in rendered:
        if r.skipped_reason:  # a script, or only for operations ASR plans cannot run: asrctl's engine runs it
            continue
        a = r.action
        if isinstance(a, RunbookAction):
            details: Any = m.RecoveryPlanAutomationRunbookActionDetails(
                fabric_location=RUNBOOK_FABRIC_LOCATION, runbook_id=runbook_id(a.runbook),
                timeout=iso_duration(a.effective_timeout))  # fmt: skip
        elif isinstance(a, ManualAction):
            details = m.RecoveryPlanManualActionDetails(description=a.manual)
        else:  # render_actions leaves every other kind out with a reason
            continue
        out.append(m.RecoveryPlanAction(action_name=r.name, failover_types=list(r.failover_types),
                                        failover_directions=list(FAILOVER_DIRECTIONS), custom_details=details))
    return out

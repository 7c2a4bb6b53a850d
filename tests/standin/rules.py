"""ASR's rules for VMware → Azure, in one place: every row names its source; ``[U]`` marks a value no source
settled, with the reason for the choice.

Sources (abbreviations as in the project's references):

* **PS** ``Azure/azure-powershell`` ``src/RecoveryServices/RecoveryServices.SiteRecovery/<Dir>/<File>.cs``
  (the cmdlets encode which provider accepts which direction and input);
* **PSrec** recorded real traffic of the ``AsrV2ARCMTests`` session records (item states, job names);
* **CLI** / **CLIrec** ``azure-cli-extensions`` site-recovery test ``test_siterecovery_V2A_RCMInMage_scenarios``
  and its recording (reprotect body, 202 headers, operation-status body, item and fabric shapes);
* **REST** ``azure-rest-api-specs`` examples for 2025-08-01 (item states after TFO / reprotect, job shape);
* **AD** MicrosoftDocs ``articles/site-recovery/*.md``;
* **REF** the project's REFERENCE.md §5 (classic checked against Microsoft's end-to-end script).

Tables:

* :data:`STATES` – what an item looks like in each state of each provider (protectionState + description,
  activeLocation, allowedOperations);
* :data:`TFO_PHASES` – the test-failover overlay (testFailoverState, and the operations it allows instead);
* :data:`ACTIONS` – per provider and action: the allowedOperation it needs, the accepted
  ``failoverDirection``\\ s, the provider input it needs, named preconditions, the resulting state, the job's
  scenario;
* :data:`PLAN_ACTIONS` – the same for recovery-plan operations, per provider of the plan's items;
* :data:`SCENARIOS` – job scenarioName, friendlyName and default duration;
* API versions per resource provider.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors

if TYPE_CHECKING:
    from .world import Fabric, Item, Plan, World

# -- API versions ------------------------------------------------------------------------------------------------
# The pinned SDK (azure-mgmt-recoveryservicessiterecovery 2.0.0) sends 2025-08-01 and nothing else; a client that
# sends another version is not using the SDK's wire format, so the stand-in accepts only this one.
ASR_API_VERSIONS = ("2025-08-01",)
# Microsoft.OffAzure: the CLI test lists machines with 2020-01-01; the REST automation article uses 2023-06-06.
OFFAZURE_API_VERSIONS = ("2020-01-01", "2023-06-06")
# azure-mgmt-automation 2.0.0's default.
AUTOMATION_API_VERSIONS = ("2024-10-23",)
# Microsoft.Network versions a client may read a VNet with (recent stable ones; the project uses 2023-09-01).
NETWORK_API_VERSIONS = ("2023-04-01", "2023-05-01", "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01",
                        "2024-03-01", "2024-05-01", "2024-07-01")  # fmt: skip

FORWARD = ("InMageAzureV2", "InMageRcm")  # providers replicating VMware → Azure
REVERSE = ("InMage", "InMageRcmFailback")  # providers replicating Azure → VMware (after reprotect)


# -- item states ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemState:
    provider: str
    key: str
    protection_state: str
    description: str
    active_location: str
    allowed: tuple[str, ...]
    source: str
    unverified: str | None = None


STATES: tuple[ItemState, ...] = (
    # --- classic forward (InMageAzureV2) ---
    ItemState("InMageAzureV2", "enabling", "UnprotectedStatesBegin", "Enabling protection", "Primary", ("DisableProtection",),
              "-", "[U] no recording of a classic item during initial replication; a neutral state that allows nothing but disable"),
    ItemState("InMageAzureV2", "protected", "Protected", "Protected", "Primary", ("TestFailover", "UnplannedFailover", "DisableProtection"),
              "PS StartAzureRmRecoveryServicesAsrUnPlannedFailover.cs / TestFailover cmdlet (InMageAzureV2 branches)",
              "[U] list by analogy with the recorded InMageRcm state; no planned failover VMware→Azure"),
    ItemState("InMageAzureV2", "failed_over", "UnplannedFailoverCommitPendingStatesBegin", "Failover completed", "Recovery",
              ("Commit", "ChangePit", "DisableProtection"), "PSrec TestV2ARCMFailover.json (InMageRcm analogue)",
              "[U] classic reprotect needs a commit first (AD vmware-azure-reprotect.md), so no ReverseReplicate here"),
    ItemState("InMageAzureV2", "committed", "UnplannedFailoverCommitted", "Failover committed", "Recovery",
              ("ReverseReplicate", "DisableProtection"), "PSrec TestV2ARCMCommit.json (InMageRcm analogue)",
              "[U] classic advertises reprotect as ReverseReplicate (the enum's classic name)"),
    ItemState("InMageAzureV2", "switched", "Protected", "Protected", "Primary", ("UnplannedFailover", "DisableProtection"),
              "AD how-to-move-from-classic-to-modernized-vmware-disaster-recovery.md ('Failover and Disable replication "
              "operations continue to be available from the classic vault' after the move, until its points expire)",
              "[U] the protectionState strings of a moved classic item were not captured"),
    # --- classic reverse (InMage, after reprotect Azure → VMware) ---
    ItemState("InMage", "protected", "Protected", "Protected", "Primary", ("UnplannedFailover", "DisableProtection"),
              "issue 13 (the state a reprotected classic item reports: it is NOT failed back)"),
    ItemState("InMage", "failed_over", "UnplannedFailoverCommitPendingStatesBegin", "Failover completed", "Recovery",
              ("Commit", "DisableProtection"), "-", "[U] by analogy with the forward direction"),
    ItemState("InMage", "committed", "UnplannedFailoverCommitted", "Failover committed", "Recovery",
              ("ReverseReplicate", "DisableProtection"), "REF §5 (re-enable = reprotect of the failed-back item)",
              "[U] state strings by analogy"),
    # --- modernized forward (InMageRcm) ---
    ItemState("InMageRcm", "enabling", "UnprotectedStatesBegin", "Enabling protection", "Primary", ("DisableProtection",),
              "REFERENCE-modernized §4.1 (initial replication not captured)", "[U] state string not captured"),
    ItemState("InMageRcm", "protected", "Protected", "Protected", "Primary", ("UnplannedFailover", "DisableProtection", "TestFailover"),
              "PSrec TestV2ARCMFailover.json, CLIrec"),
    ItemState("InMageRcm", "failed_over", "UnplannedFailoverCommitPendingStatesBegin", "Failover completed", "Recovery",
              ("CompleteMigration", "Commit", "DisableProtection", "ChangePit", "SwitchProtection"), "PSrec TestV2ARCMFailover.json, CLIrec"),
    ItemState("InMageRcm", "failover_failed", "UnplannedFailoverFailed", "Failover failed", "Primary",
              ("UnplannedFailover", "DisableProtection", "TestFailover"), "LearnREST (REFERENCE-modernized §4.1)"),
    ItemState("InMageRcm", "committed", "UnplannedFailoverCommitted", "Failover committed", "Recovery",
              ("CompleteMigration", "DisableProtection", "SwitchProtection"), "PSrec TestV2ARCMCommit.json"),
    # --- modernized reverse (InMageRcmFailback) ---
    ItemState("InMageRcmFailback", "protected", "Protected", "Protected", "Primary", ("PlannedFailover", "DisableProtection"),
              "PSrec TestV2ARCMReprotect.json"),
    ItemState("InMageRcmFailback", "failed_over", "CommitPendingStatesBegin", "Planned failover finished", "Recovery",
              ("CompleteMigration", "Commit", "DisableProtection", "SwitchProtection", "CancelFailover"),
              "PSrec TestV2ARCMFailback.json, TestV2ARCMCancelFailover.json"),
    ItemState("InMageRcmFailback", "committed", "PlannedFailoverCommitted", "Failover committed", "Recovery",
              ("SwitchProtection", "DisableProtection"), "REFERENCE-modernized §4.1",
              "[U] not captured; the reference's 'probably [SwitchProtection, DisableProtection]'"),
)


def state(provider: str, key: str) -> ItemState:
    for row in STATES:
        if row.provider == provider and row.key == key:
            return row
    raise KeyError(f"no state {key!r} for provider {provider!r}")


@dataclass(frozen=True)
class TfoPhase:
    key: str
    test_failover_state: str
    description: str
    protection_description: str | None  # replaces protectionStateDescription while set
    allowed: tuple[str, ...] | None  # replaces allowedOperations while set
    source: str
    unverified: str | None = None


TFO_PHASES: tuple[TfoPhase, ...] = (
    TfoPhase("none", "None", "None", None, None, "CLIrec (idle item)"),
    TfoPhase("active", "WaitingForCompletion", "Waiting for user input", "Cleanup test failover pending", ("TestFailoverCleanup",),
             "REST ReplicationProtectedItems_TestFailover.json", "[U] the example is HyperVReplicaAzure; not captured for VMware"),
    TfoPhase("cleaned", "MarkedForDeletion", "Cleaning up test environment", None, None,
             "REST ReplicationProtectedItems_Reprotect.json, PSrec TestV2ARCMCommit.json, LearnREST"),
)


def tfo_phase(key: str) -> TfoPhase:
    return next(p for p in TFO_PHASES if p.key == key)


# -- jobs ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    name: str
    friendly_name: str
    seconds: float
    source: str


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("EnableDr", "Enable replication", 1800, "REFERENCE-modernized §4.2 (PSrec)"),
        Scenario("UpdateVmProperties", "Update the virtual machine", 30, "[U] name not captured"),
        Scenario("TestFailover", "Test failover", 600, "PSrec, CLIrec"),
        Scenario("TestFailoverCleanup", "Test failover cleanup", 300, "REFERENCE-modernized §4.2 ([U] friendly name)"),
        Scenario("UnplannedFailover", "Failover", 900, "PSrec TestV2ARCMFailover.json"),
        Scenario("PlannedFailover", "Planned failover", 1200, "PSrec TestV2ARCMFailback.json"),
        Scenario("CommitFailover", "Commit", 120, "PSrec TestV2ARCMCommit.json"),
        Scenario("SwitchReplicationGroupProtection", "Reprotect", 1800, "PSrec TestV2ARCMReprotect.json ([U] same name for classic)"),
        Scenario("CancelFailover", "Cancel failover and resume replication", 600, "PSrec TestV2ARCMCancelFailover.json"),
        Scenario("SwitchProvider", "Switch replication provider", 3600,
                 "AD move-from-classic-to-modernized-vmware-disaster-recovery.md (a healthy item moves in 1-2 hours); [U] scenario and friendly name not captured"),
        Scenario("AssociateProtectionProfile", "Associate replication policy", 60, "PSrec TestV2ARCMContainerMapping.json"),
        Scenario("AddProtectionProfile", "Create replication policy", 30, "REST examples ([U] friendly name)"),
        Scenario("SaveRecoveryPlan", "Save a recovery plan", 10, "PS docs Get-AzureSiteRecoveryJob example"),
        Scenario("ManualAction", "Manual action", 0, "[U] a plan's manual action is a task of the plan job"),
        Scenario("RunbookAction", "Run an Azure Automation runbook", 60, "[U] duration"),
    )
}

# switchProviderState of a classic item through a move (a free string in the SDK). [U] but "None": only the idle value
# was captured (LearnREST, REST examples); the others borrow the SDK's MigrationState words.
SWITCH_PROVIDER_STATES = {"idle": "None", "moving": "MigrationInProgress", "moved": "MigrationSucceeded",
                          "failed": "MigrationFailed"}
# How long a move takes (AD move-from-classic-to-modernized-vmware-disaster-recovery.md): 1-2 hours for a healthy item; else 1 hour + 45 s per GiB.
SWITCH_SECONDS_PER_GIB = 45

# Job states the SDK documents; allowedActions per state.
JOB_ALLOWED_ACTIONS = {
    "InProgress": ("Cancel",),
    "Suspended": ("Resume", "Cancel"),  # [U] a waiting plan job can be resumed or cancelled
    "Failed": ("Restart",),
    "Succeeded": (),
    "Cancelled": (),
}
# REST ReplicationJobs_Get.json: "state": "Succeeded", "stateDescription": "Completed".
JOB_STATE_DESCRIPTIONS = {
    "InProgress": "InProgress",
    "Suspended": "WaitingForManualAction",  # [U] "WaitingForManualAction" not found as a literal (REFERENCE-modernized §4.2)
    "Succeeded": "Completed",
    "Failed": "Failed",
    "Cancelled": "Cancelled",
}


# -- preconditions ---------------------------------------------------------------------------------------------------
@dataclass
class Request:
    """What a precondition sees: the world, the item (or plan), the parsed body and its provider input."""

    world: World
    action: str
    body: dict[str, Any]
    item: Item | None = None
    fabric: Fabric | None = None
    plan: Plan | None = None
    via_plan: bool = False

    @property
    def properties(self) -> dict[str, Any]:
        return self.body.get("properties") or {}

    @property
    def inputs(self) -> dict[str, Any]:
        return self.properties.get("providerSpecificDetails") or {}

    @property
    def direction(self) -> str | None:
        return self.properties.get("failoverDirection")


Check = Callable[[Request], "errors.ServiceError | None"]


def _refuse(code: str, message: str, causes: str, action: str) -> errors.ServiceError:
    return errors.asr(code, message, causes, action)


def not_multi_vm_member(req: Request) -> errors.ServiceError | None:
    """PS StartAzureRmRecoveryServicesAsrUnPlannedFailover.cs / TestFailover cmdlet: an item whose multi-VM group
    was set at enable time (group name ≠ its group id) fails over only through a recovery plan."""
    item = req.item
    if req.via_plan or item is None or not item.multi_vm_group:
        return None
    return _refuse(
        "MultiVmGroupMemberFailoverNotAllowed",
        f"The replicated item '{item.machine.name}' is part of the multi-VM consistency group '{item.multi_vm_group}' "
        f"and can't be failed over by itself.",
        "Machines of a replication group fail over together to a multi-VM consistent point.",
        "Add all machines of the group to a recovery plan and fail over the recovery plan.",
    )


def network_exists(key: str) -> Check:
    def check(req: Request) -> errors.ServiceError | None:
        network = req.properties.get(key) or req.inputs.get(key)
        if req.properties.get("networkType", "VmNetworkAsInput") != "VmNetworkAsInput" or not network:
            return None
        if req.world.vnet_by_id(network) is None:
            return _refuse("AzureNetworkNotFound", f"The Azure virtual network '{network}' was not found.",
                           "The network was deleted or is in another subscription.", "Pass an existing virtual network.")  # fmt: skip
        return None

    check.__doc__ = f"The test network ({key}) must exist (ASR creates the test VM in it; REST TestFailover example)."
    return check


def forward_mapping(req: Request) -> errors.ServiceError | None:
    """Enable needs the container mapped to "Microsoft Azure" with the policy given (PSrec
    TestV2ARCMContainerMapping.json precedes TestV2ARCMEnableDR.json; REFERENCE §5 'mapping before items')."""
    policy_id = req.properties.get("policyId")
    fabric = req.fabric
    assert fabric is not None
    policy = req.world.policy_by_id(policy_id)
    if policy is None:
        return _refuse("PolicyNotFound", f"The replication policy '{policy_id}' was not found.", "", "Create the policy first.")
    ok = any(
        m.target == "Microsoft Azure" and m.policy.lower() == policy.name.lower()
        for m in req.world.mappings_of(fabric.name, fabric.container)
    )
    if not ok:
        return _refuse("ProtectionContainerNotMapped",
                       f"The protection container '{fabric.container}' is not associated with the replication policy '{policy.name}'.",
                       "Enable protection needs a container mapping of the policy to the target 'Microsoft Azure'.",
                       "Create the container mapping (target 'Microsoft Azure') and retry.")  # fmt: skip
    return None


def classic_not_retired(req: Request) -> errors.ServiceError | None:
    """AD move-from-classic / deprecation notice (REFERENCE §5): no new classic replication since 31 January 2026."""
    if req.world.now() >= dt.datetime(2026, 1, 31, tzinfo=dt.UTC):
        return _refuse("ClassicExperienceRetired",
                       "Enabling replication with the classic VMware to Azure experience is no longer supported.",
                       "The classic experience was retired; new replication has been blocked since 31 January 2026.",
                       "Use the modernized experience (replication appliance, provider InMageRcm).")  # fmt: skip
    return None


def classic_enable_components(req: Request) -> errors.ServiceError | None:
    """PS New-AzRecoveryServicesAsrReplicationProtectedItem (VMwareToAzure): a discovered protectable item, the
    process server and master target of the configuration server, a run-as account."""
    fabric, inputs = req.fabric, req.inputs
    assert fabric is not None
    machine = next((m for m in fabric.machines if req.properties.get("protectableItemId", "").lower().endswith("/" + m.protectable_name.lower())), None)
    if machine is None:
        return _refuse("ProtectableItemNotFound", "The protectable item was not found in the protection container.",
                       "The VM was not discovered by the configuration server.", "Refresh the configuration server and retry.")  # fmt: skip
    if req.world.process_server(fabric, inputs.get("processServerId", "")) is None:
        return _refuse("ProcessServerNotFound", f"The process server '{inputs.get('processServerId')}' is not registered.",
                       "", "Pick a process server of the configuration server's fabric.")  # fmt: skip
    if inputs.get("masterTargetId") and req.world.master_target(fabric, inputs["masterTargetId"]) is None:
        return _refuse("MasterTargetNotFound", f"The master target '{inputs.get('masterTargetId')}' is not registered.", "", "")
    return None


def discovered_machine(req: Request) -> errors.ServiceError | None:
    """PSrec TestV2ARCMEnableDR.json / CLI test: ``fabricDiscoveryMachineId`` is a live Microsoft.OffAzure machine
    of the fabric's VMware site, and is not protected yet."""
    found = req.world.discovered(req.inputs.get("fabricDiscoveryMachineId", ""))
    if found is None or found[1].deleted:
        return _refuse("DiscoveredMachineNotFound",
                       f"The machine '{req.inputs.get('fabricDiscoveryMachineId')}' was not found in the VMware site.",
                       "The machine is not discovered by the appliance, or it was deleted in vCenter.",
                       "Check the appliance's discovery and use the id from Microsoft.OffAzure/VMwareSites/<site>/machines.")  # fmt: skip
    if any(i.machine is found[1] and not i.disabled for i in req.world.items.values()):
        return _refuse("MachineAlreadyProtected", f"The machine '{found[1].shown_name}' is already protected.", "", "")
    return None


def appliance_process_server(req: Request) -> errors.ServiceError | None:
    """PS New-…ReplicationProtectedItem.cs: ``processServerId`` is ``fabric.customDetails.processServers[].id``."""
    assert req.fabric is not None
    if req.world.appliance(req.fabric, req.inputs.get("processServerId", "")) is None:
        return _refuse("ProcessServerNotFound", f"The process server '{req.inputs.get('processServerId')}' is not registered.",
                       "", "Use an id from the fabric's customDetails.processServers.")  # fmt: skip
    return None


def disks_input(req: Request) -> errors.ServiceError | None:
    """REFERENCE-modernized §3.1: one of ``disksDefault`` or ``disksToInclude``, not both, not neither."""
    has_default, has_list = bool(req.inputs.get("disksDefault")), bool(req.inputs.get("disksToInclude"))
    if has_default == has_list:
        return _refuse("InvalidDiskInput", "Specify either disksDefault or disksToInclude.", "", "")
    return None


def failback_mapping(req: Request) -> errors.ServiceError | None:
    """REF §5 / PS UpdateAzureRmRecoveryServicesAsrProtectionDirection.cs: the InMage reprotect takes its
    ``profileId`` from the failback mapping — the InMage policy with the configuration server's container as
    both source and target."""
    item = req.item
    assert item is not None
    world = req.world
    own = world.container_id(item.fabric, item.container).lower()
    profile = world.policy_by_id(req.inputs.get("profileId"))
    mapped = profile is not None and profile.provider == "InMage" and any(
        m.policy.lower() == profile.name.lower() and m.target.lower() == own for m in world.mappings_of(item.fabric, item.container)
    )
    if not mapped:
        return _refuse("FailbackPolicyNotAssociated",
                       f"The failback policy '{req.inputs.get('profileId')}' is not associated with the protection container.",
                       "Reprotect to VMware needs the InMage failback policy mapped from the configuration server's "
                       "container to itself.",
                       "Create the container mapping of the failback policy (target: the same container) and pass its policy id.")  # fmt: skip
    return None


def master_target_for_os(req: Request) -> errors.ServiceError | None:
    """REFERENCE §1 / AD vmware-azure-reprotect.md: a Linux VM fails back through a Linux master target; the
    retention drive and datastore are those of the chosen master target (PS takes them from its fabric details)."""
    item, fabric = req.item, req.fabric
    assert item is not None and fabric is not None
    target = req.world.master_target(fabric, req.inputs.get("masterTargetId", ""))
    if target is None:
        return _refuse("MasterTargetNotFound", f"The master target '{req.inputs.get('masterTargetId')}' is not registered.", "", "")
    if target.os.lower() != item.machine.os.lower():
        return _refuse("MasterTargetOsMismatch",
                       f"The master target '{target.name}' runs {target.os}; the machine '{item.machine.name}' runs {item.machine.os}.",
                       "A Linux machine can only fail back through a Linux master target (and Windows through Windows).",
                       f"Pick a {item.machine.os} master target.")  # fmt: skip
    if req.inputs.get("retentionDrive") not in target.retention_volumes:
        return _refuse("RetentionDriveNotFound",
                       f"The retention drive '{req.inputs.get('retentionDrive')}' is not a retention volume of master target '{target.name}'.",
                       "", f"Use one of {target.retention_volumes}.")  # fmt: skip
    datastore = req.inputs.get("datastoreName")
    if datastore is not None and datastore not in target.datastores:
        return _refuse("DatastoreNotFound",
                       f"The datastore '{datastore}' is not accessible to master target '{target.name}'.",
                       "", f"Use one of {target.datastores}.")  # fmt: skip
    return None


def failback_process_server(req: Request) -> errors.ServiceError | None:
    """REFERENCE §1: classic failback replicates through the temporary process server in Azure."""
    assert req.fabric is not None
    server = req.world.process_server(req.fabric, req.inputs.get("processServerId", ""))
    if server is None or not getattr(server, "in_azure", False):
        return _refuse("FailbackProcessServerRequired",
                       f"The process server '{req.inputs.get('processServerId')}' is not a process server in Azure.",
                       "Reprotect to VMware replicates from Azure through a process server deployed in Azure.",
                       "Deploy the temporary Azure process server, register it and pass its id.")  # fmt: skip
    return None


def reenable_storage(req: Request) -> errors.ServiceError | None:
    """REF §5: the re-enable (InMageAzureV2 reprotect of a failed-back item) sends no storage fields in Microsoft's
    script; ``storageAccountId`` is the *target* storage for unmanaged disks, never the cache account."""
    item, inputs = req.item, req.inputs
    assert item is not None
    target = inputs.get("storageAccountId")
    if target and item.storage_account_id is None:
        return _refuse("TargetStorageNotAllowed",
                       f"The storage account '{target}' can't be a target: the machine replicates to managed disks.",
                       "storageAccountId is the target storage for unmanaged disks; the cache (log) storage account is "
                       "logStorageAccountId.",
                       "Send neither storage field to re-enable replication to Azure after failback.")  # fmt: skip
    return None


def on_prem_process_server(req: Request) -> errors.ServiceError | None:
    """PS UpdateAzureRmRecoveryServicesAsrProtectionDirection.cs (InMage branch): re-enable replicates from
    VMware again, through an on-premises process server."""
    assert req.fabric is not None
    server = req.world.process_server(req.fabric, req.inputs.get("processServerId", ""))
    if server is None or getattr(server, "in_azure", False):
        return _refuse("ProcessServerNotFound",
                       f"'{req.inputs.get('processServerId')}' is not an on-premises process server of the configuration server.",
                       "", "Pass the configuration server's (or a scale-out) process server.")  # fmt: skip
    return None


def reprotect_agent(req: Request) -> errors.ServiceError | None:
    """PS UpdateAzureRmRecoveryServicesAsrProtectionDirection.cs (InMageRcm), CLI test: ``reprotectAgentId`` from
    ``fabric.customDetails.reprotectAgents``; ``datastoreName`` one of that agent's ``accessibleDatastores``;
    ``logStorageAccountId`` a storage account (CLIrec body)."""
    fabric, inputs = req.fabric, req.inputs
    assert fabric is not None
    agent = req.world.appliance(fabric, inputs.get("reprotectAgentId", ""))
    if agent is None or not agent.reprotect_agent:
        return _refuse("ReprotectAgentNotFound", f"The reprotect agent '{inputs.get('reprotectAgentId')}' is not registered.",
                       "", "Use an id from the fabric's customDetails.reprotectAgents.")  # fmt: skip
    if inputs.get("datastoreName") not in agent.datastores:
        return _refuse("DatastoreNotAccessible",
                       f"The datastore '{inputs.get('datastoreName')}' is not accessible to the reprotect agent '{agent.name}'.",
                       "", f"Use one of {agent.datastores}.")  # fmt: skip
    if (inputs.get("logStorageAccountId") or "").lower() not in req.world.storage_accounts:
        return _refuse("StorageAccountNotFound", f"The storage account '{inputs.get('logStorageAccountId')}' was not found.", "", "")
    return None


def forward_policy_and_server(req: Request) -> errors.ServiceError | None:
    """REFERENCE-modernized §3.1 step 10: the InMageRcmFailback reprotect needs an appliance process server and
    the forward (InMageRcm) policy."""
    assert req.fabric is not None
    if req.world.appliance(req.fabric, req.inputs.get("processServerId", "")) is None:
        return _refuse("ProcessServerNotFound", f"The process server '{req.inputs.get('processServerId')}' is not registered.", "", "")
    policy = req.world.policy_by_id(req.inputs.get("policyId"))
    if policy is None or policy.provider != "InMageRcm":
        return _refuse("PolicyNotFound", f"'{req.inputs.get('policyId')}' is not an InMageRcm replication policy.", "",
                       "Pass the forward replication policy's id.")  # fmt: skip
    return None


def nic_settings(req: Request) -> errors.ServiceError | None:
    """SDK: NICs are named by the MAC the item reports (CLIrec vmNics[].nicId); subnets must exist in the item's
    target/test network; a static IP must lie in its subnet. [U] ASR's exact checks at update time."""
    item = req.item
    assert item is not None
    world = req.world
    props = req.properties
    inputs = req.inputs
    if item.provider == "InMageRcm":
        nics = [
            (n.get("nicId"), n.get("targetSubnetName"), n.get("targetStaticIPAddress"), n.get("testSubnetName"), n.get("testStaticIPAddress"))
            for n in inputs.get("vmNics") or []
        ]
        target_net = inputs.get("targetNetworkId") or item.target_network_id
        test_net = inputs.get("testNetworkId") or item.test_network_id
    else:
        nics = []
        for n in props.get("vmNics") or []:
            for c in n.get("ipConfigs") or [{}]:
                nics.append((n.get("nicId"), c.get("recoverySubnetName"), c.get("recoveryStaticIPAddress"),
                             c.get("tfoSubnetName"), c.get("tfoStaticIPAddress")))  # fmt: skip
        target_net = props.get("selectedRecoveryAzureNetworkId") or item.target_network_id
        test_net = props.get("selectedTfoAzureNetworkId") or item.test_network_id
    macs = {n.mac.lower() for n in item.machine.nics}
    for nic_id, target_subnet, target_ip, test_subnet, test_ip in nics:
        if (nic_id or "").lower() not in macs:
            return _refuse("NicNotFound", f"The NIC '{nic_id}' is not a NIC of '{item.machine.name}'.",
                           "NICs are identified by the nicId the item reports in providerSpecificDetails.vmNics.",
                           f"Use one of {sorted(macs)}.")  # fmt: skip
        for net_id, subnet, ip in ((target_net, target_subnet, target_ip), (test_net, test_subnet, test_ip)):
            vnet = world.vnet_by_id(net_id)
            if subnet and vnet is not None and subnet not in vnet.subnets:
                return _refuse("SubnetNotFound", f"The subnet '{subnet}' does not exist in '{vnet.name}'.", "", f"Use one of {sorted(vnet.subnets)}.")
            if ip and vnet is not None:
                prefix = vnet.subnets.get(subnet or "") if subnet else None
                if prefix is not None and ipaddress.ip_address(ip) not in ipaddress.ip_network(prefix):
                    return _refuse("StaticIpOutsideSubnet", f"The IP address '{ip}' is not in subnet '{subnet}' ({prefix}).", "", "")
    return None


def switch_provider_source(req: Request) -> errors.ServiceError | None:
    """AD move-from-classic-to-modernized-vmware-disaster-recovery.md ("Prepare classic Recovery Services vault"): the item replicates on-premises → Azure, initial
    replication is complete, it is not failed over, replicates to managed disks, and was not moved already."""
    item = req.item
    assert item is not None
    if item.state == "switched" or item.switch_provider_state == SWITCH_PROVIDER_STATES["moved"]:
        return _refuse("ItemAlreadyMoved", f"The replicated item '{item.machine.name}' has already moved to a modernized vault.",
                       "After a move the classic vault keeps only failover and disable replication.", "Manage it in the modernized vault.")  # fmt: skip
    if item.state != "protected":
        return _refuse("ItemNotReadyToMove", f"The replicated item '{item.machine.name}' can't move: it is {item.state}.",
                       "Only items replicating from on-premises to Azure, with initial replication complete and no "
                       "failover in progress, move.", "Finish the failover or the initial replication first.")  # fmt: skip
    if item.storage_account_id is not None:
        return _refuse("UnmanagedDisksNotSupported", f"The replicated item '{item.machine.name}' replicates to a storage account.",
                       "Only items replicating to managed disks move.", "Switch it to managed disks first.")  # fmt: skip
    return None


def switch_provider_target(req: Request) -> errors.ServiceError | None:
    """SDK SwitchProviderInputProperties, REFERENCE-modernized "Classic→modernized migration", AD move-from-classic-to-modernized-vmware-disaster-recovery.md: target
    provider InMageRcm; machines in a noncritical health state only."""
    item = req.item
    assert item is not None
    if req.properties.get("targetInstanceType") != "InMageRcm":
        return _refuse("InvalidTargetProvider", "Only a switch to InMageRcm is supported.", "", "Set targetInstanceType to InMageRcm.")
    if item.health == "Critical":
        return _refuse("ItemHealthCritical", f"The replicated item '{item.machine.name}' is in a critical health state and can't be moved.",
                       "Machines must be in a noncritical health state to move.", "Fix its replication health first.")  # fmt: skip
    return None


def switch_provider_vault(req: Request) -> errors.ServiceError | None:
    """REFERENCE-modernized "Classic→modernized migration", AD move-from-classic-to-modernized-vmware-disaster-recovery.md ("Required infrastructure", "Prepare modernized
    Recovery Services vault"): ``targetVaultID`` is a vault in the same region; ``targetFabricID`` its InMageRcm fabric
    (the appliance registration created it); ``targetApplianceID`` an appliance registered in it, noncritical, which
    discovered the machine (its vCenter was added to the appliance)."""
    item, inputs = req.item, req.inputs
    assert item is not None
    target = req.world.vault_by_id(inputs.get("targetVaultID"))
    if target is None or target is req.world:
        return _refuse("TargetVaultNotFound", f"The target vault '{inputs.get('targetVaultID')}' was not found.",
                       "The move goes to another Recovery Services vault, with the modernized experience.", "Pass the modernized vault's ARM id.")  # fmt: skip
    if target.location.lower() != req.world.location.lower():
        return _refuse("TargetVaultInAnotherRegion", f"The target vault '{target.vault}' is in {target.location}, the classic vault in {req.world.location}.",
                       "The modernized vault must be in the same region as the classic vault.", "")  # fmt: skip
    fabric = target.fabric_by_id(inputs.get("targetFabricID"))
    if fabric is None or fabric.instance_type != "InMageRcm":
        return _refuse("TargetFabricNotFound", f"The target fabric '{inputs.get('targetFabricID')}' is not an InMageRcm fabric of vault '{target.vault}'.",
                       "The fabric is created when a replication appliance registers with the modernized vault.",
                       "Register the appliance, then pass the vault's InMageRcm fabric id.")  # fmt: skip
    appliance = target.appliance(fabric, inputs.get("targetApplianceID", ""))
    if appliance is None:
        return _refuse("TargetApplianceNotFound", f"The appliance '{inputs.get('targetApplianceID')}' is not registered in fabric '{fabric.name}'.",
                       "", "Use an appliance id from the fabric's customDetails (processServers[].id).")  # fmt: skip
    if appliance.health == "Critical":
        return _refuse("TargetApplianceCritical", f"The appliance '{appliance.name}' is in a critical state.",
                       "The appliance and all its components must be in a noncritical state.", "")  # fmt: skip
    if discovered_twin(fabric, item.machine) is None:
        return _refuse("MachineNotDiscovered", f"The appliance '{appliance.name}' has not discovered '{item.machine.name}'.",
                       "The vCenter of the replicated machines must be added to the appliance for discovery.",
                       "Add the vCenter to the appliance and wait for discovery.")  # fmt: skip
    return None


def discovered_twin(fabric: Fabric, machine: Any) -> Any:
    """The target fabric's own record of the VMware machine (same BIOS id: the same VM seen by another discovery)."""
    return next((mm for mm in fabric.machines if mm.bios_id == machine.bios_id and not mm.deleted), None)


# -- per-item action rules -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionRule:
    provider: str  # the item's providerSpecificDetails.instanceType
    action: str  # URL segment (testFailover, …) or enable / update
    allowed_operation: str | None  # must be in the item's allowedOperations (None: not gated)
    directions: tuple[str | None, ...] | None  # accepted properties.failoverDirection (None = omitted); None = any
    inputs: tuple[str | None, ...] | None  # accepted providerSpecificDetails.instanceType (None = absent)
    scenario: str
    source: str
    result: str | None = None  # resulting state key (None: unchanged)
    result_provider: str | None = None  # provider after the action (reprotect flips it)
    tfo: str | None = None  # resulting test-failover phase
    checks: tuple[Check, ...] = ()
    refused: str | None = None  # ASR refuses this action for this provider, with this reason
    unverified: str | None = None
    placement: str | None = None  # test | recovery: where the VM lands
    removes: tuple[str, ...] = field(default=())  # placements torn down: test | recovery
    restores: tuple[str, ...] = field(default=())  # placements brought back (cancel of a planned failback)


ACTIONS: tuple[ActionRule, ...] = (
    # ================= classic forward: InMageAzureV2 =================
    ActionRule("InMageAzureV2", "enable", None, None, ("InMageAzureV2",), "EnableDr",
               "PS NewAzureRmRecoveryServicesAsrReplicationProtectedItem.cs; REF §5 (classic retired)", result="protected",
               checks=(classic_not_retired, forward_mapping, classic_enable_components)),
    ActionRule("InMageAzureV2", "update", None, None, ("InMageAzureV2", None), "UpdateVmProperties",
               "SDK UpdateReplicationProtectedItemInputProperties.vm_nics; REF §5 (recovery IPs only through update)",
               checks=(nic_settings,)),
    ActionRule("InMageAzureV2", "testFailover", "TestFailover", ("PrimaryToRecovery",), ("InMageAzureV2", None), "TestFailover",
               "PS StartAzureRmRecoveryServicesAsrTestFailoverJob.cs (InMageAzureV2); REF §5 (multi-VM groups)",
               tfo="active", checks=(not_multi_vm_member, network_exists("networkId")), placement="test"),
    ActionRule("InMageAzureV2", "testFailoverCleanup", "TestFailoverCleanup", None, None, "TestFailoverCleanup",
               "REST ReplicationProtectedItems_TestFailoverCleanup.json; REST Reprotect example (MarkedForDeletion)",
               tfo="cleaned", removes=("test",)),
    ActionRule("InMageAzureV2", "unplannedFailover", "UnplannedFailover", ("PrimaryToRecovery",), ("InMageAzureV2", None),
               "UnplannedFailover", "PS StartAzureRmRecoveryServicesAsrUnPlannedFailover.cs ('RecoveryToPrimary Direction is "
               "Invalid for InMageAzureV2'; multi-VM group check)", result="failed_over", checks=(not_multi_vm_member,),
               placement="recovery"),
    ActionRule("InMageAzureV2", "plannedFailover", None, None, None, "PlannedFailover",
               "PS StartAzureRmRecoveryServicesAsrPlannedFailoverJob.cs (no InMageAzureV2 branch)",
               refused="Planned failover isn't supported from VMware to Azure (InMageAzureV2); use an unplanned failover "
                       "with sourceSiteOperations Required.",
               unverified="[U] the refusal comes from the cmdlet, not from a recorded service answer"),
    ActionRule("InMageAzureV2", "failoverCommit", "Commit", None, None, "CommitFailover",
               "PS StartAzureRmRecoveryServicesAsrCommitFailoverJob.cs", result="committed"),
    ActionRule("InMageAzureV2", "reProtect", "ReverseReplicate", ("RecoveryToPrimary",), ("InMage",), "SwitchReplicationGroupProtection",
               "PS UpdateAzureRmRecoveryServicesAsrProtectionDirection.cs (InMageAzureV2 → InMageReprotectInput: process "
               "server, master target, retention volume, datastore, profileId from the failback mapping); REF §5",
               result="protected", result_provider="InMage",
               checks=(failback_mapping, failback_process_server, master_target_for_os)),
    ActionRule("InMageAzureV2", "switchProvider", None, None, ("InMageAzureV2",), "SwitchProvider",
               "SDK SwitchProviderInput (InMageAzureV2SwitchProviderInput: targetVaultID, targetFabricID, targetApplianceID); "
               "REFERENCE-modernized 'Classic→modernized migration'; AD move-from-classic-to-modernized-vmware-disaster-recovery.md; the item appears in the target vault as InMageRcm "
               "Protected, the classic one keeps failover and disable", result="switched",
               checks=(switch_provider_source, switch_provider_target, switch_provider_vault),
               unverified="[U] no allowedOperations entry gates it (the SDK enum has none); switchProviderState strings"),
    # ================= classic reverse: InMage (after reprotect) =================
    ActionRule("InMage", "unplannedFailover", "UnplannedFailover", ("PrimaryToRecovery",), ("InMage", None), "UnplannedFailover",
               "PS StartAzureRmRecoveryServicesAsrUnPlannedFailover.cs ('RecoveryToPrimary Direction is Invalid for InMage'); "
               "Microsoft's end-to-end script fails back with -Direction PrimaryToRecovery (REF §5)",
               result="failed_over", checks=(not_multi_vm_member,), removes=("recovery",)),
    ActionRule("InMage", "failoverCommit", "Commit", None, None, "CommitFailover", "PS StartAzureRmRecoveryServicesAsrCommitFailoverJob.cs",
               result="committed"),
    ActionRule("InMage", "reProtect", "ReverseReplicate", ("RecoveryToPrimary",), ("InMageAzureV2",), "SwitchReplicationGroupProtection",
               "PS UpdateAzureRmRecoveryServicesAsrProtectionDirection.cs (InMage → InMageAzureV2ReprotectInput, "
               "RecoveryToPrimary); REF §5 (re-enable sends neither storage field)",
               result="protected", result_provider="InMageAzureV2", checks=(on_prem_process_server, reenable_storage)),
    ActionRule("InMage", "testFailover", None, None, None, "TestFailover", "PS StartAzureRmRecoveryServicesAsrTestFailoverJob.cs (no InMage branch)",
               refused="Test failover isn't supported while replicating from Azure to VMware (InMage).",
               unverified="[U] refusal from the cmdlet's missing branch"),
    # ================= modernized forward: InMageRcm =================
    ActionRule("InMageRcm", "enable", None, None, ("InMageRcm",), "EnableDr",
               "PS NewAzureRmRecoveryServicesAsrReplicationProtectedItem.cs (InMageRcm); PSrec TestV2ARCMEnableDR.json; "
               "REFERENCE-modernized §3.1", result="protected",
               checks=(forward_mapping, discovered_machine, appliance_process_server, disks_input)),
    ActionRule("InMageRcm", "update", None, None, ("InMageRcm", None), "UpdateVmProperties",
               "SDK InMageRcmUpdateReplicationProtectedItemInput.vm_nics (nicId = MAC, CLIrec)", checks=(nic_settings,)),
    ActionRule("InMageRcm", "testFailover", "TestFailover", ("PrimaryToRecovery",), ("InMageRcm", None), "TestFailover",
               "PS StartAzureRmRecoveryServicesAsrTestFailoverJob.cs (InMageRcm = PrimaryToRecovery); CLIrec",
               tfo="active", checks=(not_multi_vm_member, network_exists("networkId")), placement="test",
               unverified="[U] the multi-VM check is documented for classic; applied to InMageRcm by analogy"),
    ActionRule("InMageRcm", "testFailoverCleanup", "TestFailoverCleanup", None, None, "TestFailoverCleanup",
               "REFERENCE-modernized §3.1 step 4", tfo="cleaned", removes=("test",)),
    ActionRule("InMageRcm", "unplannedFailover", "UnplannedFailover", ("PrimaryToRecovery",), ("InMageRcm",), "UnplannedFailover",
               "PS StartAzureRmRecoveryServicesAsrUnPlannedFailover.cs (InMageRcm: PrimaryToRecovery only, performShutdown); "
               "PSrec TestV2ARCMFailover.json", result="failed_over", checks=(not_multi_vm_member,), placement="recovery",
               unverified="[U] multi-VM check by analogy with classic"),
    ActionRule("InMageRcm", "plannedFailover", None, None, None, "PlannedFailover",
               "PS StartAzureRmRecoveryServicesAsrPlannedFailoverJob.cs (InMageRcm planned failover is unsupported)",
               refused="Planned failover isn't supported for InMageRcm; use an unplanned failover."),
    ActionRule("InMageRcm", "failoverCommit", "Commit", None, None, "CommitFailover", "PSrec TestV2ARCMCommit.json", result="committed"),
    ActionRule("InMageRcm", "reProtect", "SwitchProtection", ("RecoveryToPrimary",), ("InMageRcm",), "SwitchReplicationGroupProtection",
               "PS UpdateAzureRmRecoveryServicesAsrProtectionDirection.cs (InMageRcm requires RecoveryToPrimary); CLIrec body; "
               "CLI test reprotects from commit-pending (the job commits first)",
               result="protected", result_provider="InMageRcmFailback", checks=(reprotect_agent,)),
    ActionRule("InMageRcm", "failoverCancel", None, None, None, "CancelFailover",
               "AD failover-failback-overview-modernized.md ('Only planned failover can be cancelled'); PSrec TestV2ARCMFailover.json",
               refused="Only a planned failover can be cancelled; an unplanned failover of an InMageRcm item can't."),
    # ================= modernized reverse: InMageRcmFailback =================
    ActionRule("InMageRcmFailback", "testFailover", None, None, None, "TestFailover",
               "PS StartAzureRmRecoveryServicesAsrTestFailoverJob.cs (InMageRcmFailback test failover is unsupported)",
               refused="Test failover isn't supported for InMageRcmFailback (replication from Azure to VMware)."),
    ActionRule("InMageRcmFailback", "unplannedFailover", None, None, None, "UnplannedFailover",
               "PS StartAzureRmRecoveryServicesAsrUnPlannedFailover.cs (InMageRcmFailback unplanned failover throws)",
               refused="Unplanned failover isn't supported for InMageRcmFailback; fail back with a planned failover."),
    ActionRule("InMageRcmFailback", "plannedFailover", "PlannedFailover", (None, "RecoveryToPrimary"), ("InMageRcmFailback",),
               "PlannedFailover", "PS StartAzureRmRecoveryServicesAsrPlannedFailoverJob.cs (sends FailoverDirection null); "
               "PSrec TestV2ARCMFailback.json; CLI test", result="failed_over", removes=("recovery",),
               unverified="[U] an explicit RecoveryToPrimary is accepted (the cmdlet's -Direction value)"),
    ActionRule("InMageRcmFailback", "failoverCancel", "CancelFailover", None, None, "CancelFailover",
               "PSrec TestV2ARCMCancelFailover.json ('Cancel failover and resume replication')", result="protected",
               restores=("recovery",),
               unverified="[U] the state after cancel is not captured; back to Protected"),
    ActionRule("InMageRcmFailback", "failoverCommit", "Commit", None, None, "CommitFailover",
               "REFERENCE-modernized §3.1 step 9", result="committed", unverified="[U] resulting state string"),
    ActionRule("InMageRcmFailback", "reProtect", "SwitchProtection", (None, "PrimaryToRecovery"), ("InMageRcmFailback",),
               "SwitchReplicationGroupProtection", "PS UpdateAzureRmRecoveryServicesAsrProtectionDirection.cs (PrimaryToRecovery); "
               "PSrec TestV2ARCM540Reprotect.json (body omits it)", result="protected", result_provider="InMageRcm",
               checks=(forward_policy_and_server,)),
)


def action_rule(provider: str, action: str) -> ActionRule | None:
    return next((r for r in ACTIONS if r.provider == provider and r.action == action), None)


# -- recovery-plan rules -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanRule:
    """A recovery-plan operation for the plan's items of one provider. At plan level the primary is always the
    VMware fabric, so failing back is ``RecoveryToPrimary`` (REFERENCE-modernized §3.2)."""

    action: str
    provider: str
    item_action: str | None  # the per-item rule whose allowedOperation/effect applies to each item
    directions: tuple[str | None, ...] | None
    plan_input: str | None  # RecoveryPlan…FailoverInput instanceType for this provider
    input_required: bool
    source: str
    refused: str | None = None
    unverified: str | None = None


_RP_REPROTECT = ("Reprotect isn't supported on a recovery plan with VMware machines; reprotect each replicated item.")
PLAN_ACTIONS: tuple[PlanRule, ...] = (
    PlanRule("testFailover", "InMageAzureV2", "testFailover", ("PrimaryToRecovery",), "InMageAzureV2", False,
             "PS StartAzureRmRecoveryServicesAsrTestFailoverJob.cs (RP branch: RecoveryPlanInMageAzureV2FailoverInput)"),
    PlanRule("testFailover", "InMageRcm", "testFailover", ("PrimaryToRecovery",), "InMageRcm", False,
             "PS StartAzureRmRecoveryServicesAsrTestFailoverJob.cs (RP branch: RecoveryPlanInMageRcmFailoverInput)"),
    PlanRule("testFailoverCleanup", "InMageAzureV2", "testFailoverCleanup", None, None, False, "SDK RecoveryPlanTestFailoverCleanupInput"),
    PlanRule("testFailoverCleanup", "InMageRcm", "testFailoverCleanup", None, None, False, "SDK RecoveryPlanTestFailoverCleanupInput"),
    PlanRule("unplannedFailover", "InMageAzureV2", "unplannedFailover", ("PrimaryToRecovery",), "InMageAzureV2", False,
             "PS StartAzureRmRecoveryServicesAsrUnPlannedFailover.cs (RP branch)"),
    PlanRule("unplannedFailover", "InMage", "unplannedFailover", ("RecoveryToPrimary",), "InMage", False,
             "PS StartAzureRmRecoveryServicesAsrUnPlannedFailover.cs (RP branch: InMage only with RecoveryToPrimary)"),
    PlanRule("unplannedFailover", "InMageRcm", "unplannedFailover", ("PrimaryToRecovery",), "InMageRcm", False,
             "REFERENCE-modernized §3.2 (RecoveryPlanInMageRcmFailoverInput)"),
    PlanRule("plannedFailover", "InMageRcmFailback", "plannedFailover", ("RecoveryToPrimary",), "InMageRcmFailback", True,
             "PS StartAzureRmRecoveryServicesAsrPlannedFailoverJob.cs (RP branch, commit 91cb6e9c)"),
    PlanRule("plannedFailover", "InMageRcm", None, None, None, False,
             "PS StartAzureRmRecoveryServicesAsrPlannedFailoverJob.cs", refused="Planned failover isn't supported for InMageRcm."),
    PlanRule("plannedFailover", "InMageAzureV2", None, None, None, False, "PS StartAzureRmRecoveryServicesAsrPlannedFailoverJob.cs",
             refused="Planned failover isn't supported from VMware to Azure (InMageAzureV2).", unverified="[U] from the cmdlet"),
    *(PlanRule("failoverCommit", p, "failoverCommit", None, None, False, "SDK begin_failover_commit (no input)")
      for p in ("InMageAzureV2", "InMage", "InMageRcm", "InMageRcmFailback")),
    *(PlanRule("reProtect", p, None, None, None, False,
               "PS UpdateAzureRmRecoveryServicesAsrProtectionDirection.cs (RP branch throws for InMageAzureV2, InMage, "
               "InMageRcm, InMageRcmFailback)", refused=_RP_REPROTECT)
      for p in ("InMageAzureV2", "InMage", "InMageRcm", "InMageRcmFailback")),
    PlanRule("failoverCancel", "InMageRcmFailback", "failoverCancel", None, None, False, "SDK begin_failover_cancel",
             unverified="[U] by analogy with the per-item cancel after a planned failover"),
)


def plan_rule(action: str, provider: str) -> PlanRule | None:
    return next((r for r in PLAN_ACTIONS if r.action == action and r.provider == provider), None)


# The plan operation's failover type as recovery-plan actions name it (RecoveryPlanAction.failoverTypes).
PLAN_FAILOVER_TYPE = {
    "testFailover": "TestFailover",
    "plannedFailover": "PlannedFailover",
    "unplannedFailover": "UnplannedFailover",
    "testFailoverCleanup": "TestFailoverCleanup",
    "failoverCommit": "Commit",
    "failoverCancel": "CancelFailover",
}

# Recovery-plan limits: AD recovery-plan-overview.md (100 protected items), REFERENCE §1 (7 boot groups, portal).
PLAN_MAX_ITEMS = 100
PLAN_MAX_BOOT_GROUPS = 7


def check_item_action(req: Request, rule: ActionRule, *, allowed: tuple[str, ...], skip_direction: bool = False) -> errors.ServiceError | None:
    """Apply one per-item row: refusal, allowedOperation, direction, provider input, then its preconditions."""
    item = req.item
    assert item is not None
    name = item.machine.name
    if rule.refused:
        return _refuse("OperationNotSupported", rule.refused, f"Provider {rule.provider} (source: {rule.source}).", "")
    if rule.allowed_operation and rule.allowed_operation not in allowed:
        return _refuse("OperationNotAllowedInState",
                       f"The operation '{rule.allowed_operation}' isn't allowed for '{name}' in its current state.",
                       f"The item is {item.provider}, allowed operations are {list(allowed)}.",
                       "Read the item's allowedOperations and run an operation it lists.")  # fmt: skip
    if not skip_direction and rule.directions is not None and req.direction not in rule.directions:
        shown = [d or "(omitted)" for d in rule.directions]
        return _refuse("InvalidFailoverDirection",
                       f"{req.direction or '(omitted)'} Direction is Invalid for {rule.provider}: {rule.action} accepts {shown}.",
                       "The direction is relative to the item's provider: after reprotect the item's primary is Azure.",
                       f"Send failoverDirection {shown[0]}.")  # fmt: skip
    if not req.via_plan and rule.inputs is not None:
        got = req.inputs.get("instanceType") if req.inputs else None
        if got not in rule.inputs:
            wanted = [i or "(none)" for i in rule.inputs]
            return _refuse("InvalidProviderSpecificInput",
                           f"providerSpecificDetails.instanceType {got or '(none)'} isn't valid for {rule.action} of a {rule.provider} item.",
                           f"{rule.provider} {rule.action} takes {wanted}.", "")  # fmt: skip
    for check in rule.checks:
        problem = check(req)
        if problem is not None:
            return problem
    return None

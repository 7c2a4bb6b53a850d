"""The stand-in's world: one Recovery Services vault with its fabrics (classic ``VMware`` and/or modernized
``InMageRcm``), the VMware machines they discovered, replicated items, recovery plans, jobs, the Azure networks a
failover lands in, Microsoft.OffAzure discovery and Azure Automation jobs.

Several vaults (a classic one moving to a modernized one, ``switchProvider``) are several worlds on one clock, served
by one :class:`standin.server.Standin` (``other_vaults=``): each world sees the others as :attr:`World.neighbours`,
which is how a move finds its target vault, fabric and appliance, and creates the moved item there.

Tests build a world with the seeding API (:func:`classic_world`, :func:`modernized_world`, or ``World`` methods),
hand it to :class:`standin.server.Standin`, and read it back (:meth:`World.item`, :meth:`World.test_vm`,
:meth:`World.recovery_vm`, :attr:`World.jobs`). Nothing here knows HTTP; the ASR behaviour is in
:mod:`standin.asr`, the rules in :mod:`standin.rules`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock

AZURE = "Microsoft Azure"  # ASR's literal recovery fabric / target container for "to Azure" (PSrec, CLI test)
NAMESPACE = uuid.UUID("7d0b3a51-2f40-4c8e-9c3f-6a8f0e5b9a11")


def stable_uuid(*parts: str) -> str:
    """Deterministic GUIDs keep seeded worlds reproducible from run to run."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def stable_mac(*parts: str) -> str:
    # VMware's OUI (00:50:56) as in the recorded vmNics/networkAdapters.
    digest = uuid.uuid5(NAMESPACE, "mac/" + "/".join(parts)).bytes
    return "00:50:56:" + ":".join(f"{b:02x}" for b in digest[:3])


# -- on-premises ---------------------------------------------------------------------------------------------------
@dataclass
class Nic:
    """A VM NIC. ``mac`` is how ASR names it (``vmNics[].nicId``, CLIrec). Recovery/test settings come from the
    protected item's update call (never from enable)."""

    mac: str
    ip: str | None = None
    network_name: str = "VM Network"
    primary: bool = False
    selected: bool = True
    target_subnet: str | None = None
    target_ip: str | None = None
    test_subnet: str | None = None
    test_ip: str | None = None


@dataclass
class Disk:
    uuid: str
    size_gb: int = 128
    os_disk: bool = False
    label: str = "Hard disk 1"


@dataclass
class Machine:
    """A VMware VM as vCenter (and so the configuration server or the appliance's discovery) sees it."""

    name: str
    os: str = "Windows"  # Windows | Linux
    nics: list[Nic] = field(default_factory=list)
    disks: list[Disk] = field(default_factory=list)
    datastore: str = "datastore1"
    vcenter: str = "vcenter01"
    instance_uuid: str = ""
    bios_id: str = ""
    display_name: str | None = None  # OffAzure displayName; None = same as name, "" = missing (as seen in CLIrec)
    power: str = "ON"
    deleted: bool = False  # OffAzure isDeleted (CLIrec shows deleted and live copies of the same VM name)
    cpu: int = 4
    memory_mb: int = 8192
    protectable_name: str = ""  # classic: the protectable item's ASR name (a GUID)

    @property
    def offazure_name(self) -> str:
        # "<vCenter friendly name>_<VM instance UUID>" (REFERENCE-modernized §2.4, CLIrec)
        return f"{self.vcenter}_{self.instance_uuid}"

    @property
    def shown_name(self) -> str:
        return self.name if self.display_name is None else self.display_name


@dataclass
class ProcessServer:
    """Classic process server: on the configuration server, scale-out, or the temporary Azure one for failback."""

    id: str
    name: str
    ip: str
    os: str = "Windows"
    in_azure: bool = False


@dataclass
class MasterTarget:
    """Classic master target: failback writes through it; a Linux VM needs a Linux one (REFERENCE §1, §5)."""

    id: str
    name: str
    ip: str
    os: str = "Windows"
    retention_volumes: list[str] = field(default_factory=list)
    datastores: list[str] = field(default_factory=list)


@dataclass
class RunAsAccount:
    """A credential the configuration server (classic) or the appliance (modernized, OffAzure) holds."""

    id: str
    name: str
    credential_type: str = "WindowsGuest"  # OffAzure: VMwareFabric | CredentialLessAccount | LinuxGuest | WindowsGuest
    appliance: str = ""


@dataclass
class Appliance:
    """A modernized replication appliance. One GUID names every component of it (CLIrec, PSrec)."""

    id: str
    name: str
    ip: str
    datastores: list[str] = field(default_factory=list)  # the reprotect agent's accessibleDatastores
    vcenter: str = "vcenter01"
    version: str = "9.62.7096.1"  # the process server's, push installer's, reprotect agent's
    health: str = "Normal"
    reprotect_agent: bool = True
    # Components versioned apart from the process server (fabric customDetails lists), as the move from classic checks
    # them. [U] real values: these are the minimums AD move-from-classic-to-modernized-vmware-disaster-recovery.md lists
    # (proxy server, recovery services agent = MARS, replication service = the RCM replication agent).
    versions: dict[str, str] = field(default_factory=lambda: {"rcm_proxies": "1.35.8419.34591", "mars_agents": "2.0.9249.0",
                                                              "replication_agents": "1.35.8433.24227", "dras": "5.24.0.0"})


@dataclass
class Fabric:
    """A fabric ASR created when on-premises infrastructure registered (never through ARM, REFERENCE §2)."""

    name: str
    friendly_name: str
    instance_type: str  # VMware (classic) | InMageRcm (modernized)
    container: str
    internal_id: str
    # classic
    cs_ip: str = ""
    cs_host: str = ""
    cs_version: str = "9.60.0.0"  # VMwareDetails.agentVersion of the configuration server and its process servers
    process_servers: list[ProcessServer] = field(default_factory=list)
    master_targets: list[MasterTarget] = field(default_factory=list)
    run_as_accounts: list[RunAsAccount] = field(default_factory=list)
    # modernized
    site: str = ""  # Microsoft.OffAzure VMware site name
    appliances: list[Appliance] = field(default_factory=list)
    machines: list[Machine] = field(default_factory=list)

    @property
    def classic(self) -> bool:
        return self.instance_type == "VMware"


@dataclass
class VNet:
    id: str
    name: str
    resource_group: str
    subnets: dict[str, str]  # name -> address prefix
    location: str = "westeurope"


# -- ASR resources -------------------------------------------------------------------------------------------------
@dataclass
class Policy:
    name: str
    provider: str  # InMageAzureV2 | InMage | InMageRcm | InMageRcmFailback
    history_minutes: int = 4320
    app_frequency_minutes: int = 240
    crash_frequency_minutes: int = 5
    rpo_threshold_minutes: int = 15
    multi_vm_sync: bool = True


@dataclass
class Mapping:
    name: str
    fabric: str
    container: str
    policy: str  # policy name
    target: str  # "Microsoft Azure" or a protection container ARM id (classic failback: the container itself)
    state: str = "Paired"


@dataclass
class Placement:
    """Where a failed-over or test VM landed in Azure: the read-back tests assert on."""

    machine: str
    kind: str  # test | recovery
    network_id: str
    subnet: str
    ip: str
    job: str
    time: dt.datetime
    recovery_point_time: dt.datetime | None = None
    active: bool = True


@dataclass
class Item:
    """A replication protected item. ``provider`` is ``providerSpecificDetails.instanceType``; ``state`` is a key of
    :data:`standin.rules.STATES` for that provider; ``tfo`` the test-failover phase (none | active | cleaned)."""

    name: str
    fabric: str
    container: str
    machine: Machine
    provider: str
    policy: str
    state: str = "protected"
    tfo: str = "none"
    internal_id: str = ""
    multi_vm_group: str | None = None
    multi_vm_group_id: str = ""
    process_server_id: str = ""
    master_target_id: str = ""
    run_as_account_id: str | None = None
    log_storage_account_id: str = ""
    storage_account_id: str | None = None  # classic target storage (unmanaged disks); None = managed disks
    disk_type: str = "Standard_LRS"
    target_resource_group_id: str = ""
    target_network_id: str = ""
    test_network_id: str = ""
    target_subnet: str = ""
    test_subnet: str = ""
    target_vm_name: str = ""
    target_vm_size: str = "Standard_D2s_v3"
    # reverse direction (failback)
    reprotect_agent_id: str = ""
    failback_datastore: str = ""
    retention_drive: str = ""
    failback_policy: str = ""
    last_planned_failover_status: str | None = None
    last_planned_failover_time: dt.datetime | None = None
    # replication health
    rpo_seconds: int = 180
    health: str = "Normal"
    agent_version: str = "9.60.0.0"  # classic: the Mobility agent's (InMageAzureV2ReplicationDetails.agentVersion)
    replicating_since: dt.datetime | None = None
    points_until: dt.datetime | None = None  # recovery points stop being created at failover
    failover_point_id: str | None = None
    last_failover_time: dt.datetime | None = None
    last_tfo_time: dt.datetime | None = None
    current_job: str | None = None
    switch_provider_state: str = "None"  # a key of rules.SWITCH_PROVIDER_STATES' values (classic items)
    switch_target: SwitchTarget | None = None  # where a move to modernized goes (InMageAzureV2SwitchProviderDetails)
    disabled: bool = False


@dataclass(frozen=True)
class SwitchTarget:
    """A classic item's move to a modernized vault: the switchProvider input's ids, and the moved item once created."""

    vault_id: str
    fabric_id: str
    appliance_id: str
    resource_id: str | None = None  # the InMageRcm item in the target vault


@dataclass
class PlanAction:
    name: str
    kind: str  # manual | runbook | script
    failover_types: list[str]
    failover_directions: list[str]
    details: dict[str, Any] = field(default_factory=dict)  # the wire customDetails


@dataclass
class PlanGroup:
    group_type: str  # Shutdown | Failover | Boot
    items: list[str] = field(default_factory=list)  # item names
    start_actions: list[PlanAction] = field(default_factory=list)
    end_actions: list[PlanAction] = field(default_factory=list)


@dataclass
class Plan:
    name: str
    primary_fabric: str
    groups: list[PlanGroup]
    deployment_model: str = "ResourceManager"
    current_job: str | None = None
    last_tfo_time: dt.datetime | None = None
    last_ufo_time: dt.datetime | None = None
    last_pfo_time: dt.datetime | None = None

    def item_names(self) -> list[str]:
        return [name for group in self.groups for name in group.items]


@dataclass
class Segment:
    """One stretch of a job's timeline: ``work`` for ``seconds`` then ``apply`` (its effect), or ``manual`` (the
    job waits, Suspended, until someone resumes it)."""

    kind: str  # work | manual
    name: str
    friendly_name: str
    seconds: float = 0.0
    apply: Callable[[dt.datetime], str | None] | None = None  # returns an error message to fail the job
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    state: str = "NotStarted"
    instructions: str = ""


@dataclass
class Job:
    name: str
    scenario: str
    friendly_name: str
    target_type: str  # ProtectionEntity | RecoveryPlan | ProtectionProfile | ...
    target_id: str
    target_name: str
    activity_id: str
    client_request_id: str
    start: dt.datetime
    segments: list[Segment]
    state: str = "InProgress"
    end: dt.datetime | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # items this job owns (currentScenario)
    plan: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)  # extra customDetails (failover network, points)
    index: int = 0  # current segment
    resume_comments: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.state in ("Succeeded", "Failed", "Cancelled")


@dataclass
class AutomationJob:
    name: str
    account: str
    runbook: str
    parameters: dict[str, str]
    created: dt.datetime
    seconds: float
    client_request_id: str
    fail: bool = False
    stopped_at: dt.datetime | None = None


@dataclass
class Failure:
    """Make the next ``times`` jobs of ``scenario`` (optionally only for ``machine``) fail with ``message``."""

    scenario: str
    machine: str | None = None
    times: int = 1
    message: str = "The operation failed on the replication appliance or configuration server."


# -- the vault -----------------------------------------------------------------------------------------------------
class World:
    """All state of one vault, its subscription's networks, OffAzure sites and one Automation account."""

    def __init__(
        self,
        *,
        subscription: str = "00000000-0000-0000-0000-000000000000",
        resource_group: str = "rg-dr",
        vault: str = "rsv-dr",
        location: str = "westeurope",
        automation_account: str = "aa-dr",
        clock: Clock | None = None,
    ) -> None:
        self.subscription = subscription
        self.resource_group = resource_group
        self.vault = vault
        self.location = location
        self.automation_account = automation_account
        self.clock = clock or Clock()
        self.neighbours: list[World] = []  # the other vaults the same stand-in serves (set by Standin)
        self.fabrics: dict[str, Fabric] = {}
        self.policies: dict[str, Policy] = {}
        self.mappings: dict[str, Mapping] = {}
        self.items: dict[str, Item] = {}
        self.plans: dict[str, Plan] = {}
        self.jobs: dict[str, Job] = {}
        self.vnets: dict[str, VNet] = {}
        self.storage_accounts: set[str] = set()
        self.placements: list[Placement] = []
        self.automation_jobs: dict[str, AutomationJob] = {}
        self.runbook_seconds: dict[str, float] = {}
        self.failing_runbooks: set[str] = set()
        self.failures: list[Failure] = []
        self.runbook_calls: list[dict[str, Any]] = []  # runbook actions a plan job ran
        from .dns import Dns

        self.dns = Dns()  # Azure DNS zones (standin.dns)
        # Simulated seconds each job scenario takes (rules.SCENARIOS has the defaults); tests may change them.
        from .rules import SCENARIOS

        self.durations: dict[str, float] = {name: s.seconds for name, s in SCENARIOS.items()}

    # -- time ------------------------------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock.now()

    # -- ids -------------------------------------------------------------------------------------------------------
    @property
    def vault_id(self) -> str:
        # ASR spells its own ids with a capital S (REST examples, CLIrec); ARM ids are case-insensitive.
        return (
            f"/Subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{self.vault}"
        )

    def rg_id(self, resource_group: str | None = None) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{resource_group or self.resource_group}"

    def fabric_id(self, fabric: str) -> str:
        return f"{self.vault_id}/replicationFabrics/{fabric}"

    def container_id(self, fabric: str, container: str) -> str:
        return f"{self.fabric_id(fabric)}/replicationProtectionContainers/{container}"

    def item_id(self, item: Item) -> str:
        return f"{self.container_id(item.fabric, item.container)}/replicationProtectedItems/{item.name}"

    def policy_id(self, policy: str) -> str:
        return f"{self.vault_id}/replicationPolicies/{policy}"

    def mapping_id(self, mapping: Mapping) -> str:
        return f"{self.container_id(mapping.fabric, mapping.container)}/replicationProtectionContainerMappings/{mapping.name}"

    def plan_id(self, plan: str) -> str:
        return f"{self.vault_id}/replicationRecoveryPlans/{plan}"

    def job_id(self, job: str) -> str:
        return f"{self.vault_id}/replicationJobs/{job}"

    def site_id(self, site: str) -> str:
        return f"{self.rg_id()}/providers/Microsoft.OffAzure/VMwareSites/{site}"

    def machine_id(self, fabric: Fabric, machine: Machine) -> str:
        return f"{self.site_id(fabric.site)}/machines/{machine.offazure_name}"

    def run_as_id(self, fabric: Fabric, account: str) -> str:
        return f"{self.site_id(fabric.site)}/runasaccounts/{account}"

    def vnet_id(self, name: str, resource_group: str | None = None) -> str:
        return f"{self.rg_id(resource_group)}/providers/Microsoft.Network/virtualNetworks/{name}"

    def storage_id(self, name: str, resource_group: str | None = None) -> str:
        return f"{self.rg_id(resource_group)}/providers/Microsoft.Storage/storageAccounts/{name}"

    # -- lookups (names are case-insensitive, as in ARM) --------------------------------------------------------------
    def vault_by_id(self, vault_id: str | None) -> World | None:
        """This vault or another one the stand-in serves, by ARM id (ids compare case-insensitively)."""
        for world in (self, *self.neighbours):
            if world.vault_id.lower() == (vault_id or "").rstrip("/").lower():
                return world
        return None

    def fabric_by_id(self, fabric_id: str | None) -> Fabric | None:
        name = (fabric_id or "").rstrip("/").split("/")[-1]
        fabric = self.fabric(name)
        return fabric if fabric is not None and self.fabric_id(fabric.name).lower() == (fabric_id or "").rstrip("/").lower() else None

    @staticmethod
    def lookup(table: dict[str, Any], name: str) -> Any:
        for key, value in table.items():
            if key.lower() == name.lower():
                return value
        return None

    def fabric(self, name: str) -> Fabric | None:
        return self.lookup(self.fabrics, name)

    def policy(self, name: str) -> Policy | None:
        return self.lookup(self.policies, name)

    def policy_by_id(self, policy_id: str | None) -> Policy | None:
        if not policy_id:
            return None
        name = policy_id.rstrip("/").split("/")[-1]
        policy = self.policy(name)
        return policy if policy is not None and self.policy_id(policy.name).lower() == policy_id.lower() else None

    def find_item(self, name: str) -> Item | None:
        return self.lookup(self.items, name)

    def item_by_id(self, item_id: str) -> Item | None:
        for item in self.items.values():
            if self.item_id(item).lower() == item_id.lower():
                return item
        return None

    def plan(self, name: str) -> Plan | None:
        return self.lookup(self.plans, name)

    def job(self, name: str) -> Job | None:
        return self.lookup(self.jobs, name)

    def vnet_by_id(self, vnet_id: str | None) -> VNet | None:
        return self.lookup(self.vnets, vnet_id or "")

    def fabric_of_container(self, container: str) -> Fabric | None:
        for fabric in self.fabrics.values():
            if fabric.container.lower() == container.lower():
                return fabric
        return None

    def mappings_of(self, fabric: str, container: str) -> list[Mapping]:
        return [
            m for m in self.mappings.values() if m.fabric.lower() == fabric.lower() and m.container.lower() == container.lower()
        ]

    def process_server(self, fabric: Fabric, ps_id: str) -> ProcessServer | Appliance | None:
        for server in [*fabric.process_servers, *fabric.appliances]:
            if server.id.lower() == (ps_id or "").lower():
                return server
        return None

    def master_target(self, fabric: Fabric, mt_id: str) -> MasterTarget | None:
        return next((t for t in fabric.master_targets if t.id.lower() == (mt_id or "").lower()), None)

    def appliance(self, fabric: Fabric, appliance_id: str) -> Appliance | None:
        return next((a for a in fabric.appliances if a.id.lower() == (appliance_id or "").lower()), None)

    def discovered(self, machine_id: str) -> tuple[Fabric, Machine] | None:
        for fabric in self.fabrics.values():
            if fabric.classic:
                continue
            for machine in fabric.machines:
                if self.machine_id(fabric, machine).lower() == (machine_id or "").lower():
                    return fabric, machine
        return None

    # -- read-back for tests ---------------------------------------------------------------------------------------
    def item(self, machine: str) -> Item:
        """The protected item of the VMware machine named ``machine`` (the vSphere VM name)."""
        found = [i for i in self.items.values() if i.machine.name.lower() == machine.lower() and not i.disabled]
        if len(found) != 1:
            raise KeyError(f"{len(found)} protected items for machine {machine!r}")
        return found[0]

    def _vm(self, machine: str, kind: str) -> Placement | None:
        live = [p for p in self.placements if p.machine.lower() == machine.lower() and p.kind == kind and p.active]
        return live[-1] if live else None

    def test_vm(self, machine: str) -> Placement | None:
        """The live test-failover VM of ``machine`` (network, subnet, IP), or None."""
        return self._vm(machine, "test")

    def recovery_vm(self, machine: str) -> Placement | None:
        """The live failed-over VM of ``machine`` in Azure, or None."""
        return self._vm(machine, "recovery")

    def jobs_of(self, scenario: str | None = None) -> list[Job]:
        return [j for j in self.jobs.values() if scenario is None or j.scenario == scenario]

    # -- seeding ---------------------------------------------------------------------------------------------------
    def add_vnet(self, name: str, subnets: dict[str, str], *, resource_group: str | None = None) -> VNet:
        for prefix in subnets.values():
            ipaddress.ip_network(prefix)  # a bad prefix is a test bug: fail early
        vnet = VNet(self.vnet_id(name, resource_group), name, resource_group or self.resource_group, dict(subnets))
        self.vnets[vnet.id] = vnet
        return vnet

    def add_storage_account(self, name: str, *, resource_group: str | None = None) -> str:
        sid = self.storage_id(name, resource_group)
        self.storage_accounts.add(sid.lower())
        return sid

    def add_policy(self, name: str, provider: str, **settings: Any) -> Policy:
        policy = Policy(name=name, provider=provider, **settings)
        self.policies[name] = policy
        return policy

    def add_mapping(self, name: str, fabric: Fabric, policy: Policy, target: str = AZURE) -> Mapping:
        mapping = Mapping(name=name, fabric=fabric.name, container=fabric.container, policy=policy.name, target=target)
        self.mappings[name] = mapping
        return mapping

    def add_classic_fabric(
        self,
        name: str = "cs01",
        *,
        cs_ip: str = "10.10.0.10",
        linux_master_target: bool = True,
        azure_process_server: bool = True,
        scale_out_process_servers: int = 0,
    ) -> Fabric:
        """A configuration server's fabric (``VMware``): its built-in process server and Windows master target,
        optionally a Linux master target (with its own retention volume and datastore), scale-out process
        servers and the temporary Azure process server failback needs."""
        fid = stable_uuid("fabric", name)
        fabric = Fabric(
            name=fid.replace("-", "")[:32],
            friendly_name=name,
            instance_type="VMware",
            container=f"cloud_{stable_uuid('container', name)}",
            internal_id=fid,
            cs_ip=cs_ip,
            cs_host=name,
        )
        cs_id = stable_uuid("cs", name).upper()
        fabric.process_servers.append(ProcessServer(cs_id, name, cs_ip))
        for n in range(scale_out_process_servers):
            fabric.process_servers.append(ProcessServer(stable_uuid("ps", name, str(n)).upper(), f"{name}-ps{n + 1}", f"10.10.0.{20 + n}"))
        if azure_process_server:
            fabric.process_servers.append(ProcessServer(stable_uuid("azps", name).upper(), f"{name}-azure-ps", "10.20.9.4", in_azure=True))
        # The configuration server is the default (Windows) master target: its own retention drive and datastores.
        fabric.master_targets.append(MasterTarget(cs_id, name, cs_ip, "Windows", ["E:\\"], ["datastore1", "datastore2"]))
        if linux_master_target:
            fabric.master_targets.append(
                MasterTarget(stable_uuid("lmt", name).upper(), f"{name}-lmt", "10.10.0.30", "Linux", ["/mnt/retention"], ["datastore-linux"])
            )  # fmt: skip
        fabric.run_as_accounts.append(RunAsAccount(stable_uuid("runas", name, "vcenter"), "vcenter-discovery", "VMwareFabric"))
        fabric.run_as_accounts.append(RunAsAccount(stable_uuid("runas", name, "windows"), "windows-push", "WindowsGuest"))
        fabric.run_as_accounts.append(RunAsAccount(stable_uuid("runas", name, "linux"), "linux-push", "LinuxGuest"))
        self.fabrics[fabric.name] = fabric
        return fabric

    def add_modernized_fabric(self, name: str | None = None, *, appliances: Sequence[str] = ("appliance01",),
                              datastores: Sequence[str] = ("datastore1", "datastore2")) -> Fabric:  # fmt: skip
        """An ``InMageRcm`` fabric as appliance registration creates it: container ``<prefix>replicationcontainer``,
        VMware site ``<prefix>vmwaresite`` (names as in PSrec/CLIrec), one appliance per name, each with a reprotect
        agent that can reach ``datastores``."""
        prefix = self.vault[:8] + stable_uuid("prefix", self.vault)[:4]
        fabric = Fabric(
            name=name or f"{self.vault}-vmwarefabric",
            friendly_name=name or f"{self.vault}-vmwarefabric",
            instance_type="InMageRcm",
            container=f"{prefix}replicationcontainer",
            internal_id=stable_uuid("fabric", self.vault),
            site=f"{prefix}vmwaresite",
        )
        for n, appliance in enumerate(appliances):
            fabric.appliances.append(
                Appliance(stable_uuid("appliance", appliance), appliance, f"10.10.0.{50 + n}", list(datastores))
            )
        fabric.run_as_accounts.append(RunAsAccount(stable_uuid("runas", fabric.site, "vcenter"), "vcenter-discovery", "VMwareFabric", appliances[0] if appliances else ""))
        fabric.run_as_accounts.append(RunAsAccount(stable_uuid("runas", fabric.site, "credless"), "credentialLessRunAsAccount", "CredentialLessAccount", appliances[0] if appliances else ""))
        fabric.run_as_accounts.append(RunAsAccount(stable_uuid("runas", fabric.site, "windows"), "windows-guest", "WindowsGuest", appliances[0] if appliances else ""))
        fabric.run_as_accounts.append(RunAsAccount(stable_uuid("runas", fabric.site, "linux"), "linux-guest", "LinuxGuest", appliances[0] if appliances else ""))
        self.fabrics[fabric.name] = fabric
        return fabric

    def add_run_as_account(self, fabric: Fabric, name: str, credential_type: str = "WindowsGuest") -> RunAsAccount:
        account = RunAsAccount(stable_uuid("runas", fabric.name, name), name, credential_type,
                               fabric.appliances[0].name if fabric.appliances else "")  # fmt: skip
        fabric.run_as_accounts.append(account)
        return account

    def add_machine(
        self,
        fabric: Fabric,
        name: str,
        *,
        os: str = "Windows",
        nics: int | Sequence[str] = 1,
        ips: Sequence[str] | None = None,
        disks: int = 1,
        datastore: str = "datastore1",
        display_name: str | None = None,
        deleted: bool = False,
    ) -> Machine:
        macs = [stable_mac(name, str(n)) for n in range(nics)] if isinstance(nics, int) else list(nics)
        machine = Machine(
            name=name,
            os=os,
            nics=[Nic(mac=mac, ip=(ips[n] if ips and n < len(ips) else None), primary=(n == 0)) for n, mac in enumerate(macs)],
            disks=[Disk(stable_uuid("disk", name, str(n)), 128 if n == 0 else 256, os_disk=(n == 0), label=f"Hard disk {n + 1}") for n in range(disks)],
            datastore=datastore,
            instance_uuid="50" + stable_uuid("vm", name, str(deleted))[2:],
            bios_id=stable_uuid("bios", name),
            display_name=display_name,
            deleted=deleted,
            protectable_name=stable_uuid("protectable", name, str(deleted)),
        )  # fmt: skip
        fabric.machines.append(machine)
        return machine

    def protect(
        self,
        fabric: Fabric,
        machine: Machine,
        *,
        policy: Policy,
        target_network: VNet,
        target_subnet: str,
        test_network: VNet | None = None,
        log_storage_account: str,
        group: str | None = None,
        appliance: str | None = None,
        process_server: ProcessServer | None = None,
        item_name: str | None = None,
        rpo_seconds: int = 180,
        replicating_for: float = 86400.0,
    ) -> Item:
        """Seed an item that finished initial replication ``replicating_for`` seconds ago (state Protected)."""
        now = self.now()
        guest = "LinuxGuest" if machine.os == "Linux" else "WindowsGuest"
        account = next((a for a in fabric.run_as_accounts if a.credential_type == guest), None)
        run_as = None if account is None else (account.id if fabric.classic else self.run_as_id(fabric, account.id))
        if fabric.classic:
            ps = process_server or fabric.process_servers[0]
            name = item_name or stable_uuid("rpi", machine.name)
            provider = "InMageAzureV2"
            ps_id = ps.id
            mt_id = fabric.master_targets[0].id
        else:
            chosen = next((a for a in fabric.appliances if a.name == appliance), fabric.appliances[0])
            name = item_name or machine.offazure_name
            provider = "InMageRcm"
            ps_id = chosen.id
            mt_id = ""
        item = Item(
            name=name,
            fabric=fabric.name,
            container=fabric.container,
            machine=machine,
            provider=provider,
            policy=policy.name,
            internal_id=stable_uuid("internal", machine.name),
            multi_vm_group=group,
            multi_vm_group_id=stable_uuid("mvg", group or machine.name),
            process_server_id=ps_id,
            master_target_id=mt_id,
            run_as_account_id=run_as,
            log_storage_account_id=log_storage_account,
            target_resource_group_id=self.rg_id(f"{self.resource_group}-recovery"),
            target_network_id=target_network.id,
            test_network_id=test_network.id if test_network else "",
            target_subnet=target_subnet,
            target_vm_name=machine.name,
            rpo_seconds=rpo_seconds,
            replicating_since=now - dt.timedelta(seconds=replicating_for),
        )
        for nic in machine.nics:
            nic.target_subnet = nic.target_subnet or target_subnet
        self.items[item.name] = item
        return item

    def set_state(self, machine: str, provider: str, state: str, *, tfo: str = "none") -> Item:
        """Put ``machine``'s item straight into ``state`` of ``provider`` (a row of :data:`standin.rules.STATES`),
        e.g. to test a refusal without replaying the lifecycle that leads there."""
        from .rules import state as state_row

        state_row(provider, state)  # an unknown (provider, state) is a test bug
        item = self.item(machine)
        item.provider, item.state, item.tfo = provider, state, tfo
        if state in ("failed_over", "committed") and item.points_until is None:
            item.points_until = self.now()
        return item

    def add_plan(self, name: str, fabric: Fabric, groups: Sequence[Sequence[str]], *, manual: dict[int, str] | None = None,
                 manual_types: Sequence[str] = ("TestFailover", "PlannedFailover", "UnplannedFailover")) -> Plan:  # fmt: skip
        """Seed a recovery plan: Shutdown, Failover, then one Boot group per list of machine names; ``manual``
        maps a Boot group index to the description of a manual action before that group."""
        plan_groups = [PlanGroup("Shutdown"), PlanGroup("Failover")]
        for n, machines in enumerate(groups):
            group = PlanGroup("Boot", items=[self.item(m).name for m in machines])
            if manual and n in manual:
                group.start_actions.append(
                    PlanAction(f"manual-{n + 1}", "manual", list(manual_types), ["PrimaryToRecovery", "RecoveryToPrimary"],
                               {"instanceType": "ManualActionDetails", "description": manual[n]})  # fmt: skip
                )
            plan_groups.append(group)
        plan = Plan(name=name, primary_fabric=fabric.name, groups=plan_groups)
        self.plans[name] = plan
        return plan


# -- ready-made worlds ---------------------------------------------------------------------------------------------
@dataclass
class MachineSpec:
    """One machine for :func:`classic_world` / :func:`modernized_world`."""

    name: str
    os: str = "Windows"
    disks: int = 1
    nics: int | Sequence[str] = 1  # a count, or the NICs' MAC addresses
    ips: Sequence[str] = ()
    group: str | None = None  # multi-VM consistency group
    appliance: str | None = None  # modernized: which appliance replicates it
    protected: bool = True
    subnet: str = "snet-app"
    display_name: str | None = None


DEFAULT_SUBNETS = {"snet-app": "10.20.1.0/24", "snet-db": "10.20.2.0/24"}


@dataclass(frozen=True)
class Names:
    """Names of the Azure resources a seeded world creates; pass the stack's names so the code under test finds
    them where the Pulumi program would have created them."""

    recovery_vnet: str = "vnet-dr-recovery"
    test_vnet: str = "vnet-dr-test"
    network_resource_group: str | None = None  # default: the vault's resource group
    cache_account: str = "stdrcache"
    replication_policy: str = "policy-replication"
    failback_policy: str = "policy-failback"
    forward_mapping: str = "mapping-to-azure"
    failback_mapping: str = "mapping-failback"


def _common(world: World, names: Names, subnets: dict[str, str] | None, test_subnets: dict[str, str] | None) -> tuple[VNet, VNet, str]:
    recovery = world.add_vnet(names.recovery_vnet, subnets or DEFAULT_SUBNETS, resource_group=names.network_resource_group)
    test = world.add_vnet(names.test_vnet, test_subnets if test_subnets is not None else (subnets or DEFAULT_SUBNETS),
                          resource_group=names.network_resource_group)  # fmt: skip
    cache = world.add_storage_account(names.cache_account)
    return recovery, test, cache


def classic_world(
    machines: Sequence[MachineSpec],
    *,
    world: World | None = None,
    names: Names = Names(),
    configuration_server: str = "cs01",
    linux_master_target: bool = True,
    failback_mapping: bool = True,
    subnets: dict[str, str] | None = None,
    test_subnets: dict[str, str] | None = None,
) -> World:
    """A classic vault: configuration server fabric, InMageAzureV2 policy + forward mapping to "Microsoft Azure",
    InMage failback policy (+ its mapping: the configuration server's container mapped to itself, REFERENCE §5,
    unless ``failback_mapping=False``), recovery and test VNets, a cache storage account, and ``machines``."""
    world = world or World()
    fabric = world.add_classic_fabric(configuration_server, linux_master_target=linux_master_target)
    forward = world.add_policy(names.replication_policy, "InMageAzureV2")
    failback = world.add_policy(names.failback_policy, "InMage", app_frequency_minutes=60)
    world.add_mapping(names.forward_mapping, fabric, forward)
    if failback_mapping:
        world.add_mapping(names.failback_mapping, fabric, failback, target=world.container_id(fabric.name, fabric.container))
    recovery, test, cache = _common(world, names, subnets, test_subnets)
    for spec in machines:
        machine = world.add_machine(fabric, spec.name, os=spec.os, nics=spec.nics, ips=spec.ips, disks=spec.disks,
                                    datastore="datastore1", display_name=spec.display_name)  # fmt: skip
        if spec.protected:
            world.protect(fabric, machine, policy=forward, target_network=recovery, target_subnet=spec.subnet,
                          test_network=test, log_storage_account=cache, group=spec.group)  # fmt: skip
    return world


def modernized_world(
    machines: Sequence[MachineSpec],
    *,
    world: World | None = None,
    names: Names = Names(),
    appliances: Sequence[str] = ("appliance01",),
    datastores: Sequence[str] = ("datastore1", "datastore2"),
    subnets: dict[str, str] | None = None,
    test_subnets: dict[str, str] | None = None,
) -> World:
    """A modernized vault: InMageRcm fabric with appliances (process server, reprotect agent with datastores, …),
    InMageRcm + InMageRcmFailback policies and their mappings (as the portal creates them), networks, a cache
    storage account, discovered OffAzure machines and ``machines``."""
    world = world or World()
    fabric = world.add_modernized_fabric(appliances=appliances, datastores=datastores)
    forward = world.add_policy(names.replication_policy, "InMageRcm")
    failback = world.add_policy(names.failback_policy, "InMageRcmFailback", app_frequency_minutes=0)
    world.add_mapping(names.forward_mapping, fabric, forward)
    world.add_mapping(names.failback_mapping, fabric, failback)  # [U] its target container is not documented
    recovery, test, cache = _common(world, names, subnets, test_subnets)
    for spec in machines:
        machine = world.add_machine(fabric, spec.name, os=spec.os, nics=spec.nics, ips=spec.ips, disks=spec.disks,
                                    display_name=spec.display_name)  # fmt: skip
        if spec.protected:
            world.protect(fabric, machine, policy=forward, target_network=recovery, target_subnet=spec.subnet,
                          test_network=test, log_storage_account=cache, group=spec.group, appliance=spec.appliance)  # fmt: skip
    return world


def migration_pair(
    machines: Sequence[MachineSpec],
    *,
    classic: World | None = None,
    modernized: World | None = None,
    classic_names: Names = Names(),
    modernized_names: Names = Names(),
    appliances: Sequence[str] = ("appliance01",),
    subnets: dict[str, str] | None = None,
    test_subnets: dict[str, str] | None = None,
) -> tuple[World, World]:
    """A classic vault replicating ``machines`` and an empty modernized vault (another resource group, the same
    clock) whose appliance discovered the same VMs — what a move from classic needs (AD move-from-classic-to-
    modernized-vmware-disaster-recovery.md, "Prepare the infrastructure"). Serve both:
    ``Standin(source, tmp, other_vaults=[target])``."""
    source = classic or World()
    target = modernized or World(subscription=source.subscription, resource_group=f"{source.resource_group}-modern",
                                 vault=f"{source.vault}-modern", location=source.location, clock=source.clock)  # fmt: skip
    if target.clock is not source.clock:
        raise ValueError("the two vaults of a migration pair share one clock (World(clock=classic.clock))")
    classic_world(machines, world=source, names=classic_names, subnets=subnets, test_subnets=test_subnets)
    unprotected = [MachineSpec(s.name, os=s.os, disks=s.disks, nics=s.nics, ips=s.ips, protected=False, subnet=s.subnet,
                               display_name=s.display_name) for s in machines]  # fmt: skip
    modernized_world(unprotected, world=target, names=modernized_names, appliances=appliances, subnets=subnets,
                     test_subnets=test_subnets)  # fmt: skip
    return source, target

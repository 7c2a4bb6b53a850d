"""A lab for Azure provider tests: a stack of its own (modernized or classic) in a private project copy, the ASR
stand-in seeded from it (the vault the Pulumi program and the registration would have produced), and the stack's
``registration`` block filled in from the stand-in's ids — so the provider finds everything where it looks in a
real vault, and nothing depends on the sample stacks.

A migration lab (``migrate_to=True``, classic): a second, modernized stack (``azmod``) listing the same machines, its
vault served by the same stand-in on the same clock, its appliance registered (unless ``target_registered=False``)
and its discovery seeing the classic stack's VMs — what ``asrctl migrate --stack azcls --to-stack azmod`` needs.

Time: :class:`standin.engine_clock.EngineClock` by default — the engine's waits move the stand-in's clock, so a
whole lifecycle runs in well under a second and its RTO is exact. ``auto_speed`` instead runs the stand-in's clock
at that many simulated seconds per real second (for subprocess tests, whose provider uses the wall clock).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from standin import Clock, MachineSpec, Names, Standin, World, classic_world, modernized_world
from standin.engine_clock import EngineClock

SUBSCRIPTION = "5e7c1a2b-3d4e-4f60-8a9b-0c1d2e3f4a5b"
NS = "vmware-azure-dr:"
AZURE_PROCESS_SERVER_IP = "10.60.2.250"  # the temporary Azure process server (classic failback)


@dataclass(frozen=True)
class LabMachine:
    name: str
    os: str  # linux | windows
    tier: str  # db | app | web
    host: int  # last octet: on-prem 10.10.<tier>.<host>, recovery 10.60.<tier>.<host>

    @property
    def vm_name(self) -> str:
        return self.name.upper() if self.os == "windows" else self.name


TIERS = {"db": 1, "app": 2, "web": 3}
DEFAULT_MACHINES = (
    LabMachine("erp-sql01", "windows", "db", 11),
    LabMachine("erp-sql02", "windows", "db", 12),
    LabMachine("erp-app01", "linux", "app", 21),
    LabMachine("erp-web01", "linux", "web", 31),
)
# Plan groups: name → machines. A group of two or more is a multi-VM group when multiVmSync is on.
DEFAULT_GROUPS = (("database", ("erp-sql01", "erp-sql02")), ("application", ("erp-app01",)), ("web", ("erp-web01",)))


def machine_entry(m: LabMachine) -> dict[str, Any]:
    t = TIERS[m.tier]
    return {"name": m.name, "os": m.os, "osVersion": "Windows Server 2019" if m.os == "windows" else "RHEL 8",
            "ip": f"10.10.{t}.{m.host}", "vmName": m.vm_name, "targetVmSize": "Standard_D4s_v5",
            "targetSubnet": m.tier, "recoveryIp": f"10.60.{t}.{m.host}", "churnGbPerDay": 5,
            "disks": [{"sizeGb": 64}]}  # fmt: skip


def stack_doc(architecture: str, env: str, machines: tuple[LabMachine, ...], *, multi_vm_sync: bool,
              registration: dict[str, Any] | None) -> dict[str, Any]:
    subnets = lambda base: [{"name": t, "prefix": f"10.{base}.{n}.0/24"} for t, n in TIERS.items()]  # noqa: E731
    config: dict[str, Any] = {
        NS + "architecture": architecture,
        NS + "environment": env,
        NS + "location": "westeurope",
        NS + "subscriptionId": SUBSCRIPTION,
        NS + "tags": {"owner": "dr-team@contoso.com", "drTier": "tier-1"},
        NS + "replication": {"rpoThresholdMinutes": 15, "recoveryPointRetentionHours": 24,
                             "appConsistentFrequencyMinutes": 60, "multiVmSync": multi_vm_sync},
        NS + "network": {
            "recovery": {"addressSpace": "10.60.0.0/16", "subnets": subnets(60)},
            "testFailover": {"addressSpace": "10.160.0.0/16", "subnets": subnets(160)},
            "onPrem": {"addressSpaces": ["10.10.0.0/16"], "asrServerRanges": ["10.10.0.0/24"]},
        },
        NS + "vcenter": {"server": "vcsa01.corp.contoso.com", "user": "svc-asr@vsphere.local", "datacenter": "DC1",
                         "cluster": "CL1", "datastore": "datastore1", "network": "PG-Servers"},
        NS + "alerts": {"emails": ["dr-team@contoso.com"]},
        NS + "machines": [machine_entry(m) for m in machines],
        NS + "vcenterPassword": {"secure": "v1:AAAAAAAAAAAAAAAA:dmNlbnRlcg=="},
    }
    if architecture == "modernized":
        config[NS + "replicationAppliances"] = {
            "ovfUrl": "https://repo.corp.contoso.com/asr/ReplicationAppliance/ReplicationAppliance.ovf",
            "prefixLength": 24, "gateway": "10.10.0.1", "dnsServers": ["10.10.0.2"],
            "appliances": [{"name": "appliance01", "ip": "10.10.0.50"}],
        }
        config[NS + "failback"] = {"enabled": True}  # the InMageRcmFailback policy and its mapping
    else:
        config[NS + "network"]["gatewaySubnetPrefix"] = "10.60.255.0/27"
        config[NS + "configurationServer"] = {
            "name": "cs01", "ovfUrl": "https://aka.ms/asrconfigurationserver", "ip": "10.10.0.10", "prefixLength": 24,
            "gateway": "10.10.0.1", "dnsServers": ["10.10.0.2"], "serverTemplate": "tpl-ws2016-asr",
        }
        config[NS + "failback"] = {"enabled": True, "onPremGatewayIp": "203.0.113.10", "expiresOn": "2027-06-30",
                                   "processServerIp": AZURE_PROCESS_SERVER_IP}
        config[NS + "csPassphrase"] = {"secure": "v1:AAAAAAAAAAAAAAAA:cGFzc3BocmFzZQ=="}
        config[NS + "vpnSharedKey"] = {"secure": "v1:AAAAAAAAAAAAAAAA:c2hhcmVka2V5"}
        config[NS + "failbackAdminPassword"] = {"secure": "v1:AAAAAAAAAAAAAAAA:cGFzc3dvcmQ="}
    if registration is not None:
        config[NS + "registration"] = registration
    return {"config": config}


@dataclass
class Lab:
    project: Path
    tmp: Path
    architecture: str = "modernized"
    machines: tuple[LabMachine, ...] = DEFAULT_MACHINES
    groups: tuple[tuple[str, tuple[str, ...]], ...] = DEFAULT_GROUPS
    multi_vm_sync: bool = False
    plan_name: str = "azlab"
    auto_speed: float | None = None
    test_subnets_like_recovery: bool = True
    plan_text: str | None = None  # a plan file of its own instead of the groups
    job_scale: float = 0.2  # ASR's job durations × this: fewer polls per job, the same rules and order
    migrate_to: bool = False  # classic only: also a modernized target stack and vault (asrctl migrate)
    target_registered: bool = True  # the target stack carries its appliance's registration block
    world: World = field(init=False)
    target_world: World | None = field(init=False, default=None)
    arm: Standin = field(init=False)
    clock: Any = field(init=False)

    def __post_init__(self) -> None:
        self.stack = "azmod" if self.architecture == "modernized" else "azcls"
        self._write_stack(None)
        self._write_plan()
        from asrctl.config import load_stack_file
        from asrctl.recovery.providers.azure.asr import stack_azure_ids

        cfg = load_stack_file(self.stack_path)
        self.ids = stack_azure_ids(cfg)
        self.world = self._seed(cfg)
        self._write_stack(self._registration())
        self.cfg = load_stack_file(self.stack_path)
        others = []
        if self.migrate_to:
            assert self.architecture == "classic", "a migration moves a classic stack"
            self.target_world = self._seed_target()
            others.append(self.target_world)
        self.arm = Standin(self.world, self.tmp / "standin", retry_after=0, other_vaults=others)
        self.clock = EngineClock(self.arm)

    # -- files ---------------------------------------------------------------------------------------------------
    @property
    def stack_path(self) -> Path:
        return self.project / "stacks" / f"Pulumi.{self.stack}.yaml"

    target_stack = "azmod"

    @property
    def target_path(self) -> Path:
        return self.project / "stacks" / f"Pulumi.{self.target_stack}.yaml"

    @property
    def plan_path(self) -> Path:
        return self.project / "runbooks" / "plans" / f"{self.plan_name}.yaml"

    def _write_stack(self, registration: dict[str, Any] | None) -> None:
        env = "azm" if self.architecture == "modernized" else "azc"
        doc = stack_doc(self.architecture, env, self.machines, multi_vm_sync=self.multi_vm_sync,
                        registration=registration)
        self.stack_path.write_text(yaml.safe_dump(doc, sort_keys=False))

    def _write_plan(self) -> None:
        # Other plans of the project copy name machines this stack lacks: only ours may exist here.
        for other in self.plan_path.parent.glob("*.yaml"):
            other.unlink()
        if self.plan_text is not None:
            self.plan_path.write_text(self.plan_text)
            return
        doc = {"name": self.plan_name, "groups": [{"name": g, "machines": list(ms)} for g, ms in self.groups]}
        self.plan_path.write_text(yaml.safe_dump(doc, sort_keys=False))

    # -- the vault ------------------------------------------------------------------------------------------------
    def _names(self, cfg: Any) -> Names:
        """The Azure names the Pulumi program gives the stack's resources (asrctl.infra.naming)."""
        from asrctl.infra.naming import AzureNames

        names = AzureNames(cfg.environment, cfg.location)
        return Names(
            recovery_vnet=names.virtual_network("recovery"), test_vnet=names.virtual_network("test"),
            cache_account=names.storage_account("cache"), replication_policy=names.replication_policy("replication"),
            failback_policy=names.replication_policy("failback"),
        )  # fmt: skip

    def subnet(self, tier: str, role: str = "recovery") -> str:
        """Azure subnet names as asrctl.infra.network creates them."""
        from asrctl.infra.naming import AzureNames

        names = AzureNames(self.cfg_env, "westeurope")
        return names.subnet(tier) if role == "recovery" or self.test_subnets_like_recovery else names.subnet(
            f"test-{tier}")

    @property
    def cfg_env(self) -> str:
        return "azm" if self.architecture == "modernized" else "azc"

    def multi_vm_groups(self) -> dict[str, str]:
        from asrctl.plans import multi_vm_group_name

        if not self.multi_vm_sync:
            return {}
        return {m: multi_vm_group_name(self.plan_name, g) for g, ms in self.groups if len(ms) >= 2 for m in ms}

    def _seed(self, cfg: Any) -> World:
        # Today, so that commands run with the wall clock (the CLI's provider) see fresh heartbeats and points.
        clock = Clock(dt.datetime.now(dt.UTC).replace(second=0, microsecond=0), speed=self.auto_speed)
        world = World(subscription=cfg.subscription_id, resource_group=self.ids.resource_group, vault=self.ids.vault,
                      automation_account=self.ids.automation_account, clock=clock)
        world.durations = {name: seconds * self.job_scale for name, seconds in world.durations.items()}
        groups = self.multi_vm_groups()
        recovery = {self.subnet(t): f"10.60.{n}.0/24" for t, n in TIERS.items()}
        test = {self.subnet(t, "test"): f"10.160.{n}.0/24" for t, n in TIERS.items()}
        specs = [MachineSpec(m.vm_name, os="Linux" if m.os == "linux" else "Windows",
                             ips=[f"10.10.{TIERS[m.tier]}.{m.host}"], group=groups.get(m.name),
                             subnet=self.subnet(m.tier))
                 for m in self.machines]  # fmt: skip
        seed = modernized_world if self.architecture == "modernized" else classic_world
        seed(specs, world=world, names=self._names(cfg), subnets=recovery, test_subnets=test)
        fabric = next(iter(world.fabrics.values()))
        self.fabric = fabric
        for server in fabric.process_servers:
            if server.in_azure:
                server.ip = AZURE_PROCESS_SERVER_IP  # where the stack deploys it
        # The policies as the Pulumi program creates them from the stack's replication settings.
        forward = world.policies[self._names(cfg).replication_policy]
        forward.app_frequency_minutes = cfg.replication.app_consistent_frequency_minutes
        forward.history_minutes = cfg.replication.recovery_point_retention_hours * 60
        forward.multi_vm_sync = cfg.replication.multi_vm_sync
        for plan in sorted(set(groups.values())):
            members = [m.vm_name for m in self.machines if groups.get(m.name) == plan]
            world.add_plan(plan, fabric, [members])
        return world

    def _seed_target(self) -> World:
        """The modernized vault the classic machines move to: the Pulumi program's resources for stack ``azmod``, an
        InMageRcm fabric with one appliance whose discovery sees the same VMs (not protected there yet)."""
        from asrctl.config import load_stack_file
        from asrctl.recovery.providers.azure.asr import stack_azure_ids

        doc = stack_doc("modernized", "azm", self.machines, multi_vm_sync=self.multi_vm_sync, registration=None)
        self.target_path.write_text(yaml.safe_dump(doc, sort_keys=False))
        cfg = load_stack_file(self.target_path)
        ids = stack_azure_ids(cfg)
        world = World(subscription=cfg.subscription_id, resource_group=ids.resource_group, vault=ids.vault,
                      automation_account=ids.automation_account, clock=self.world.clock)
        world.durations = dict(self.world.durations)
        from asrctl.infra.naming import AzureNames

        names = AzureNames("azm", "westeurope")
        recovery = {names.subnet(t): f"10.60.{n}.0/24" for t, n in TIERS.items()}
        specs = [MachineSpec(m.vm_name, os="Linux" if m.os == "linux" else "Windows",
                             ips=[f"10.10.{TIERS[m.tier]}.{m.host}"], protected=False) for m in self.machines]
        modernized_world(specs, world=world, names=self._names(cfg), subnets=recovery, test_subnets=recovery)
        self.target_ids = ids
        self.target_fabric = next(iter(world.fabrics.values()))
        if self.target_registered:
            fabric = self.target_fabric
            by_name = {m.name: m for m in fabric.machines}
            registration = {
                "fabricName": fabric.name, "protectionContainerName": fabric.container,
                "vmwareSiteId": world.site_id(fabric.site),
                "appliances": {a.name: {"processServerId": a.id, "reprotectAgentId": a.id} for a in fabric.appliances},
                "discoveredMachines": {m.name: world.machine_id(fabric, by_name[m.vm_name]) for m in self.machines},
            }  # fmt: skip
            doc = stack_doc("modernized", "azm", self.machines, multi_vm_sync=self.multi_vm_sync,
                            registration=registration)
            self.target_path.write_text(yaml.safe_dump(doc, sort_keys=False))
        self.target_cfg = load_stack_file(self.target_path)
        return world

    def moved_item(self, machine: str) -> Any:
        """The machine's item in the target vault (after its move), or None."""
        assert self.target_world is not None
        vm = next(m.vm_name for m in self.machines if m.name == machine)
        found = [i for i in self.target_world.items.values() if i.machine.name == vm and not i.disabled]
        return found[0] if found else None

    def _registration(self) -> dict[str, Any]:
        world, fabric = self.world, self.fabric
        by_name = {m.name: m for m in fabric.machines}
        if self.architecture == "modernized":
            return {
                "fabricName": fabric.name,
                "protectionContainerName": fabric.container,
                "vmwareSiteId": world.site_id(fabric.site),
                "appliances": {a.name: {"processServerId": a.id, "reprotectAgentId": a.id} for a in fabric.appliances},
                "discoveredMachines": {m.name: world.machine_id(fabric, by_name[m.vm_name]) for m in self.machines},
            }
        windows, linux = fabric.master_targets[0], next(t for t in fabric.master_targets if t.os == "Linux")
        return {
            "fabricName": fabric.name,
            "protectionContainerName": fabric.container,
            "processServerId": fabric.process_servers[0].id,
            "masterTargetId": windows.id,
            "linuxMasterTargetId": linux.id,
            "runAsAccountId": fabric.run_as_accounts[1].id,
            "failbackProcessServerId": next(p.id for p in fabric.process_servers if p.in_azure),
            "retentionDrive": windows.retention_volumes[0],
            "protectableItems": {m.name: by_name[m.vm_name].protectable_name for m in self.machines},
        }

    # -- use -----------------------------------------------------------------------------------------------------
    def item(self, machine: str) -> Any:
        vm = next(m.vm_name for m in self.machines if m.name == machine)
        return self.world.item(vm)

    def provider(self, **kwargs: Any) -> Any:
        from asrctl.recovery.providers.azure import AzureProvider

        kwargs.setdefault("clock", self.clock)
        return AzureProvider(self.cfg, self.stack, **kwargs)

    def run(self, command: str, **options: Any) -> Any:
        from asrctl.recovery import runner

        options.setdefault("auto_approve", True)
        options.setdefault("provider_options", {"clock": self.clock})
        return runner.start(command, self.plan_name, self.stack, "azure", **options)

    def migrate(self, **options: Any) -> Any:
        """``asrctl migrate --stack azcls --to-stack azmod --provider azure`` in this process, on the lab's clock."""
        from asrctl.recovery import runner

        options.setdefault("auto_approve", True)
        options.setdefault("provider_options", {"clock": self.clock})
        return runner.migrate(self.stack, self.target_stack, "azure", **options)

    def resume(self, run_id: str, **options: Any) -> Any:
        from asrctl.recovery import runner

        options.setdefault("provider_options", {"clock": self.clock})
        return runner.resume(run_id, **options)

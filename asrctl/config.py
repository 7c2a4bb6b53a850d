"""The stack configuration: one typed, frozen model, validated once, up front.

Two doors lead here and both end in :func:`validate_stack_config`:

* ``load_stack(name)`` reads ``stacks/Pulumi.<name>.yaml`` directly (every asrctl command, and the mock-mode
  preview); errors carry ``file:line``.
* ``from_pulumi_config()`` reads the same keys through ``pulumi.Config`` inside a real ``pulumi up``.

Errors are one line: ``<file:line: >vmware-azure-dr:<key path>: <value> <rule>``. Secrets (configuration-server
passphrase, vCenter password, VPN shared key) are never part of the model: only whether they are declared, and they
must be declared as Pulumi secrets (``pulumi config set --secret``), never in clear text.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from asrctl.errors import BadInput
from asrctl.project import CONFIG_NAMESPACE, known_stacks, stack_file
from asrctl.yamlfile import KeyPath, LocatedYaml, display_path, load_yaml

NS = CONFIG_NAMESPACE

# Secret keys: read with require_secret in the Pulumi program, or from the environment in mock mode.
SECRET_KEYS: dict[str, str] = {
    "csPassphrase": "ASRCTL_CS_PASSPHRASE",
    "vcenterPassword": "ASRCTL_VCENTER_PASSWORD",
    "vpnSharedKey": "ASRCTL_VPN_SHARED_KEY",
    "failbackAdminPassword": "ASRCTL_FAILBACK_ADMIN_PASSWORD",
}

# Our bound on recovery point retention (ASR itself allows up to 15 days on managed disks): what the classic
# architecture documented for the cache/seed pipeline, and what keeps the recovery-point storage bill predictable.
MAX_RETENTION_HOURS = {"Premium_LRS": 24, "StandardSSD_LRS": 72, "Standard_LRS": 72}
ASR_MAX_RETENTION_HOURS = 15 * 24

VM_SIZE_RE = re.compile(r"^Standard_[A-Z]{1,4}\d+(-\d+)?[a-z]*(_[A-Z]\d+)?(_v\d+)?$")
MACHINE_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ENV_RE = re.compile(r"^[a-z][a-z0-9]{1,7}$")
REGION_RE = re.compile(r"^[a-z]+[a-z0-9]*$")
ARM_ID_RE = re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/.+$")


class _Model(BaseModel):
    """camelCase keys in YAML, snake_case in Python, unknown keys rejected, values frozen."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, str_strip_whitespace=True
    )


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"is not a valid CIDR ({exc}); write it like 10.60.0.0/16") from None
    if net.version != 4 or not any(net.subnet_of(p) for p in _RFC1918):
        raise ValueError("is not a private RFC 1918 range (10/8, 172.16/12, 192.168/16)")
    return value


_RFC1918 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
Cidr = Annotated[str, Field(description="A private IPv4 CIDR block.")]


class Tags(_Model):
    owner: str = Field(description="Required. Team or person accountable for the DR site (e-mail or group).")
    dr_tier: str = Field(description="Required. DR tier of the protected workload, e.g. tier-1.")
    cost_center: str | None = Field(default=None, description="Optional. Cost center tag. Default none.")


class Replication(_Model):
    rpo_threshold_minutes: int = Field(
        description="Required. RPO threshold in minutes: ASR raises an event and our alert fires above it (> 0)."
    )
    recovery_point_retention_hours: int = Field(
        description="Required. Recovery point history in hours: how far back a failover can go."
    )
    app_consistent_frequency_minutes: int = Field(
        description="Required. App-consistent (VSS) snapshot frequency in minutes, 60 to 720, below the retention."
    )
    crash_consistent_frequency_minutes: int = Field(
        default=5, description="Optional. Crash-consistent frequency in minutes; ASR fixes it at 5. Default 5."
    )
    multi_vm_sync: bool = Field(
        default=False, description="Optional. Multi-VM consistency (port 20004 between VMs). Default false."
    )
    target_disk_type: Literal["Standard_LRS", "StandardSSD_LRS", "Premium_LRS"] = Field(
        default="Standard_LRS", description="Optional. Managed disk type of the replicas. Default Standard_LRS."
    )

    @field_validator("rpo_threshold_minutes")
    @classmethod
    def _rpo_positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("must be greater than 0 minutes")
        return v

    @field_validator("app_consistent_frequency_minutes")
    @classmethod
    def _app_frequency(cls, v: int) -> int:
        if not 60 <= v <= 720:
            raise ValueError("must be between 60 and 720 minutes (1 to 12 hours)")
        return v

    @field_validator("crash_consistent_frequency_minutes")
    @classmethod
    def _crash_frequency(cls, v: int) -> int:
        if v != 5:
            raise ValueError("must be 5: ASR takes crash-consistent points every 5 minutes")
        return v


class CacheStorage(_Model):
    sku: Literal["Standard_LRS", "Standard_ZRS"] = Field(
        default="Standard_LRS",
        description="Optional. Cache account SKU; ASR needs Standard general purpose v2. Default Standard_LRS.",
    )


class Subnet(_Model):
    name: str = Field(description="Required. Subnet name without prefix, e.g. db, app, web.")
    prefix: Cidr = Field(description="Required. Address prefix inside the VNet's address space.")

    _check_prefix = field_validator("prefix")(lambda cls, v: _cidr(v))

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", v):
            raise ValueError("must be lowercase letters, digits and dashes, starting with a letter")
        if v.lower() == "gatewaysubnet":
            raise ValueError("is reserved for the failback VPN gateway; asrctl creates GatewaySubnet itself")
        return v


class VirtualNetwork(_Model):
    address_space: Cidr = Field(description="Required. VNet address space.")
    subnets: list[Subnet] = Field(min_length=1, description="Required. Subnets, one per tier.")

    _check_space = field_validator("address_space")(lambda cls, v: _cidr(v))


class OnPrem(_Model):
    address_spaces: list[Cidr] = Field(min_length=1, description="Required. On-premises address ranges.")
    asr_server_ranges: list[Cidr] = Field(
        min_length=1,
        description="Required. Ranges where the configuration/process servers live; the only sources NSGs allow.",
    )

    @field_validator("address_spaces", "asr_server_ranges")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        return [_cidr(x) for x in v]


class Network(_Model):
    recovery: VirtualNetwork = Field(description="Required. Recovery VNet where failed-over VMs land.")
    test_failover: VirtualNetwork = Field(
        description="Required. Isolated test-failover VNet: never peered, no overlap; mirrors the recovery subnets."
    )
    on_prem: OnPrem = Field(description="Required. On-premises ranges.")
    gateway_subnet_prefix: Cidr | None = Field(
        default=None, description="Optional. GatewaySubnet prefix in the recovery VNet (failback VPN). Default none."
    )

    @field_validator("gateway_subnet_prefix")
    @classmethod
    def _gw(cls, v: str | None) -> str | None:
        return None if v is None else _cidr(v)


class VCenter(_Model):
    server: str = Field(description="Required. vCenter FQDN (OVF deployment needs vCenter, not a bare ESXi).")
    user: str = Field(description="Required. vCenter user; its password is the secret vcenterPassword.")
    datacenter: str = Field(description="Required. Datacenter name.")
    cluster: str = Field(description="Required. Compute cluster name.")
    datastore: str = Field(description="Required. Datastore for the ASR servers (VMFS/vSAN for failback).")
    network: str = Field(description="Required. Port group of the ASR servers.")
    host: str | None = Field(
        default=None,
        description="Optional. ESXi host the configuration server OVF is imported onto; vSphere's OVF import "
        "needs one, so set it before `pulumi up` (preview warns). Default none.",
    )
    folder: str | None = Field(default=None, description="Optional. VM folder. Default the datacenter root.")
    allow_unverified_ssl: bool = Field(default=False, description="Optional. Default false (verify TLS).")


class ConfigurationServer(_Model):
    name: str = Field(description="Required. VM name of the configuration server.")
    ovf_url: str | None = Field(default=None, description="Optional. URL of Microsoft's configuration server OVF.")
    ovf_path: str | None = Field(default=None, description="Optional. Local path of the OVF (instead of ovfUrl).")
    ip: str = Field(description="Required. Static IP of the configuration server.")
    prefix_length: int = Field(ge=8, le=30, description="Required. Subnet prefix length of the static IP.")
    gateway: str = Field(description="Required. Default gateway.")
    dns_servers: list[str] = Field(min_length=1, description="Required. DNS servers.")
    server_template: str = Field(
        description="Required. vSphere template (Windows Server 2016) cloned for scale-out process/master target servers."
    )
    process_servers: int | Literal["auto"] = Field(
        default="auto", description="Optional. Scale-out process servers, or auto from the sizing table. Default auto."
    )
    separate_master_target: bool | Literal["auto"] = Field(
        default="auto", description="Optional. Deploy a separate master target server, or auto. Default auto."
    )
    linux_master_target_template: str | None = Field(
        default=None, description="Optional. Template of a Linux master target (needed to fail back Linux VMs)."
    )

    @field_validator("ip", "gateway")
    @classmethod
    def _ip(cls, v: str) -> str:
        try:
            ipaddress.IPv4Address(v)
        except ValueError:
            raise ValueError("is not an IPv4 address") from None
        return v


class Alerts(_Model):
    emails: list[str] = Field(min_length=1, description="Required. Recipients of RPO and failover alerts.")

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        for e in v:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", e):
                raise ValueError(f"{e!r} is not an e-mail address")
        return v


class Failback(_Model):
    enabled: bool = Field(default=False, description="Optional. Build the failback infrastructure. Default false.")
    process_server_vm_size: str = Field(
        # Encryption at host (on by policy) needs a size that supports it; the Av2 family does not.
        default="Standard_D8s_v5", description="Optional. Temporary Azure process server size (8 vCPU, must support "
        "encryption at host). Default Standard_D8s_v5."
    )
    process_server_ip: str | None = Field(default=None, description="Optional. Static IP of the Azure process server.")
    process_server_subnet: str | None = Field(
        default=None, description="Optional. Recovery subnet of the Azure process server. Default the first subnet."
    )
    connectivity: Literal["vpn", "expressroute"] = Field(
        default="vpn", description="Optional. How Azure reaches on-prem during failback. Default vpn."
    )
    vpn_gateway_sku: str = Field(default="VpnGw1", description="Optional. VPN gateway SKU. Default VpnGw1.")
    on_prem_gateway_ip: str | None = Field(default=None, description="Optional. Public IP of the on-prem VPN device.")
    express_route_circuit_id: str | None = Field(default=None, description="Optional. ExpressRoute circuit id.")
    expires_on: date | None = Field(default=None, description="Optional. Expiry tag of the temporary resources.")

    @field_validator("process_server_vm_size")
    @classmethod
    def _size(cls, v: str) -> str:
        return _vm_size(v)


Architecture = Literal["modernized", "classic"]
ARCHITECTURES: tuple[str, ...] = Architecture.__args__  # type: ignore[attr-defined]


class ReplicationAppliance(_Model):
    """One modernized replication appliance (Microsoft's OVF), registered with the vault by a person."""

    name: str = Field(description="Required. Appliance friendly name, also its vSphere VM name; immutable once "
                      "registered.")
    ip: str = Field(description="Required. Static IPv4 address of the appliance (Mobility agents reach it on 443/9443).")
    role: Literal["replication", "failback"] = Field(
        default="replication",
        description="Optional. replication (forward replication and reprotect) or failback (a dedicated appliance "
        "for failback when the machines' disks exceed 60). Default replication.",
    )

    @field_validator("ip")
    @classmethod
    def _ip(cls, v: str) -> str:
        try:
            ipaddress.IPv4Address(v)
        except ValueError:
            raise ValueError("is not an IPv4 address") from None
        return v


class ReplicationAppliances(_Model):
    """Modernized architecture: the replication appliance(s) deployed from Microsoft's OVF template."""

    ovf_url: str | None = Field(default=None, description="Optional. URL of Microsoft's replication appliance OVF.")
    ovf_path: str | None = Field(default=None, description="Optional. Local path of the OVF (instead of ovfUrl).")
    prefix_length: int = Field(ge=8, le=30, description="Required. Subnet prefix length of the appliances' static IPs.")
    gateway: str = Field(description="Required. Default gateway of the appliances.")
    dns_servers: list[str] = Field(min_length=1, description="Required. DNS servers of the appliances.")
    appliances: list[ReplicationAppliance] = Field(
        min_length=1, description="Required. The appliances: one per 200 protected machines (asrctl capacity)."
    )


class Registration(_Model):
    """Phase 2 (classic): names and ids ASR assigned when the configuration server registered with the vault."""

    fabric_name: str = Field(description="Required. Name of the VMware fabric ASR created at registration.")
    protection_container_name: str = Field(description="Required. Protection container of that fabric.")
    process_server_id: str = Field(description="Required. Id of the process server that replicates the machines.")
    master_target_id: str = Field(description="Required. Id of the master target server.")
    run_as_account_id: str | None = Field(default=None, description="Optional. Run-as account for push install.")
    failback_process_server_id: str | None = Field(
        default=None, description="Optional. Id of the temporary Azure process server once registered."
    )
    retention_drive: str | None = Field(default=None, description="Optional. Master target retention drive (failback).")
    protectable_items: dict[str, str] = Field(
        default_factory=dict,
        description="Required for every machine. Machine name → name of its replicationProtectableItems entry: the id "
        "ASR gave the VM at discovery (its friendlyName is the vSphere VM name). `asrctl discover` prints them.",
    )


class ApplianceIds(_Model):
    """Phase 2 (modernized): the ids of one registered appliance's components, from the InMageRcm fabric."""

    process_server_id: str = Field(description="Required. fabric customDetails.processServers[].id of the appliance.")
    reprotect_agent_id: str | None = Field(
        default=None, description="Optional. customDetails.reprotectAgents[].id (needed to reprotect for failback)."
    )


class ModernizedRegistration(_Model):
    """Phase 2 (modernized): names and ids ASR assigned when the appliances registered with the vault."""

    fabric_name: str = Field(description="Required. Name of the InMageRcm fabric the appliance registration created.")
    protection_container_name: str = Field(description="Required. Protection container of that fabric.")
    vmware_site_id: str = Field(description="Required. Microsoft.OffAzure VMware site id (fabric customDetails).")
    appliances: dict[str, ApplianceIds] = Field(
        default_factory=dict, description="Required for every appliance. Appliance name → its component ids."
    )
    run_as_account_id: str | None = Field(default=None, description="Optional. Run-as account for push install.")
    failback_datastore: str | None = Field(
        default=None, description="Optional. Datastore a reprotect to on-premises writes to (reprotectAgents' "
        "accessibleDatastores)."
    )
    discovered_machines: dict[str, str] = Field(
        default_factory=dict,
        description="Required for every machine. Machine name → fabricDiscoveryMachineId (the OffAzure machine id). "
        "`asrctl discover` prints them.",
    )


class Disk(_Model):
    size_gb: int = Field(gt=0, le=32767, description="Required. Disk size in GiB (≤ 32 TiB, ASR's managed-disk limit).")


class Machine(_Model):
    name: str = Field(description="Required. Machine name, also the recovery-side VM name; unique.")
    os: Literal["linux", "windows"] = Field(description="Required. linux or windows.")
    os_version: str = Field(description="Required. OS and version, e.g. 'RHEL 8', 'Ubuntu 20.04', 'Windows Server 2019'.")
    ip: str = Field(description="Required. On-prem IPv4 address; unique.")
    vm_name: str = Field(description="Required. vSphere VM name.")
    target_vm_size: str = Field(description="Required. Azure VM size after failover, e.g. Standard_D4s_v5.")
    target_subnet: str = Field(description="Required. Name of the recovery subnet the VM fails over into.")
    recovery_ip: str = Field(description="Required. Static IP in the target subnet after failover; unique.")
    churn_gb_per_day: float = Field(ge=0, description="Required. Daily data change rate in GB.")
    peak_churn_mb_per_s: float = Field(default=0, ge=0, description="Optional. Peak churn in MB/s. Default 0 (unknown).")
    disks: list[Disk] = Field(min_length=1, max_length=64, description="Required. Disks to replicate.")
    appliance: str | None = Field(
        default=None, description="Optional (modernized). Name of the appliance that replicates the machine. "
        "Default: balanced over the replication appliances."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not MACHINE_NAME_RE.fullmatch(v):
            raise ValueError("must be lowercase letters, digits and dashes (at most 63), not starting/ending with a dash")
        return v

    @field_validator("ip", "recovery_ip")
    @classmethod
    def _ip(cls, v: str) -> str:
        try:
            ipaddress.IPv4Address(v)
        except ValueError:
            raise ValueError("is not an IPv4 address") from None
        return v

    @field_validator("target_vm_size")
    @classmethod
    def _size(cls, v: str) -> str:
        return _vm_size(v)


def _vm_size(v: str) -> str:
    if not VM_SIZE_RE.fullmatch(v):
        raise ValueError("is not an Azure VM size; write it like Standard_D4s_v5")
    return v


class Policy(_Model):
    max_rpo_threshold_minutes: int = Field(default=60, gt=0, description="Optional. Highest RPO threshold allowed.")
    require_immutability: bool = Field(default=False, description="Optional. Vault immutability mandatory. Default false.")


class StackConfig(_Model):
    """Everything one environment needs. Keys are ``vmware-azure-dr:<camelCaseName>`` in the stack file."""

    architecture: Architecture = Field(
        default="modernized",
        description="Optional. modernized (replication appliance, InMageRcm) or classic (configuration server, "
        "InMageAzureV2; retired by Microsoft in March 2026). Default modernized.",
    )
    environment: str = Field(description="Required. Short environment name used in Azure names, e.g. dev, prod.")
    location: str = Field(description="Required. Azure region of the vault and every Azure resource, e.g. westeurope.")
    subscription_id: str = Field(description="Required. Subscription of the vault (the Automation account lives here).")
    tags: Tags
    replication: Replication
    cache_storage: CacheStorage = CacheStorage()
    network: Network
    vcenter: VCenter
    configuration_server: ConfigurationServer | None = None
    replication_appliances: ReplicationAppliances | None = None
    alerts: Alerts
    failback: Failback = Failback()
    registration: Registration | ModernizedRegistration | None = None
    policy: Policy = Policy()
    machines: list[Machine] = Field(min_length=1)

    # Filled by the loaders, not by the user: which secrets the stack declares.
    declared_secrets: frozenset[str] = Field(default=frozenset(), exclude=True)

    @field_validator("environment")
    @classmethod
    def _env(cls, v: str) -> str:
        if not ENV_RE.fullmatch(v):
            raise ValueError("must be 2-8 lowercase letters/digits starting with a letter (it goes into Azure names)")
        return v

    @field_validator("location")
    @classmethod
    def _loc(cls, v: str) -> str:
        if not REGION_RE.fullmatch(v):
            raise ValueError("is not an Azure region name; write it like westeurope")
        return v

    @field_validator("subscription_id")
    @classmethod
    def _sub(cls, v: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", v):
            raise ValueError("is not a subscription id (a lowercase GUID)")
        return v

    @cached_property
    def machines_by_name(self) -> dict[str, Machine]:
        return {m.name: m for m in self.machines}

    @property
    def modernized(self) -> bool:
        return self.architecture == "modernized"

    @cached_property
    def appliance_assignment(self) -> dict[str, ReplicationAppliance]:
        """Machine name → the replication appliance that replicates it (modernized only; empty for classic).

        A machine's explicit ``appliance`` wins; the others go, in stack order, to the replication appliance with the
        fewest machines so far (first one on a tie): deterministic, so a preview and `pulumi up` agree."""
        if self.replication_appliances is None:
            return {}
        forward = [a for a in self.replication_appliances.appliances if a.role == "replication"]
        by_name = {a.name: a for a in self.replication_appliances.appliances}
        load = {a.name: 0 for a in forward}
        out: dict[str, ReplicationAppliance] = {}
        for m in self.machines:
            if m.appliance and m.appliance in by_name:
                out[m.name] = by_name[m.appliance]
                load[m.appliance] = load.get(m.appliance, 0) + 1
        for m in self.machines:
            if m.name in out or not forward:
                continue
            pick = min(forward, key=lambda a: load[a.name])
            out[m.name] = pick
            load[pick.name] += 1
        return out

    def registration_endpoint(self, machine: str) -> tuple[Literal["CSPrime", "CSLegacy"], str]:
        """Where the machine's Mobility agent registers: (``CSType``, address). Modernized: its appliance; classic:
        the configuration server."""
        if self.modernized:
            return "CSPrime", self.appliance_assignment[machine].ip
        assert self.configuration_server is not None  # validated: classic stacks have one
        return "CSLegacy", self.configuration_server.ip

    @property
    def phase(self) -> int:
        """1 before the configuration server registered, 2 once ``registration`` is configured."""
        return 2 if self.registration is not None else 1

    @property
    def total_churn_gb_per_day(self) -> float:
        return sum(m.churn_gb_per_day for m in self.machines)

    @cached_property
    def _subnet_starts(self) -> dict[str, tuple[int, int]]:
        """Subnet name → (first address of the recovery subnet, of the same-named test subnet), parsed once: the
        engine asks for every machine of every run."""
        test = {s.name: int(ipaddress.ip_network(s.prefix).network_address) for s in self.network.test_failover.subnets}
        return {s.name: (int(ipaddress.ip_network(s.prefix).network_address), test[s.name])
                for s in self.network.recovery.subnets if s.name in test}

    def test_failover_ip(self, machine: Machine) -> str:
        """The machine's IP in the isolated test network: same offset in the same-named test subnet."""
        recovery_start, test_start = self._subnet_starts[machine.target_subnet]
        return str(ipaddress.IPv4Address(test_start + int(ipaddress.IPv4Address(machine.recovery_ip)) - recovery_start))


# ---------------------------------------------------------------------------------------------------------------
# Cross-field rules (pydantic checks one field at a time; these need the whole stack). Each yields the key path
# of the offending value so the message can point at it.

Problem = tuple[KeyPath, Any, str]


def _cross_field_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
    reg = cfg.registration
    if isinstance(reg, ModernizedRegistration):
        known = {m.name for m in cfg.machines}
        missing = [m.name for m in cfg.machines if m.name not in reg.discovered_machines]
        if missing:
            p.append(
                (("registration", "discoveredMachines", missing[0]), None,
                 f"is required for every machine ({len(missing)} missing); `asrctl discover --stack <stack>` prints "
                 "the fabricDiscoveryMachineId of each from the vault's VMware site")
            )
        for name in sorted(set(reg.discovered_machines) - known):
            p.append((("registration", "discoveredMachines", name), name, "is not a machine of this stack"))
        if cfg.replication_appliances is not None:
            names = [a.name for a in cfg.replication_appliances.appliances]
            for name in names:
                if name not in reg.appliances:
                    p.append((("registration", "appliances", name), None,
                              "is required for every appliance (its processServerId); `asrctl discover` prints it"))
            for name in sorted(set(reg.appliances) - set(names)):
                p.append((("registration", "appliances", name), name, "is not an appliance of this stack"))
    elif isinstance(reg, Registration):
        # Enabling protection names the protectable item ASR discovered; its name is an id, not the VM's name.
        known = {m.name for m in cfg.machines}
        missing = [m.name for m in cfg.machines if m.name not in reg.protectable_items]
        if missing:
            p.append(
                (("registration", "protectableItems", missing[0]), None,
                 f"is required for every machine ({len(missing)} missing); `asrctl discover --stack <stack>` prints "
                 "the names from the vault")
            )
        for name in sorted(set(reg.protectable_items) - known):
            p.append((("registration", "protectableItems", name), name, "is not a machine of this stack"))
    r = cfg.replication
    limit = MAX_RETENTION_HOURS[r.target_disk_type]
    kind = "premium" if r.target_disk_type == "Premium_LRS" else "standard"
    if not 1 <= r.recovery_point_retention_hours <= limit:
        p.append(
            (("replication", "recoveryPointRetentionHours"), r.recovery_point_retention_hours,
             f"must be between 1 and {limit} hours for {kind} target disks ({r.target_disk_type})")
        )
    if r.app_consistent_frequency_minutes >= r.recovery_point_retention_hours * 60:
        p.append(
            (("replication", "appConsistentFrequencyMinutes"), r.app_consistent_frequency_minutes,
             f"must be below the recovery point retention ({r.recovery_point_retention_hours} h = "
             f"{r.recovery_point_retention_hours * 60} min)")
        )

    net = cfg.network
    nets: list[tuple[KeyPath, ipaddress.IPv4Network]] = [
        (("network", "recovery", "addressSpace"), ipaddress.ip_network(net.recovery.address_space)),
        (("network", "testFailover", "addressSpace"), ipaddress.ip_network(net.test_failover.address_space)),
    ] + [
        (("network", "onPrem", "addressSpaces", i), ipaddress.ip_network(c))
        for i, c in enumerate(net.on_prem.address_spaces)
    ]
    for i, (path_a, a) in enumerate(nets):
        for path_b, b in nets[i + 1 :]:
            if a.overlaps(b):
                rule = (
                    "overlaps the recovery network; the test-failover network must stay separate from it"
                    if path_b[1] == "testFailover" or path_a[1] == "testFailover"
                    else f"overlaps {'.'.join(map(str, path_a))} ({a}); address spaces must not overlap"
                )
                p.append((path_b, str(b), rule))
    for i, c in enumerate(net.on_prem.asr_server_ranges):
        if not any(ipaddress.ip_network(c).subnet_of(o) for _, o in nets[2:]):
            p.append((("network", "onPrem", "asrServerRanges", i), c, "is not inside any onPrem.addressSpaces range"))

    for vnet_key, vnet in (("recovery", net.recovery), ("testFailover", net.test_failover)):
        space = ipaddress.ip_network(vnet.address_space)
        seen: list[ipaddress.IPv4Network] = []
        names: set[str] = set()
        for i, s in enumerate(vnet.subnets):
            sn = ipaddress.ip_network(s.prefix)
            if not sn.subnet_of(space):
                p.append((("network", vnet_key, "subnets", i, "prefix"), s.prefix, f"is outside the VNet ({space})"))
            if any(sn.overlaps(o) for o in seen):
                p.append((("network", vnet_key, "subnets", i, "prefix"), s.prefix, "overlaps another subnet"))
            if s.name in names:
                p.append((("network", vnet_key, "subnets", i, "name"), s.name, "is a duplicate subnet name"))
            seen.append(sn)
            names.add(s.name)
    rec_subnets = {s.name: ipaddress.ip_network(s.prefix) for s in net.recovery.subnets}
    test_subnets = {s.name: ipaddress.ip_network(s.prefix) for s in net.test_failover.subnets}
    for name, sn in rec_subnets.items():
        if name not in test_subnets or test_subnets[name].prefixlen != sn.prefixlen:
            p.append(
                (("network", "testFailover", "subnets"), name,
                 f"needs a test subnet named {name!r} of the same size (/{sn.prefixlen}) so drills keep IP offsets")
            )
    if net.gateway_subnet_prefix:
        gw = ipaddress.ip_network(net.gateway_subnet_prefix)
        rec_space = ipaddress.ip_network(net.recovery.address_space)
        if not gw.subnet_of(rec_space) or any(gw.overlaps(s) for s in rec_subnets.values()):
            p.append((("network", "gatewaySubnetPrefix"), str(gw), "must be inside the recovery VNet and overlap no subnet"))

    names_seen: dict[str, int] = {}
    ips_seen: dict[str, int] = {}
    on_prem = [ipaddress.ip_network(c) for c in net.on_prem.address_spaces]
    for i, m in enumerate(cfg.machines):
        if m.name in names_seen:
            p.append((("machines", i, "name"), m.name, f"is a duplicate of machines[{names_seen[m.name]}]"))
        names_seen.setdefault(m.name, i)
        for key, ip in (("ip", m.ip), ("recoveryIp", m.recovery_ip)):
            if ip in ips_seen:
                p.append((("machines", i, key), ip, "is already used by another machine"))
            ips_seen.setdefault(ip, i)
        if not any(ipaddress.IPv4Address(m.ip) in o for o in on_prem):
            p.append((("machines", i, "ip"), m.ip, "is not inside network.onPrem.addressSpaces"))
        if m.target_subnet not in rec_subnets:
            p.append(
                (("machines", i, "targetSubnet"), m.target_subnet,
                 f"is not a recovery subnet (known: {', '.join(rec_subnets)})")
            )
        elif ipaddress.IPv4Address(m.recovery_ip) not in rec_subnets[m.target_subnet]:
            p.append(
                (("machines", i, "recoveryIp"), m.recovery_ip,
                 f"is outside its target subnet {m.target_subnet} ({rec_subnets[m.target_subnet]})")
            )
        if m.os == "windows" and len(m.name) > 15:
            p.append((("machines", i, "name"), m.name, "is longer than 15 characters, the Windows computer-name limit"))

    p.extend(_architecture_problems(cfg))
    if cfg.replication_appliances is not None:
        names = {a.name for a in cfg.replication_appliances.appliances}
        for i, m in enumerate(cfg.machines):
            if m.appliance is not None and m.appliance not in names:
                p.append((("machines", i, "appliance"), m.appliance,
                          f"is not an appliance of this stack (known: {', '.join(sorted(names))})"))
    cs = cfg.configuration_server
    if cs is not None:
        if bool(cs.ovf_url) == bool(cs.ovf_path):
            p.append((("configurationServer", "ovfUrl"), cs.ovf_url, "set exactly one of ovfUrl and ovfPath"))
        if not any(ipaddress.IPv4Address(cs.ip) in ipaddress.ip_network(c) for c in net.on_prem.asr_server_ranges):
            p.append((("configurationServer", "ip"), cs.ip, "is not inside network.onPrem.asrServerRanges"))

    fb = cfg.failback
    if fb.enabled:
        if fb.connectivity == "vpn":
            if not net.gateway_subnet_prefix:
                p.append((("network", "gatewaySubnetPrefix"), None, "is required when failback uses a VPN"))
            if not fb.on_prem_gateway_ip:
                p.append((("failback", "onPremGatewayIp"), None, "is required when failback.connectivity is vpn"))
            if "vpnSharedKey" not in cfg.declared_secrets:
                p.append(
                    (("vpnSharedKey",), None,
                     "is required when failback uses a VPN; set it with `pulumi config set --secret vpnSharedKey`")
                )
        elif not fb.express_route_circuit_id:
            p.append((("failback", "expressRouteCircuitId"), None, "is required when failback.connectivity is expressroute"))
        if "failbackAdminPassword" not in cfg.declared_secrets:
            p.append(
                (("failbackAdminPassword",), None,
                 "is required when failback is enabled (local administrator of the temporary process server); "
                 "set it with `pulumi config set --secret failbackAdminPassword`")
            )
        if fb.expires_on is None:
            p.append((("failback", "expiresOn"), None, "is required when failback is enabled (temporary resources expire)"))
        if fb.process_server_subnet and fb.process_server_subnet not in rec_subnets:
            p.append((("failback", "processServerSubnet"), fb.process_server_subnet, "is not a recovery subnet"))
    if r.recovery_point_retention_hours > ASR_MAX_RETENTION_HOURS:
        p.append((("replication", "recoveryPointRetentionHours"), r.recovery_point_retention_hours, "exceeds ASR's 15 days"))
    if r.rpo_threshold_minutes > cfg.policy.max_rpo_threshold_minutes:
        p.append(
            (("replication", "rpoThresholdMinutes"), r.rpo_threshold_minutes,
             f"exceeds policy.maxRpoThresholdMinutes ({cfg.policy.max_rpo_threshold_minutes})")
        )
    return p


def _architecture_problems(cfg: StackConfig) -> list[Problem]:
    """Keys that belong to the other architecture are refused, each with what to use instead."""
    p: list[Problem] = []
    if cfg.modernized:
        if cfg.configuration_server is not None:
            p.append((("configurationServer",), "...", "belongs to the classic architecture; a modernized stack "
                      "uses replicationAppliances (or set architecture: classic)"))
        if cfg.replication_appliances is None:
            p.append((("replicationAppliances",), None, "is required for the modernized architecture (the replication "
                      "appliances from Microsoft's OVF; `asrctl capacity` says how many)"))
        if isinstance(cfg.registration, Registration):
            p.append((("registration",), "...", "has the classic shape (processServerId, masterTargetId, "
                      "protectableItems); a modernized stack's registration has fabricName, protectionContainerName, "
                      "vmwareSiteId, appliances and discoveredMachines (`asrctl discover` prints it)"))
    else:
        if cfg.replication_appliances is not None:
            p.append((("replicationAppliances",), "...", "belongs to the modernized architecture; a classic stack "
                      "uses configurationServer (or set architecture: modernized)"))
        if cfg.configuration_server is None:
            p.append((("configurationServer",), None, "is required for the classic architecture"))
        if isinstance(cfg.registration, ModernizedRegistration):
            p.append((("registration",), "...", "has the modernized shape; a classic stack's registration has "
                      "fabricName, protectionContainerName, processServerId, masterTargetId and protectableItems"))
        for i, m in enumerate(cfg.machines):
            if m.appliance is not None:
                p.append((("machines", i, "appliance"), m.appliance, "applies to the modernized architecture only"))
    return p


# ---------------------------------------------------------------------------------------------------------------
# Loading and error formatting


def _key_display(path: KeyPath) -> str:
    head, *rest = path
    text = f"{NS}:{head}"
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _value_display(value: Any) -> str:
    if value is None:
        return "missing"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format(path: KeyPath, value: Any, rule: str, source: LocatedYaml | None) -> str:
    where = f"{source.where(('config', f'{NS}:{path[0]}', *path[1:]))}: " if source else ""
    return f"{where}{_key_display(path)}: {_value_display(value)} {rule}"


def _clean_loc(loc: tuple) -> KeyPath:
    """Drop pydantic's union/literal branch tags (e.g. 'int', "literal['auto']") from a key path."""
    return tuple(p for p in loc if isinstance(p, int) or not re.match(r"^(int|bool|str|literal\[|function-)", p))


def _pydantic_message(err: dict[str, Any], raw: dict[str, Any]) -> tuple[KeyPath, Any, str]:
    loc = _clean_loc(err["loc"])
    msg = err["msg"]
    if err["type"] == "missing":
        return loc, None, "is required"
    if err["type"] == "extra_forbidden":
        return loc, err.get("input"), "is not a known key; check its spelling against Pulumi.yaml's config schema"
    msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
    return loc, err.get("input"), msg[0].lower() + msg[1:] if msg else "is invalid"


def validate_stack_config(raw: dict[str, Any], source: LocatedYaml | None = None) -> StackConfig:
    """Validate a stack file's namespace keys (without the ``vmware-azure-dr:`` prefix); one-line ``BadInput``."""
    secrets: set[str] = set()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in SECRET_KEYS:
            if not (isinstance(value, dict) and set(value) == {"secure"}):
                rule = f"is a secret; remove it and run `pulumi config set --secret {key}`"
                raise BadInput(_format((key,), "<clear text>", rule, source))
            secrets.add(key)
            continue
        values[key] = value
    return _validate(values, frozenset(secrets), source)


def _distinct(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One error per key path (a union field fails once per branch); unknown keys first, they explain the rest."""
    by_loc: dict[tuple, dict[str, Any]] = {}
    for err in errors:
        by_loc.setdefault(_clean_loc(err["loc"]), err)
    return sorted(by_loc.values(), key=lambda e: e["type"] != "extra_forbidden")


def _validate(values: dict[str, Any], secrets: frozenset[str], source: LocatedYaml | None) -> StackConfig:
    try:
        cfg = StackConfig.model_validate({**values, "declared_secrets": secrets})
    except ValidationError as exc:
        errors = _distinct(exc.errors(include_url=False))
        path, value, rule = _pydantic_message(errors[0], values)
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise BadInput(_format(path, value, rule, source) + more) from None
    problems = _cross_field_problems(cfg)
    if problems:
        path, value, rule = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise BadInput(_format(path, value, rule, source) + more)
    return cfg


def _namespace_keys(doc: LocatedYaml) -> dict[str, Any]:
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise BadInput(f"{display_path(doc.path)}:1: a stack file needs a top-level 'config:' mapping")
    raw: dict[str, Any] = {}
    for key, value in data["config"].items():
        if not isinstance(key, str) or ":" not in key:
            raise BadInput(f"{doc.where(('config', key))}: config key {key!r} needs a namespace, e.g. {NS}:{key}")
        namespace, name = key.split(":", 1)
        if namespace == NS:
            raw[name] = value
    return raw


def load_stack_file(path: Path) -> StackConfig:
    doc = load_yaml(path)
    return validate_stack_config(_namespace_keys(doc), doc)


def load_stack(stack: str) -> StackConfig:
    """Load ``stacks/Pulumi.<stack>.yaml``; an unknown stack is a ``BadInput`` listing the known ones."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stack):
        raise BadInput(f"--stack {stack!r}: stack names are letters, digits, '-', '_' and '.'")
    path = stack_file(stack)
    if not path.is_file():
        known = ", ".join(known_stacks()) or "none"
        raise BadInput(f"--stack {stack}: unknown stack, no {display_path(path)} (known stacks: {known})")
    return load_stack_file(path)


def stack_namespace_values(stack: str) -> dict[str, Any]:
    """The raw namespace values of a stack file (secrets included as their ``{secure: ...}`` form), for mock mode."""
    return _namespace_keys(load_yaml(stack_file(stack)))


def from_pulumi_config() -> StackConfig:
    """Read and validate the stack configuration inside a Pulumi program (real ``pulumi up`` or mocks)."""
    import pulumi

    config = pulumi.Config(NS)
    raw: dict[str, Any] = {}
    for field_name, field in StackConfig.model_fields.items():
        if field_name == "declared_secrets":
            continue
        key = field.alias or to_camel(field_name)
        try:
            value = config.get_object(key)
        except pulumi.ConfigTypeError:
            # The Pulumi CLI passes plain strings (environment: dev) raw, not JSON-encoded.
            value = config.get(key)
        if value is not None:
            raw[key] = value
    secrets = frozenset(k for k in SECRET_KEYS if config.get_secret(k) is not None)
    return _validate(raw, secrets, None)

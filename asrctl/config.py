"""The stack configuration: one typed, frozen model, validated once, up front.

Two doors lead here and both end in :func:`validate_stack_config`:

* ``load_stack(name)`` reads ``stacks/Pulumi.<name>.yaml`` directly (every asrctl command, and the mock-mode
  preview); errors carry ``file:line``.
* ``from_pulumi_config()`` reads the same keys through ``pulumi.Config`` inside a real ``pulumi up``.

Errors are one line: ``<file:line: >vmware-azure-dr:<key path>: <value> <rule>``. Secrets (configuration-server
passphrase, vCenter password, VPN shared key) are never part of the model: only whether they are declared, and they
must be declared as Pulumi secrets (``pulumi config set --secret``), never in clear text.

Two architectures share the model (``architecture: modernized | classic``); a key that belongs to the other one is
refused with the key to use instead (:func:`_architecture_problems`). Numbers are strict: a YAML ``true`` where a
number belongs, ``.inf`` or ``.nan`` are errors, never silently 1 or an endless loop.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator
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

# Our bound on recovery point retention for the classic architecture (ASR itself allows up to 15 days on managed
# disks): what classic documented for the cache/seed pipeline, and what keeps the recovery-point bill predictable.
MAX_RETENTION_HOURS = {"Premium_LRS": 24, "StandardSSD_LRS": 72, "Standard_LRS": 72}
#: ASR's own bound, and the modernized (InMageRcm) policy's: recovery point history of 0 to 15 days.
ASR_MAX_RETENTION_HOURS = 15 * 24
#: App-consistent snapshot frequency: 1 to 12 hours when on; the modernized policy also takes 0 (off).
APP_CONSISTENT_MINUTES = (60, 720)

VM_SIZE_RE = re.compile(r"^Standard_[A-Z]{1,4}\d+(-\d+)?[a-z]*(_[A-Z]\d+)?(_v\d+)?$")
MACHINE_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# The appliance's friendly name is also its vSphere VM name and Windows computer name (15 characters at most).
APPLIANCE_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,13}[A-Za-z0-9])?$")
ENV_RE = re.compile(r"^[a-z][a-z0-9]{1,7}$")
REGION_RE = re.compile(r"^[a-z]+[a-z0-9]*$")
ARM_ID_RE = re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/.+$")


class _Model(BaseModel):
    """camelCase keys in YAML, snake_case in Python, unknown keys rejected, values frozen."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, str_strip_whitespace=True
    )


# -- Scalar types shared by the models ----------------------------------------------------------------------------
# Strict: YAML's `true` is not the number 1, `"15"` is not 15, and a float where a count belongs is refused.


def _non_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _ipv4(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError("is not an IPv4 address; write it like 10.20.5.10") from None
    return value


Name = Annotated[str, Field(strict=True), AfterValidator(_non_empty)]
IPv4 = Annotated[str, Field(strict=True), AfterValidator(_ipv4)]
Count = Annotated[int, Field(strict=True)]
Flag = Annotated[bool, Field(strict=True)]
# Finite: `.inf` churn would size an infinite number of servers, `.nan` compares false with every limit.
Amount = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"is not a valid CIDR ({exc}); write it like 10.60.0.0/16") from None
    if net.version != 4 or not any(net.subnet_of(p) for p in _RFC1918):
        raise ValueError("is not a private RFC 1918 range (10/8, 172.16/12, 192.168/16)")
    return value


_RFC1918 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
Cidr = Annotated[str, Field(strict=True, description="A private IPv4 CIDR block."), AfterValidator(_cidr)]


class Tags(_Model):
    # Tag values, not names: an empty one is the policy pack's to report (required-tags), with the resources it hits.
    owner: str = Field(strict=True, description="Required. Team or person accountable for the DR site (e-mail or group).")
    dr_tier: str = Field(strict=True, description="Required. DR tier of the protected workload, e.g. tier-1.")
    cost_center: str | None = Field(default=None, strict=True, description="Optional. Cost center tag. Default none.")


class Replication(_Model):
    rpo_threshold_minutes: Count = Field(
        description="Required. RPO threshold in minutes: ASR raises an event and our alert fires above it (> 0)."
    )
    recovery_point_retention_hours: Count = Field(
        description="Required. Recovery point history in hours: how far back a failover can go. Classic: 1 to 72 "
        "(24 for premium target disks); modernized: 0 to 360 (ASR's 15 days)."
    )
    app_consistent_frequency_minutes: Count = Field(
        description="Required. App-consistent (VSS) snapshot frequency in minutes: 60 to 720 and below the "
        "retention; the modernized policy also takes 0 (off)."
    )
    crash_consistent_frequency_minutes: Count = Field(
        default=5, description="Optional. Crash-consistent frequency in minutes; ASR fixes it at 5. Default 5."
    )
    multi_vm_sync: Flag = Field(
        default=False,
        description="Optional. Multi-VM consistency: every recovery plan group of two or more machines becomes one "
        "consistency group (port 20004 between its VMs). Default false.",
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

    @field_validator("recovery_point_retention_hours")
    @classmethod
    def _retention(cls, v: int) -> int:
        if not 0 <= v <= ASR_MAX_RETENTION_HOURS:
            raise ValueError(f"must be between 0 and {ASR_MAX_RETENTION_HOURS} hours (ASR keeps at most 15 days)")
        return v

    @field_validator("app_consistent_frequency_minutes")
    @classmethod
    def _app_frequency(cls, v: int) -> int:
        low, high = APP_CONSISTENT_MINUTES
        if v != 0 and not low <= v <= high:
            raise ValueError(f"must be between {low} and {high} minutes (1 to 12 hours), or 0 (off, modernized only)")
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
    name: str = Field(strict=True, description="Required. Subnet name without prefix, e.g. db, app, web.")
    prefix: Cidr = Field(description="Required. Address prefix inside the VNet's address space.")

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


class OnPrem(_Model):
    address_spaces: list[Cidr] = Field(min_length=1, description="Required. On-premises address ranges.")
    asr_server_ranges: list[Cidr] = Field(
        min_length=1,
        description="Required. Ranges where the replication appliances (classic: configuration/process servers) "
        "live; the only sources NSGs allow.",
    )


class Network(_Model):
    recovery: VirtualNetwork = Field(description="Required. Recovery VNet where failed-over VMs land.")
    test_failover: VirtualNetwork = Field(
        description="Required. Isolated test-failover VNet: never peered, no overlap; mirrors the recovery subnets."
    )
    on_prem: OnPrem = Field(description="Required. On-premises ranges.")
    gateway_subnet_prefix: Cidr | None = Field(
        default=None,
        description="Optional (classic). GatewaySubnet prefix in the recovery VNet (failback VPN). Default none.",
    )


class VCenter(_Model):
    server: Name = Field(description="Required. vCenter FQDN (OVF deployment needs vCenter, not a bare ESXi).")
    user: Name = Field(description="Required. vCenter user; its password is the secret vcenterPassword.")
    datacenter: Name = Field(description="Required. Datacenter name.")
    cluster: Name = Field(description="Required. Compute cluster name.")
    datastore: Name = Field(description="Required. Datastore for the ASR servers (VMFS/vSAN for failback).")
    network: Name = Field(description="Required. Port group of the ASR servers.")
    host: Name | None = Field(
        default=None,
        description="Optional. ESXi host the appliance (classic: configuration server) OVF is imported onto; "
        "vSphere's OVF import needs one, so set it before `pulumi up` (preview warns). Default none.",
    )
    folder: Name | None = Field(default=None, description="Optional. VM folder. Default the datacenter root.")
    allow_unverified_ssl: Flag = Field(default=False, description="Optional. Default false (verify TLS).")


class ConfigurationServer(_Model):
    name: Name = Field(description="Required. VM name of the configuration server.")
    ovf_url: Name | None = Field(default=None, description="Optional. URL of Microsoft's configuration server OVF.")
    ovf_path: Name | None = Field(default=None, description="Optional. Local path of the OVF (instead of ovfUrl).")
    ip: IPv4 = Field(description="Required. Static IP of the configuration server.")
    prefix_length: Count = Field(ge=8, le=30, description="Required. Subnet prefix length of the static IP.")
    gateway: IPv4 = Field(description="Required. Default gateway.")
    dns_servers: list[IPv4] = Field(min_length=1, description="Required. DNS servers.")
    server_template: Name = Field(
        description="Required. vSphere template (Windows Server 2016) cloned for scale-out process/master target servers."
    )
    process_servers: int | Literal["auto"] = Field(
        default="auto",
        description="Optional. Scale-out process servers (0 to 200), or auto from the sizing table. Default auto.",
    )
    separate_master_target: bool | Literal["auto"] = Field(
        default="auto", description="Optional. Deploy a separate master target server (true/false), or auto. Default auto."
    )
    linux_master_target_template: Name | None = Field(
        default=None, description="Optional. Template of a Linux master target (needed to fail back Linux VMs)."
    )

    @field_validator("process_servers", mode="before")
    @classmethod
    def _process_servers(cls, v: Any) -> Any:
        # A configuration server manages at most 200 machines and a process server serves at least one, so more
        # than 200 scale-out process servers can never carry a machine (and 10**6 would build 10**6 VMs).
        from asrctl.sizing import MAX_MACHINES_PER_CONFIGURATION_SERVER as limit

        if v == "auto":
            return v
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= limit:
            raise ValueError(
                f"must be auto or a whole number from 0 to {limit} (a configuration server manages at most {limit} "
                "machines, so more scale-out process servers never carry one)"
            )
        return v

    @field_validator("separate_master_target", mode="before")
    @classmethod
    def _separate_master_target(cls, v: Any) -> Any:
        if v == "auto" or isinstance(v, bool):
            return v
        raise ValueError("must be true, false or auto")


class Alerts(_Model):
    emails: list[str] = Field(min_length=1, description="Required. Recipients of RPO and failover alerts.")

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        for e in v:
            if not isinstance(e, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", e):
                raise ValueError(f"{e!r} is not an e-mail address")
        return v


#: Failback keys of the classic architecture (its temporary Azure process server and the VPN/ExpressRoute to it).
#: A modernized stack fails back through its appliances' reprotect agents and needs none of them.
CLASSIC_FAILBACK_KEYS: tuple[str, ...] = (
    "process_server_vm_size", "process_server_ip", "process_server_subnet", "connectivity", "vpn_gateway_sku",
    "on_prem_gateway_ip", "express_route_circuit_id", "expires_on",
)


class Failback(_Model):
    enabled: Flag = Field(
        default=False,
        description="Optional. Prepare failback. Modernized: the InMageRcmFailback policy and its container mapping "
        "(the reprotect path through the appliances). Classic: the temporary Azure process server and the "
        "VPN/ExpressRoute. Default false.",
    )
    process_server_vm_size: str = Field(
        # Encryption at host (on by policy) needs a size that supports it; the Av2 family does not.
        default="Standard_D8s_v5", description="Optional (classic). Temporary Azure process server size (8 vCPU, must "
        "support encryption at host). Default Standard_D8s_v5."
    )
    process_server_ip: IPv4 | None = Field(
        default=None, description="Optional (classic). Static IP of the Azure process server."
    )
    process_server_subnet: Name | None = Field(
        default=None,
        description="Optional (classic). Recovery subnet of the Azure process server. Default the first subnet.",
    )
    connectivity: Literal["vpn", "expressroute"] = Field(
        default="vpn", description="Optional (classic). How Azure reaches on-prem during failback. Default vpn."
    )
    vpn_gateway_sku: Name = Field(default="VpnGw1", description="Optional (classic). VPN gateway SKU. Default VpnGw1.")
    on_prem_gateway_ip: IPv4 | None = Field(
        default=None, description="Optional (classic). Public IP of the on-prem VPN device."
    )
    express_route_circuit_id: Name | None = Field(
        default=None, description="Optional (classic). ExpressRoute circuit id."
    )
    expires_on: date | None = Field(
        default=None, description="Optional (classic). Expiry tag of the temporary resources."
    )

    @field_validator("process_server_vm_size")
    @classmethod
    def _size(cls, v: str) -> str:
        return _vm_size(v)


Architecture = Literal["modernized", "classic"]
ARCHITECTURES: tuple[str, ...] = Architecture.__args__  # type: ignore[attr-defined]


class ReplicationAppliance(_Model):
    """One modernized replication appliance (Microsoft's OVF), registered with the vault by a person."""

    name: str = Field(strict=True, description="Required. Appliance friendly name, also its vSphere VM name and "
                      "Windows computer name (at most 15 characters); immutable once registered.")
    ip: IPv4 = Field(description="Required. Static IPv4 address of the appliance (Mobility agents reach it on 443/9443).")
    role: Literal["replication", "failback"] = Field(
        default="replication",
        description="Optional. replication (forward replication and reprotect) or failback (a dedicated appliance "
        "for failback when the machines' disks exceed 60). Default replication.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not APPLIANCE_NAME_RE.fullmatch(v):
            raise ValueError("must be 1 to 15 letters, digits and dashes, not starting or ending with a dash (it is "
                             "the appliance's Windows computer name)")
        return v


class ReplicationAppliances(_Model):
    """Modernized architecture: the replication appliance(s) deployed from Microsoft's OVF template."""

    ovf_url: Name | None = Field(default=None, description="Optional. URL of Microsoft's replication appliance OVF.")
    ovf_path: Name | None = Field(default=None, description="Optional. Local path of the OVF (instead of ovfUrl).")
    prefix_length: Count = Field(ge=8, le=30, description="Required. Subnet prefix length of the appliances' static IPs.")
    gateway: IPv4 = Field(description="Required. Default gateway of the appliances.")
    dns_servers: list[IPv4] = Field(min_length=1, description="Required. DNS servers of the appliances.")
    appliances: list[ReplicationAppliance] = Field(
        min_length=1, description="Required. The appliances: one per 200 protected machines (asrctl capacity)."
    )


class Registration(_Model):
    """Phase 2 (classic): names and ids ASR assigned when the configuration server registered with the vault."""

    fabric_name: Name = Field(description="Required. Name of the VMware fabric ASR created at registration.")
    protection_container_name: Name = Field(description="Required. Protection container of that fabric.")
    process_server_id: Name = Field(description="Required. Id of the process server that replicates the machines.")
    master_target_id: Name = Field(description="Required. Id of the master target server.")
    linux_master_target_id: Name | None = Field(
        default=None, description="Optional. Id of the Linux master target server: Linux machines fail back only "
        "through one (its retention volume and datastores are read from the fabric). Required to fail back a Linux "
        "machine."
    )
    run_as_account_id: Name | None = Field(default=None, description="Optional. Run-as account for push install.")
    failback_process_server_id: Name | None = Field(
        default=None, description="Optional. Id of the temporary Azure process server once registered."
    )
    retention_drive: Name | None = Field(
        default=None, description="Optional. Master target retention drive (failback)."
    )
    protectable_items: dict[str, Name] = Field(
        default_factory=dict,
        description="Required for every machine. Machine name → name of its replicationProtectableItems entry: the id "
        "ASR gave the VM at discovery (its friendlyName is the vSphere VM name). `asrctl discover` prints them.",
    )


class ApplianceIds(_Model):
    """Phase 2 (modernized): the ids of one registered appliance's components, from the InMageRcm fabric."""

    process_server_id: Name = Field(description="Required. fabric customDetails.processServers[].id of the appliance.")
    reprotect_agent_id: Name | None = Field(
        default=None, description="Optional. customDetails.reprotectAgents[].id (needed to reprotect for failback)."
    )


class ModernizedRegistration(_Model):
    """Phase 2 (modernized): names and ids ASR assigned when the appliances registered with the vault."""

    fabric_name: Name = Field(description="Required. Name of the InMageRcm fabric the appliance registration created.")
    protection_container_name: Name = Field(description="Required. Protection container of that fabric.")
    vmware_site_id: Name = Field(description="Required. Microsoft.OffAzure VMware site id (fabric customDetails).")
    appliances: dict[str, ApplianceIds] = Field(
        default_factory=dict, description="Required for every appliance. Appliance name → its component ids."
    )
    run_as_account_id: Name | None = Field(default=None, description="Optional. Run-as account for push install.")
    failback_datastore: Name | None = Field(
        default=None, description="Optional. Datastore a reprotect to on-premises writes to (reprotectAgents' "
        "accessibleDatastores)."
    )
    discovered_machines: dict[str, Name] = Field(
        default_factory=dict,
        description="Required for every machine. Machine name → fabricDiscoveryMachineId (the OffAzure machine id). "
        "`asrctl discover` prints them.",
    )


#: Keys only a modernized registration block has: they tell the two shapes apart, so an error names the real key
#: instead of one pydantic error per shape.
_MODERNIZED_REGISTRATION_KEYS = frozenset({"vmwareSiteId", "appliances", "discoveredMachines", "failbackDatastore",
                                           "vmware_site_id", "discovered_machines", "failback_datastore"})


def _registration_shape(value: Any) -> str:
    if isinstance(value, ModernizedRegistration):
        return "modernized"
    if isinstance(value, Registration):
        return "classic"
    return "modernized" if isinstance(value, dict) and _MODERNIZED_REGISTRATION_KEYS & set(value) else "classic"


class Disk(_Model):
    size_gb: Count = Field(gt=0, le=32767, description="Required. Disk size in GiB (≤ 32 TiB, ASR's managed-disk limit).")


class Machine(_Model):
    name: str = Field(strict=True, description="Required. Machine name, also the recovery-side VM name; unique.")
    os: Literal["linux", "windows"] = Field(description="Required. linux or windows.")
    os_version: Name = Field(description="Required. OS and version, e.g. 'RHEL 8', 'Ubuntu 20.04', 'Windows Server 2019'.")
    ip: IPv4 = Field(description="Required. On-prem IPv4 address; unique.")
    vm_name: Name = Field(description="Required. vSphere VM name.")
    target_vm_size: str = Field(strict=True, description="Required. Azure VM size after failover, e.g. Standard_D4s_v5.")
    target_subnet: Name = Field(description="Required. Name of the recovery subnet the VM fails over into.")
    recovery_ip: IPv4 = Field(description="Required. Static IP in the target subnet after failover; unique.")
    churn_gb_per_day: Amount = Field(ge=0, description="Required. Daily data change rate in GB.")
    peak_churn_mb_per_s: Amount = Field(default=0, ge=0, description="Optional. Peak churn in MB/s. Default 0 (unknown).")
    disks: list[Disk] = Field(min_length=1, max_length=64, description="Required. Disks to replicate.")
    appliance: Name | None = Field(
        default=None, description="Optional (modernized). Name of the appliance that replicates the machine. "
        "Default: balanced over the replication appliances."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not MACHINE_NAME_RE.fullmatch(v):
            raise ValueError("must be lowercase letters, digits and dashes (at most 63), not starting/ending with a dash")
        return v

    @field_validator("target_vm_size")
    @classmethod
    def _size(cls, v: str) -> str:
        return _vm_size(v)


def _vm_size(v: str) -> str:
    if not VM_SIZE_RE.fullmatch(v):
        raise ValueError("is not an Azure VM size; write it like Standard_D4s_v5")
    return v


class Team(_Model):
    """Team mode (``--engine temporal``): which Temporal service drives this stack's runs. Each key has an environment
    variable that wins over it (``ASRCTL_TEMPORAL_ADDRESS``, ``_NAMESPACE``, ``_TASK_QUEUE``, ``_TLS``, ``_TLS_CERT``,
    ``_TLS_KEY``, ``_TLS_CA``, ``_TLS_SERVER_NAME``); the API key is a secret and only ever comes from
    ``ASRCTL_TEMPORAL_API_KEY``, never from a stack file."""

    engine: Literal["local", "temporal"] | None = Field(
        default=None, description="Optional. Default engine of this stack's recovery commands (--engine and "
        "ASRCTL_ENGINE win). Default local."
    )
    address: str | None = Field(default=None, description="Optional. Temporal frontend host:port. Default "
                                "localhost:7233.")
    namespace: str | None = Field(default=None, description="Optional. Temporal namespace. Default default.")
    task_queue: str | None = Field(default=None, description="Optional. Task queue of this stack's runs (its "
                                   "workers poll it). Default asrctl.")
    tls: bool = Field(default=False, description="Optional. Connect with TLS (Temporal Cloud, a TLS cluster); "
                      "implied by tlsClientCert or tlsServerCa. Default false.")
    tls_client_cert: str | None = Field(default=None, description="Optional. PEM client certificate file (mTLS).")
    tls_client_key: str | None = Field(default=None, validate_default=True,
                                       description="Optional. PEM private key file of tlsClientCert.")
    tls_server_ca: str | None = Field(default=None, description="Optional. PEM CA file that signed the server's "
                                      "certificate. Default the system roots.")
    tls_server_name: str | None = Field(default=None, description="Optional. Server name to verify the certificate "
                                        "against.")
    report_dir: str | None = Field(default=None, description="Optional. Directory (on the workers) where scheduled "
                                   "drills write their reports. Default $ASRCTL_HOME/reports of the worker.")

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}", v):
            raise ValueError("is not host:port, e.g. temporal.corp.example:7233")
        return v

    @field_validator("tls_client_key")
    @classmethod
    def _pair(cls, v: str | None, info: Any) -> str | None:
        if (v is None) != (info.data.get("tls_client_cert") is None):
            raise ValueError("and tlsClientCert go together (mTLS needs both files)")
        return v


class Policy(_Model):
    max_rpo_threshold_minutes: Count = Field(default=60, gt=0, description="Optional. Highest RPO threshold allowed.")
    require_immutability: Flag = Field(default=False, description="Optional. Vault immutability mandatory. Default false.")


class StackConfig(_Model):
    """Everything one environment needs. Keys are ``vmware-azure-dr:<camelCaseName>`` in the stack file."""

    architecture: Architecture = Field(
        default="modernized",
        description="Optional. modernized (replication appliance, InMageRcm) or classic (configuration server, "
        "InMageAzureV2; retired by Microsoft in March 2026). Default modernized.",
    )
    environment: str = Field(strict=True, description="Required. Short environment name used in Azure names, e.g. dev, prod.")
    location: str = Field(strict=True, description="Required. Azure region of the vault and every Azure resource, e.g. westeurope.")
    subscription_id: str = Field(strict=True, description="Required. Subscription of the vault (the Automation account lives here).")
    tags: Tags
    replication: Replication
    cache_storage: CacheStorage = CacheStorage()
    network: Network
    vcenter: VCenter
    configuration_server: ConfigurationServer | None = None
    replication_appliances: ReplicationAppliances | None = None
    alerts: Alerts
    failback: Failback = Failback()
    registration: Annotated[
        Annotated[Registration, Tag("classic")] | Annotated[ModernizedRegistration, Tag("modernized")],
        Discriminator(_registration_shape),
    ] | None = None
    policy: Policy = Policy()
    team: Team | None = None
    machines: list[Machine] = Field(min_length=1)

    # Filled by the loaders, not by the user: which secrets the stack file declares, and which ones asrctl takes from
    # their ASRCTL_* variable instead (mock mode and asrctl's own commands; a real `pulumi up` has no such fallback).
    declared_secrets: frozenset[str] = Field(default=frozenset(), exclude=True)
    environment_secrets: frozenset[str] = Field(default=frozenset(), exclude=True)

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

    @property
    def available_secrets(self) -> frozenset[str]:
        """Secrets the program can read: declared in the stack file, or (asrctl only) given in the environment."""
        return self.declared_secrets | self.environment_secrets

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
        """1 before the appliances (classic: configuration server) registered, 2 once ``registration`` is set."""
        return 2 if self.registration is not None else 1

    @property
    def total_churn_gb_per_day(self) -> float:
        return sum(m.churn_gb_per_day for m in self.machines)

    @property
    def total_disks(self) -> int:
        return sum(len(m.disks) for m in self.machines)

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
# Secrets: which ones a stack needs, one table (the Pulumi program reads them with require_secret).


def required_secrets(cfg: StackConfig) -> dict[str, str]:
    """Secret key → the rule that makes this stack need it (the program stops at ``require_secret`` without it)."""
    what = "replication appliances" if cfg.modernized else "configuration server"
    needed = {"vcenterPassword": f"is required (the password of vcenter.user; the vSphere provider deploys the {what})"}
    if not cfg.modernized:
        needed["csPassphrase"] = (
            "is required for the classic architecture (the configuration server passphrase from genpassphrase.exe -v, "
            "which the Mobility service registers with)"
        )
        if cfg.failback.enabled:
            if cfg.failback.connectivity == "vpn":
                needed["vpnSharedKey"] = "is required when failback uses a VPN (the IPsec pre-shared key)"
            needed["failbackAdminPassword"] = (
                "is required when failback is enabled (local administrator of the temporary process server)"
            )
    return needed


# ---------------------------------------------------------------------------------------------------------------
# Cross-field rules (pydantic checks one field at a time; these need the whole stack). Each yields the key path
# of the offending value so the message can point at it.

Problem = tuple[KeyPath, Any, str]


def _cross_field_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
    # In the order a person fixes them: the architecture, the site's own settings, then what registration and the
    # secrets must match.
    p.extend(_architecture_problems(cfg))
    p.extend(_replication_problems(cfg))
    p.extend(_network_problems(cfg))
    p.extend(_machine_problems(cfg))
    if cfg.modernized:
        p.extend(_appliance_problems(cfg))
    else:
        p.extend(_classic_problems(cfg))
    p.extend(_registration_problems(cfg))
    p.extend(_secret_problems(cfg))
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
        for key in CLASSIC_FAILBACK_KEYS:
            if key in cfg.failback.model_fields_set:
                p.append((("failback", to_camel(key)), getattr(cfg.failback, key),
                          "belongs to the classic architecture (its temporary Azure process server and VPN); a "
                          "modernized stack fails back through its appliances' reprotect agents: keep only "
                          "failback.enabled (and an appliance with role: failback when `asrctl capacity` asks for one)"))
        if cfg.network.gateway_subnet_prefix is not None:
            p.append((("network", "gatewaySubnetPrefix"), cfg.network.gateway_subnet_prefix,
                      "is the classic failback VPN's GatewaySubnet; modernized failback needs no VPN: remove it"))
        for key, instead in (
            ("csPassphrase", "Mobility agents register with their appliance (no passphrase)"),
            ("vpnSharedKey", "modernized failback needs no VPN"),
            ("failbackAdminPassword", "modernized failback needs no temporary Azure process server"),
        ):
            if key in cfg.declared_secrets:
                p.append(((key,), Verbatim("(set)"), f"is a classic-architecture secret; {instead}: remove it with "
                          f"`pulumi config rm {key}`"))
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
                p.append((("machines", i, "appliance"), m.appliance, "applies to the modernized architecture only; "
                          "classic machines all register with configurationServer"))
    return p


def _registration_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
    reg = cfg.registration
    known = {m.name for m in cfg.machines}
    if isinstance(reg, ModernizedRegistration):
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
        missing = [m.name for m in cfg.machines if m.name not in reg.protectable_items]
        if missing:
            p.append(
                (("registration", "protectableItems", missing[0]), None,
                 f"is required for every machine ({len(missing)} missing); `asrctl discover --stack <stack>` prints "
                 "the names from the vault")
            )
        for name in sorted(set(reg.protectable_items) - known):
            p.append((("registration", "protectableItems", name), name, "is not a machine of this stack"))
    return p


def _replication_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
    r = cfg.replication
    retention_minutes = r.recovery_point_retention_hours * 60
    if cfg.modernized:
        # InMageRcm: history 0 to 15 days (field rule); app-consistent 0 (off) or 1-12 h, never above the history.
        if r.app_consistent_frequency_minutes > retention_minutes:
            p.append(
                (("replication", "appConsistentFrequencyMinutes"), r.app_consistent_frequency_minutes,
                 f"must not exceed the recovery point retention ({r.recovery_point_retention_hours} h = "
                 f"{retention_minutes} min); lower it, or set 0 to turn app-consistent points off")
            )
    else:
        limit = MAX_RETENTION_HOURS[r.target_disk_type]
        kind = "premium" if r.target_disk_type == "Premium_LRS" else "standard"
        if not 1 <= r.recovery_point_retention_hours <= limit:
            p.append(
                (("replication", "recoveryPointRetentionHours"), r.recovery_point_retention_hours,
                 f"must be between 1 and {limit} hours for {kind} target disks ({r.target_disk_type})")
            )
        low, high = APP_CONSISTENT_MINUTES
        if r.app_consistent_frequency_minutes == 0:
            p.append((("replication", "appConsistentFrequencyMinutes"), 0,
                      f"must be between {low} and {high} minutes for the classic InMageAzureV2 policy (0, off, is a "
                      "modernized InMageRcm setting)"))
        elif r.app_consistent_frequency_minutes >= retention_minutes:
            p.append(
                (("replication", "appConsistentFrequencyMinutes"), r.app_consistent_frequency_minutes,
                 f"must be below the recovery point retention ({r.recovery_point_retention_hours} h = "
                 f"{retention_minutes} min)")
            )
    if r.rpo_threshold_minutes > cfg.policy.max_rpo_threshold_minutes:
        p.append(
            (("replication", "rpoThresholdMinutes"), r.rpo_threshold_minutes,
             f"exceeds policy.maxRpoThresholdMinutes ({cfg.policy.max_rpo_threshold_minutes})")
        )
    return p


def _network_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
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
    rec_subnets = _subnets(net.recovery)
    test_subnets = _subnets(net.test_failover)
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
    return p


def _subnets(vnet: VirtualNetwork) -> dict[str, ipaddress.IPv4Network]:
    return {s.name: ipaddress.ip_network(s.prefix) for s in vnet.subnets}


def _machine_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
    net = cfg.network
    rec_subnets = _subnets(net.recovery)
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
    return p


def _static_ip_problems(
    key: KeyPath, ips: list[tuple[KeyPath, str]], prefix_length: int, gateway: str, cfg: StackConfig
) -> list[Problem]:
    """On-prem ASR servers: inside asrServerRanges, unique, not a machine's IP, the gateway on their subnet."""
    p: list[Problem] = []
    ranges = [ipaddress.ip_network(c) for c in cfg.network.on_prem.asr_server_ranges]
    machine_ips = {m.ip for m in cfg.machines}
    seen: set[str] = set()
    for path, ip in ips:
        address = ipaddress.IPv4Address(ip)
        if not any(address in r for r in ranges):
            p.append((path, ip, "is not inside network.onPrem.asrServerRanges"))
        if ip in seen or ip in machine_ips:
            p.append((path, ip, "is already used by another appliance or machine"))
        seen.add(ip)
        subnet = ipaddress.ip_network(f"{ip}/{prefix_length}", strict=False)
        if ipaddress.IPv4Address(gateway) not in subnet:
            p.append((key + ("gateway",), gateway, f"is not on the subnet of {ip}/{prefix_length} ({subnet})"))
        if address in (subnet.network_address, subnet.broadcast_address):
            p.append((path, ip, f"is the network or broadcast address of {subnet}"))
    return p


def _appliance_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
    ra = cfg.replication_appliances
    if ra is None:
        return p  # reported by _architecture_problems
    key: KeyPath = ("replicationAppliances",)
    if bool(ra.ovf_url) == bool(ra.ovf_path):
        p.append((key + ("ovfUrl",), ra.ovf_url, "set exactly one of ovfUrl and ovfPath"))
    names: dict[str, int] = {}
    for i, a in enumerate(ra.appliances):
        if a.name.lower() in names:
            p.append((key + ("appliances", i, "name"), a.name, f"is a duplicate of appliances[{names[a.name.lower()]}]"))
        names.setdefault(a.name.lower(), i)
    p.extend(_static_ip_problems(
        key, [(key + ("appliances", i, "ip"), a.ip) for i, a in enumerate(ra.appliances)], ra.prefix_length,
        ra.gateway, cfg,
    ))
    by_name = {a.name: a for a in ra.appliances}
    for i, m in enumerate(cfg.machines):
        if m.appliance is None:
            continue
        if m.appliance not in by_name:
            p.append((("machines", i, "appliance"), m.appliance,
                      f"is not an appliance of this stack (known: {', '.join(sorted(by_name))})"))
        elif by_name[m.appliance].role != "replication":
            p.append((("machines", i, "appliance"), m.appliance,
                      "is a failback appliance; a machine replicates through an appliance with role: replication"))
    if not p:
        # Sizing needs a consistent appliance list; asrctl.sizing holds the table (imported here to avoid a cycle).
        from asrctl.sizing import appliance_shortfall

        p.extend(appliance_shortfall(cfg))
    return p


def _classic_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
    net = cfg.network
    cs = cfg.configuration_server
    if cs is not None:
        key: KeyPath = ("configurationServer",)
        if bool(cs.ovf_url) == bool(cs.ovf_path):
            p.append((key + ("ovfUrl",), cs.ovf_url, "set exactly one of ovfUrl and ovfPath"))
        p.extend(_static_ip_problems(key, [(key + ("ip",), cs.ip)], cs.prefix_length, cs.gateway, cfg))
    fb = cfg.failback
    if fb.enabled:
        if fb.connectivity == "vpn":
            if not net.gateway_subnet_prefix:
                p.append((("network", "gatewaySubnetPrefix"), None, "is required when failback uses a VPN"))
            if not fb.on_prem_gateway_ip:
                p.append((("failback", "onPremGatewayIp"), None, "is required when failback.connectivity is vpn"))
        elif not fb.express_route_circuit_id:
            p.append((("failback", "expressRouteCircuitId"), None, "is required when failback.connectivity is expressroute"))
        if fb.expires_on is None:
            p.append((("failback", "expiresOn"), None, "is required when failback is enabled (temporary resources expire)"))
        if fb.process_server_subnet and fb.process_server_subnet not in _subnets(net.recovery):
            p.append((("failback", "processServerSubnet"), fb.process_server_subnet, "is not a recovery subnet"))
    return p


def _secret_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
    for key, rule in required_secrets(cfg).items():
        if key not in cfg.available_secrets:
            p.append(((key,), None, f"{rule}; set it with `pulumi config set --secret {key}` (asrctl's mock preview "
                      f"also takes it from {SECRET_KEYS[key]})"))
    return p


# ---------------------------------------------------------------------------------------------------------------
# Loading and error formatting


def _key_display(path: KeyPath) -> str:
    head, *rest = path
    text = f"{NS}:{head}"
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


class Verbatim(str):
    """A problem's value shown as is (no quotes): a description of the value rather than the value itself."""


def _value_display(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, Verbatim):
        return str(value)
    if isinstance(value, bool):
        return str(value).lower()  # as YAML wrote it
    if isinstance(value, float) and not math.isfinite(value):
        return {math.inf: ".inf", -math.inf: "-.inf"}.get(value, ".nan")
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format(path: KeyPath, value: Any, rule: str, source: LocatedYaml | None) -> str:
    where = f"{source.where(('config', f'{NS}:{path[0]}', *path[1:]))}: " if source else ""
    return f"{where}{_key_display(path)}: {_value_display(value)} {rule}"


def _clean_loc(loc: tuple) -> KeyPath:
    """Drop pydantic's union/literal branch tags (e.g. 'int', "literal['auto']") from a key path."""
    return tuple(
        p for p in loc
        if isinstance(p, int) or not re.match(r"^(int|bool|str|float|literal\[|function-|constrained-|classic$|modernized$)", p)
    )


#: pydantic's type errors in our words: what the key takes (a YAML boolean or string where a number belongs).
_TYPE_RULES = {
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a text value",
}


def _pydantic_message(err: dict[str, Any], raw: dict[str, Any]) -> tuple[KeyPath, Any, str]:
    loc = _clean_loc(err["loc"])
    msg = err["msg"]
    value = err.get("input")
    kind = err["type"]
    if kind == "missing":
        return loc, None, "is required"
    if kind == "extra_forbidden":
        return loc, value, "is not a known key; check its spelling against Pulumi.yaml's config schema"
    if kind in _TYPE_RULES:
        rule = _TYPE_RULES[kind]
        if isinstance(value, bool) and kind != "bool_type":
            rule += " (a YAML true/false is not a number)"
        elif isinstance(value, str) and kind != "string_type":
            rule += " (write it without quotes)"
        return loc, value, rule
    if kind == "finite_number":
        return loc, value, "must be a finite number (not .inf or .nan)"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter((err.get("ctx") or {}).values()), "?")
        words = {"greater_than_equal": "at least", "less_than_equal": "at most", "greater_than": "greater than",
                 "less_than": "less than"}[kind]
        return loc, value, f"must be {words} {bound}"
    msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
    return loc, value, msg[0].lower() + msg[1:] if msg else "is invalid"


def validate_stack_config(
    raw: dict[str, Any], source: LocatedYaml | None = None, environment_secrets: frozenset[str] | None = None
) -> StackConfig:
    """Validate a stack file's namespace keys (without the ``vmware-azure-dr:`` prefix); one-line ``BadInput``.

    ``environment_secrets``: secrets given by their ASRCTL_* variable instead of the stack file (asrctl's own
    loading; default: the variables set in this process). A real ``pulumi up`` passes none."""
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
    if environment_secrets is None:
        environment_secrets = secrets_from_environment()
    return _validate(values, frozenset(secrets), frozenset(environment_secrets) - secrets, source)


def secrets_from_environment() -> frozenset[str]:
    """Secret keys whose ASRCTL_* variable is set (non-empty) in this process."""
    return frozenset(k for k, env in SECRET_KEYS.items() if os.environ.get(env))


def _distinct(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One error per key path (a union field fails once per branch); unknown keys first, they explain the rest."""
    by_loc: dict[tuple, dict[str, Any]] = {}
    for err in errors:
        by_loc.setdefault(_clean_loc(err["loc"]), err)
    return sorted(by_loc.values(), key=lambda e: e["type"] != "extra_forbidden")


def _validate(
    values: dict[str, Any], secrets: frozenset[str], environment_secrets: frozenset[str], source: LocatedYaml | None
) -> StackConfig:
    try:
        cfg = StackConfig.model_validate(
            {**values, "declared_secrets": secrets, "environment_secrets": environment_secrets}
        )
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
        if field_name in ("declared_secrets", "environment_secrets"):
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
    return _validate(raw, secrets, frozenset(), None)

"""Recovery and test-failover IPs applied in ASR: ``asrctl apply-nics`` (run after ``pulumi up``).

ASR takes a failed-over VM's subnet and static IP, and its test VM's, only from the protected item's NIC settings,
which only the item's update call sets (``replicationProtectedItems/<item>`` PATCH); the enable-protection PUT the
Pulumi program sends (azure-native's ``ReplicationProtectedItem``) has no NIC settings (REFERENCE §5, REFERENCE-
modernized §3.1 step 2). Without them ASR picks a dynamic IP — and for a drill the test subnet named like the
recovery subnet, else the alphabetically first one.

What is applied, per machine, on its primary NIC (the stack declares one address per machine):

* **recovery**: the subnet of the recovery VNet that holds ``recoveryIp`` (the stack's ``targetSubnet``), and
  ``recoveryIp`` as a static address;
* **test failover**: the test VNet's subnet named like that recovery subnet (ASR's own rule), else the one that holds
  the test IP; the test IP is the recovery IP's offset in the same-named test subnet
  (:meth:`asrctl.config.StackConfig.test_failover_ip`).

Subnets are read from the two VNets in ARM (not guessed from names). Idempotent: each item's ``vmNics`` are read and
an update is sent only where a target/test subnet or IP differs, then the update jobs are awaited. The bodies:
modernized ``InMageRcmUpdateReplicationProtectedItemInput.vmNics`` (``InMageRcmNicInput``, ``nicId`` = the NIC's MAC
as the item reports it, every NIC listed, the others unchanged); classic
``UpdateReplicationProtectedItemInputProperties.vmNics`` (``VMNicInputDetails`` with one ``IPConfigInputDetails``)
plus the recovery and test VNets.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from asrctl.errors import BadInput
from asrctl.recovery.providers.azure.asr import architecture_of, instance_type
from asrctl.recovery.providers.azure.jobs import job_name
from asrctl.recovery.providers.protocol import OperationRejected, ProviderError

NETWORK_API_VERSION = "2023-09-01"
UPDATE_TIMEOUT = 15 * 60  # seconds (provider clock) to wait for the update jobs (ASR: ~30 s each)


@dataclass(frozen=True)
class NicSettings:
    target_subnet: str | None
    target_ip: str | None
    test_subnet: str | None
    test_ip: str | None

    def to_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Nic:
    """One NIC of a protected item as ASR reports it."""

    nic_id: str
    primary: bool
    settings: NicSettings
    ip_config: str | None = None  # classic: the IP configuration's name


@dataclass
class NicResult:
    """What apply-nics did (or, with ``check``, would do) for one machine."""

    machine: str
    status: str  # in-sync | updated | would-update | busy | failed | missing
    wanted: NicSettings | None = None
    current: NicSettings | None = None
    nic_id: str | None = None
    job_id: str | None = None
    error: str | None = None
    changes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.machine, "status": self.status, "nic": self.nic_id,
                "wanted": self.wanted.to_dict() if self.wanted else None,
                "current": self.current.to_dict() if self.current else None,
                "changes": self.changes, "job_id": self.job_id, "error": self.error}  # fmt: skip


def read_nics(item: Any) -> list[Nic]:
    details = item.properties.provider_specific_details
    out: list[Nic] = []
    if instance_type(item.properties) == "InMageRcm":
        for n in details.vm_nics or []:
            out.append(Nic(n.nic_id or "", (n.is_primary_nic or "").lower() == "true", NicSettings(
                n.target_subnet_name or None, n.target_ip_address or None, n.test_subnet_name or None,
                n.test_ip_address or None)))  # fmt: skip
        return out
    for n in getattr(details, "vm_nics", None) or []:
        configs = n.ip_configs or []
        config = next((c for c in configs if c.is_primary), configs[0] if configs else None)
        out.append(Nic(n.nic_id or "", bool(config is not None and config.is_primary), NicSettings(
            getattr(config, "recovery_subnet_name", None), getattr(config, "recovery_static_ip_address", None),
            getattr(config, "tfo_subnet_name", None), getattr(config, "tfo_static_ip_address", None)),
            getattr(config, "name", None)))  # fmt: skip
    return out


def _subnets(provider: Any, vnet_id: str) -> dict[str, ipaddress.IPv4Network]:
    from azure.core.rest import HttpRequest

    client = provider.site_recovery_client()

    def get() -> Any:
        response = client.send_request(HttpRequest("GET", f"{provider.transport.endpoint}{vnet_id}",
                                                   params={"api-version": NETWORK_API_VERSION}))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    vnet = provider.read("get_virtual_network", get)
    if vnet is None:
        raise BadInput(f"virtual network {vnet_id.rsplit('/', 1)[-1]} does not exist: run `pulumi up --stack "
                       f"{provider.stack_name}` first (apply-nics runs after it)")
    out = {}
    for subnet in (vnet.get("properties") or {}).get("subnets") or []:
        prefix = (subnet.get("properties") or {}).get("addressPrefix")
        if prefix:
            out[subnet["name"]] = ipaddress.ip_network(prefix)
    return out


def wanted_settings(cfg: Any, machine: Any, recovery: dict[str, ipaddress.IPv4Network],
                    test: dict[str, ipaddress.IPv4Network]) -> NicSettings:
    """The recovery and test placement of ``machine`` (module docstring)."""
    recovery_ip = ipaddress.ip_address(machine.recovery_ip)
    target = next((name for name, net in recovery.items() if recovery_ip in net), None)
    if target is None:
        raise BadInput(f"{machine.name}: no subnet of the recovery VNet holds its recoveryIp {machine.recovery_ip}; "
                       "run `pulumi up` so the recovery subnets match the stack")
    test_ip_text = cfg.test_failover_ip(machine)
    test_ip = ipaddress.ip_address(test_ip_text)
    test_subnet = target if target in test else next((n for n, net in test.items() if test_ip in net), None)
    if test_subnet is None:
        raise BadInput(f"{machine.name}: the test VNet has no subnet named {target} nor one holding {test_ip_text}")
    if test_ip not in test[test_subnet]:
        test_ip_text = None  # the same-named test subnet has another range: let ASR pick an address there
    return NicSettings(target, machine.recovery_ip, test_subnet, test_ip_text)


def _diff(current: NicSettings, wanted: NicSettings) -> list[str]:
    changes = []
    for key, label in (("target_subnet", "recovery subnet"), ("target_ip", "recovery IP"),
                       ("test_subnet", "test subnet"), ("test_ip", "test IP")):  # fmt: skip
        have, want = getattr(current, key), getattr(wanted, key)
        if want is not None and (have or "").lower() != want.lower():
            changes.append(f"{label} {have or '(none)'} → {want}")
    return changes


def update_body(architecture: str, nics: list[Nic], primary: Nic, wanted: NicSettings, ids: Any) -> Any:
    from azure.mgmt.recoveryservicessiterecovery import models as m

    def chosen(nic: Nic) -> NicSettings:
        return wanted if nic is primary else nic.settings

    if architecture == "modernized":
        return m.UpdateReplicationProtectedItemInput(properties=m.UpdateReplicationProtectedItemInputProperties(
            provider_specific_details=m.InMageRcmUpdateReplicationProtectedItemInput(vm_nics=[
                m.InMageRcmNicInput(
                    nic_id=n.nic_id, is_primary_nic="true" if n is primary else "false",
                    is_selected_for_failover="true" if n is primary else None,
                    target_subnet_name=chosen(n).target_subnet, target_static_ip_address=chosen(n).target_ip,
                    test_subnet_name=chosen(n).test_subnet, test_static_ip_address=chosen(n).test_ip)
                for n in nics])))  # fmt: skip
    return m.UpdateReplicationProtectedItemInput(properties=m.UpdateReplicationProtectedItemInputProperties(
        selected_recovery_azure_network_id=ids.recovery_network_id, selected_tfo_azure_network_id=ids.test_network_id,
        vm_nics=[
            m.VMNicInputDetails(nic_id=n.nic_id, selection_type="SelectedByUser", ip_configs=[m.IPConfigInputDetails(
                ip_config_name=n.ip_config or "ipconfig1", is_primary=True, is_seleted_for_failover=True,
                recovery_subnet_name=chosen(n).target_subnet, recovery_static_ip_address=chosen(n).target_ip,
                tfo_subnet_name=chosen(n).test_subnet, tfo_static_ip_address=chosen(n).test_ip)])
            for n in nics]))  # fmt: skip


def apply_nics(provider: Any, *, check: bool = False, machines: list[str] | None = None) -> list[NicResult]:
    """Bring every machine's primary NIC settings in ASR to the stack's (or, with ``check``, report the
    differences). ``provider`` is an :class:`~asrctl.recovery.providers.azure.AzureProvider`."""
    cfg = provider.cfg
    names = machines or [m.name for m in cfg.machines]
    recovery = _subnets(provider, provider.ids.recovery_network_id)
    test = _subnets(provider, provider.ids.test_network_id)
    items = provider.protected_items(names)
    results: list[NicResult] = []
    pending: list[tuple[NicResult, str]] = []
    for name in names:
        if name not in items:
            results.append(NicResult(name, "missing", error="not a replicated item of the vault (phase 2)"))
            continue
        ref, item = items[name]
        wanted = wanted_settings(cfg, cfg.machines_by_name[name], recovery, test)
        nics = read_nics(item)
        primary = next((n for n in nics if n.primary), nics[0] if nics else None)
        if primary is None:
            results.append(NicResult(name, "failed", wanted, error="ASR reports no NIC for the item"))
            continue
        result = NicResult(name, "in-sync", wanted, primary.settings, primary.nic_id,
                           changes=_diff(primary.settings, wanted))
        results.append(result)
        if not result.changes:
            continue
        scenario = item.properties.current_scenario
        if scenario is not None and (scenario.scenario_name or "None") != "None":
            result.status, result.error = "busy", f"a {scenario.scenario_name} job is running on it; run again later"
            continue
        if check:
            result.status = "would-update"
            continue
        architecture = architecture_of(instance_type(item.properties), cfg.architecture)
        body = update_body(architecture, nics, primary, wanted, provider.ids)
        request_id = "apply-nics/" + hashlib.sha256(
            f"{provider.stack_name}/{name}/{wanted.to_dict()}".encode()).hexdigest()[:24]
        try:
            result.job_id = provider.update_item(ref, body, request_id)
        except (OperationRejected, ProviderError) as exc:
            result.status, result.error = "failed", str(exc)
            continue
        pending.append((result, request_id))
    _await(provider, pending)
    return results


def _await(provider: Any, pending: list[tuple[NicResult, str]]) -> None:
    """Wait (provider clock) for the update jobs; a failed or unfinished one fails its machine."""
    from asrctl.recovery.providers.protocol import JobRef
    from asrctl.recovery.retry import read_with_retries

    clock = provider.clock
    deadline = clock.now() + UPDATE_TIMEOUT
    waiting = list(pending)
    while waiting:
        clock.sleep(provider.capabilities.poll_interval)
        still = []
        for result, _ in waiting:
            job = JobRef(result.job_id or "", "update")
            status = read_with_retries(lambda j=job: provider.get_job(j), clock, "get_job")  # type: ignore[misc]
            if not status.done:
                still.append((result, _))
            elif status.state == "Succeeded":
                result.status = "updated"
            else:
                result.status, result.error = "failed", f"update job {job_name(result.job_id or '')} " \
                    f"{status.state.lower()}: {status.error or 'no reason given'}"
        waiting = still
        if waiting and clock.now() > deadline:
            for result, _ in waiting:
                result.status, result.error = "failed", f"update job {result.job_id} not done after " \
                    f"{UPDATE_TIMEOUT // 60} min"
            return

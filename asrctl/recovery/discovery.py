"""Phase-2 discovery: read from the Recovery Services vault the ids ASR assigned when the on-premises side
registered, and turn them into the stack file's ``vmware-azure-dr:registration`` block (``asrctl discover``).

**Modernized** (``InMageRcm``; REFERENCE-modernized §2.4–2.5):

* ``replication_fabrics.list`` → the ``InMageRcm`` fabric (``fabricName``) whose ``customDetails`` name the stack's
  appliances; ``vmwareSiteId`` from its details; per appliance (matched by name) the ``processServers[].id`` and
  ``reprotectAgents[].id`` (``appliances``), and the datastores its reprotect agent reaches (``failbackDatastore``:
  the stack's ``vcenter.datastore`` when reachable, else the only one).
* ``replication_protection_containers.list_by_replication_fabrics`` → ``protectionContainerName``.
* ``Microsoft.OffAzure/VMwareSites/<site>/machines`` → ``discoveredMachines``: the ``fabricDiscoveryMachineId`` of each
  stack machine whose ``vmName`` is a live machine's ``displayName`` (exactly one; ambiguous and missing names are
  reported); ``…/runAsAccounts`` → ``runAsAccountId`` when exactly one guest account exists.

**Classic** (three list calls):

* ``replication_fabrics.list`` → the ``VMware`` fabric of the stack's configuration server (its name is
  ``fabricName``). Its ``VMwareDetails`` list the registered process servers, master targets and run-as accounts:
  ``processServerId`` is the configuration server's built-in process server (same IP); ``masterTargetId`` its
  built-in master target (same IP), or the separate one the stack deploys (``<configurationServer.name>-mt``, as
  :mod:`asrctl.infra.scale_out_servers` names it) when :func:`asrctl.sizing.plan_capacity` asks for one;
  ``linuxMasterTargetId`` the one Linux master target (Linux VMs fail back only through one); ``failbackProcessServerId``
  the temporary Azure process server (``failback.processServerIp``); ``runAsAccountId`` only when exactly one account
  exists; ``retentionDrive`` when the master target has exactly one retention volume.
* ``replication_protection_containers.list_by_replication_fabrics`` → ``protectionContainerName`` (one expected).
* ``replication_protectable_items.list_by_replication_protection_containers`` → ``protectableItems``: each stack
  machine whose ``vmName`` equals an item's ``friendlyName`` maps to that item's ``name`` (ASR's id for the VM).

Nothing is written. The connection, credential handling and read retries are the Azure provider's
(:class:`asrctl.recovery.providers.azure.AzureProvider`): ``ASRCTL_ARM_TOKEN`` / ``DefaultAzureCredential``,
``ASRCTL_ARM_ENDPOINT``, no SDK retries. ``--provider simulator`` prints the simulated vault's own ids
(:mod:`asrctl.recovery.providers.simulator.registration`), so the whole flow runs without Azure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asrctl.config import StackConfig, load_stack, stack_namespace_values, validate_stack_config
from asrctl.errors import BadInput
from asrctl.project import stack_file
from asrctl.yamlfile import load_yaml

NS_KEY = "vmware-azure-dr:registration"
REQUIRED_KEYS = ("fabricName", "protectionContainerName", "processServerId", "masterTargetId")
OPTIONAL_KEYS = ("linuxMasterTargetId", "runAsAccountId", "failbackProcessServerId", "retentionDrive")
MODERNIZED_REQUIRED = ("fabricName", "protectionContainerName", "vmwareSiteId")
MODERNIZED_OPTIONAL = ("runAsAccountId", "failbackDatastore")
OFFAZURE_API_VERSION = "2020-01-01"  # what the Azure CLI's site-recovery test lists OffAzure machines with
#: The Azure process server's computer name as the Pulumi program sets it (asrctl/infra/site_blocks.py); used to
#: find it when failback.processServerIp is not set (dynamic IP).
FAILBACK_PS_NAME = "asrps{environment}"
#: The configuration server refreshes its vCenter inventory on a schedule, so a new VM shows up with a delay.
NOT_DISCOVERED_HINT = (
    "not discovered by the configuration server: check that the VM exists in vCenter under exactly this name, that "
    "the configuration server's vCenter account can see it, and that it is powered on; vCenter discovery refreshes "
    "about every 15 minutes"
)


@dataclass(frozen=True)
class Missing:
    """A required key, or a machine's protectable item, that the vault did not give."""

    key: str
    reason: str
    machine: str | None = None
    vm_name: str | None = None

    def to_dict(self) -> dict[str, str]:
        pairs = (("key", self.key), ("machine", self.machine), ("vmName", self.vm_name), ("reason", self.reason))
        return {k: v for k, v in pairs if v is not None}


@dataclass
class Discovery:
    """What the vault gave for one stack: the registration values found, what is missing and why, warnings."""

    stack: str
    vault: str
    machines: list[str]
    architecture: str = "classic"
    values: dict[str, str] = field(default_factory=dict)  # camelCase registration keys → value
    protectable_items: dict[str, str] = field(default_factory=dict)  # machine → protectable item / discovery id
    appliances: dict[str, dict[str, str]] = field(default_factory=dict)  # modernized: name → component ids
    missing: list[Missing] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fabric_label: str | None = None

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def machines_key(self) -> str:
        return "discoveredMachines" if self.architecture == "modernized" else "protectableItems"

    @property
    def keys(self) -> tuple[str, ...]:
        """The block's keys in the stack file's order (``appliances`` and the machine map included)."""
        if self.architecture == "modernized":
            return (*MODERNIZED_REQUIRED, "appliances", *MODERNIZED_OPTIONAL, self.machines_key)
        return (*REQUIRED_KEYS, *OPTIONAL_KEYS, self.machines_key)

    def registration(self) -> dict[str, Any]:
        """The block in the stack file's key order; the machine map sorted by machine name."""
        block: dict[str, Any] = {}
        for key in self.keys:
            if key == "appliances":
                block[key] = {name: dict(ids) for name, ids in sorted(self.appliances.items())}
            elif key == self.machines_key:
                block[key] = dict(sorted(self.protectable_items.items()))
            elif key in self.values:
                block[key] = self.values[key]
        return block

    def to_dict(self) -> dict[str, Any]:
        return {
            "registration": self.registration(),
            "missing": [m.to_dict() for m in self.missing],
            "warnings": list(self.warnings),
        }

    def yaml_snippet(self) -> str:
        """The block to paste under ``config:``; what was not found appears as a comment, never as a value."""
        import yaml

        def line(indent: int, key: str, value: str) -> str:
            text = yaml.safe_dump({key: value}, default_flow_style=False, allow_unicode=True, width=10_000)
            return " " * indent + text.strip()

        missing_keys = {m.key for m in self.missing}
        lines = [f"  {NS_KEY}:"]
        for key in self.keys:
            if key == "appliances":
                if self.appliances:
                    lines.append("    appliances:")
                    for name, ids in sorted(self.appliances.items()):
                        lines.append(f"      {name}:")
                        lines.extend(line(8, k, v) for k, v in ids.items())
                missing_appliances = sorted(k.split(".", 1)[1] for k in missing_keys
                                            if k.startswith("appliances.") and k.count(".") == 1)  # fmt: skip
                lines.extend(f"    # appliances.{name}: not found (see the summary)" for name in missing_appliances)
            elif key == self.machines_key:
                self._machine_lines(lines, line)
            elif key in self.values:
                lines.append(line(4, key, self.values[key]))
            elif key in missing_keys:
                lines.append(f"    # {key}: not found (see the summary)")
        return "\n".join(lines) + "\n"

    def _machine_lines(self, lines: list[str], line: Any) -> None:
        key = self.machines_key
        missing_machines = {m.machine: m for m in self.missing if m.machine is not None}
        if self.protectable_items or missing_machines:
            lines.append(f"    {key}:")
            for machine in sorted(set(self.protectable_items) | set(missing_machines)):
                if machine in self.protectable_items:
                    lines.append(line(6, machine, self.protectable_items[machine]))
                else:
                    lines.append(f"      # {machine}: not discovered yet (vmName {missing_machines[machine].vm_name})")
        else:
            lines.append(f"    # {key}: not read (see the summary)")

    def summary(self) -> list[str]:
        """Human summary lines (what was found, what is missing and why, warnings)."""
        found = [k for k in self.keys if k in self.values] + (["appliances"] if self.appliances else [])
        what = "discovered machines" if self.architecture == "modernized" else "protectable items"
        out = [f"vault {self.vault}" + (f", fabric {self.fabric_label}" if self.fabric_label else "")]
        out.append(
            f"found: {', '.join(found) or 'no registration keys'}; {what} for "
            f"{len(self.protectable_items)} of {len(self.machines)} machine(s)"
        )
        if self.missing:
            out.append(f"missing ({len(self.missing)}):")
            for m in self.missing:
                who = f" (vmName {m.vm_name})" if m.machine else ""
                out.append(f"  - {m.key}{who}: {m.reason}")
        if self.warnings:
            out.append(f"warnings ({len(self.warnings)}):")
            out.extend(f"  - {w}" for w in self.warnings)
        return out


def load_stack_for_discovery(stack: str) -> tuple[StackConfig, str | None]:
    """The stack to discover for, and a note when its current ``registration`` block had to be ignored.

    A stale or half-filled registration block (say, protectableItems not filled in yet) makes the stack invalid,
    and that is exactly what discover is run to fix: the rest of the stack is validated without it. Any other
    problem is the usual one-line error.
    """
    try:
        return load_stack(stack), None
    except BadInput as exc:
        path = stack_file(stack)
        if not path.is_file():
            raise
        raw = stack_namespace_values(stack)
        if "registration" not in raw:
            raise
        raw.pop("registration")
        cfg = validate_stack_config(raw, load_yaml(path))  # raises the real problem if it lies elsewhere
        return cfg, f"the stack's current registration block is ignored, it does not validate: {exc}"


def _host(name: str | None) -> str:
    """A server name compared the way ASR shows it (host name or FQDN, any case) against a vCenter VM name."""
    return (name or "").split(".", 1)[0].strip().lower()


def _count(n: int, noun: str) -> str:
    return f"no {noun}" if n == 0 else f"{n} {noun}s"


def _listing(things: list[Any], describe: Any) -> str:
    return ", ".join(describe(t) for t in things) if things else "none"


def _ps(p: Any) -> str:
    return f"{p.friendly_name or '?'} ({p.ip_address or 'no IP'}, id {p.id})"


def _mt(t: Any) -> str:
    return f"{t.name or '?'} ({t.ip_address or 'no IP'}, {t.os_type or '?'}, id {t.id})"


class _Discoverer:
    """What both architectures' discoverers share: the provider's client and ids, retried reads, the result."""

    architecture = "classic"

    def __init__(self, cfg: StackConfig, stack: str, provider: Any) -> None:
        self.cfg = cfg
        self.provider = provider
        self.ids = provider.ids
        self.client = provider.site_recovery_client()
        self.result = Discovery(stack=stack, vault=self.ids.vault, machines=[m.name for m in cfg.machines],
                                architecture=self.architecture)

    def _read(self, method: str, fn: Any) -> Any:
        """Reads are retried here like the engine retries them (providers send each request once)."""
        from asrctl.recovery.retry import read_with_retries

        return read_with_retries(lambda: self.provider.read(method, fn), self.provider.clock, method)

    def missing(self, key: str, reason: str) -> None:
        self.result.missing.append(Missing(key, reason))


class _ClassicDiscoverer(_Discoverer):
    def run(self) -> Discovery:
        rg, vault = self.ids.resource_group, self.ids.vault
        fabrics = self._read("list_fabrics", lambda: list(self.client.replication_fabrics.list(rg, vault)))
        fabric = self.pick_fabric(fabrics)
        if fabric is None:
            for key in REQUIRED_KEYS[1:]:
                self.missing(key, "not read: needs the VMware fabric (fabricName)")
            self.missing("protectableItems", "not read: needs the VMware fabric (fabricName)")
            return self.result
        self.result.values["fabricName"] = fabric.name
        self.servers(fabric)
        containers = self._read(
            "list_protection_containers",
            lambda: list(
                self.client.replication_protection_containers.list_by_replication_fabrics(rg, vault, fabric.name)
            ),
        )
        container = self.pick_container(fabric, containers)
        if container is None:
            self.missing("protectableItems", "not read: needs protectionContainerName")
        else:
            self.result.values["protectionContainerName"] = container
            items = self._read(
                "list_protectable_items",
                lambda: list(
                    self.client.replication_protectable_items.list_by_replication_protection_containers(
                        rg, vault, fabric.name, container
                    )
                ),
            )
            self.match_machines(items)
        self.compare_with_stack()
        return self.result

    # -- fabric and container ------------------------------------------------------------------------------------
    def pick_fabric(self, fabrics: list[Any]) -> Any:
        cs = self.cfg.configuration_server

        def kind(f: Any) -> str:
            custom = f.properties.custom_details if f.properties else None
            return getattr(custom, "instance_type", None) or "unknown"

        def describe(f: Any) -> str:
            custom = f.properties.custom_details
            host = custom.host_name or (f.properties.friendly_name or "?")
            return f"{f.name} (configuration server {host}, {custom.ip_address or 'no IP'})"

        vmware = [f for f in fabrics if kind(f) == "VMware"]
        if not vmware:
            reason = (
                f"no VMware fabric in vault {self.ids.vault}: the configuration server {cs.name} ({cs.ip}) has not "
                "registered with the vault yet (its first-boot wizard, with the vault registration key)"
            )
            modern = sorted({kind(f) for f in fabrics} & {"InMageRcm", "VMwareV2"})
            if modern:
                reason += (
                    f"; the vault has a modernized replication appliance fabric ({', '.join(modern)}): a stack for "
                    "it sets architecture: modernized"
                )
            self.missing("fabricName", reason)
            return None
        ours = [
            f
            for f in vmware
            if f.properties.custom_details.ip_address == cs.ip
            or cs.name.lower() in {_host(f.properties.custom_details.host_name), _host(f.properties.friendly_name)}
        ]
        if len(ours) == 1:
            fabric = ours[0]
        elif not ours and len(vmware) == 1:
            fabric = vmware[0]
            self.result.warnings.append(
                f"the vault's only VMware fabric {describe(fabric)} is not recognisably configuration server "
                f"{cs.name} ({cs.ip}) of the stack; used it anyway: check configurationServer.ip and .name"
            )
        else:
            candidates = ours or vmware
            self.missing(
                "fabricName",
                f"{len(candidates)} VMware fabrics could be configuration server {cs.name} ({cs.ip}): "
                f"{_listing(candidates, describe)}; set registration.fabricName to its fabric by hand",
            )
            return None
        self.result.fabric_label = describe(fabric)
        return fabric

    def pick_container(self, fabric: Any, containers: list[Any]) -> str | None:
        if len(containers) == 1:
            return containers[0].name
        if not containers:
            self.missing(
                "protectionContainerName",
                f"fabric {fabric.name} has no protection container yet: ASR creates it when the configuration server "
                "finishes registering; wait for that and run discover again",
            )
        else:
            names = ", ".join(
                f"{c.name} ({(c.properties.friendly_name if c.properties else None) or '?'})" for c in containers
            )
            self.missing(
                "protectionContainerName",
                f"fabric {fabric.name} has {len(containers)} protection containers ({names}), one was expected: set "
                "registration.protectionContainerName to the one that holds the stack's VMs (then protectableItems "
                "can be read)",
            )
        return None

    # -- servers and accounts ------------------------------------------------------------------------------------
    def servers(self, fabric: Any) -> None:
        from asrctl.sizing import plan_capacity

        cfg, cs = self.cfg, self.cfg.configuration_server
        custom = fabric.properties.custom_details
        process_servers = list(custom.process_servers or [])
        master_targets = list(custom.master_target_servers or [])
        where = f"in fabric {fabric.name}"

        built_in = [p for p in process_servers if p.ip_address == cs.ip]
        if len(built_in) == 1:
            self.result.values["processServerId"] = built_in[0].id
        else:
            self.missing(
                "processServerId",
                f"{_count(len(built_in), 'process server')} with the configuration server's IP "
                f"{cs.ip} (its built-in process server) {where}; registered: {_listing(process_servers, _ps)}",
            )

        separate = plan_capacity(cfg).separate_master_target
        hint = ""
        if separate:
            wanted = f"{cs.name}-mt"  # the VM name asrctl.infra.scale_out_servers gives the separate master target
            targets = [t for t in master_targets if _host(t.name) == wanted.lower()]
            what = f"named {wanted} (the separate master target the stack deploys)"
            hint = "; install the master target role on it and register it with the configuration server"
        else:
            targets = [t for t in master_targets if t.ip_address == cs.ip]
            what = f"with the configuration server's IP {cs.ip} (its built-in master target)"
        if len(targets) == 1:
            target = targets[0]
            self.result.values["masterTargetId"] = target.id
            self.retention_drive(target)
        else:
            hint = hint if not targets else ""
            self.missing(
                "masterTargetId",
                f"{_count(len(targets), 'master target')} {what} {where}; registered: "
                f"{_listing(master_targets, _mt)}{hint}",
            )

        self.linux_master_target(master_targets, where)
        if cfg.failback.enabled:
            if cfg.failback.process_server_ip:
                label = f"IP {cfg.failback.process_server_ip} (failback.processServerIp)"
                azure_ps = [p for p in process_servers if p.ip_address == cfg.failback.process_server_ip]
            else:
                name = FAILBACK_PS_NAME.format(environment=cfg.environment)[:15]
                label = f"name {name} (failback.processServerIp is not set)"
                azure_ps = [p for p in process_servers if _host(p.friendly_name) == name]
            if len(azure_ps) == 1:
                self.result.values["failbackProcessServerId"] = azure_ps[0].id
            elif not azure_ps:
                self.result.warnings.append(
                    f"failback is enabled but no process server with {label} is registered {where} yet (the "
                    "temporary Azure process server registers after `pulumi up` deployed it); failbackProcessServerId "
                    "left out, reprotect needs it"
                )
            else:
                self.result.warnings.append(
                    f"{len(azure_ps)} process servers with {label}: {_listing(azure_ps, _ps)}; "
                    "failbackProcessServerId left out: set it to the one that is registered and healthy"
                )

        accounts = list(custom.run_as_accounts or [])
        if len(accounts) == 1:
            self.result.values["runAsAccountId"] = str(accounts[0].account_id)
        elif not accounts:
            self.result.warnings.append(
                "the configuration server has no run-as account (only push installation of the Mobility service "
                "needs one); runAsAccountId left out"
            )
        else:
            listing = ", ".join(f"{a.account_id} ({a.account_name or '?'})" for a in accounts)
            self.result.warnings.append(
                f"the configuration server has {len(accounts)} run-as accounts: {listing}; runAsAccountId left out: "
                "set it to the account that may push the Mobility service to the VMs"
            )

    def linux_master_target(self, master_targets: list[Any], where: str) -> None:
        """Linux VMs fail back only through a Linux master target (REFERENCE §5): its id, when exactly one."""
        if not any(m.os == "linux" for m in self.cfg.machines):
            return
        linux = [t for t in master_targets if (t.os_type or "").lower() == "linux"]
        if len(linux) == 1:
            self.result.values["linuxMasterTargetId"] = linux[0].id
        elif not linux:
            self.result.warnings.append(
                f"the stack has Linux machines but no Linux master target is registered {where}; they fail back "
                "only through one: linuxMasterTargetId left out (deploy it from configurationServer."
                "linuxMasterTargetTemplate and register it)"
            )
        else:
            self.result.warnings.append(
                f"{len(linux)} Linux master targets {where}: {_listing(linux, _mt)}; linuxMasterTargetId left out: "
                "set it to the one Linux machines should fail back through"
            )

    def retention_drive(self, target: Any) -> None:
        volumes = [v.volume_name for v in (target.retention_volumes or []) if v.volume_name]
        if len(volumes) == 1:
            self.result.values["retentionDrive"] = volumes[0]
        elif volumes:
            self.result.warnings.append(
                f"master target {target.name} has {len(volumes)} retention volumes ({', '.join(volumes)}); "
                "retentionDrive left out: set it to the one failback should use"
            )
        elif self.cfg.failback.enabled:
            self.result.warnings.append(
                f"master target {target.name} reports no retention volume; retentionDrive left out (reprotect needs it)"
            )

    # -- machines ------------------------------------------------------------------------------------------------
    def match_machines(self, items: list[Any]) -> None:
        exact: dict[str, list[Any]] = {}
        folded: dict[str, list[Any]] = {}
        for item in items:
            friendly = (item.properties.friendly_name if item.properties else None) or ""
            exact.setdefault(friendly, []).append(item)
            folded.setdefault(friendly.lower(), []).append(item)
        for machine in self.cfg.machines:
            found = exact.get(machine.vm_name) or folded.get(machine.vm_name.lower()) or []
            key = f"protectableItems.{machine.name}"
            if len(found) == 1:
                self.result.protectable_items[machine.name] = found[0].name
            elif not found:
                reason = f"VM {machine.vm_name} is not among the {len(items)} VM(s) ASR lists; {NOT_DISCOVERED_HINT}"
                self.result.missing.append(Missing(key, reason, machine.name, machine.vm_name))
            else:
                ids = ", ".join(i.name for i in found)
                reason = (
                    f"ASR discovered {len(found)} VMs named {machine.vm_name} ({ids}); give them unique vSphere names "
                    "so the right one is protected"
                )
                self.result.missing.append(Missing(key, reason, machine.name, machine.vm_name))

    def compare_with_stack(self) -> None:
        """Warn where the stack's current registration block disagrees with the vault."""
        reg = self.cfg.registration
        if reg is None:
            return
        current = reg.model_dump(by_alias=True)
        for key, value in self.result.values.items():
            if current.get(key) and current[key] != value:
                self.result.warnings.append(
                    f"registration.{key} in the stack is {current[key]}; the vault says {value}"
                )
        stale = sorted(
            k for k, v in self.result.protectable_items.items() if (current.get("protectableItems") or {}).get(k) != v
        )
        if stale:
            self.result.warnings.append(
                f"registration.protectableItems differs from the vault for {len(stale)} machine(s): "
                f"{', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}"
            )


class _ModernizedDiscoverer(_Discoverer):
    """The InMageRcm fabric, its container, the appliances' component ids and the VMware site's machines."""

    architecture = "modernized"

    def __init__(self, cfg: StackConfig, stack: str, provider: Any) -> None:
        super().__init__(cfg, stack, provider)
        self.names = [a.name for a in (cfg.replication_appliances.appliances if cfg.replication_appliances else [])]

    def run(self) -> Discovery:
        rg, vault = self.ids.resource_group, self.ids.vault
        fabrics = self._read("list_fabrics", lambda: list(self.client.replication_fabrics.list(rg, vault)))
        fabric = self.pick_fabric(fabrics)
        if fabric is None:
            for key in MODERNIZED_REQUIRED[1:]:
                self.missing(key, "not read: needs the InMageRcm fabric (fabricName)")
            self.missing("discoveredMachines", "not read: needs the InMageRcm fabric (fabricName)")
            return self.result
        custom = fabric.properties.custom_details
        self.result.values["fabricName"] = fabric.name
        containers = self._read("list_protection_containers", lambda: list(
            self.client.replication_protection_containers.list_by_replication_fabrics(rg, vault, fabric.name)))
        if len(containers) == 1:
            self.result.values["protectionContainerName"] = containers[0].name
        else:
            listing = ", ".join(c.name for c in containers) or "none yet"
            self.missing("protectionContainerName", f"fabric {fabric.name} has {len(containers)} protection "
                         f"containers ({listing}), one was expected: set registration.protectionContainerName")
        self.appliances(custom)
        site = custom.vmware_site_id
        if not site:
            self.missing("vmwareSiteId", f"fabric {fabric.name} names no VMware site (customDetails.vmwareSiteId): "
                         "the appliance has not discovered vCenter yet (add vCenter in its configuration manager)")
            self.missing("discoveredMachines", "not read: needs vmwareSiteId")
            return self.result
        self.result.values["vmwareSiteId"] = site
        self.run_as_account(site)
        self.match_machines(site)
        return self.result

    def pick_fabric(self, fabrics: list[Any]) -> Any:
        def kind(f: Any) -> str | None:
            custom = f.properties.custom_details if f.properties else None
            return getattr(custom, "instance_type", None)

        rcm = [f for f in fabrics if kind(f) == "InMageRcm"]
        if not rcm:
            reason = (f"no InMageRcm fabric in vault {self.ids.vault}: no replication appliance has registered with "
                      f"the vault yet ({', '.join(self.names)}: `asrctl preview` prints the registration steps)")
            if any(kind(f) == "VMware" for f in fabrics):
                reason += "; the vault has a classic configuration-server fabric (set architecture: classic, or " \
                    "`asrctl migrate` to move to the modernized architecture)"
            self.missing("fabricName", reason)
            return None
        wanted = {n.lower() for n in self.names}

        def ours(f: Any) -> bool:
            servers = f.properties.custom_details.process_servers or []
            return bool(wanted & {(p.name or "").lower() for p in servers})

        mine = [f for f in rcm if ours(f)]
        if len(mine) == 1 or (not mine and len(rcm) == 1):
            fabric = (mine or rcm)[0]
            if not mine:
                self.result.warnings.append(f"the vault's only InMageRcm fabric {fabric.name} lists none of the "
                                            f"stack's appliances ({', '.join(self.names)}); used it anyway")
            self.result.fabric_label = f"{fabric.name} (InMageRcm)"
            return fabric
        self.missing("fabricName", f"{len(mine or rcm)} InMageRcm fabrics could be this stack's: "
                     f"{', '.join(f.name for f in mine or rcm)}; set registration.fabricName by hand")
        return None

    def appliances(self, custom: Any) -> None:
        """processServerId and reprotectAgentId per appliance (REFERENCE-modernized §2.5), matched by name."""
        servers = {(p.name or "").lower(): p for p in custom.process_servers or []}
        agents = {(a.name or "").lower(): a for a in custom.reprotect_agents or []}
        datastores: list[str] = []
        for name in self.names:
            server = servers.get(name.lower())
            if server is None:
                registered = ", ".join(p.name or "?" for p in servers.values()) or "none"
                self.missing(f"appliances.{name}", f"no process server named {name} in the fabric (registered: "
                             f"{registered}): register the appliance with the vault")
                continue
            ids = {"processServerId": server.id}
            agent = agents.get(name.lower())
            if agent is not None:
                ids["reprotectAgentId"] = agent.id
                datastores.extend(d for d in agent.accessible_datastores or [] if d not in datastores)
            else:
                self.result.warnings.append(f"appliance {name} has no reprotect agent registered: reprotectAgentId "
                                            "left out (failback reprotects through it)")
            self.result.appliances[name] = ids
        if self.cfg.vcenter.datastore in datastores:
            self.result.values["failbackDatastore"] = self.cfg.vcenter.datastore
        elif len(datastores) == 1:
            self.result.values["failbackDatastore"] = datastores[0]
        elif datastores:
            self.result.warnings.append(
                f"the reprotect agents reach {len(datastores)} datastores ({', '.join(datastores)}) and "
                f"vcenter.datastore {self.cfg.vcenter.datastore} is not one of them: failbackDatastore left out "
                "(each VM then fails back to its own datastore)")

    def _offazure(self, method: str, url: str) -> list[dict[str, Any]]:
        """A Microsoft.OffAzure list (no SDK for it here): raw GETs through the same pipeline, nextLink followed."""
        from azure.core.rest import HttpRequest

        out: list[dict[str, Any]] = []
        params: dict[str, str] | None = {"api-version": OFFAZURE_API_VERSION}
        next_url: str | None = f"{self.provider.transport.endpoint}{url}"
        while next_url:
            def get(u: str = next_url, q: dict[str, str] | None = params) -> Any:
                response = self.client.send_request(HttpRequest("GET", u, params=q or {}))
                response.raise_for_status()
                return response.json()

            page = self._read(method, get)
            out.extend(page.get("value") or [])
            next_url, params = page.get("nextLink"), None
        return out

    def run_as_account(self, site: str) -> None:
        accounts = self._offazure("list_run_as_accounts", f"{site}/runAsAccounts")
        guests = [a for a in accounts if (a.get("properties") or {}).get("credentialType") in ("WindowsGuest",
                                                                                            "LinuxGuest")]
        if len(guests) == 1:
            self.result.values["runAsAccountId"] = guests[0]["id"]
        elif guests:
            listing = ", ".join(f"{(a.get('properties') or {}).get('displayName')} "
                                f"({(a.get('properties') or {}).get('credentialType')})" for a in guests)
            self.result.warnings.append(f"the VMware site has {len(guests)} guest run-as accounts ({listing}): "
                                        "runAsAccountId left out (only push installation of the Mobility service "
                                        "needs one): set it to the account that may push the agent")

    def match_machines(self, site: str) -> None:
        machines = [m for m in self._offazure("list_discovered_machines", f"{site}/machines")
                    if not (m.get("properties") or {}).get("isDeleted")]
        exact: dict[str, list[dict[str, Any]]] = {}
        folded: dict[str, list[dict[str, Any]]] = {}
        for m in machines:
            shown = (m.get("properties") or {}).get("displayName") or ""
            exact.setdefault(shown, []).append(m)
            folded.setdefault(shown.lower(), []).append(m)
        for machine in self.cfg.machines:
            found = exact.get(machine.vm_name) or folded.get(machine.vm_name.lower()) or []
            key = f"discoveredMachines.{machine.name}"
            if len(found) == 1:
                self.result.protectable_items[machine.name] = found[0]["id"]
            elif not found:
                reason = (f"VM {machine.vm_name} is not among the {len(machines)} machine(s) the appliance "
                          f"discovered in VMware site {site.rsplit('/', 1)[-1]}; check that the appliance's vCenter "
                          "account can see it under exactly this name (discovery refreshes about every 15 minutes)")
                self.result.missing.append(Missing(key, reason, machine.name, machine.vm_name))
            else:
                ids = ", ".join(f["name"] for f in found)
                reason = (f"the appliance discovered {len(found)} live VMs named {machine.vm_name} ({ids}); give "
                          "them unique vSphere names so the right one is protected")
                self.result.missing.append(Missing(key, reason, machine.name, machine.vm_name))


def simulated(cfg: StackConfig, stack: str) -> Discovery:
    """The simulated vault's registration (its own ids; :mod:`asrctl.recovery.providers.simulator.registration`)."""
    from asrctl.recovery.providers.azure.asr import stack_azure_ids
    from asrctl.recovery.providers.simulator.registration import registration_ids
    from asrctl.recovery.providers.simulator.world import World

    world = World(stack)
    try:
        block = registration_ids(cfg, stack, world.world_id)
    finally:
        world.close()
    result = Discovery(stack=stack, vault=stack_azure_ids(cfg).vault, machines=[m.name for m in cfg.machines],
                       architecture=cfg.architecture, fabric_label=f"{block['fabricName']} (simulated)")
    machines_key = result.machines_key
    result.protectable_items = dict(block.pop(machines_key))
    result.appliances = dict(block.pop("appliances", {}))
    result.values = {k: v for k, v in block.items()}
    return result


def discover(cfg: StackConfig, stack: str, provider: Any = None, *, provider_name: str = "azure") -> Discovery:
    """Read the stack's registration from its vault. ``provider`` (an AzureProvider) is for tests; by default one
    is built from the environment (ASRCTL_ARM_TOKEN / DefaultAzureCredential, ASRCTL_ARM_ENDPOINT).
    ``provider_name="simulator"``: the simulated vault's ids."""
    if provider_name == "simulator":
        return simulated(cfg, stack)
    if provider_name != "azure":
        raise BadInput(f"--provider {provider_name!r}: choose one of simulator, azure")
    own = provider is None
    if provider is None:
        from asrctl.recovery.providers.azure import AzureProvider

        provider = AzureProvider(cfg, stack, caller="asrctl discover")
    try:
        kind = _ModernizedDiscoverer if cfg.modernized else _ClassicDiscoverer
        return kind(cfg, stack, provider).run()
    finally:
        if own:
            provider.close()

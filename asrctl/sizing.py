"""Capacity planning for the on-prem ASR servers, as pure Python (no Pulumi): one decision, two users.

Modernized: :func:`plan_appliances` decides how many replication appliances, which size row each gets and whether a
dedicated failback appliance is needed. Classic: :func:`plan_capacity` sizes the configuration server, the
scale-out process servers and the master target. The Pulumi components build what these say, and
``asrctl capacity`` prints the same decision with the reason for each line, so what the command says is what
``pulumi up`` builds; config validation refuses a modernized stack that declares fewer appliances than needed.

Numbers are Microsoft's published sizing; each table row names its source. Units: GB and TB are binary
(1 TB = 1024 GB, the same TB as the 1 TB cache disk of the largest tier); MB/s is MB per second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from asrctl.config import Machine, StackConfig

if TYPE_CHECKING:
    from asrctl.config import Problem

GB_PER_TB = 1024
#: ASR replicates at most 54 MB/s of peak churn per VM.
MAX_PEAK_MB_PER_S_PER_VM = 54.0
#: One process server (built into the configuration server or scaled out) handles at most 2 TB/day.
MAX_GB_PER_DAY_PER_PROCESS_SERVER = 2 * GB_PER_TB
#: A configuration server manages at most 200 protected machines; beyond that, add a configuration server.
MAX_MACHINES_PER_CONFIGURATION_SERVER = 200
#: A master target attaches at most 60 disks at once: failing back more disks needs a separate master target.
MAX_DISKS_PER_MASTER_TARGET = 60

SECONDS_PER_DAY = 86_400


def _disk_label(gb: int) -> str:
    """A disk size as the sizing tables print it: whole TB from 1 TB up, else GB."""
    return f"{gb // GB_PER_TB} TB" if gb >= GB_PER_TB else f"{gb} GB"


class _RatedRow(Protocol):
    """A row of one of Microsoft's sizing tables: the load it is rated for."""

    @property
    def max_churn_gb_per_day(self) -> int: ...

    @property
    def max_machines(self) -> int: ...


_Row = TypeVar("_Row", bound=_RatedRow)


def _smallest_rated(rows: Sequence[_Row], churn_gb_per_day: float, machines: int) -> _Row | None:
    """The smallest row (tables are sorted smallest first) rated for both the churn and the machine count."""
    for row in rows:
        if churn_gb_per_day <= row.max_churn_gb_per_day and machines <= row.max_machines:
            return row
    return None


def _next_smaller(rows: Sequence[_Row], chosen: _Row) -> _Row | None:
    """The row just below ``chosen`` (tables are sorted smallest first), or None when it is the smallest."""
    index = rows.index(chosen)
    return rows[index - 1] if index else None


def _too_small(what: str, limits: Sequence[tuple[bool, str]]) -> str:
    """Why not the smaller row: " (the <what> is too small: <each limit it exceeds, joined by and>)"."""
    return f" (the {what} is too small: {' and '.join(text for exceeded, text in limits if exceeded)})"


@dataclass(frozen=True)
class ServerSize:
    """One row of Microsoft's sizing table: the VM shape and the load it is rated for."""

    vcpus: int
    memory_gb: int
    cache_disk_gb: int
    max_churn_gb_per_day: int
    min_machines: int
    max_machines: int

    @property
    def label(self) -> str:
        return f"{self.vcpus} vCPU / {self.memory_gb} GB RAM / {_disk_label(self.cache_disk_gb)} cache disk"

    def to_json(self) -> dict[str, Any]:
        return {
            "vcpus": self.vcpus,
            "memory_gb": self.memory_gb,
            "cache_disk_gb": self.cache_disk_gb,
            "rated_churn_gb_per_day": self.max_churn_gb_per_day,
            "rated_machines": [self.min_machines, self.max_machines],
        }


#: Configuration server with its built-in process server: ≤500 GB/day & <100 machines; ≤1 TB & 100–150; ≤2 TB & 151–200.
CONFIGURATION_SERVER_TIERS: tuple[ServerSize, ...] = (
    ServerSize(8, 16, 300, 500, 0, 99),
    ServerSize(12, 18, 600, 1 * GB_PER_TB, 100, 150),
    ServerSize(16, 32, 1 * GB_PER_TB, 2 * GB_PER_TB, 151, 200),
)
#: Scale-out process server: ≤250 GB/day & ≤85 machines; ≤1 TB & 86–150; ≤2 TB & 151–225.
PROCESS_SERVER_TIERS: tuple[ServerSize, ...] = (
    ServerSize(4, 8, 300, 250, 0, 85),
    ServerSize(8, 12, 600, 1 * GB_PER_TB, 86, 150),
    ServerSize(12, 24, 1 * GB_PER_TB, 2 * GB_PER_TB, 151, 225),
)
#: Separate master target (asrctl's choice; Microsoft publishes no table): 4 vCPU, 8 GB, 1 TB retention disk.
MASTER_TARGET_SIZE = ServerSize(4, 8, 1 * GB_PER_TB, 2 * GB_PER_TB, 0, MAX_DISKS_PER_MASTER_TARGET)


def tier_for(tiers: tuple[ServerSize, ...], churn_gb_per_day: float, machines: int) -> ServerSize | None:
    """The smallest tier rated for both the churn and the machine count, or ``None`` when none is."""
    return _smallest_rated(tiers, churn_gb_per_day, machines)


@dataclass(frozen=True)
class MachineLoad:
    """One protected machine against ASR's per-VM limits."""

    name: str
    churn_gb_per_day: float
    average_mb_per_s: float
    peak_mb_per_s: float
    replicable: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "churn_gb_per_day": self.churn_gb_per_day,
            "average_mb_per_s": round(self.average_mb_per_s, 2),
            "peak_mb_per_s": self.peak_mb_per_s,
            "replicable": self.replicable,
            "reason": self.reason,
        }


def machine_load(machine: Machine) -> MachineLoad:
    """Check a machine's churn: peak (or, when unknown, average) ≤ 54 MB/s and ≤ 2 TB/day (one process server)."""
    average = machine.churn_gb_per_day * 1024 / SECONDS_PER_DAY
    peak = machine.peak_churn_mb_per_s
    basis, rate = ("peak", peak) if peak > 0 else ("average (peak unknown)", average)
    if rate > MAX_PEAK_MB_PER_S_PER_VM:
        return MachineLoad(
            machine.name, machine.churn_gb_per_day, average, peak, False,
            f"{basis} churn {rate:.1f} MB/s exceeds ASR's {MAX_PEAK_MB_PER_S_PER_VM:g} MB/s per VM; "
            "move the busiest disks' data elsewhere or exclude them from replication",
        )
    if machine.churn_gb_per_day > MAX_GB_PER_DAY_PER_PROCESS_SERVER:
        return MachineLoad(
            machine.name, machine.churn_gb_per_day, average, peak, False,
            f"{machine.churn_gb_per_day:g} GB/day exceeds what one process server handles "
            f"({MAX_GB_PER_DAY_PER_PROCESS_SERVER} GB/day); a machine cannot be split across process servers",
        )
    return MachineLoad(
        machine.name, machine.churn_gb_per_day, average, peak, True,
        f"{basis} churn {rate:.1f} MB/s ≤ {MAX_PEAK_MB_PER_S_PER_VM:g} MB/s per VM",
    )


@dataclass(frozen=True)
class CapacityPlan:
    """The sizing decision for one stack; every field has the reason a user would ask for."""

    machines: int
    total_disks: int
    total_churn_gb_per_day: float
    configuration_server: ServerSize
    configuration_server_reason: str
    additional_configuration_servers: int
    additional_configuration_servers_reason: str
    process_servers: int
    process_server_size: ServerSize | None
    process_servers_reason: str
    separate_master_target: bool
    master_target_reason: str
    linux_master_target: bool
    linux_master_target_reason: str
    machine_loads: tuple[MachineLoad, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def unreplicable(self) -> tuple[MachineLoad, ...]:
        return tuple(m for m in self.machine_loads if not m.replicable)

    @property
    def process_server_capacity_gb_per_day(self) -> int:
        """Daily churn the built-in process server plus the scale-out ones are rated for."""
        return MAX_GB_PER_DAY_PER_PROCESS_SERVER * (1 + self.process_servers)

    def to_json(self) -> dict[str, Any]:
        return {
            "machines": self.machines,
            "total_disks": self.total_disks,
            "total_churn_gb_per_day": self.total_churn_gb_per_day,
            "process_server_limit_gb_per_day": MAX_GB_PER_DAY_PER_PROCESS_SERVER,
            "process_server_capacity_gb_per_day": self.process_server_capacity_gb_per_day,
            "peak_limit_mb_per_s_per_vm": MAX_PEAK_MB_PER_S_PER_VM,
            "configuration_server": {
                **self.configuration_server.to_json(),
                "reason": self.configuration_server_reason,
            },
            "additional_configuration_servers": {
                "count": self.additional_configuration_servers,
                "reason": self.additional_configuration_servers_reason,
            },
            "process_servers": {
                "count": self.process_servers,
                "size": self.process_server_size.to_json() if self.process_server_size else None,
                "reason": self.process_servers_reason,
            },
            "separate_master_target": {"needed": self.separate_master_target, "reason": self.master_target_reason},
            "linux_master_target": {"needed": self.linux_master_target, "reason": self.linux_master_target_reason},
            "machine_loads": [m.to_json() for m in self.machine_loads],
            "unreplicable": [m.name for m in self.unreplicable],
            "warnings": list(self.warnings),
        }


def _fmt_churn(gb: float) -> str:
    return f"{gb:g} GB/day" if gb < GB_PER_TB else f"{gb:g} GB/day ({gb / GB_PER_TB:.2f} TB)"


def size_servers(
    machines: int,
    churn_gb_per_day: float,
    *,
    total_disks: int = 0,
    process_servers: int | Literal["auto"] = "auto",
    separate_master_target: bool | Literal["auto"] = "auto",
    failback_enabled: bool = False,
    linux_machines: int = 0,
    linux_master_target_template: bool = False,
    machine_loads: tuple[MachineLoad, ...] = (),
) -> CapacityPlan:
    """The sizing decision from the load alone (the table boundaries are tested here)."""
    warnings: list[str] = []

    # Configuration server: the smallest tier for all machines it manages (at most 200) and the churn its built-in
    # process server carries (at most 2 TB/day; the rest goes to scale-out process servers).
    managed = min(machines, MAX_MACHINES_PER_CONFIGURATION_SERVER)
    cs_churn = min(churn_gb_per_day, MAX_GB_PER_DAY_PER_PROCESS_SERVER)
    cs = tier_for(CONFIGURATION_SERVER_TIERS, cs_churn, managed) or CONFIGURATION_SERVER_TIERS[-1]
    cs_reason = (
        f"{machines} machines and {_fmt_churn(churn_gb_per_day)} fit the tier rated for "
        f"≤{cs.max_churn_gb_per_day} GB/day and ≤{cs.max_machines} machines"
    )
    below = _next_smaller(CONFIGURATION_SERVER_TIERS, cs)
    if below:
        cs_reason += _too_small("smaller tier", [
            (cs_churn > below.max_churn_gb_per_day, f"{_fmt_churn(churn_gb_per_day)} > {below.max_churn_gb_per_day} GB/day"),
            (managed > below.max_machines, f"{machines} machines > {below.max_machines}"),
        ])
    if churn_gb_per_day > MAX_GB_PER_DAY_PER_PROCESS_SERVER or machines > MAX_MACHINES_PER_CONFIGURATION_SERVER:
        cs_reason = "the load exceeds the largest tier, so the configuration server gets the largest size"

    extra_cs = max(0, math.ceil(machines / MAX_MACHINES_PER_CONFIGURATION_SERVER) - 1)
    extra_cs_reason = (
        f"{machines} machines exceed {MAX_MACHINES_PER_CONFIGURATION_SERVER} per configuration server: "
        f"deploy {extra_cs} more configuration server(s), each with its own stack and vault registration"
        if extra_cs
        else f"{machines} machines ≤ {MAX_MACHINES_PER_CONFIGURATION_SERVER} per configuration server"
    )
    if extra_cs:
        warnings.append(extra_cs_reason)

    # Scale-out process servers carry the churn beyond the built-in process server's 2 TB/day.
    excess_churn = max(0.0, churn_gb_per_day - MAX_GB_PER_DAY_PER_PROCESS_SERVER)
    auto_ps = math.ceil(excess_churn / MAX_GB_PER_DAY_PER_PROCESS_SERVER) if excess_churn else 0
    if process_servers == "auto":
        ps_count = auto_ps
        ps_reason = (
            f"{_fmt_churn(churn_gb_per_day)} exceeds the {MAX_GB_PER_DAY_PER_PROCESS_SERVER} GB/day one process "
            f"server handles: {ps_count} scale-out process server(s) carry the remaining {excess_churn:g} GB/day"
            if ps_count
            else f"{_fmt_churn(churn_gb_per_day)} ≤ {MAX_GB_PER_DAY_PER_PROCESS_SERVER} GB/day: the configuration "
            "server's built-in process server is enough"
        )
    else:
        ps_count = process_servers
        ps_reason = f"configurationServer.processServers is {process_servers} (sizing alone asks for {auto_ps})"
        if process_servers < auto_ps:
            warnings.append(
                f"configurationServer.processServers {process_servers} is below the {auto_ps} the churn needs; "
                "replication will fall behind (RPO alerts)"
            )
    ps_size = None
    if ps_count:
        per_ps_churn = (excess_churn / ps_count) if excess_churn else 0.0
        per_ps_machines = math.ceil(machines / (ps_count + 1))
        ps_size = tier_for(PROCESS_SERVER_TIERS, per_ps_churn, per_ps_machines) or PROCESS_SERVER_TIERS[-1]

    # Master target: the configuration server has one built in; a separate one is needed to fail back more disks
    # than one master target attaches (60).
    auto_mt = failback_enabled and total_disks > MAX_DISKS_PER_MASTER_TARGET
    if separate_master_target == "auto":
        mt = auto_mt
        if mt:
            mt_reason = (
                f"failback of {total_disks} disks exceeds the {MAX_DISKS_PER_MASTER_TARGET} disks one master target "
                "attaches"
            )
        elif not failback_enabled:
            mt_reason = "failback is disabled: the configuration server's built-in master target is enough"
        else:
            mt_reason = f"{total_disks} disks ≤ {MAX_DISKS_PER_MASTER_TARGET}: the built-in master target is enough"
    else:
        mt = separate_master_target
        mt_reason = f"configurationServer.separateMasterTarget is {str(separate_master_target).lower()}"
        if auto_mt and not mt:
            warnings.append(
                f"{total_disks} disks exceed the {MAX_DISKS_PER_MASTER_TARGET} a master target attaches; "
                "set configurationServer.separateMasterTarget to true or auto"
            )

    linux_mt = bool(linux_machines and linux_master_target_template and failback_enabled)
    if linux_mt:
        lmt_reason = f"{linux_machines} Linux machine(s) need a Linux master target to fail back"
    elif linux_machines and failback_enabled:
        lmt_reason = (
            f"{linux_machines} Linux machine(s) cannot fail back: no configurationServer.linuxMasterTargetTemplate"
        )
        warnings.append(lmt_reason + "; set it to a Linux master target template")
    elif linux_machines:
        lmt_reason = "failback is disabled: no master target needed yet (Linux machines will need a Linux one)"
    else:
        lmt_reason = "no Linux machines"

    bad = [m for m in machine_loads if not m.replicable]
    if bad:
        warnings.append(f"{len(bad)} machine(s) exceed ASR's per-VM limits: {', '.join(m.name for m in bad)}")

    return CapacityPlan(
        machines=machines,
        total_disks=total_disks,
        total_churn_gb_per_day=churn_gb_per_day,
        configuration_server=cs,
        configuration_server_reason=cs_reason,
        additional_configuration_servers=extra_cs,
        additional_configuration_servers_reason=extra_cs_reason,
        process_servers=ps_count,
        process_server_size=ps_size,
        process_servers_reason=ps_reason,
        separate_master_target=mt,
        master_target_reason=mt_reason,
        linux_master_target=linux_mt,
        linux_master_target_reason=lmt_reason,
        machine_loads=machine_loads,
        warnings=tuple(warnings),
    )


def plan_capacity(cfg: StackConfig) -> CapacityPlan:
    """The sizing decision for a stack's protected machines and configuration-server settings."""
    cs = cfg.configuration_server
    return size_servers(
        len(cfg.machines),
        round(cfg.total_churn_gb_per_day, 3),
        total_disks=sum(len(m.disks) for m in cfg.machines),
        process_servers=cs.process_servers,
        separate_master_target=cs.separate_master_target,
        failback_enabled=cfg.failback.enabled,
        linux_machines=sum(1 for m in cfg.machines if m.os == "linux"),
        linux_master_target_template=cs.linux_master_target_template is not None,
        machine_loads=tuple(machine_load(m) for m in cfg.machines),
    )


# ---------------------------------------------------------------------------------------------------------------
# Modernized: replication appliances

#: One appliance (its process server) replicates at most 200 machines.
#: Source: replication-appliance-support-matrix.md (2025-04-29), sizing table ("up to 200 VMs per appliance") [V].
MAX_MACHINES_PER_APPLIANCE = 200
#: One appliance fails back at most 60 disks. Source: failover-failback-overview-modernized.md [V].
MAX_FAILBACK_DISKS_PER_APPLIANCE = 60
#: Daily churn one appliance's process server carries: the 2 TB/day of the largest row (same source) [V].
MAX_GB_PER_DAY_PER_APPLIANCE = 2 * GB_PER_TB


@dataclass(frozen=True)
class ApplianceSize:
    """One row of the replication appliance sizing table, with where it comes from."""

    row: str
    vcpus: int
    memory_gb: int
    os_disk_gb: int
    cache_disk_gb: int
    max_churn_gb_per_day: int
    max_machines: int
    source: str

    @property
    def label(self) -> str:
        return (f"{self.row} row: {self.vcpus} vCPU / {self.memory_gb} GB RAM / {self.os_disk_gb} GB OS + "
                f"{_disk_label(self.cache_disk_gb)} data disk, Windows Server 2022")

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "vcpus": self.vcpus,
            "memory_gb": self.memory_gb,
            "os_disk_gb": self.os_disk_gb,
            "cache_disk_gb": self.cache_disk_gb,
            "rated_churn_gb_per_day": self.max_churn_gb_per_day,
            "rated_machines": self.max_machines,
            "source": self.source,
        }


#: The documented appliance sizes, smallest first.
APPLIANCE_SIZES: tuple[ApplianceSize, ...] = (
    ApplianceSize(
        "standard", 8, 16, 80, 620, 1 * GB_PER_TB, 150,
        "replication-appliance-support-matrix.md: 8 vCPU, 16 GB, 80 GB OS + 620 GB data disk, Windows Server 2022 "
        "[V]; its rating (up to 150 machines and 1 TB/day) is inferred from the larger row starting at 151 machines "
        "and more than 1 TB/day [U]",
    ),
    ApplianceSize(
        "large", 16, 32, 80, 1 * GB_PER_TB, 2 * GB_PER_TB, MAX_MACHINES_PER_APPLIANCE,
        "replication-appliance-support-matrix.md sizing table: 16 vCPU, 32 GB, 1 TB cache, more than 1 to 2 TB "
        "daily churn, 151 to 200 machines [V]",
    ),
)


def appliance_size_for(machines: int, churn_gb_per_day: float) -> ApplianceSize | None:
    """The smallest row rated for the load, or ``None`` when one appliance cannot carry it."""
    return _smallest_rated(APPLIANCE_SIZES, churn_gb_per_day, machines)


@dataclass(frozen=True)
class ApplianceLoad:
    """One declared appliance of the stack, what it carries and the size it gets."""

    name: str
    role: str
    machines: int
    disks: int
    churn_gb_per_day: float
    size: ApplianceSize | None
    """None when the load exceeds the largest row (config validation refuses such a stack)."""
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "machines": self.machines,
            "disks": self.disks,
            "churn_gb_per_day": round(self.churn_gb_per_day, 3),
            "size": self.size.to_json() if self.size else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class AppliancePlan:
    """The modernized sizing decision for one stack; every field carries the reason a user would ask for."""

    machines: int
    total_disks: int
    total_churn_gb_per_day: float
    replication_appliances: int
    replication_appliances_reason: str
    size: ApplianceSize
    size_reason: str
    failback_appliance: bool
    failback_appliance_reason: str
    appliances: tuple[ApplianceLoad, ...] = ()
    machine_loads: tuple[MachineLoad, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def unreplicable(self) -> tuple[MachineLoad, ...]:
        return tuple(m for m in self.machine_loads if not m.replicable)

    def to_json(self) -> dict[str, Any]:
        return {
            "architecture": "modernized",
            "machines": self.machines,
            "total_disks": self.total_disks,
            "total_churn_gb_per_day": self.total_churn_gb_per_day,
            "limits": {
                "machines_per_appliance": MAX_MACHINES_PER_APPLIANCE,
                "churn_gb_per_day_per_appliance": MAX_GB_PER_DAY_PER_APPLIANCE,
                "failback_disks_per_appliance": MAX_FAILBACK_DISKS_PER_APPLIANCE,
                "peak_mb_per_s_per_vm": MAX_PEAK_MB_PER_S_PER_VM,
            },
            "replication_appliances": {"count": self.replication_appliances, "reason": self.replication_appliances_reason},
            "size": {**self.size.to_json(), "reason": self.size_reason},
            "failback_appliance": {"needed": self.failback_appliance, "reason": self.failback_appliance_reason},
            "appliances": [a.to_json() for a in self.appliances],
            "machine_loads": [m.to_json() for m in self.machine_loads],
            "unreplicable": [m.name for m in self.unreplicable],
            "warnings": list(self.warnings),
        }


def size_appliances(
    machines: int,
    churn_gb_per_day: float,
    *,
    total_disks: int = 0,
    failback_enabled: bool = False,
    appliances: tuple[ApplianceLoad, ...] = (),
    machine_loads: tuple[MachineLoad, ...] = (),
) -> AppliancePlan:
    """The appliance decision from the load alone (the table boundaries are tested here)."""
    total_churn = churn_gb_per_day
    warnings: list[str] = []
    bad = [m for m in machine_loads if not m.replicable]
    # A machine over the per-VM limits replicates through no number of appliances: its churn asks for none.
    churn_gb_per_day = round(churn_gb_per_day - sum(m.churn_gb_per_day for m in bad), 3)
    by_machines = math.ceil(machines / MAX_MACHINES_PER_APPLIANCE)
    by_churn = math.ceil(churn_gb_per_day / MAX_GB_PER_DAY_PER_APPLIANCE)
    count = max(1, by_machines, by_churn)
    if count == 1:
        count_reason = (
            f"{machines} machines ≤ {MAX_MACHINES_PER_APPLIANCE} and {_fmt_churn(churn_gb_per_day)} ≤ "
            f"{MAX_GB_PER_DAY_PER_APPLIANCE} GB/day per appliance: one appliance replicates them all"
        )
    else:
        why = []
        if by_machines == count:
            why.append(f"{machines} machines exceed {MAX_MACHINES_PER_APPLIANCE} per appliance")
        if by_churn == count:
            why.append(f"{_fmt_churn(churn_gb_per_day)} exceeds {MAX_GB_PER_DAY_PER_APPLIANCE} GB/day per appliance")
        count_reason = f"{' and '.join(why)}: {count} appliances, the machines balanced over them"
    per_machines = math.ceil(machines / count)
    per_churn = churn_gb_per_day / count
    size = appliance_size_for(per_machines, per_churn) or APPLIANCE_SIZES[-1]
    size_reason = (
        f"{per_machines} machines and {_fmt_churn(round(per_churn, 3))} per appliance fit the {size.row} row "
        f"(rated for ≤{size.max_machines} machines and ≤{size.max_churn_gb_per_day} GB/day)"
    )
    below = _next_smaller(APPLIANCE_SIZES, size)
    if below:
        size_reason += _too_small(f"{below.row} row", [
            (per_machines > below.max_machines, f"{per_machines} machines > {below.max_machines}"),
            (per_churn > below.max_churn_gb_per_day,
             f"{_fmt_churn(round(per_churn, 3))} > {below.max_churn_gb_per_day} GB/day"),
        ])

    if not failback_enabled:
        failback, failback_reason = False, "failback is disabled: no failback appliance"
    elif total_disks > MAX_FAILBACK_DISKS_PER_APPLIANCE:
        failback = True
        at_once = MAX_FAILBACK_DISKS_PER_APPLIANCE * (count + 1)
        failback_reason = (
            f"failback of {total_disks} disks exceeds the {MAX_FAILBACK_DISKS_PER_APPLIANCE} disks one appliance "
            f"fails back: deploy a dedicated appliance with role: failback (standard row)"
        )
        if total_disks > at_once:
            failback_reason += (
                f"; with the {count} replication appliance(s) it fails back at most {at_once} disks at once, so fail "
                "the rest back plan by plan"
            )
    else:
        failback = False
        failback_reason = (
            f"{total_disks} disks ≤ {MAX_FAILBACK_DISKS_PER_APPLIANCE}: the replication appliance fails them back"
        )
    if bad:
        warnings.append(f"{len(bad)} machine(s) exceed ASR's per-VM limits: {', '.join(m.name for m in bad)}")
    return AppliancePlan(
        machines=machines,
        total_disks=total_disks,
        total_churn_gb_per_day=total_churn,
        replication_appliances=count,
        replication_appliances_reason=count_reason,
        size=size,
        size_reason=size_reason,
        failback_appliance=failback,
        failback_appliance_reason=failback_reason,
        appliances=appliances,
        machine_loads=machine_loads,
        warnings=tuple(warnings),
    )


def _declared_loads(cfg: StackConfig) -> tuple[ApplianceLoad, ...]:
    """Each declared appliance with the machines ``cfg.appliance_assignment`` gives it, and its size row."""
    if cfg.replication_appliances is None:
        return ()
    assigned: dict[str, list[Machine]] = {a.name: [] for a in cfg.replication_appliances.appliances}
    for machine_name, appliance in cfg.appliance_assignment.items():
        assigned[appliance.name].append(cfg.machines_by_name[machine_name])
    loads = []
    for a in cfg.replication_appliances.appliances:
        ms = assigned[a.name]
        churn = round(sum(m.churn_gb_per_day for m in ms), 3)
        # A machine over the per-VM limits replicates nowhere (capacity reports it): it does not size the appliance.
        sized_churn = round(sum(m.churn_gb_per_day for m in ms if machine_load(m).replicable), 3)
        disks = sum(len(m.disks) for m in ms)
        if a.role == "failback":
            size = APPLIANCE_SIZES[0]
            reason = (f"failback appliance: it carries no forward replication and fails back at most "
                      f"{MAX_FAILBACK_DISKS_PER_APPLIANCE} disks at a time, so the {size.row} row")
        else:
            size = appliance_size_for(len(ms), sized_churn)
            reason = (
                f"{len(ms)} machines, {_fmt_churn(sized_churn)}: the {size.row} row" if size else
                f"{len(ms)} machines and {_fmt_churn(sized_churn)} exceed what one appliance replicates "
                f"({MAX_MACHINES_PER_APPLIANCE} machines, {MAX_GB_PER_DAY_PER_APPLIANCE} GB/day)"
            )
        loads.append(ApplianceLoad(a.name, a.role, len(ms), disks, churn, size, reason))
    return tuple(loads)


def plan_appliances(cfg: StackConfig) -> AppliancePlan:
    """The appliance decision for a modernized stack: what it needs, and what each declared appliance carries."""
    return size_appliances(
        len(cfg.machines),
        round(cfg.total_churn_gb_per_day, 3),
        total_disks=cfg.total_disks,
        failback_enabled=cfg.failback.enabled,
        appliances=_declared_loads(cfg),
        machine_loads=tuple(machine_load(m) for m in cfg.machines),
    )


def appliance_shortfall(cfg: StackConfig) -> list[Problem]:
    """Config problems of a modernized stack whose appliances cannot carry its machines (names the key and why)."""
    plan = plan_appliances(cfg)
    key = ("replicationAppliances", "appliances")
    problems: list[Problem] = []
    declared = [a for a in plan.appliances if a.role == "replication"]
    if not declared:
        problems.append((key, 0, "replication appliances: at least one appliance needs role: replication (a failback "
                         "appliance replicates no machine to Azure)"))
    elif len(declared) < plan.replication_appliances:
        why = plan.replication_appliances_reason.split(": ")[0]
        problems.append((key, len(declared), f"replication appliance(s) are too few: {plan.replication_appliances} "
                         f"needed because {why}; add appliances (`asrctl capacity --stack <stack>` explains)"))
    else:
        names = [a.name for a in cfg.replication_appliances.appliances]  # type: ignore[union-attr]
        for load in declared:
            if load.size is None:
                problems.append((key + (names.index(load.name), "name"), load.name,
                                 f"{load.reason}: move machines to another appliance with machines[].appliance"))
    if plan.failback_appliance and not any(a.role == "failback" for a in plan.appliances):
        why = plan.failback_appliance_reason.split(": ")[0]
        problems.append((key, 0, f"failback appliances: failback is enabled and {why}; add an appliance with "
                         "role: failback"))
    return problems

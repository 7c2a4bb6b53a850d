"""``asrctl capacity``: the on-prem ASR server sizing decision, with the reason for every line.

Modernized stacks: how many replication appliances, which size row, whether a dedicated failback appliance is
needed, and what each declared appliance carries (:func:`asrctl.sizing.plan_appliances`). Classic stacks: the
configuration server, scale-out process servers and master targets (:func:`asrctl.sizing.plan_capacity`). The
Pulumi program sizes the VMs it deploys from the same functions, so this is a preview of the on-prem half. Exit 1
when any machine's churn exceeds what ASR can replicate (the DR site would be built but that machine would never
reach its RPO: treat it as a failed check); 2 for bad input (including a modernized stack with too few
appliances); 0 otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from asrctl.cli.common import JsonOption, StackOption, out_console, print_json

if TYPE_CHECKING:
    from asrctl.config import StackConfig
    from asrctl.sizing import AppliancePlan, CapacityPlan, MachineLoad


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.command("capacity")(capacity)


def capacity(stack: str = StackOption, json_out: bool = JsonOption) -> int:
    """Replication appliance sizing (modernized) or configuration/process server sizing (classic), each line with
    its reason (exit 1 if a machine cannot replicate)."""
    from asrctl.config import load_stack
    from asrctl.sizing import plan_appliances, plan_capacity

    cfg = load_stack(stack)
    plan = plan_appliances(cfg) if cfg.modernized else plan_capacity(cfg)
    if json_out:
        print_json({"stack": stack, "architecture": cfg.architecture, **plan.to_json()})
    else:
        lines = _appliance_lines(stack, cfg, plan) if cfg.modernized else _classic_lines(stack, cfg, plan)  # type: ignore[arg-type]
        lines += _load_lines(plan.machine_loads, plan.unreplicable, plan.warnings)
        for line in lines:
            out_console.print(line, soft_wrap=True)
    return 1 if plan.unreplicable else 0


def _appliance_lines(stack: str, cfg: StackConfig, plan: AppliancePlan) -> list[str]:
    from asrctl.sizing import (
        MAX_FAILBACK_DISKS_PER_APPLIANCE,
        MAX_GB_PER_DAY_PER_APPLIANCE,
        MAX_MACHINES_PER_APPLIANCE,
        MAX_PEAK_MB_PER_S_PER_VM,
    )

    lines = [
        f"[bold]Capacity for stack {stack}[/] (modernized): {plan.machines} machines, {plan.total_disks} disks, "
        f"{plan.total_churn_gb_per_day:g} GB/day total churn",
        f"Replication appliances needed: {plan.replication_appliances}",
        f"  why: {plan.replication_appliances_reason}",
        f"Size: {plan.size.label}",
        f"  why: {plan.size_reason}",
        f"Dedicated failback appliance: {'yes' if plan.failback_appliance else 'no'}",
        f"  why: {plan.failback_appliance_reason}",
    ]
    if plan.appliances:
        lines.append("Declared appliances:")
        for a in plan.appliances:
            size = a.size.label if a.size else "[red]no row fits[/]"
            lines.append(f"  {a.name} ({a.role}): {a.machines} machines, {a.disks} disks, "
                         f"{a.churn_gb_per_day:g} GB/day → {size}")
            lines.append(f"    why: {a.reason}")
    lines.append(
        f"Limits: {MAX_MACHINES_PER_APPLIANCE} machines and {MAX_GB_PER_DAY_PER_APPLIANCE} GB/day per appliance, "
        f"{MAX_FAILBACK_DISKS_PER_APPLIANCE} disks per appliance in failback, {MAX_PEAK_MB_PER_S_PER_VM:g} MB/s "
        "peak per VM"
    )
    return lines


def _classic_lines(stack: str, cfg: StackConfig, plan: CapacityPlan) -> list[str]:
    from asrctl.sizing import MAX_GB_PER_DAY_PER_PROCESS_SERVER, MAX_PEAK_MB_PER_S_PER_VM

    assert cfg.configuration_server is not None  # validated: a classic stack has one
    cs = plan.configuration_server
    return [
        f"[bold]Capacity for stack {stack}[/] (classic): {plan.machines} machines, {plan.total_disks} disks, "
        f"{plan.total_churn_gb_per_day:g} GB/day total churn",
        f"Configuration server {cfg.configuration_server.name}: {cs.label}",
        f"  why: {plan.configuration_server_reason}",
        f"Additional configuration servers: {plan.additional_configuration_servers}",
        f"  why: {plan.additional_configuration_servers_reason}",
        f"Scale-out process servers: {plan.process_servers}"
        + (f" × {plan.process_server_size.label}" if plan.process_server_size else ""),
        f"  why: {plan.process_servers_reason}",
        f"Separate master target: {'yes' if plan.separate_master_target else 'no'}",
        f"  why: {plan.master_target_reason}",
        f"Linux master target: {'yes' if plan.linux_master_target else 'no'}",
        f"  why: {plan.linux_master_target_reason}",
        f"Churn: {plan.total_churn_gb_per_day:g} GB/day of {plan.process_server_capacity_gb_per_day} GB/day "
        f"process server capacity ({MAX_GB_PER_DAY_PER_PROCESS_SERVER} GB/day per process server); "
        f"peak limit {MAX_PEAK_MB_PER_S_PER_VM:g} MB/s per VM",
    ]


def _load_lines(
    loads: tuple[MachineLoad, ...], unreplicable: tuple[MachineLoad, ...], warnings: tuple[str, ...]
) -> list[str]:
    lines = []
    busiest = sorted(loads, key=lambda m: -max(m.peak_mb_per_s, m.average_mb_per_s))[:3]
    if busiest and not unreplicable:
        lines.append(
            "  busiest: " + ", ".join(f"{m.name} {max(m.peak_mb_per_s, m.average_mb_per_s):g} MB/s" for m in busiest)
        )
    for m in unreplicable:
        lines.append(f"[red]CANNOT REPLICATE[/] {m.name}: {m.reason}")
    for w in warnings:
        lines.append(f"[yellow]warning:[/] {w}")
    return lines

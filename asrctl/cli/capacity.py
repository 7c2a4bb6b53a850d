"""``asrctl capacity``: the on-prem ASR server sizing decision, with the reason for every line.

The same :func:`asrctl.sizing.plan_capacity` sizes the VMs the Pulumi program deploys, so this is a preview of the
on-prem half. Exit 1 when any machine's churn exceeds what ASR can replicate (the DR site would be built but that
machine would never reach its RPO: treat it as a failed check); 2 for bad input; 0 otherwise.
"""

from __future__ import annotations

import typer

from asrctl.cli.common import JsonOption, StackOption, out_console, print_json


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.command("capacity")(capacity)


def capacity(stack: str = StackOption, json_out: bool = JsonOption) -> int:
    """Configuration/process server sizing from the machines' daily churn (exit 1 if a machine cannot replicate)."""
    from asrctl.config import load_stack
    from asrctl.sizing import MAX_GB_PER_DAY_PER_PROCESS_SERVER, MAX_PEAK_MB_PER_S_PER_VM, plan_capacity

    cfg = load_stack(stack)
    plan = plan_capacity(cfg)
    if json_out:
        print_json({"stack": stack, **plan.to_json()})
    else:
        cs = plan.configuration_server
        lines = [
            f"[bold]Capacity for stack {stack}[/]: {plan.machines} machines, {plan.total_disks} disks, "
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
        busiest = sorted(plan.machine_loads, key=lambda m: -max(m.peak_mb_per_s, m.average_mb_per_s))[:3]
        if busiest and not plan.unreplicable:
            lines.append(
                "  busiest: "
                + ", ".join(f"{m.name} {max(m.peak_mb_per_s, m.average_mb_per_s):g} MB/s" for m in busiest)
            )
        for m in plan.unreplicable:
            lines.append(f"[red]CANNOT REPLICATE[/] {m.name}: {m.reason}")
        for w in plan.warnings:
            lines.append(f"[yellow]warning:[/] {w}")
        for line in lines:
            out_console.print(line, soft_wrap=True)
    return 1 if plan.unreplicable else 0

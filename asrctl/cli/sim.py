"""CLI commands: asrctl sim show — the simulator's world for a stack (issue 4)."""

from __future__ import annotations

import typer

from asrctl.cli.common import JsonOption, StackOption, out_console, print_json

sim_app = typer.Typer(help="The embedded ASR simulator.", no_args_is_help=True)


@sim_app.command("show")
def show_cmd(stack: str = StackOption, json_out: bool = JsonOption) -> None:
    """Per machine: state and the operations the simulated vault accepted; API calls by kind."""
    from rich.table import Table

    from asrctl.config import load_stack
    from asrctl.recovery.simulator import SimulatorProvider

    provider = SimulatorProvider(load_stack(stack), stack, faults=[])
    try:
        world = provider.snapshot()
    finally:
        provider.close()
    if json_out:
        print_json(world)
        return
    table = Table(title=f"simulator world of stack {stack} at {world['simulated_time']} (speed ×{world['speed']:g})",
                  title_justify="left")
    for col in ("machine", "state", "operations"):
        table.add_column(col)
    for m in world["machines"]:
        ops = ", ".join(f"{o['name']}({o['status']})" for o in m["operations"]) or "-"
        table.add_row(m["name"], m["state"], ops)
    out_console.print(table)
    calls = world["api_calls"]
    out_console.print(f"API calls: {calls['reads']} reads, {calls['writes']} writes")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(sim_app, name="sim")

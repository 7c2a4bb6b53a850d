"""CLI commands: asrctl sim show|reset — the simulator's world for a stack."""

from __future__ import annotations

import typer

from asrctl.cli.common import JsonOption, StackOption, out_console, print_json, print_rows, say

sim_app = typer.Typer(help="The embedded ASR simulator.", no_args_is_help=True)


@sim_app.command("show")
def show_cmd(stack: str = StackOption, json_out: bool = JsonOption) -> None:
    """Per machine: state and the operations the simulated vault accepted; API calls by kind."""
    from asrctl.config import load_stack
    from asrctl.recovery.providers.simulator import SimulatorProvider

    provider = SimulatorProvider(load_stack(stack), stack, faults=[])
    try:
        world = provider.snapshot()
    finally:
        provider.close()
    if json_out:
        print_json(world)
        return
    rows = [(m["name"], m["state"], ", ".join(f"{o['name']}({o['status']})" for o in m["operations"]) or "-")
            for m in world["machines"]]
    print_rows(out_console, ("machine", "state", "operations"), rows,
               title=f"simulator world {world['world_id']} of stack {stack} ({world['architecture']}) at "
                     f"{world['simulated_time']} (simulated clock)")
    calls = world["api_calls"]
    say(out_console, f"API calls: {calls['reads']} reads, {calls['writes']} writes")


@sim_app.command("reset")
def reset_cmd(
    stack: str = StackOption,
    force: bool = typer.Option(False, "--force", help="Reset even though a run of the stack is still active."),
    json_out: bool = JsonOption,
) -> None:
    """Start the stack's simulated vault afresh: every machine protected, no jobs, a new world id."""
    from asrctl.config import load_stack
    from asrctl.errors import BadInput
    from asrctl.recovery.journal import Journal
    from asrctl.recovery.providers.simulator import reset_world

    load_stack(stack)  # an unknown stack is bad input, not a silent no-op
    journal = Journal()
    try:
        active = [s for s in journal.summaries(status=None) if s.stack == stack and s.provider == "simulator"
                  and s.status in ("pending", "running", "paused", "interrupted")]
    finally:
        journal.close()
    if active and not force:
        raise BadInput(f"stack {stack} has active simulator run(s) {', '.join(s.run_id for s in active)}: cancel "
                       "them first (`asrctl runs cancel RUN`), or reset with --force (they will then stop with "
                       "'world replaced')")
    removed = reset_world(stack)
    if json_out:
        print_json({"stack": stack, "removed": [str(p) for p in removed]})
        return
    say(out_console, f"simulator world of stack {stack} reset" + ("" if removed else " (there was none)"))


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(sim_app, name="sim")

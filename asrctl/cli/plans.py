"""CLI commands: asrctl plan validate|show — recovery plan files (issue 4)."""

from __future__ import annotations

import typer

from asrctl.cli.common import StackOption, out_console

plan_app = typer.Typer(help="Recovery plans (runbooks/plans/*.yaml): validate and show.", no_args_is_help=True)


@plan_app.command("validate")
def validate_cmd(plan: str = typer.Argument(..., help="Plan name or path."), stack: str = StackOption) -> None:
    """Validate a plan against ASR's limits and the stack's machines (errors name file:line; exit 2)."""
    from asrctl.config import load_stack
    from asrctl.plans import load_plan
    from asrctl.yamlfile import display_path

    loaded = load_plan(plan, load_stack(stack), stack)
    out_console.print(f"{display_path(loaded.path)}: plan {loaded.name} is valid for stack {stack} "
                      f"({len(loaded.groups)} groups, {len(loaded.machines)} machines)")


@plan_app.command("show")
def show_cmd(plan: str = typer.Argument(..., help="Plan name or path."), stack: str = StackOption) -> None:
    """The plan as a tree: groups in order, machines, actions with kind, when and timeout."""
    from rich.tree import Tree

    from asrctl.config import load_stack
    from asrctl.plans import FAILOVER_OPERATIONS, format_duration, load_plan

    cfg = load_stack(stack)
    loaded = load_plan(plan, cfg, stack)
    targets = ", ".join(f"{k} {format_duration(v)}" for k, v in (("RTO", loaded.targets.rto), ("RPO", loaded.targets.rpo))
                        if v)
    tree = Tree(f"[bold]{loaded.name}[/bold] — {loaded.description or 'no description'}"
                + (f" (targets: {targets})" if targets else ""))
    for i, group in enumerate(loaded.groups, 1):
        node = tree.add(f"[bold]group {i}: {group.name}[/bold]")
        for phase in ("before", "after"):
            actions = getattr(group, phase)
            if phase == "after":
                machines = node.add(f"machines ({len(group.machines)}, in parallel)")
                for name in group.machines:
                    m = cfg.machines_by_name[name]
                    machines.add(f"{name} → {m.target_subnet} {m.recovery_ip} (test {cfg.test_failover_ip(m)})")
            for action in actions:
                when = ", ".join(action.when) if action.when else f"every failover ({', '.join(FAILOVER_OPERATIONS)})"
                node.add(f"{phase} [cyan]{action.kind}[/cyan]: {action.label} — when: {when}; "
                         f"timeout {format_duration(action.effective_timeout)}")
    out_console.print(tree)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(plan_app, name="plan")

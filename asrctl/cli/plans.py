"""CLI commands: asrctl plan validate|show — recovery plan files (issue 4), with --json for scripts (issue 15)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import typer

from asrctl.cli.common import JsonOption, StackOption, print_json

if TYPE_CHECKING:
    from rich.console import Console

    from asrctl.config import StackConfig
    from asrctl.plans import Plan

plan_app = typer.Typer(help="Recovery plans (runbooks/plans/*.yaml): validate and show.", no_args_is_help=True)

# Every located error asrctl raises starts "FILE:LINE: " (LocatedYaml.where); others name an option or a plan.
_LOCATED = re.compile(r"(?P<file>[^\s:][^:]*):(?P<line>\d+): (?P<message>.*)", re.DOTALL)


def _stdout_console() -> Console:
    """Rich output for a person at a terminal; to a file or a pipe, lines as long as they are (rich would wrap them
    at 80 columns, and a wrapped line breaks grep and diff)."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=1_000_000)


# Help texts: one string per paragraph (rich keeps a docstring's line breaks, so long help would break mid-sentence).
VALIDATE_HELP = (
    "Validate a plan against ASR's limits and the stack's machines (errors name file:line; exit 2).\n\n"
    "With --json, stdout gets one document whether or not the plan is valid: plan, stack, file, valid (true or "
    "false), groups and machines (counts; null when invalid), sha256 of the file, and errors: a list of objects with "
    "file and line (null when the error is not in a file) and message. An invalid plan still exits 2 with the "
    "one-line error on stderr."
)
SHOW_HELP = (
    "The plan as a tree: groups in order, machines, actions with kind, when and timeout.\n\n"
    "With --json, one document: name, description, stack, file, sha256, targets (rto_seconds, rpo_seconds; null when "
    "not set) and groups in order, each with order (from 1), name, machines (name, recovery_subnet, recovery_ip, "
    "test_failover_ip), and before and after: the actions in order, each with kind (manual, script or runbook), its "
    "own keys as in the plan file (manual; script and args; runbook and parameters), when (as written; null when left "
    "out), operations (those it runs for), timeout_seconds and timeout_is_default."
)


@plan_app.command("validate", help=VALIDATE_HELP)
def validate_cmd(
    plan: str = typer.Argument(..., help="Plan name or path."), stack: str = StackOption, json_output: bool = JsonOption
) -> None:
    from asrctl.config import load_stack
    from asrctl.errors import BadInput
    from asrctl.plans import load_plan
    from asrctl.yamlfile import display_path

    try:
        loaded = load_plan(plan, load_stack(stack), stack)
    except BadInput as exc:
        if json_output:
            located = _LOCATED.fullmatch(str(exc))
            error = ({"file": located["file"], "line": int(located["line"]), "message": located["message"]}
                     if located else {"file": None, "line": None, "message": str(exc)})
            print_json({"plan": plan, "stack": stack, "file": error["file"], "valid": False, "groups": None,
                        "machines": None, "sha256": None, "errors": [error]})
        raise
    shown = display_path(loaded.path)
    if json_output:
        print_json({"plan": loaded.name, "stack": stack, "file": shown, "valid": True, "groups": len(loaded.groups),
                    "machines": len(loaded.machines), "sha256": loaded.sha256, "errors": []})
        return
    groups, machines = len(loaded.groups), len(loaded.machines)
    typer.echo(f"{shown}: plan {loaded.name} is valid for stack {stack} "
               f"({groups} group{'s' * (groups != 1)}, {machines} machine{'s' * (machines != 1)})")


def plan_document(loaded: Plan, cfg: StackConfig, stack: str) -> dict[str, Any]:
    """The ``plan show --json`` document (see the command's help)."""
    from asrctl.plans import FAILOVER_OPERATIONS, ManualAction, RunbookAction, ScriptAction
    from asrctl.yamlfile import display_path

    def action(a: Any) -> dict[str, Any]:
        if isinstance(a, ManualAction):
            own: dict[str, Any] = {"manual": a.manual}
        elif isinstance(a, ScriptAction):
            own = {"script": a.script, "args": list(a.args)}
        else:
            assert isinstance(a, RunbookAction)
            own = {"runbook": a.runbook, "parameters": dict(a.parameters)}
        return {
            "kind": a.kind,
            **own,
            "when": list(a.when) if a.when else None,
            "operations": list(a.when or FAILOVER_OPERATIONS),
            "timeout_seconds": a.effective_timeout,
            "timeout_is_default": a.timeout is None,
        }

    def machine(name: str) -> dict[str, Any]:
        m = cfg.machines_by_name[name]
        return {"name": name, "recovery_subnet": m.target_subnet, "recovery_ip": m.recovery_ip,
                "test_failover_ip": cfg.test_failover_ip(m)}

    return {
        "name": loaded.name,
        "description": loaded.description,
        "stack": stack,
        "file": display_path(loaded.path),
        "sha256": loaded.sha256,
        "targets": {"rto_seconds": loaded.targets.rto, "rpo_seconds": loaded.targets.rpo},
        "groups": [
            {
                "order": i,
                "name": group.name,
                "machines": [machine(name) for name in group.machines],
                "before": [action(a) for a in group.before],
                "after": [action(a) for a in group.after],
            }
            for i, group in enumerate(loaded.groups, 1)
        ],
    }


@plan_app.command("show", help=SHOW_HELP)
def show_cmd(
    plan: str = typer.Argument(..., help="Plan name or path."), stack: str = StackOption, json_output: bool = JsonOption
) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    from asrctl.config import load_stack
    from asrctl.plans import FAILOVER_OPERATIONS, format_duration, load_plan

    cfg = load_stack(stack)
    loaded = load_plan(plan, cfg, stack)
    if json_output:
        print_json(plan_document(loaded, cfg, stack))
        return
    targets = ", ".join(f"{k} {format_duration(v)}" for k, v in (("RTO", loaded.targets.rto), ("RPO", loaded.targets.rpo))
                        if v)
    tree = Tree(f"[bold]{escape(loaded.name)}[/bold] — {escape(loaded.description or 'no description')}"
                + (f" (targets: {targets})" if targets else ""))
    for i, group in enumerate(loaded.groups, 1):
        node = tree.add(f"[bold]group {i}: {escape(group.name)}[/bold]")
        for phase in ("before", "after"):
            actions = getattr(group, phase)
            if phase == "after":
                machines = node.add(f"machines ({len(group.machines)}, in parallel)")
                for name in group.machines:
                    m = cfg.machines_by_name[name]
                    machines.add(escape(f"{name} → {m.target_subnet} {m.recovery_ip} (test {cfg.test_failover_ip(m)})"))
            for action in actions:
                when = ", ".join(action.when) if action.when else f"every failover ({', '.join(FAILOVER_OPERATIONS)})"
                node.add(f"{phase} [cyan]{action.kind}[/cyan]: {escape(action.label)} — when: {when}; "
                         f"timeout {format_duration(action.effective_timeout)}")
    _stdout_console().print(tree)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(plan_app, name="plan")

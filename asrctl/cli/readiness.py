"""CLI command: readiness — the pre-flight every recovery command runs, on its own.

Exit 0 when no check fails (warnings allowed), 1 when one fails, 2 on bad input.
"""

from __future__ import annotations

import typer

from asrctl.cli.common import (
    JsonOption,
    ProviderOption,
    StackOption,
    err_console,
    out_console,
    print_json,
    print_rows,
    say,
)

STATUS_STYLE = {"pass": "[green]pass[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command()
    def readiness(
        plan: str = typer.Argument(..., metavar="PLAN", help="Plan name (runbooks/plans/<PLAN>.yaml) or path."),
        stack: str = StackOption,
        operation: str = typer.Option(
            "test-failover", "--operation", metavar="OP",
            help="Operation to check for: test-failover (default, what a drill does first), planned-failover, "
            "unplanned-failover, commit, reprotect, failback, commit-failback, cancel-failback, reenable, "
            "cleanup-test-failover.",
        ),
        recovery_point: str = typer.Option(
            "latest", "--recovery-point", metavar="KIND",
            help="For a failover: the point it will use (latest, latest-processed, latest-app-consistent, "
            "latest-crash-consistent); the app- and crash-consistent choices need such a point on every machine.",
        ),
        provider: str = ProviderOption,
        show_all: bool = typer.Option(False, "--all", help="List passed checks too (default: warnings and failures)."),
        as_json: bool = JsonOption,
    ) -> None:
        """Pre-flight checks: machine states, running jobs, replication health, RPO, agent heartbeat, recovery
        points, uncleaned test failovers, test network and failback path. Every recovery command runs them first."""
        from asrctl.config import load_stack
        from asrctl.errors import BadInput, OperationFailed
        from asrctl.plans import load_plan
        from asrctl.recovery.operations import PLAN_OPERATIONS
        from asrctl.recovery.providers import make_provider
        from asrctl.recovery.readiness import run_readiness

        if operation not in PLAN_OPERATIONS:
            raise BadInput(f"--operation {operation!r}: choose one of {', '.join(PLAN_OPERATIONS)}")
        stack_cfg = load_stack(stack)
        loaded = load_plan(plan, stack_cfg, stack)
        backend = make_provider(provider, stack_cfg, stack)
        try:
            report = run_readiness(loaded, stack_cfg, stack, backend, operation, recovery_point)
        finally:
            backend.close()

        counts = report.to_dict()["counts"]
        if as_json:
            print_json(report.to_dict())
        else:
            shown = [c for c in report.checks if show_all or c.status != "pass"]
            if shown and show_all:
                print_rows(out_console, ("status", "check", "machine", "reason"),
                           [(STATUS_STYLE[c.status], c.name, c.machine or "-", c.reason) for c in shown],
                           title=f"readiness: plan {report.plan}, {operation}, stack {stack}, provider {report.provider}")
            elif shown:
                rows = []
                for status in ("fail", "warn"):
                    checks = [c for c in shown if c.status == status]
                    for name, reason, machines, advice in report.grouped(checks):
                        rows.append((STATUS_STYLE[status], f"{name}: {reason}", ", ".join(machines) or "-",
                                     advice or "-"))
                print_rows(out_console, ("status", "problem", "machines", "what to do"), rows,
                           title=f"readiness: plan {report.plan}, {operation}, stack {stack}, provider {report.provider}")
            say(out_console, f"plan {report.plan}, {operation}: {counts['pass']} passed, {counts['warn']} warning(s), "
                             f"{counts['fail']} failed" + ("" if show_all else " (--all lists every check)"))
        if not report.ok:
            raise OperationFailed(f"plan {report.plan} is not ready for {operation}: {report.summary()}")
        if report.warnings and not as_json:
            say(err_console, f"ready, with warnings: {report.summary(report.warnings)}")

"""CLI command: readiness — pre-flight checks of a recovery plan against the simulator or Azure (issue 5).

Exit 0 when no check fails (warnings allowed), 1 when one fails, 2 on bad input.
"""

from __future__ import annotations

import typer

from asrctl.cli.common import JsonOption, ProviderOption, StackOption, err_console, out_console, print_json

STATUS_STYLE = {"pass": "[green]pass[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command()
    def readiness(
        plan: str = typer.Argument(..., help="Plan name (runbooks/plans/<PLAN>.yaml) or path."),
        stack: str = StackOption,
        operation: str = typer.Option(
            "test-failover",
            "--operation",
            help="Operation to check for: test-failover (default, what a drill does first), planned-failover, "
            "unplanned-failover, commit, reprotect, failback, reenable, cleanup-test-failover.",
        ),
        recovery_point: str = typer.Option(
            "latest",
            "--recovery-point",
            help="For a failover: the point it will use (latest, latest-processed, latest-app-consistent, "
            "latest-crash-consistent); the app- and crash-consistent choices need such a point on every machine.",
        ),
        provider: str = ProviderOption,
        show_all: bool = typer.Option(False, "--all", help="List passed checks too (default: warnings and failures)."),
        as_json: bool = JsonOption,
    ) -> None:
        """Pre-flight checks: replication health, RPO, agent heartbeat, recovery points, uncleaned test failovers,
        test network and failback infrastructure. drill and failover run them first."""
        from rich.table import Table

        from asrctl.config import load_stack
        from asrctl.errors import BadInput, OperationFailed
        from asrctl.plans import OPERATIONS, load_plan
        from asrctl.recovery.readiness import run_readiness
        from asrctl.recovery.runner import make_provider

        if operation not in OPERATIONS:
            raise BadInput(f"--operation {operation!r}: choose one of {', '.join(OPERATIONS)}")
        stack_cfg = load_stack(stack)
        loaded = load_plan(plan, stack_cfg, stack)
        backend = make_provider(provider, stack_cfg, stack)
        try:
            report = run_readiness(loaded, stack_cfg, stack, backend, operation, recovery_point)
        finally:
            backend.close()

        if as_json:
            print_json(report.to_dict())
        else:
            table = Table(
                title=f"readiness: plan {report.plan}, {operation}, stack {stack}, provider {report.provider}"
            )
            for column in ("status", "check", "machine", "reason"):
                table.add_column(column, overflow="fold")
            shown = [c for c in report.checks if show_all or c.status != "pass"]
            for check in shown:
                table.add_row(STATUS_STYLE[check.status], check.name, check.machine or "-", check.reason)
            if shown:
                out_console.print(table)
            counts = report.to_dict()["counts"]
            out_console.print(
                f"plan {report.plan}, {operation}: {counts['pass']} passed, {counts['warn']} warning(s), "
                f"{counts['fail']} failed" + ("" if show_all else " (--all lists every check)")
            )
        if not report.ok:
            raise OperationFailed(f"plan {report.plan} is not ready for {operation}: {report.summary()}")
        if report.warnings and not as_json:
            err_console.print(f"ready, with warnings: {report.summary()}")

"""CLI commands: drill, cleanup, failover, commit, reprotect, failback — recovery plan runs (issue 4).

Each starts a durable run (see ``asrctl runs``); exit 0 succeeded, 1 failed, 2 bad input or a transition ASR
forbids, 3 paused for a manual action.
"""

from __future__ import annotations

from typing import Any

import typer

from asrctl.cli.common import ProviderOption, StackOption, err_console

RecoveryPointOption = typer.Option(
    "latest", "--recovery-point",
    help="Recovery point: latest, latest-processed, latest-app-consistent or latest-crash-consistent.",
)
AutoApproveOption = typer.Option(False, "--auto-approve", help="Approve manual actions on the spot (demos, drills).")
SkipReadinessOption = typer.Option(False, "--skip-readiness", help="Do not run the readiness checks first (recorded).")


def _execute(command: str, plan: str, stack: str, provider: str, **options: Any) -> None:
    from asrctl.errors import OperationFailed
    from asrctl.recovery import runner
    from asrctl.recovery.display import ProgressPrinter, print_summary

    run = runner.start(command, plan, stack, provider, on_event=ProgressPrinter(err_console), **options)
    print_summary(err_console, run)
    if run.get("report_path"):
        typer.echo(f"report: {run['report_path']}")  # plain echo: a path must never wrap
    if run["status"] != "succeeded":
        raise OperationFailed(f"run {run['run_id']} {run['status']}: {run['error']}")
    typer.echo(f"run {run['run_id']} succeeded")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command()
    def drill(
        plan: str = typer.Argument(..., help="Plan name (runbooks/plans/<PLAN>.yaml) or path."),
        stack: str = StackOption,
        no_cleanup: bool = typer.Option(False, "--no-cleanup", help="Leave the test VMs running (clean up later)."),
        auto_approve: bool = AutoApproveOption,
        skip_readiness: bool = SkipReadinessOption,
        provider: str = ProviderOption,
    ) -> None:
        """DR drill: test failover into the isolated network, report, clean up."""
        _execute("drill", plan, stack, provider, cleanup=not no_cleanup, auto_approve=auto_approve,
                 skip_readiness=skip_readiness)

    @app.command()
    def cleanup(
        plan: str = typer.Argument(..., help="Plan name or path."),
        stack: str = StackOption,
        provider: str = ProviderOption,
    ) -> None:
        """Clean up a test failover left running (drill --no-cleanup)."""
        _execute("cleanup", plan, stack, provider)

    @app.command()
    def failover(
        plan: str = typer.Argument(..., help="Plan name or path."),
        stack: str = StackOption,
        planned: bool = typer.Option(False, "--planned", help="Planned failover: shut down and sync first."),
        unplanned: bool = typer.Option(False, "--unplanned", help="Unplanned failover from a recovery point."),
        recovery_point: str = RecoveryPointOption,
        auto_approve: bool = AutoApproveOption,
        skip_readiness: bool = SkipReadinessOption,
        provider: str = ProviderOption,
    ) -> None:
        """Fail the plan's machines over to Azure (then `asrctl commit`)."""
        from asrctl.errors import BadInput
        from asrctl.recovery.provider import RECOVERY_POINT_TYPES

        if planned == unplanned:
            raise BadInput("failover: choose exactly one of --planned or --unplanned")
        if recovery_point not in RECOVERY_POINT_TYPES:
            raise BadInput(f"--recovery-point {recovery_point!r}: choose one of {', '.join(RECOVERY_POINT_TYPES)}")
        if planned and recovery_point != "latest":
            raise BadInput("--recovery-point applies to --unplanned only (a planned failover loses no data)")
        _execute("failover", plan, stack, provider, planned=planned, recovery_point=recovery_point,
                 auto_approve=auto_approve, skip_readiness=skip_readiness)

    @app.command()
    def commit(
        plan: str = typer.Argument(..., help="Plan name or path."),
        stack: str = StackOption,
        provider: str = ProviderOption,
    ) -> None:
        """Commit a completed failover (no way back to another recovery point after this)."""
        _execute("commit", plan, stack, provider)

    @app.command()
    def reprotect(
        plan: str = typer.Argument(..., help="Plan name or path."),
        stack: str = StackOption,
        auto_approve: bool = AutoApproveOption,
        provider: str = ProviderOption,
    ) -> None:
        """Reprotect committed machines from Azure to on-premises (needs the failback infrastructure)."""
        _execute("reprotect", plan, stack, provider, auto_approve=auto_approve)

    @app.command()
    def failback(
        plan: str = typer.Argument(..., help="Plan name or path."),
        stack: str = StackOption,
        auto_approve: bool = AutoApproveOption,
        provider: str = ProviderOption,
    ) -> None:
        """Fail back to on-premises: reprotect to on-prem, fail over to on-prem, re-enable replication to Azure."""
        _execute("failback", plan, stack, provider, auto_approve=auto_approve)

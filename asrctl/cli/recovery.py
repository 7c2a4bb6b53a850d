"""CLI commands: drill, cleanup, failover, commit, reprotect, failback — recovery plan runs.

Each runs the one pre-flight (readiness), then a durable run (see ``asrctl runs``). Exit 0 succeeded, 1 failed,
2 bad input or an operation the machines' state does not allow (nothing recorded), 3 paused for a manual action,
130/143 interrupted by a signal (resumable). Progress on stderr; the summary and the verdict (or, with ``--json``,
the run document) on stdout.
"""

from __future__ import annotations

from typing import Any

import typer

from asrctl.cli.common import (
    EngineOption,
    JsonOption,
    ProviderOption,
    StackOption,
    engine_choice,
    err_console,
    say,
    team_module,
)

RecoveryPointOption = typer.Option(
    "latest", "--recovery-point", metavar="KIND",
    help="Recovery point: latest, latest-processed, latest-app-consistent or latest-crash-consistent.",
)
AutoApproveOption = typer.Option(False, "--auto-approve", help="Approve manual actions on the spot (demos, drills).")
SkipReadinessOption = typer.Option(False, "--skip-readiness",
                                   help="Skip the replication checks (RPO, health, heartbeat); state checks always run.")
PlanArgument = typer.Argument(..., metavar="PLAN", help="Plan name (runbooks/plans/<PLAN>.yaml) or path.")
DetachOption = typer.Option(False, "--detach", help="Temporal engine: start the run and return at once with its id "
                            "(the workers drive it; follow it with `asrctl runs resume RUN`).")


def _examples(*lines: str) -> str:
    return "\n\n[bold]Examples[/bold]\n\n" + "\n\n".join(f"  {line}" for line in lines)


def execute(command: str, plan: str, stack: str, provider: str, engine: str | None, json_out: bool,
            **options: Any) -> None:
    """Run a recovery command and print its outcome per the output rules."""
    from asrctl.errors import BadInput, RunInterrupted, RunPaused
    from asrctl.recovery import runner
    from asrctl.recovery.display import ProgressPrinter

    chosen = engine_choice(engine, stack)
    detach = options.pop("detach", False)
    if detach and chosen != "temporal":
        raise BadInput("--detach needs the temporal engine (--engine temporal): a local run lives in this process")
    progress = ProgressPrinter(err_console)
    try:
        if chosen == "temporal":
            record = team_module("client", "--engine temporal").start_on_temporal(command, plan, stack, provider, on_event=progress, detach=detach, **options)
        else:
            record = runner.start(command, plan, stack, provider, on_event=progress, **options)
    except (RunPaused, RunInterrupted) as stopped:
        print_stopped(stopped, json_out)
        raise
    if detach:
        _detached(record, json_out)
        return
    conclude(record, json_out)


def _detached(record: Any, json_out: bool) -> None:
    """``--detach``: the run id now; the run goes on on the workers."""
    from asrctl.cli.common import out_console, print_json

    if json_out:
        print_json(record.document())
    else:
        say(out_console, record.run_id)
    say(err_console, f"run {record.run_id} started on Temporal; follow it with `asrctl runs resume {record.run_id} "
                     f"--engine temporal`, see it with `asrctl runs show {record.run_id} --engine temporal`")


def print_stopped(stopped: Any, json_out: bool) -> None:
    """A paused or interrupted run still prints its document (``--json``) or its summary before the exit code."""
    from asrctl.cli.common import out_console, print_json
    from asrctl.recovery.display import print_summary

    if stopped.record is None:
        return
    if json_out:
        print_json(stopped.record.document())
    else:
        print_summary(out_console, stopped.record)


def conclude(record: Any, json_out: bool, *, notes: list[str] | None = None) -> None:
    """Print a finished (or failed) run; raise the exit code that matches it."""
    from asrctl.cli.common import out_console, print_json
    from asrctl.errors import OperationFailed
    from asrctl.recovery.display import print_summary
    from asrctl.recovery.runner import test_vms_up

    if json_out:
        print_json(record.document())
    else:
        print_summary(out_console, record)
        if record.report_path:
            say(out_console, f"report: {record.report_path}")
    up = test_vms_up(record) if record.status in ("succeeded", "failed", "cancelled") else []
    for note in [*(notes or []), *(_cleanup_reminder(record, up) if up else [])]:
        say(err_console, f"note: {note}")
    if record.status != "succeeded":
        raise OperationFailed(f"run {record.run_id} {record.status}: {record.error or 'see the summary'}")


def _cleanup_reminder(record: Any, up: list[str]) -> list[str]:
    if not any(s.operation == "test-failover" for s in record.stages) or \
            any(s.operation == "cleanup-test-failover" and s.status == "succeeded" for s in record.stages):
        return []
    return [f"test VMs are still running in the isolated network for {', '.join(up)}: clean them up with "
            f"`asrctl cleanup {record.plan} --stack {record.stack}`"]


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command(help="DR drill: readiness, test failover into the isolated network, the plan's actions, cleanup, "
                      "and an HTML report." + _examples("asrctl drill erp --stack dev --auto-approve",
                                                        "asrctl drill portal --stack prod --no-cleanup --json"))
    def drill(
        plan: str = PlanArgument,
        stack: str = StackOption,
        no_cleanup: bool = typer.Option(False, "--no-cleanup", help="Leave the test VMs running (clean up later)."),
        auto_approve: bool = AutoApproveOption,
        skip_readiness: bool = SkipReadinessOption,
        provider: str = ProviderOption,
        engine: str = EngineOption,
        detach: bool = DetachOption,
        json_out: bool = JsonOption,
    ) -> None:
        execute("drill", plan, stack, provider, engine, json_out, cleanup=not no_cleanup, auto_approve=auto_approve,
                skip_readiness=skip_readiness, detach=detach)

    @app.command(help="Clean up a test failover left running (drill --no-cleanup, or a cancelled drill)."
                 + _examples("asrctl cleanup erp --stack dev", "asrctl cleanup portal --stack prod --json"))
    def cleanup(
        plan: str = PlanArgument,
        stack: str = StackOption,
        provider: str = ProviderOption,
        engine: str = EngineOption,
        detach: bool = DetachOption,
        json_out: bool = JsonOption,
    ) -> None:
        execute("cleanup", plan, stack, provider, engine, json_out, detach=detach)

    @app.command(help="Fail the plan's machines over to Azure (then `asrctl commit`)."
                 + _examples("asrctl failover erp --stack prod --planned",
                             "asrctl failover erp --stack prod --unplanned --recovery-point latest-app-consistent "
                             "--auto-approve"))
    def failover(
        plan: str = PlanArgument,
        stack: str = StackOption,
        planned: bool = typer.Option(False, "--planned", help="Planned failover: shut down and sync first."),
        unplanned: bool = typer.Option(False, "--unplanned", help="Unplanned failover from a recovery point."),
        recovery_point: str = RecoveryPointOption,
        auto_approve: bool = AutoApproveOption,
        skip_readiness: bool = SkipReadinessOption,
        provider: str = ProviderOption,
        engine: str = EngineOption,
        detach: bool = DetachOption,
        json_out: bool = JsonOption,
    ) -> None:
        from asrctl.errors import BadInput
        from asrctl.recovery.operations import RECOVERY_POINT_TYPES

        if planned == unplanned:
            raise BadInput("failover: choose exactly one of --planned or --unplanned")
        if recovery_point not in RECOVERY_POINT_TYPES:
            raise BadInput(f"--recovery-point {recovery_point!r}: choose one of {', '.join(RECOVERY_POINT_TYPES)}")
        if planned and recovery_point != "latest":
            raise BadInput("--recovery-point applies to --unplanned only (a planned failover loses no data)")
        execute("failover", plan, stack, provider, engine, json_out, planned=planned, recovery_point=recovery_point,
                auto_approve=auto_approve, skip_readiness=skip_readiness, detach=detach)

    @app.command(help="Commit a completed failover (no way back to another recovery point after this)."
                 + _examples("asrctl commit erp --stack prod", "asrctl commit erp --stack prod --json"))
    def commit(
        plan: str = PlanArgument,
        stack: str = StackOption,
        provider: str = ProviderOption,
        engine: str = EngineOption,
        detach: bool = DetachOption,
        json_out: bool = JsonOption,
    ) -> None:
        execute("commit", plan, stack, provider, engine, json_out, detach=detach)

    @app.command(help="Reprotect failed-over machines from Azure to on-premises (needs the failback path)."
                 + _examples("asrctl reprotect erp --stack prod", "asrctl reprotect erp --stack prod --json"))
    def reprotect(
        plan: str = PlanArgument,
        stack: str = StackOption,
        auto_approve: bool = AutoApproveOption,
        provider: str = ProviderOption,
        engine: str = EngineOption,
        detach: bool = DetachOption,
        json_out: bool = JsonOption,
    ) -> None:
        execute("reprotect", plan, stack, provider, engine, json_out, auto_approve=auto_approve, detach=detach)

    @app.command(help="Fail back to on-premises: reprotect to on-prem, fail over to on-prem, commit it, re-enable "
                      "replication to Azure. --cancel cancels a failback waiting to be committed (modernized)."
                 + _examples("asrctl failback erp --stack prod --auto-approve",
                             "asrctl failback erp --stack prod --cancel"))
    def failback(
        plan: str = PlanArgument,
        stack: str = StackOption,
        cancel: bool = typer.Option(False, "--cancel", help="Cancel a failback that is waiting to be committed: the "
                                    "VMs go back to running in Azure, replicating to on-premises (modernized)."),
        auto_approve: bool = AutoApproveOption,
        provider: str = ProviderOption,
        engine: str = EngineOption,
        detach: bool = DetachOption,
        json_out: bool = JsonOption,
    ) -> None:
        execute("failback", plan, stack, provider, engine, json_out, auto_approve=auto_approve, cancel=cancel,
                detach=detach)

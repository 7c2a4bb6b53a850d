"""CLI commands: asrctl runs list|show|resume|cancel — the durable runs of recovery plans."""

from __future__ import annotations

from typing import Any

import typer

from asrctl.cli.common import (
    EngineOption,
    JsonOption,
    engine_choice,
    err_console,
    out_console,
    print_json,
    print_rows,
    say,
    team_module,
)

runs_app = typer.Typer(help="Recovery plan runs: list, show, resume (approve a manual action), cancel.",
                       no_args_is_help=True)
RunArgument = typer.Argument(..., metavar="RUN", help="Run id (see `asrctl runs list`).")


def _team_client() -> Any:
    return team_module("client", "--engine temporal")


@runs_app.command("list")
def list_cmd(
    limit: int = typer.Option(50, "--limit", metavar="N", help="At most N runs, the newest (0: all)."),
    plan: str = typer.Option(None, "--plan", metavar="PLAN", help="Only runs of this plan."),
    status: str = typer.Option(None, "--status", metavar="STATUS",
                               help="Only runs in this status (running, paused, interrupted, succeeded, failed, "
                                    "cancelled)."),
    engine: str = EngineOption,
    json_out: bool = JsonOption,
) -> None:
    """One line per run, oldest first: plan, command, status, RTO. Details: `asrctl runs show RUN`."""
    from asrctl.errors import BadInput
    from asrctl.recovery.records import RUN_STATUSES

    if status is not None and status not in RUN_STATUSES:
        raise BadInput(f"--status {status!r}: choose one of {', '.join(RUN_STATUSES)}")
    if limit < 0:
        raise BadInput("--limit must be 0 (all) or a positive number")
    if engine_choice(engine) == "temporal":
        summaries = _team_client().list_runs(limit=limit or None, plan=plan, status=status)
    else:
        from asrctl.recovery.journal import Journal

        journal = Journal()
        try:
            summaries = journal.summaries(limit=limit or None, plan=plan, status=status)
        finally:
            journal.close()
    if json_out:
        print_json({"runs": [s.model_dump(mode="json") for s in summaries]})
        return
    if not summaries:
        say(out_console, "no runs" + (" match the filters" if plan or status else " yet"))
        return
    rows = [(s.run_id, s.plan, s.stack, s.command, s.provider, s.status, s.started_at or "-",
             f"{s.rto_seconds / 60:.1f} min" if s.rto_seconds is not None else "-") for s in summaries]
    print_rows(out_console, ("run", "plan", "stack", "command", "provider", "status", "started", "RTO"), rows)


@runs_app.command("show")
def show_cmd(run_id: str = RunArgument, engine: str = EngineOption, json_out: bool = JsonOption) -> None:
    """One run: stages, groups, machines, actions, approvals, the verdict."""
    from asrctl.recovery.display import print_summary

    if engine_choice(engine) == "temporal":
        record = _team_client().load_run(run_id)
    else:
        from asrctl.recovery.runner import load_run

        record = load_run(run_id)
    if json_out:
        print_json(record.document())
        return
    print_summary(out_console, record)
    if record.error:
        say(out_console, f"error: {record.error}")
    if record.paused_step:
        say(out_console, f"paused at: {record.paused_step.name}")
    if record.resume_command:
        say(out_console, f"resume: {record.resume_command}")


@runs_app.command("resume")
def resume_cmd(
    run_id: str = RunArgument,
    approve: bool = typer.Option(False, "--approve", help="Approve the manual action the run is paused at."),
    by: str = typer.Option(None, "--by", metavar="NAME", help="Who approves (default: your user name)."),
    comment: str = typer.Option(None, "--comment", metavar="TEXT", help="What was done / checked."),
    engine: str = EngineOption,
    json_out: bool = JsonOption,
) -> None:
    """Resume a paused, interrupted (crashed) or failed run; reconciles with the provider before sending anything."""
    from asrctl.cli.recovery import conclude, print_stopped
    from asrctl.errors import RunInterrupted, RunPaused
    from asrctl.recovery import runner
    from asrctl.recovery.display import ProgressPrinter

    try:
        if engine_choice(engine) == "temporal":
            record = _team_client().resume(run_id, approve=approve, by=by, comment=comment,
                                           on_event=ProgressPrinter(err_console))
        else:
            record = runner.resume(run_id, approve=approve, by=by, comment=comment,
                                   on_event=ProgressPrinter(err_console))
    except (RunPaused, RunInterrupted) as stopped:
        print_stopped(stopped, json_out)
        raise
    conclude(record, json_out)


@runs_app.command("cancel")
def cancel_cmd(
    run_id: str = RunArgument,
    cleanup: bool = typer.Option(False, "--cleanup", help="After cancelling a drill, clean up its test VMs."),
    engine: str = EngineOption,
    json_out: bool = JsonOption,
) -> None:
    """Stop a run's new side effects (jobs already sent keep running in ASR); says which test VMs are still up."""
    from asrctl.recovery import runner

    if engine_choice(engine) == "temporal":
        record, up = _team_client().cancel(run_id)
    else:
        record, up = runner.cancel(run_id)
    if json_out and not (cleanup and up):
        print_json({**record.document(), "test_vms_up": up})
    elif not json_out:
        say(out_console, f"run {run_id} {record.status}")
    if up and not cleanup:
        say(err_console, f"note: test VMs are still running in the isolated network for {', '.join(up)}: clean "
                         f"them up with `asrctl cleanup {record.plan} --stack {record.stack}` (or cancel with "
                         "--cleanup)")
    if up and cleanup:
        from asrctl.cli.recovery import execute

        say(err_console, f"cleaning up the test failover of {', '.join(up)}")
        execute("cleanup", record.plan, record.stack, record.provider, engine, json_out)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(runs_app, name="runs")

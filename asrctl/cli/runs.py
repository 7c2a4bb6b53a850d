"""CLI commands: asrctl runs list|show|resume|cancel — the durable runs of recovery plans (issue 4)."""

from __future__ import annotations

import typer

from asrctl.cli.common import JsonOption, err_console, out_console, print_json

runs_app = typer.Typer(help="Recovery plan runs: list, show, resume (approve a manual action), cancel.",
                       no_args_is_help=True)


@runs_app.command("list")
def list_cmd(json_out: bool = JsonOption) -> None:
    """Every run, oldest first."""
    from rich.table import Table

    from asrctl.recovery.runrecord import list_runs

    runs = list_runs()
    if json_out:
        print_json({"runs": runs})
        return
    table = Table()
    for col in ("run", "plan", "stack", "operation", "provider", "status", "started", "RTO"):
        table.add_column(col)
    for r in runs:
        rto = f"{r['rto_seconds'] / 60:.1f} min" if r["rto_seconds"] is not None else "-"
        table.add_row(r["run_id"], r["plan"], r["stack"], r["operation"], r["provider"], r["status"],
                      r["started_at"] or "-", rto)
    from rich.console import Console

    # Run ids are long: never squeeze the table below 150 columns, even in a pipe.
    Console(highlight=False, width=max(out_console.width, 150)).print(table if runs else "no runs yet")


@runs_app.command("show")
def show_cmd(run_id: str = typer.Argument(..., help="Run id (see `asrctl runs list`)."), json_out: bool = JsonOption) -> None:
    """One run: groups, machines, actions, approvals."""
    from asrctl.recovery.display import print_summary
    from asrctl.recovery.runrecord import load_run

    run = load_run(run_id)
    if json_out:
        print_json(run)
        return
    print_summary(out_console, run)
    if run["error"]:
        out_console.print(f"error: {run['error']}")
    if run["paused_step"]:
        out_console.print(f"paused at: {run['paused_step']['name']}\nresume: {run['paused_step']['resume']}")


@runs_app.command("resume")
def resume_cmd(
    run_id: str = typer.Argument(..., help="Run id."),
    approve: bool = typer.Option(False, "--approve", help="Approve the manual action the run is paused at."),
    by: str = typer.Option(None, "--by", help="Who approves (default: your user name)."),
    comment: str = typer.Option(None, "--comment", help="What was done / checked."),
) -> None:
    """Resume a paused, interrupted (crashed) or failed run; reconciles with the provider first."""
    from asrctl.errors import OperationFailed
    from asrctl.recovery import runner
    from asrctl.recovery.display import ProgressPrinter, print_summary

    run = runner.resume(run_id, approve=approve, by=by, comment=comment, on_event=ProgressPrinter(err_console))
    print_summary(err_console, run)
    if run.get("report_path"):
        typer.echo(f"report: {run['report_path']}")  # plain echo: a path must never wrap
    if run["status"] != "succeeded":
        raise OperationFailed(f"run {run_id} {run['status']}: {run['error']}")
    typer.echo(f"run {run_id} succeeded")


@runs_app.command("cancel")
def cancel_cmd(run_id: str = typer.Argument(..., help="Run id.")) -> None:
    """Stop a run's new side effects; jobs already sent keep running in ASR."""
    from asrctl.recovery import runner

    run = runner.cancel(run_id)
    typer.echo(f"run {run_id} {run['status']}")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(runs_app, name="runs")

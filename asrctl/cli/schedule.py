"""CLI commands: ``asrctl schedule create|list|delete`` — scheduled drills (team mode, Temporal Schedules)."""

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
    team_module,
)

schedule_app = typer.Typer(help="Scheduled drills (team mode): create, list, delete. A worker (`asrctl worker`) "
                                "runs them.", no_args_is_help=True)


def _module():  # noqa: ANN202 - asrctl.recovery.temporal.schedules
    return team_module("schedules", "asrctl schedule")


@schedule_app.command("create")
def create_cmd(
    kind: str = typer.Argument(..., metavar="drill", help="What to schedule (drills only)."),
    plan: str = typer.Argument(..., metavar="PLAN", help="Plan name (runbooks/plans/<PLAN>.yaml)."),
    stack: str = StackOption,
    cron: str = typer.Option(None, "--cron", metavar="EXPR", help="When, as cron (UTC), e.g. '0 3 * * 6'."),
    every: str = typer.Option(None, "--every", metavar="DURATION", help="Or every DURATION, e.g. 7d, 12h."),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Approve manual actions on the spot (else a "
                                      "person approves with `asrctl runs resume RUN --approve`)."),
    skip_readiness: bool = typer.Option(False, "--skip-readiness", help="Skip the replication checks."),
    report_dir: str = typer.Option(None, "--report-dir", metavar="DIR", help="Where a worker writes each drill's "
                                   "report (default: the stack's team.reportDir, else the worker's "
                                   "$ASRCTL_HOME/reports)."),
    schedule_id: str = typer.Option(None, "--id", metavar="ID", help="Schedule id (default drill-STACK-PLAN)."),
    provider: str = ProviderOption,
    json_out: bool = JsonOption,
) -> None:
    """A drill of PLAN on a schedule. Overlapping runs are skipped; each drill cleans up and writes its report.

    Examples: asrctl schedule create drill erp --stack prod --cron '0 3 * * 6' --auto-approve
    """
    schedules = _module()
    row = schedules.create(kind, plan, stack, cron=cron, every=every, provider=provider, auto_approve=auto_approve,
                           skip_readiness=skip_readiness, report_dir=report_dir, schedule_id=schedule_id)
    if json_out:
        print_json(schedules.row_document(row))
        return
    say(out_console, row.id)
    say(err_console, f"schedule {row.id}: drill of plan {row.plan} on stack {row.stack}, {row.when}; next: "
                     f"{', '.join(row.next_runs) or '-'}")


@schedule_app.command("list")
def list_cmd(json_out: bool = JsonOption) -> None:
    """Every scheduled drill: plan, stack, when, the next runs and the latest ones."""
    schedules = _module()
    rows = schedules.list_all()
    if json_out:
        print_json({"schedules": [schedules.row_document(r) for r in rows]})
        return
    if not rows:
        say(out_console, "no scheduled drills")
        return
    print_rows(out_console, ("id", "plan", "stack", "when", "next", "last", "approve"),
               [(r.id, r.plan, r.stack, r.when, r.next_runs[0] if r.next_runs else "-",
                 r.recent[-1]["started"] if r.recent else "-", "auto" if r.auto_approve else "a person")
                for r in rows])


@schedule_app.command("delete")
def delete_cmd(schedule_id: str = typer.Argument(..., metavar="ID", help="Schedule id (see `asrctl schedule list`).")
               ) -> None:
    """Delete a schedule (drills it already started go on)."""
    _module().delete(schedule_id)
    say(out_console, f"schedule {schedule_id} deleted")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(schedule_app, name="schedule")

"""How a run looks to a person: progress lines on stderr while it runs, the summary and the verdict at the end.

Every timestamp shown is on the run's clock (simulated time for the simulator). On a terminal the summary is a
table; in a pipe or a log it is plain rows, never wrapped or cut.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from asrctl.cli.common import print_rows, say
from asrctl.recovery.clock import seconds_between
from asrctl.recovery.operations import OPERATIONS
from asrctl.recovery.records import RunRecord

_STYLE = {"succeeded": "green", "failed": "red", "skipped": "dim", "paused": "yellow", "cancelled": "yellow",
          "running": "cyan", "waiting-approval": "yellow", "pending": "dim", "interrupted": "yellow"}


def _styled(status: str) -> str:
    style = _STYLE.get(status)
    return f"[{style}]{status}[/{style}]" if style else status


class ProgressPrinter:
    """The runtime's ``emit`` sink: one line per meaningful event, timestamped on the run's clock."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        at = (event.get("at") or "")[11:19]
        line = None
        if kind == "stage-started":
            line = f"[bold]{at} ▶ {event.get('title') or event['operation']}[/bold]"
        elif kind == "group-started":
            line = f"{at}   group [bold]{event['group']}[/bold]"
        elif kind == "machine-started":
            retry = f" (attempt {event['attempt']})" if event.get("attempt", 1) > 1 else ""
            via = f" via recovery plan {event['recovery_plan']}" if event.get("recovery_plan") else ""
            line = f"{at}     {event['machine']}: {event['operation']} started{via}{retry}"
        elif kind == "machine-finished":
            extra = f", RPO {event['rpo_seconds']:.0f}s" if event.get("rpo_seconds") is not None else ""
            extra += f" — {event['error']}" if event.get("error") else ""
            line = f"{at}     {event['machine']}: {_styled(event['status'])}{extra}"
        elif kind == "machine-skipped":
            line = f"{at}     {event['machine']}: [dim]already {event['state']}, skipped[/dim]"
        elif kind == "action-started":
            line = f"{at}     {event['phase']} {event['kind']}: {event['name']}"
        elif kind == "paused":
            line = f"{at}   [yellow]waiting for approval: {event['instruction']}[/yellow]"
        elif kind == "run-finished":
            line = f"{at} run {_styled(event['status'])}" + (f": {event['error']}" if event.get("error") else "")
        if line is not None:
            say(self.console, line)


def _duration(start: str | None, end: str | None) -> str:
    seconds = seconds_between(start, end)
    if seconds is None:
        return "-"
    whole = int(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


def print_summary(console: Console, record: RunRecord) -> None:
    """Every step of every stage, then the verdict as the last line."""
    title = (f"run {record.run_id} — {record.command} of plan {record.plan} on {record.stack} "
             f"({record.provider}, {record.clock} clock): {record.status}")
    rows = []
    for stage in record.stages:
        for group in stage.groups:
            for m in group.machines:
                detail = m.error or (f"RPO {m.rpo_seconds:.0f}s" if m.rpo_seconds is not None else "")
                moved = OPERATIONS[stage.operation].network is not None
                detail += f" → {m.recovery_ip}" if moved and m.recovery_ip and not m.error and m.status == "succeeded" else ""
                rows.append((stage.operation, group.name, m.name, _styled(m.status),
                             _duration(m.started_at, m.finished_at), detail))
            for a in group.actions:
                detail = a.error or (f"approved by {a.approved_by}" if a.approved_by else "")
                if a.wait_seconds:
                    detail += f" after {a.wait_seconds:.0f}s"
                rows.append((stage.operation, group.name, f"{a.phase} {a.kind}: {a.name}", _styled(a.status),
                             _duration(a.started_at, a.finished_at), detail))
    print_rows(console, ("stage", "group", "step", "status", "duration", "detail"), rows, title=title)
    say(console, verdict_line(record))


def verdict_line(record: RunRecord) -> str:
    from asrctl.recovery.verdict import evaluate

    return evaluate(record).line(record)

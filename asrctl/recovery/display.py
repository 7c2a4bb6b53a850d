"""How a run looks on a terminal: progress lines on stderr while it runs, a summary table at the end."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

_STYLE = {"succeeded": "green", "failed": "red", "skipped": "dim", "paused": "yellow", "cancelled": "yellow",
          "running": "cyan", "waiting-approval": "yellow", "pending": "dim"}


class ProgressPrinter:
    """The engine's ``on_event`` callback: one line per meaningful event, timestamped on the run's clock."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        at = (event.get("at") or "")[11:19]
        if kind == "stage-started":
            self.console.print(f"[bold]{at} ▶ {event['operation']}[/bold]")
        elif kind == "group-started":
            self.console.print(f"{at}   group [bold]{event['group']}[/bold]")
        elif kind == "machine-started":
            retry = f" (attempt {event['attempt']})" if event.get("attempt", 1) > 1 else ""
            self.console.print(f"{at}     {event['machine']}: {event['operation']} started{retry}")
        elif kind == "machine-finished":
            style = _STYLE.get(event["status"], "")
            extra = f", RPO {event['rpo_seconds']:.0f}s" if event.get("rpo_seconds") is not None else ""
            extra += f" — {event['error']}" if event.get("error") else ""
            self.console.print(f"{at}     {event['machine']}: [{style}]{event['status']}[/{style}]{extra}")
        elif kind == "machine-skipped":
            self.console.print(f"{at}     {event['machine']}: [dim]already {event['state']}, skipped[/dim]")
        elif kind == "action-started":
            self.console.print(f"{at}     {event['phase']} {event['kind']}: {event['name']}")
        elif kind == "paused":
            self.console.print(f"{at}   [yellow]paused: {event['instruction']}[/yellow]")
        elif kind == "run-finished":
            style = _STYLE.get(event["status"], "")
            self.console.print(f"{at} [{style}]run {event['status']}[/{style}]"
                               + (f": {event['error']}" if event.get("error") else ""))


def _duration(start: str | None, end: str | None) -> str:
    from asrctl.recovery.provider import from_iso

    a, b = from_iso(start), from_iso(end)
    if a is None or b is None:
        return "-"
    seconds = int((b - a).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s"


def print_summary(console: Console, run: dict[str, Any]) -> None:
    """The summary table, at least 140 columns wide even when stderr is not a terminal (CI logs)."""
    wide = Console(file=console.file, highlight=False, width=max(console.width, 140))
    wide.print(summary_table(run))


def summary_table(run: dict[str, Any]) -> Table:
    rto = run.get("rto_seconds")
    target = run["targets"].get("rto_seconds")
    title = (f"run {run['run_id']} — {run['command']} of plan {run['plan']} on {run['stack']} "
             f"({run['provider']}, {run['clock']} clock): {run['status']}")
    if rto is not None:
        title += f"; RTO {rto / 60:.1f} min" + (f" (target {target / 60:.0f} min)" if target else "")
    table = Table(title=title, title_justify="left")
    for col in ("stage", "group", "step", "status", "duration", "detail"):
        table.add_column(col)
    for stage in run["stages"]:
        for group in stage["groups"]:
            for m in group["machines"]:
                detail = m["error"] or (f"RPO {m['rpo_seconds']:.0f}s" if m["rpo_seconds"] is not None else "")
                detail += f" → {m['recovery_ip']}" if m["recovery_ip"] and not m["error"] else ""
                style = _STYLE.get(m["status"], "")
                table.add_row(stage["operation"], group["name"], m["name"], f"[{style}]{m['status']}[/{style}]",
                              _duration(m["started_at"], m["finished_at"]), detail)
            for a in group["actions"]:
                detail = a["error"] or (f"approved by {a['approved_by']}" if a["approved_by"] else "")
                style = _STYLE.get(a["status"], "")
                table.add_row(stage["operation"], group["name"], f"{a['phase']} {a['kind']}: {a['name'][:50]}",
                              f"[{style}]{a['status']}[/{style}]", _duration(a["started_at"], a["finished_at"]), detail)
    return table

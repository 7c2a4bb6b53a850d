"""CLI command: ``asrctl report RUN [--format html|md|json] [-o FILE]`` — the evidence auditors ask for after a run."""

from __future__ import annotations

from pathlib import Path

import typer

from asrctl.cli.common import EngineOption, engine_choice
from asrctl.errors import BadInput


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.command("report")(report)


def report(
    run: str = typer.Argument(
        ...,
        metavar="RUN",
        help="Run id (see `asrctl runs list`), or a run JSON file such as an archived `--format json` report.",
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="html | md | json. Default: from the -o file's extension, else md (readable in a terminal).",
        show_default=False,
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report to FILE instead of stdout.", dir_okay=False
    ),
    engine: str | None = EngineOption,
) -> None:
    """Report on a drill or failover run: RTO/RPO against the plan's targets, approvals, failures, a timeline."""
    from asrctl import reporting

    chosen = _choose_format(fmt, output)
    record = _load(run, engine)
    if output is None:
        typer.echo(reporting.render_report(record, chosen), nl=False)
        return
    written = reporting.write_report(record, chosen, output)
    # Plain echo, not the rich console: a long path must stay on one line for scripts that grep it.
    typer.echo(f"wrote {chosen} report of run {record.get('run_id', run)} to {written}", err=True)


def _choose_format(fmt: str | None, output: Path | None) -> str:
    from asrctl.reporting import FORMATS, format_for_path

    if fmt is not None:
        if fmt not in FORMATS:
            raise BadInput(f"--format {fmt!r} is not one of: {', '.join(FORMATS)}")
        return fmt
    return (format_for_path(output) if output else None) or "md"


def _load(run: str, engine: str | None = None) -> dict:
    """A run id goes through the journal; an existing ``*.json`` path is read as a run record (re-rendering an
    archived report needs no journal, e.g. on an auditor's machine)."""
    candidate = Path(run)
    if candidate.suffix.lower() == ".json" and candidate.is_file():
        import json

        try:
            return json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"{candidate}: cannot read the run record ({exc})") from None
        except json.JSONDecodeError as exc:
            raise BadInput(f"{candidate}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if engine_choice(engine) == "temporal":
        from asrctl.cli.runs import _team_client

        return _team_client().load_run(run).document()
    from asrctl.recovery.runner import load_run

    return load_run(run).document()

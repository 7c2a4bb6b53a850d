"""Options and output helpers shared by every command, so flags mean the same everywhere.

Output rules (README "Output"): results on stdout, progress and diagnostics on stderr; ``--json`` prints one JSON
document on stdout; when a stream is not a terminal nothing is wrapped or truncated — tables degrade to plain
tab-separated rows with a header line, so logs and ``grep`` see whole values.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)

StackOption = typer.Option(..., "--stack", "-s", metavar="NAME", help="Stack (environment): stacks/Pulumi.<NAME>.yaml.")
JsonOption = typer.Option(False, "--json", help="Print one JSON document on stdout (progress stays on stderr).")
ProviderOption = typer.Option(
    "simulator", "--provider", metavar="simulator|azure",
    help="Where recovery operations go: simulator (default, embedded) or azure.",
)
EngineOption = typer.Option(
    None, "--engine", metavar="local|temporal",
    help="Who drives the run: local (default: this process, the journal under $ASRCTL_HOME) or temporal (team "
    "mode). Also ASRCTL_ENGINE.", show_default=False,
)


def engine_choice(value: str | None, stack: str | None = None) -> str:
    """--engine, else ASRCTL_ENGINE, else the stack's ``team.engine`` (recovery commands name a stack), else local."""
    from asrctl.errors import BadInput
    from asrctl.recovery.records import ENGINES

    chosen = value or os.environ.get("ASRCTL_ENGINE") or _stack_engine(stack) or "local"
    if chosen not in ENGINES:
        where = "--engine" if value else "ASRCTL_ENGINE"
        raise BadInput(f"{where} {chosen!r}: choose one of {', '.join(ENGINES)}")
    return chosen


def team_module(module: str, what: str) -> Any:
    """``asrctl.recovery.temporal.<module>``, imported when a command needs team mode (temporalio stays out of
    ``asrctl --help``); an installation without it is bad input naming ``what`` asked for it."""
    import importlib

    from asrctl.errors import BadInput

    try:
        return importlib.import_module(f"asrctl.recovery.temporal.{module}")
    except ImportError as exc:
        raise BadInput(f"{what}: team mode is not available in this installation ({exc})") from None


def _stack_engine(stack: str | None) -> str | None:
    if stack is None:
        return None
    from asrctl.config import load_stack
    from asrctl.errors import BadInput

    try:
        team = load_stack(stack).team
    except BadInput:  # the command itself reports a bad stack, with its file:line
        return None
    return team.engine if team is not None else None


def print_json(data: Any) -> None:
    """One JSON document on stdout (sorted keys would reorder groups; keep insertion order)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_rows(console: Console, headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
               styles: Sequence[str | None] | None = None) -> None:
    """A table on a terminal; plain tab-separated rows (header first, nothing cut) anywhere else."""
    if console.is_terminal:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*(("-" if v is None else str(v)) for v in row))
        console.print(table)
        return
    stream = console.file
    if title:
        stream.write(title + "\n")
    stream.write("\t".join(headers) + "\n")
    for row in rows:
        stream.write("\t".join(_plain(v) for v in row) + "\n")
    stream.flush()


def _plain(value: Any) -> str:
    from rich.text import Text

    if value is None:
        return "-"
    text = Text.from_markup(value).plain if isinstance(value, str) and "[/" in value else str(value)
    return text.replace("\t", " ").replace("\n", " ")


def say(console: Console, text: str) -> None:
    """One line that must never wrap (paths, commands, error text), styled on a terminal only."""
    if console.is_terminal:
        console.print(text, soft_wrap=True)
    else:
        console.file.write(_plain(text) + "\n")
        console.file.flush()

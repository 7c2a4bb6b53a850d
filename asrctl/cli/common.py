"""Options and output helpers shared by every command, so flags mean the same everywhere."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

# Human output (progress, tables, warnings) goes to stderr so stdout stays clean for --json and redirects.
err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)

StackOption = typer.Option(..., "--stack", "-s", help="Stack (environment) name: stacks/Pulumi.<NAME>.yaml.")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
ProviderOption = typer.Option(
    "simulator", "--provider", help="Where recovery operations go: simulator (default, embedded) or azure."
)


def print_json(data: Any) -> None:
    """One JSON document on stdout (sorted keys would reorder groups; keep insertion order)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()

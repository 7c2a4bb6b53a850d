"""CLI commands: preview (being built; see the owning issue)."""

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

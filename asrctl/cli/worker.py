"""CLI command: ``asrctl worker`` — run a team-mode worker (Temporal) for the project's stacks."""

from __future__ import annotations

import typer

from asrctl.cli.common import err_console, say, team_module


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command(help="Team mode: run a Temporal worker for the project's stacks (their recovery runs, provider "
                      "calls, action scripts and scheduled drills). Start several, on several machines: they share "
                      "the work, and a run survives the loss of any of them. Stops on Ctrl-C / SIGTERM."
                 "\n\n[bold]Examples[/bold]\n\n  asrctl worker\n\n  asrctl worker --stack prod")
    def worker(
        stack: list[str] = typer.Option(None, "--stack", "-s", metavar="NAME",
                                        help="Serve this stack (repeatable). Default: every stack of the project."),
        max_activities: int = typer.Option(50, "--max-activities", metavar="N",
                                           help="Provider calls and scripts this worker runs at once."),
    ) -> None:
        from asrctl.errors import BadInput

        if max_activities < 1:
            raise BadInput("--max-activities must be at least 1")
        team_module("worker", "asrctl worker").serve(stack or None, max_activities=max_activities, say=lambda line: say(err_console, line))

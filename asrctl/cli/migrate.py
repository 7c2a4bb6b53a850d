"""CLI command: asrctl migrate — move a classic stack's machines to the modernized architecture, as a run."""

from __future__ import annotations

import typer

from asrctl.cli.common import JsonOption, ProviderOption, err_console


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command(
        help="Move every replicating machine of a classic stack to a modernized stack's vault (ASR switchProvider, "
             "at most 10 machines per batch), then re-create the recovery plans there (ASR does not migrate them). "
             "A journaled, resumable run with a report; readiness first (the configuration server, the target "
             "appliance's components and every Mobility agent at their minimum versions, one region, the target "
             "appliance registered, no machine in critical health). With --provider azure the target stack needs "
             "its appliance registered and the `registration` block `asrctl discover --stack MODERNIZED` prints."
             "\n\n[bold]Examples[/bold]\n\n  asrctl migrate --stack legacy --to-stack prod"
             "\n\n  asrctl migrate --stack legacy --to-stack prod --provider azure --json")
    def migrate(
        stack: str = typer.Option(..., "--stack", "-s", metavar="CLASSIC", help="The classic stack to move."),
        to_stack: str = typer.Option(..., "--to-stack", metavar="MODERNIZED",
                                     help="The modernized stack that receives the machines (it lists them too)."),
        auto_approve: bool = typer.Option(False, "--auto-approve", help="Approve manual actions on the spot."),
        provider: str = ProviderOption,
        json_out: bool = JsonOption,
    ) -> None:
        from asrctl.cli.recovery import conclude, print_stopped
        from asrctl.errors import RunInterrupted, RunPaused
        from asrctl.recovery import runner
        from asrctl.recovery.display import ProgressPrinter

        try:
            record = runner.migrate(stack, to_stack, provider, auto_approve=auto_approve,
                                    on_event=ProgressPrinter(err_console))
        except (RunPaused, RunInterrupted) as stopped:
            print_stopped(stopped, json_out)
            raise
        conclude(record, json_out)

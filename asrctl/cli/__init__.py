"""The ``asrctl`` command line.

Each command family lives in its own module with a ``register(app)`` function, so commands can be built and
reviewed independently. Heavy imports (Pulumi, Azure SDKs, ansible-runner) stay inside the commands, so
``asrctl --help`` starts instantly.

Exit codes (DESIGN.md): 0 success; 1 the operation failed; 2 bad input (one line, no traceback); 3 paused.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer
from typer._click.exceptions import ClickException  # typer ≥ 0.24 vendors click: its own classes, not click's

from asrctl import __version__
from asrctl.errors import EXIT_BAD_INPUT, EXIT_FAILED, AsrctlError, RunInterrupted, RunPaused

COMMAND_MODULES = (
    "preview",
    "capacity",
    "policy",
    "plans",
    "readiness",
    "recovery",
    "migrate",
    "runs",
    "report",
    "sim",
    "mobility",
    "discover",
    "nics",
    "worker",
    "schedule",
)

app = typer.Typer(
    name="asrctl",
    help="VMware → Azure disaster recovery with Azure Site Recovery: preview the DR site, check policy, "
    "run drills and failovers, deploy the Mobility service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"asrctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Global options."""


from asrctl.cli import help_style  # noqa: E402 - before any command is built

help_style.apply()

for _name in COMMAND_MODULES:
    import_module(f"asrctl.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: run the app, turn user errors into one line and the documented exit codes."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="asrctl", standalone_mode=False)
    except RunPaused as exc:
        typer.echo(f"paused: {exc}", err=True)
        return exc.exit_code
    except RunInterrupted as exc:
        typer.echo(f"interrupted: {exc}", err=True)
        return exc.exit_code
    except AsrctlError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except ClickException as exc:
        # Usage errors (unknown option, missing argument, bad choice): click's one-paragraph message, exit 2.
        exc.show()
        return exc.exit_code if exc.exit_code else EXIT_BAD_INPUT
    except typer.Abort:
        typer.echo("aborted", err=True)
        return EXIT_FAILED
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


def console_main() -> int:
    """The ``asrctl`` executable: one command, then exit (so a mock-mode run may leave its heap frozen instead of
    collecting it, asrctl.gcpolicy). Tests call :func:`main`, which keeps normal garbage collection."""
    from asrctl.gcpolicy import declare_one_shot_process

    declare_one_shot_process()
    return main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console_main())

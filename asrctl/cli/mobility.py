"""CLI commands: ``asrctl mobility deploy`` — install and register the ASR Mobility service with Ansible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from asrctl.cli.common import JsonOption, StackOption, err_console, print_json
from asrctl.errors import EXIT_FAILED, EXIT_OK

STATUS_STYLE = {
    "installed": "green",
    "upgraded": "green",
    "registered": "green",
    "unchanged": "dim",
    "failed": "bold red",
    "unreachable": "bold red",
}


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    mobility = typer.Typer(
        help="Deploy the ASR Mobility service on the protected machines (Ansible through ansible-runner).",
        no_args_is_help=True,
    )
    mobility.command("deploy")(deploy)
    app.add_typer(mobility, name="mobility")


def deploy(
    stack: str = StackOption,
    limit: str | None = typer.Option(None, "--limit", help="Ansible host pattern: deploy to these machines only."),
    check: bool = typer.Option(False, "--check", help="Dry run: report what would change, change nothing."),
    inventory: Path | None = typer.Option(
        None, "--inventory", help="Your own Ansible inventory instead of the one rendered from the stack's machines."
    ),
    installer_dir: Path | None = typer.Option(
        None,
        "--installer-dir",
        help="Directory holding the Microsoft-ASR_UA_* installers, copied from the replication appliance's "
        r"E:\Software\Agents (modernized) or the process server's push-install repository (classic). Required "
        "unless --inventory sets asr_mobility_service_installer_dir.",
    ),
    forks: int = typer.Option(5, "--forks", help="Machines handled in parallel.", min=1, max=500),
    json_output: bool = JsonOption,
) -> int:
    """Install, upgrade or register the Mobility service with the stack's architecture: modernized agents register
    with their replication appliance (no passphrase); classic agents with the configuration server, whose passphrase
    comes from ASRCTL_CS_PASSPHRASE, else the stack's Pulumi secret.

    Progress per host goes to stderr; --json prints {"hosts": [...]} on stdout. Exit 0 when every machine succeeded,
    1 when any failed or was unreachable, 2 on bad input.
    """
    from asrctl.config import load_stack
    from asrctl.errors import BadInput
    from asrctl.mobility.driver import INSTALLER_SOURCES, passphrase_for_stack
    from asrctl.mobility.driver import deploy as run_deploy
    from asrctl.mobility.inventory import render_inventory

    cfg = load_stack(stack)  # validates the stack even with --inventory: a typo'd stack name is bad input
    # Modernized agents register with a per-machine file from their appliance: no passphrase is asked for.
    passphrase = None if cfg.modernized else passphrase_for_stack(stack)
    inventory_text = None
    if inventory is None:
        if installer_dir is None:
            raise BadInput(
                "--installer-dir is required with the rendered inventory: the directory holding the Mobility "
                f"service installers copied from {INSTALLER_SOURCES[cfg.architecture]}"
            )
        inventory_text = render_inventory(cfg, stack)

    mode = " (check mode: nothing will change)" if check else ""
    progress = _Progress(
        header=f"[bold]Deploying the Mobility service[/] for stack {stack} ({cfg.architecture}){mode}"
    )
    result = run_deploy(
        architecture=cfg.architecture,
        passphrase=passphrase,
        inventory_file=inventory,
        inventory_text=inventory_text,
        installer_dir=installer_dir,
        limit=limit,
        check=check,
        forks=forks,
        on_event=progress,
    )
    _print_table(result.outcomes)
    err_console.print(f"[dim]ansible-runner artifacts: {result.private_data_dir}[/]")
    if json_output:
        print_json({"hosts": [o.as_json() for o in result.outcomes]})
    return EXIT_OK if result.ok else EXIT_FAILED


class _Progress:
    """Live progress on stderr from runner events, per host: its first step, every step that changed it, and its
    outcome as it lands (with a count of hosts done), so a long run over many machines shows who is where."""

    def __init__(self, header: str) -> None:
        self.header = header  # printed once the playbook starts, so bad input stays a single line
        self._started: set[str] = set()
        self._done = 0

    def __call__(self, event: dict[str, Any], outcome: Any) -> None:
        from rich.markup import escape

        kind = event.get("event")
        data = event.get("event_data") or {}
        host, task = data.get("host") or "", data.get("task") or ""
        if kind == "playbook_on_start":
            err_console.print(self.header)
        if kind == "runner_on_start" and host and host not in self._started:
            self._started.add(host)
            err_console.print(f"[dim]  {escape(host)}: started[/]")
        if kind == "runner_on_ok" and host and (data.get("res") or {}).get("changed") and outcome is None:
            err_console.print(f"[dim]  {escape(host)}: {escape(task)}[/]")
        if outcome is not None:
            self._done += 1
            style = STATUS_STYLE.get(outcome.status, "")
            reboot = " [yellow](reboot required)[/]" if outcome.reboot_required else ""
            count = f"[dim][{self._done}/{max(len(self._started), self._done)}][/] "
            err_console.print(
                f"  {count}[{style}]{outcome.status:>11}[/] {escape(outcome.name)}: {escape(outcome.message)}{reboot}"
            )


def _print_table(outcomes: list[Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Mobility service", title_justify="left")
    for column in ("host", "status", "changed", "reboot", "message"):
        table.add_column(column)
    for o in outcomes:
        style = STATUS_STYLE.get(o.status, "")
        table.add_row(
            escape(o.name),
            f"[{style}]{o.status}[/]",
            "yes" if o.changed else "no",
            "[yellow]required[/]" if o.reboot_required else "",
            escape(o.message),
        )
    err_console.print(table)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    err_console.print(", ".join(f"{n} {status}" for status, n in counts.items()))

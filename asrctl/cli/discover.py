"""CLI command: discover — read the ids ASR assigned at registration from the vault and print the stack file's
``vmware-azure-dr:registration`` block (phase 2).

Exit 0 when every required key and every machine's protectable item was found, 1 when something is missing (what was
found is still printed), 2 on bad input (unknown stack, no Azure credential).
"""

from __future__ import annotations

import typer

from asrctl.cli.common import JsonOption, StackOption, print_json


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command()
    def discover(stack: str = StackOption, as_json: bool = JsonOption) -> None:
        """Phase 2: read the ids ASR assigned at registration from the vault; print the registration block.

        Fabric, protection container, process server, master target, run-as account, retention drive and each
        machine's protectable item, as the YAML block to paste into the stack file (summary on stderr). Read-only.
        """
        from asrctl.errors import OperationFailed
        from asrctl.recovery.discovery import discover as read_vault
        from asrctl.recovery.discovery import load_stack_for_discovery

        stack_cfg, note = load_stack_for_discovery(stack)
        result = read_vault(stack_cfg, stack)
        if note:
            result.warnings.insert(0, note)
        if as_json:
            print_json(result.to_dict())
        else:
            # Plain echo: ids must never be wrapped or styled, the snippet is pasted as is.
            typer.echo(result.yaml_snippet(), nl=False)
            for line in result.summary():
                typer.echo(line, err=True)
        if not result.ok:
            raise OperationFailed(
                f"stack {stack}: {len(result.missing)} registration value(s) not found in vault {result.vault} "
                "(listed above); the block has what was found"
            )

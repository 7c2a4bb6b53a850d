"""CLI command: discover — read the ids ASR assigned at registration from the vault and print the stack file's
``vmware-azure-dr:registration`` block (phase 2).

Exit 0 when every required key and every machine's protectable item was found, 1 when something is missing (what was
found is still printed), 2 on bad input (unknown stack, no Azure credential).
"""

from __future__ import annotations

import typer

from asrctl.cli.common import JsonOption, StackOption, print_json

# Default azure, unlike the recovery commands: the block is pasted into a real stack, and simulated ids in it would
# only fail at `pulumi up`. --provider simulator prints the simulated vault's own ids (a run without Azure).
DiscoverProviderOption = typer.Option(
    "azure", "--provider", metavar="simulator|azure",
    help="Which vault to read: azure (default) or the simulator's (its own ids, for a run without Azure).",
)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command()
    def discover(stack: str = StackOption, provider: str = DiscoverProviderOption, as_json: bool = JsonOption) -> None:
        """Phase 2: read the ids ASR assigned at registration from the vault; print the registration block.

        Modernized: the InMageRcm fabric and container, the VMware site, each appliance's process server and
        reprotect agent, the failback datastore, the run-as account and each machine's fabricDiscoveryMachineId
        (matched by vmName; ambiguous and missing names are reported). Classic: fabric, protection container,
        process server, master targets (Windows and Linux), run-as account, retention drive and each machine's
        protectable item. Printed as the YAML block to paste into the stack file (summary on stderr). Read-only.

          asrctl discover --stack prod

          asrctl discover --stack dev --provider simulator --json
        """
        from asrctl.errors import OperationFailed
        from asrctl.recovery.discovery import discover as read_vault
        from asrctl.recovery.discovery import load_stack_for_discovery

        stack_cfg, note = load_stack_for_discovery(stack)
        result = read_vault(stack_cfg, stack, provider_name=provider)
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

"""``asrctl preview``: run the Pulumi program in-process under mocks and show what it would create."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer

from asrctl.cli.common import JsonOption, StackOption, err_console, print_json

if TYPE_CHECKING:
    from asrctl.mockmode import CapturedResource, PreviewResult


def preview_document(result: PreviewResult) -> dict[str, Any]:
    """The ``--json`` document: resources (parents before children), counts per type, stack outputs, notes."""
    return {
        "stack": result.stack,
        "resources": [
            {**asdict(r), "dependencies": list(r.dependencies), "ignore_changes": list(r.ignore_changes)}
            for r in result.resources
        ],
        "counts": result.counts(),
        "outputs": result.outputs,
        "notes": list(result.notes),
    }


def _label(resource: CapturedResource) -> str:
    from rich.markup import escape

    text = f"[bold]{escape(resource.name)}[/bold] [dim]{escape(resource.type)}[/dim]"
    azure_name = resource.outputs.get("name") if resource.custom else None
    if isinstance(azure_name, str) and azure_name != resource.name:
        text += f" → {escape(azure_name)}"
    if resource.protect:
        text += " [yellow]protected[/yellow]"
    return text


def render_preview(result: PreviewResult) -> None:
    """Resource tree, counts per type, stack outputs and notes, on stderr (stdout stays for --json)."""
    import json

    from rich.markup import escape
    from rich.table import Table
    from rich.tree import Tree

    root = Tree(f"[bold]stack {escape(result.stack)}[/bold] (mock preview: nothing was sent to Azure or vCenter)")
    nodes: dict[str | None, Tree] = {None: root}
    for resource in result.resources:  # parents come before their children
        parent = nodes.get(resource.parent, root)
        nodes[resource.urn] = parent.add(_label(resource))
    err_console.print(root)

    counts = Table(title="Resources per type", title_justify="left")
    counts.add_column("type")
    counts.add_column("count", justify="right")
    for type_token, n in result.counts().items():
        counts.add_row(escape(type_token), str(n))
    counts.add_row("[bold]total[/bold]", f"[bold]{len(result.resources)}[/bold]")
    err_console.print(counts)

    if result.outputs:
        outputs = Table(title="Stack outputs", title_justify="left")
        outputs.add_column("name")
        outputs.add_column("value", overflow="fold")
        for name, value in result.outputs.items():
            shown = value if isinstance(value, str) else json.dumps(value, indent=1)
            outputs.add_row(escape(name), escape(shown))
        err_console.print(outputs)
    for note in result.notes:
        # Not wrapped: a note is one instruction (the registration steps, a command to run) a person copies.
        err_console.print(f"note: {escape(note)}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command("preview")
    def preview(stack: str = StackOption, json_output: bool = JsonOption) -> None:
        """Show what the Pulumi program would create for a stack, in-process under mocks (no Azure, vCenter or
        Pulumi CLI needed): the resource tree, counts per type, stack outputs and notes."""
        from asrctl.mockmode import run_program

        with err_console.status(f"running the Pulumi program for stack {stack} under mocks…"):
            result = run_program(stack)
        if json_output:
            print_json(preview_document(result))
        else:
            render_preview(result)

"""CLI commands: ``asrctl policy check`` (and ``asrctl policy rules``).

``check`` runs the Pulumi program in mock mode and evaluates the CrossGuard pack's own policy objects over what
it would create, in-process: no Pulumi CLI, no cloud. Exit 1 on any mandatory violation; advisories are printed
and exit 0.
"""

from __future__ import annotations

from pathlib import Path

import typer

from asrctl.cli.common import JsonOption, StackOption, print_json

policy_app = typer.Typer(
    help="Policy as code: the CrossGuard pack in policy/ evaluated in-process over the mock preview.",
    no_args_is_help=True,
)


FORMATS = ("text", "json", "sarif")


def _progress(message: str) -> None:
    """One plain line on stderr: the phases of a check that takes seconds, never mixed into stdout's results."""
    typer.echo(message, err=True)


@policy_app.command("check")
def check(
    stack: str = StackOption,
    # A plain string checked here rather than a typer Enum: a bad value must be our one-line exit 2 (BadInput).
    output: str | None = typer.Option(
        None, "--format", "-f", help="text (default: grouped by resource, with fixes), json, or sarif (2.1.0)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Same as --format json."),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Policy config file (JSON/YAML, the --policy-pack-config format) overriding enforcement levels "
        "and rule settings.",
    ),
) -> None:
    """Check the stack's DR site against the policy pack; exit 1 on a mandatory violation.

    The report goes to stdout; the phases (the mock preview, then N rules over M resources) to stderr.
    """
    from asrctl.errors import BadInput

    if output is not None and output not in FORMATS:
        raise BadInput(f"--format {output!r}: choose one of {', '.join(FORMATS)}")
    if json_output and output not in (None, "json"):
        raise BadInput(f"--json is --format json; it cannot be combined with --format {output}")
    from asrctl.yamlfile import parse_once

    with parse_once():  # the stack file is read by the config, the program and SARIF: parse it once
        _check(stack, "json" if json_output else output or "text", config)


def _check(stack: str, output: str, config: Path | None) -> None:
    import time

    from asrctl.config import load_stack
    from asrctl.errors import OperationFailed
    from asrctl.plans import load_plans_for_stack
    from asrctl.policy.config_file import load_policy_config
    from asrctl.policy.context import merge_policy_config, stack_policy_config
    from asrctl.policy.rules import RULES

    cfg = load_stack(stack)
    plans = load_plans_for_stack(cfg, stack)
    user = load_policy_config(config, RULES) if config is not None else {}
    policy_config = merge_policy_config(stack_policy_config(cfg, plans), user)

    import asrctl.mockmode
    from asrctl.policy.evaluate import effective_levels, evaluate
    from asrctl.policy.output import render_json, render_sarif, render_text

    enabled = sum(1 for level in effective_levels(RULES, policy_config).values() if level != "disabled")
    _progress(f"policy check of stack {stack}: running the Pulumi program under mocks (nothing is sent to Azure or "
              f"vCenter)…")
    started = time.monotonic()
    preview = asrctl.mockmode.run_program(stack)
    _progress(f"policy check of stack {stack}: {len(preview.resources)} resources in {time.monotonic() - started:.1f} s; "
              f"evaluating {enabled} rules over {len(preview.resources)} resources…")
    started = time.monotonic()
    report = evaluate(stack, preview.resources, policy_config)
    _progress(f"policy check of stack {stack}: evaluated in {time.monotonic() - started:.1f} s")

    if output == "json":
        print_json(render_json(report))
    elif output == "sarif":
        from asrctl.project import stack_file
        from asrctl.yamlfile import load_yaml

        print_json(render_sarif(report, load_yaml(stack_file(stack))))
    else:
        typer.echo(render_text(report))
    if report.mandatory:
        raise OperationFailed(
            f"policy check of stack {stack}: {len(report.mandatory)} mandatory violation(s); fix them or, for a "
            "reviewed exception, lower the rule's level with --config"
        )


@policy_app.command(
    "rules",
    help="List the pack's rules with their default level, severity, description and anchor: the Azure Policy "
    "definition or Checkov check a rule corresponds to, in brackets where there is one.",
)
def rules(json_output: bool = JsonOption) -> None:
    from asrctl.policy.rules import RULES

    if json_output:
        print_json(
            [
                {
                    "name": r.name,
                    "description": r.description,
                    "enforcementLevel": r.enforcement,
                    "severity": r.severity,
                    "stack": r.stack,
                    "remediation": r.remediation,
                    "anchor": r.anchor,
                    "url": r.url,
                    "settings": {k: v.get("default") for k, v in r.config.items()},
                }
                for r in RULES
            ]
        )
        return
    # One line per rule (grep-able, never wrapped): name, default level, severity, description, then the Azure
    # Policy / Checkov control it corresponds to, where there is one.
    for r in RULES:
        anchor = f"  [{r.anchor}]" if r.anchor else ""
        typer.echo(f"{r.name:<48} {r.enforcement:<9} {r.severity:<8} {r.description}{anchor}")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(policy_app, name="policy")

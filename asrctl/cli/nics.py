"""CLI command: apply-nics — apply the stack's recovery and test-failover IPs to the protected items in ASR.

Run it after every ``pulumi up`` of phase 2 (and after changing a machine's ``recoveryIp`` or ``targetSubnet``):
ASR takes a failed-over VM's subnet and static IP only from the protected item's NIC settings, which no Pulumi
resource models (see :mod:`asrctl.recovery.providers.azure.nics`). Idempotent: only items whose settings differ are
updated. Exit 0 when every machine is in sync (or was updated), 1 when one failed, is busy or — with ``--check`` —
would change, 2 on bad input.
"""

from __future__ import annotations

import typer

from asrctl.cli.common import JsonOption, ProviderOption, StackOption, out_console, print_json, print_rows


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""

    @app.command("apply-nics")
    def apply_nics(
        stack: str = StackOption,
        provider: str = ProviderOption,
        check: bool = typer.Option(False, "--check", help="Only report what would change (exit 1 if anything)."),
        as_json: bool = JsonOption,
    ) -> None:
        """Apply each machine's recovery IP/subnet and test-failover IP/subnet to its protected item in ASR.

        Reads every item's NIC settings and sends an update only where they differ from the stack, then waits for
        the update jobs. Run after `pulumi up`. Examples:

          asrctl apply-nics --stack prod --provider azure --check

          asrctl apply-nics --stack prod --provider azure
        """
        from asrctl.config import load_stack
        from asrctl.errors import BadInput, OperationFailed

        cfg = load_stack(stack)
        if provider == "simulator":
            results = _simulated(cfg)
        elif provider == "azure":
            from asrctl.recovery.providers.azure import AzureProvider
            from asrctl.recovery.providers.azure.nics import apply_nics as apply

            az = AzureProvider(cfg, stack, caller="asrctl apply-nics")
            try:
                results = [r.to_dict() for r in apply(az, check=check)]
            finally:
                az.close()
        else:
            raise BadInput(f"--provider {provider!r}: choose one of simulator, azure")
        if as_json:
            print_json({"stack": stack, "provider": provider, "check": check, "machines": results})
        else:
            rows = [(r["name"], r["status"], (r["wanted"] or {}).get("target_ip"), (r["wanted"] or {}).get("test_ip"),
                     "; ".join(r["changes"]) or r["error"] or "-") for r in results]  # fmt: skip
            print_rows(out_console, ("machine", "status", "recovery IP", "test IP", "changes"), rows)
        bad = [r for r in results if r["status"] in ("failed", "busy", "missing", "would-update")]
        if bad:
            what = "would change" if check and all(r["status"] == "would-update" for r in bad) else "not applied"
            raise OperationFailed(f"stack {stack}: {len(bad)} machine(s) {what}: "
                                  + ", ".join(f"{r['name']} ({r['status']})" for r in bad))


def _simulated(cfg) -> list[dict]:  # noqa: ANN001 - a StackConfig
    """The simulator places failed-over and test VMs at the stack's addresses itself: nothing to apply."""
    out = []
    for m in cfg.machines:
        wanted = {"target_subnet": m.target_subnet, "target_ip": m.recovery_ip, "test_subnet": m.target_subnet,
                  "test_ip": cfg.test_failover_ip(m)}  # fmt: skip
        out.append({"name": m.name, "status": "in-sync", "nic": None, "wanted": wanted, "current": wanted,
                    "changes": [], "job_id": None, "error": None})  # fmt: skip
    return out

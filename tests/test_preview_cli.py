"""`asrctl preview`: the human view on stderr, --json on stdout, and one-line errors with exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from infra_previews import preview

from asrctl import mockmode

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cached_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's real code path, but with the process-wide cached run per stack (runs are slow)."""
    monkeypatch.setattr(mockmode, "run_program", preview)


def test_help_lists_preview_and_loads_no_pulumi() -> None:
    code = (
        "import sys\nfrom asrctl.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pulumi', 'pulumi_azure_native', 'pulumi_vsphere', 'ansible_runner') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, timeout=60)
    assert "preview" in done.stdout
    assert "HEAVY []" in done.stdout, done.stdout[-300:]


def test_preview_help_describes_the_command(cli) -> None:
    result = cli("preview", "--help")
    assert result.exit_code == 0
    assert "--stack" in result.stdout and "--json" in result.stdout


def test_preview_text_shows_tree_counts_outputs_and_notes_on_stderr(cli, cached_runs) -> None:
    result = cli("preview", "--stack", "dev")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # human output stays off stdout
    err = result.stderr
    assert "dr-vault-rsv" in err and "rsv-asr-dev-weu" in err and "protected" in err
    assert "Resources per type" in err and "azure-native:network:NetworkSecurityGroup" in err
    assert "Stack outputs" in err and "vault_name" in err
    total = len(preview("dev").resources)
    assert "total" in err and str(total) in err
    for note in preview("dev").notes:
        assert f"note: {note}" in err  # whole, unwrapped
    # the tree nests children under their component
    assert err.index("dr-vault ") < err.index("dr-vault-rsv")


def test_preview_json_has_resources_counts_outputs_and_notes(cli, cached_runs) -> None:
    result = cli("preview", "--stack", "prod", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"stack", "resources", "counts", "outputs", "notes"}
    assert doc["stack"] == "prod"
    assert sum(doc["counts"].values()) == len(doc["resources"]) == len(preview("prod").resources)
    vault = next(r for r in doc["resources"] if r["type"] == "azure-native:recoveryservices:Vault")
    assert {"type", "name", "urn", "parent", "inputs", "outputs", "dependencies", "protect", "ignore_changes",
            "custom"} <= set(vault)
    assert vault["protect"] is True and vault["custom"] is True
    urns = {r["urn"] for r in doc["resources"]}
    assert all(r["parent"] is None or r["parent"] in urns for r in doc["resources"])
    assert doc["outputs"]["vault_name"] == "rsv-asr-prod-weu"
    assert isinstance(doc["notes"], list)


def test_unknown_stack_is_one_line_and_exit_2(cli) -> None:
    result = cli("preview", "--stack", "staging")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown stack" in lines[0] and "dev, legacy, prod" in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_invalid_stack_value_names_file_line_and_key_exit_2(cli, tmp_path, monkeypatch) -> None:
    shutil.copytree(PROJECT / "stacks", tmp_path / "stacks")
    shutil.copy(PROJECT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(PROJECT / "__main__.py", tmp_path / "__main__.py")
    stack = tmp_path / "stacks" / "Pulumi.dev.yaml"
    text = stack.read_text()
    assert "appConsistentFrequencyMinutes: 240" in text
    stack.write_text(text.replace("appConsistentFrequencyMinutes: 240", "appConsistentFrequencyMinutes: 5000"))
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(tmp_path))
    result = cli("preview", "--stack", "dev", "--json")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if "appConsistentFrequencyMinutes" in line)
    assert f"Pulumi.dev.yaml:{line_no}:" in lines[0]
    assert "vmware-azure-dr:replication.appConsistentFrequencyMinutes" in lines[0]
    assert "60 and 720" in lines[0]
    assert result.stdout == ""


def test_secrets_from_the_environment_never_reach_preview_output(cli, monkeypatch) -> None:
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "cs-pass-7f3a9c")
    monkeypatch.setenv("ASRCTL_VCENTER_PASSWORD", "vc-pass-51be02")
    monkeypatch.setenv("ASRCTL_VPN_SHARED_KEY", "vpn-key-93d1e4")
    monkeypatch.setenv("ASRCTL_FAILBACK_ADMIN_PASSWORD", "fb-admin-0c6b2a")
    # legacy: the classic stack with failback over VPN, where all four secrets are used
    for args in (("preview", "--stack", "dev", "--json"), ("preview", "--stack", "dev"),
                 ("preview", "--stack", "legacy", "--json"), ("preview", "--stack", "legacy")):
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
        for secret in ("cs-pass-7f3a9c", "vc-pass-51be02", "vpn-key-93d1e4", "fb-admin-0c6b2a"):
            assert secret not in result.stdout and secret not in result.stderr, args


def test_classic_preview_says_once_that_classic_is_retired_and_how_to_migrate(cli, cached_runs) -> None:
    result = cli("preview", "--stack", "legacy")
    assert result.exit_code == 0, result.stderr
    retired = [n for n in preview("legacy").notes if "retired" in n]
    assert len(retired) == 1, retired
    note = retired[0]
    assert note.startswith("warning: architecture classic: Microsoft retired classic VMware → Azure disaster recovery")
    assert "enabling replication has been blocked since 31 January 2026, support ended in March 2026" in note
    assert "`asrctl migrate --stack legacy --to-stack <modernized stack>`" in note
    assert result.stderr.count("Microsoft retired classic") == 1
    assert not [n for n in preview("prod").notes + preview("dev").notes if "retired" in n]


def test_modernized_phase_1_lists_the_manual_registration_steps_per_appliance(cli, cached_runs) -> None:
    notes = preview("dev").notes
    start = notes.index(next(n for n in notes if n.startswith("phase 2 not configured")))
    assert notes[start] == (
        "phase 2 not configured: next, register the 1 replication appliance(s) with vault rsv-asr-dev-weu, one at a "
        "time (Azure sign-in is a device code a person enters, so this step cannot be automated):"
    )
    steps = notes[start + 1]
    assert steps.startswith("appliance 1 of 1: asr-ra-dev01 (replication, 10.10.5.11): 1) power it on")
    for needle in (
        "static IP 10.10.5.11/24, gateway 10.10.5.1, DNS 10.10.0.10, 10.10.0.11",
        "guestinfo.asr.ipaddress",
        "2) in the Appliance Configuration Manager set the friendly name asr-ra-dev01 (it cannot be changed later)",
        "3) paste the appliance key generated in vault rsv-asr-dev-weu (Site Recovery > Prepare infrastructure)",
        "4) sign in to Azure with the device code it shows, within 5 minutes",
        "5) add vCenter vcsa01.corp.contoso.com with the same friendly name on every appliance",
        "before starting the next appliance: appliances register one at a time",
    ):
        assert needle in steps, needle
    last = notes[start + 2]
    assert last.startswith("then run `asrctl discover --stack dev` and set vmware-azure-dr:registration with fabricName, "
                           "protectionContainerName, vmwareSiteId, appliances, discoveredMachines (required)")
    result = cli("preview", "--stack", "dev")
    assert "note: then run `asrctl discover --stack dev`" in result.stderr

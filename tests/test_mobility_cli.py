"""asrctl mobility deploy: bad input exits 2 in one line; the rendered inventory; runner events → host outcomes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from asrctl.config import load_stack
from asrctl.mobility.inventory import render_inventory
from asrctl.mobility.outcome import OutcomeCollector

PROJECT = Path(__file__).resolve().parent.parent


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_passphrase_env_exits_2_naming_it(cli, monkeypatch, tmp_path):
    monkeypatch.delenv("ASRCTL_CS_PASSPHRASE", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # and no Pulumi CLI to ask for the stack's secret
    _one_line_error(cli("mobility", "deploy", "--stack", "legacy", "--installer-dir", str(tmp_path)),
                    "ASRCTL_CS_PASSPHRASE", "Pulumi CLI is not installed")


def test_rendered_inventory_needs_an_installer_dir(cli, monkeypatch):
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "x")
    _one_line_error(cli("mobility", "deploy", "--stack", "legacy"), "--installer-dir")


def test_missing_inventory_file_exits_2(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "x")
    _one_line_error(cli("mobility", "deploy", "--stack", "legacy", "--inventory", str(tmp_path / "nope.ini")), "nope.ini")


def test_missing_installer_dir_exits_2(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "x")
    _one_line_error(
        cli("mobility", "deploy", "--stack", "legacy", "--installer-dir", str(tmp_path / "none")), "--installer-dir"
    )


def test_unknown_stack_exits_2(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "x")
    _one_line_error(cli("mobility", "deploy", "--stack", "nosuch", "--installer-dir", str(tmp_path)), "nosuch")


def test_zero_forks_is_bad_input(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "x")
    result = cli("mobility", "deploy", "--stack", "legacy", "--installer-dir", str(tmp_path), "--forks", "0")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_rendered_inventory_groups_the_stack_machines_by_os(tmp_path):
    cfg = load_stack("legacy")
    text = render_inventory(cfg, "legacy")
    assert text.startswith("#\n# Ansible managed")
    path = tmp_path / "hosts.ini"
    path.write_text(text)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(path), "--list"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    inv = json.loads(proc.stdout)
    linux = {m.name for m in cfg.machines if m.os == "linux"}
    windows = {m.name for m in cfg.machines if m.os == "windows"}
    assert set(inv["linux"]["hosts"]) == linux and linux
    assert set(inv["windows"]["hosts"]) == windows and windows
    hostvars = inv["_meta"]["hostvars"]
    for m in cfg.machines:
        assert hostvars[m.name]["ansible_host"] == m.ip
        assert hostvars[m.name]["asr_mobility_service_cs_address"] == cfg.configuration_server.ip
        expected = "psrp" if m.os == "windows" else "ssh"
        assert hostvars[m.name]["ansible_connection"] == expected


def _event(kind: str, host: str, res: dict | None = None, **data) -> dict:
    return {"event": kind, "event_data": {"host": host, "res": res or {}, **data}}


def test_outcomes_from_runner_events():
    c = OutcomeCollector(secrets=("s3cret",))
    c.collect(_event("runner_on_failed", "a", {"msg": "probe"}, ignore_errors=True))  # ignored: not a failure
    c.collect(_event("runner_on_ok", "a", {"ansible_facts": {"asr_mobility_service_result": {
        "status": "upgraded", "changed": True, "reboot_required": "False", "message": "upgraded 9.50 to 9.60"}}}))
    c.collect(_event("runner_on_failed", "b", {"msg": "installer exited 42 near s3cret"}, task="Run the installer"))
    c.collect(_event("runner_on_ok", "b", {"ansible_facts": {"asr_mobility_service_result": {"status": "installed"}}}))
    c.collect(_event("runner_on_unreachable", "c", {"msg": "ssh: connect to host refused"}))
    c.collect(_event("runner_on_ok", "d", {"changed": False}))
    c.collect({"event": "playbook_on_stats", "event_data": {"ok": {"d": 3, "e": 1}}})
    got = {o.name: o for o in c.outcomes}
    assert (got["a"].status, got["a"].changed, got["a"].reboot_required) == ("upgraded", True, False)
    assert got["b"].status == "failed" and "42" in got["b"].message and "s3cret" not in got["b"].message
    assert got["c"].status == "unreachable" and "refused" in got["c"].message
    assert got["d"].status == "failed" and got["e"].status == "failed"


@pytest.mark.parametrize("value", ["", "   "])
def test_blank_passphrase_is_rejected(value, monkeypatch):
    from asrctl.errors import BadInput
    from asrctl.mobility.driver import passphrase_for_stack

    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", value)
    with pytest.raises(BadInput, match="ASRCTL_CS_PASSPHRASE is set but empty"):
        passphrase_for_stack("legacy")


FAKE_PULUMI = """#!/bin/sh
# a stand-in for the Pulumi CLI: records its argv, answers `config get` like the real one (value + newline)
printf '%s\\n' "$*" >> "$FAKE_PULUMI_LOG"
if [ "$1 $2 $3 $4 $5" = "config get vmware-azure-dr:csPassphrase --stack legacy" ] && [ -n "$FAKE_PULUMI_VALUE" ]; then
  printf '%s\\n' "$FAKE_PULUMI_VALUE"; exit 0
fi
echo "error: constructing secrets manager of type passphrase: incorrect passphrase" >&2
exit 255
"""


@pytest.fixture
def fake_pulumi(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(FAKE_PULUMI)
    script.chmod(0o755)
    log = tmp_path / "argv.log"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    monkeypatch.delenv("ASRCTL_CS_PASSPHRASE", raising=False)
    return log


def test_passphrase_comes_from_the_stack_pulumi_secret_without_the_env_variable(fake_pulumi, monkeypatch):
    from asrctl.mobility.driver import passphrase_for_stack

    monkeypatch.setenv("FAKE_PULUMI_VALUE", "Pulumi-Held Secret ")
    assert passphrase_for_stack("legacy") == "Pulumi-Held Secret "  # only pulumi's newline is removed
    # asked by key and stack, through a pipe: the value is in no argument
    assert fake_pulumi.read_text().splitlines() == ["config get vmware-azure-dr:csPassphrase --stack legacy"]


def test_env_variable_wins_over_the_pulumi_secret(fake_pulumi, monkeypatch):
    from asrctl.mobility.driver import passphrase_for_stack

    monkeypatch.setenv("FAKE_PULUMI_VALUE", "from-pulumi")
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "from-env")
    assert passphrase_for_stack("legacy") == "from-env"
    assert not fake_pulumi.exists()  # pulumi was not even asked


def test_pulumi_failure_is_one_line_naming_both_sources(cli, fake_pulumi, tmp_path):
    result = cli("mobility", "deploy", "--stack", "legacy", "--installer-dir", str(tmp_path))
    _one_line_error(result, "pulumi config get", "incorrect passphrase", "ASRCTL_CS_PASSPHRASE",
                    "pulumi config set --secret csPassphrase --stack legacy")


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("broken.ini", "[linux\nweb01 ansible_host=\n", "Failed to parse inventory"),
        ("broken.yml", "all:\n  hosts: [\n", "YAML parsing failed"),
        ("empty.ini", "# nothing yet\n", "no hosts"),
    ],
)
def test_unusable_inventory_exits_2_in_one_line(cli, monkeypatch, tmp_path, name, text, reason):
    """ansible-playbook would run such an inventory against no host and exit 0; asrctl reads it first."""
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "x")
    inventory = tmp_path / name
    inventory.write_text(text)
    result = cli("mobility", "deploy", "--stack", "legacy", "--inventory", str(inventory), "--installer-dir", str(tmp_path))
    _one_line_error(result, str(inventory), reason)
    assert not (tmp_path / "asrctl-home" / "mobility").exists(), "the playbook ran anyway"


def test_own_inventory_without_installer_dir_exits_2_naming_the_option(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "x")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[linux]\nweb01 ansible_connection=local\n")
    result = cli("mobility", "deploy", "--stack", "legacy", "--inventory", str(inventory))
    _one_line_error(result, "asr_mobility_service_installer_dir", "web01", "--installer-dir")


def test_own_inventory_naming_a_missing_installer_dir_exits_2(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "x")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"[linux]\nweb01 ansible_connection=local asr_mobility_service_installer_dir={tmp_path}/gone\n")
    result = cli("mobility", "deploy", "--stack", "legacy", "--inventory", str(inventory))
    _one_line_error(result, f"{tmp_path}/gone", "push-install repository")


def test_limit_matching_no_host_exits_2(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "x")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[linux]\nweb01 ansible_connection=local\n")
    result = cli("mobility", "deploy", "--stack", "legacy", "--inventory", str(inventory),
                 "--installer-dir", str(tmp_path), "--limit", "db*")
    _one_line_error(result, "--limit db*", "matched no host")


class _StoppedRunner:
    """Stands in for ansible-runner when ansible-playbook is killed by the job timeout: some events, no recap."""

    def __init__(self, handle, events):
        self._handle, self._events = handle, events
        self.rc, self.status = 254, "timeout"

    def run(self):
        for event in self._events:
            self._handle(event)


def test_run_killed_by_the_timeout_is_a_failure_even_if_some_hosts_reported(monkeypatch, tmp_path):
    from asrctl.mobility import driver

    events = [
        _event("runner_on_ok", "a", {"ansible_facts": {"asr_mobility_service_result": {
            "status": "installed", "changed": True, "reboot_required": False, "message": "installed 9.60"}}}),
        _event("runner_on_start", "b"),
    ]
    monkeypatch.setattr(driver, "_prepare_runner", lambda **kw: _StoppedRunner(kw["handle"], events))
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[linux]\na ansible_connection=local\nb ansible_connection=local\n")
    result = driver.deploy(passphrase="p", inventory_file=inventory, installer_dir=tmp_path, timeout_s=60)
    got = {o.name: o for o in result.outcomes}
    assert got["a"].status == "installed"
    assert got["b"].status == "failed" and "timed out after 60 s" in got["b"].message
    assert result.ok is False


@pytest.mark.slow
def test_unknown_ssh_host_key_fails_fast_instead_of_waiting_at_a_prompt(tmp_path, monkeypatch):
    """ssh asks about an unknown host key on the controlling terminal, which is ansible-runner's pty: nobody answers,
    so without BatchMode the host (and the run) would sit there until the job timeout."""
    import time

    from asrctl.mobility import driver

    inventory = tmp_path / "hosts.ini"
    fake_ssh = PROJECT / "tests" / "fixtures" / "mobility" / "fake_ssh"
    inventory.write_text(f"[linux]\nnew01 ansible_host=127.0.0.1 ansible_ssh_executable={fake_ssh}\n")
    prompts = tmp_path / "prompts.log"
    monkeypatch.setenv("FAKE_SSH_PROMPTS", str(prompts))
    start = time.monotonic()
    result = driver.deploy(passphrase="p", inventory_file=inventory, installer_dir=tmp_path, timeout_s=45)
    (outcome,) = result.outcomes
    assert outcome.status == "unreachable", outcome
    assert "Host key verification failed" in outcome.message
    assert not prompts.exists(), "ssh was left to prompt on ansible-runner's terminal"
    assert time.monotonic() - start < 40

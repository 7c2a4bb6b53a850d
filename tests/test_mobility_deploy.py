"""Real ansible-playbook runs through ansible-runner against simulated hosts (ansible_connection=local, one root
each, fake Microsoft installer): check mode → converge → idempotence, one multi-host run each.

Hosts: fresh installs (RHEL 8, Ubuntu 20.04), an older agent (upgrade), an unregistered agent (register only), an
agent registered to another configuration server (13), Fedora (preflight), an installer answering 42, a closed
process-server port, SLES without an installer, an installer answering 209, too little disk, an unreachable SSH host.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.mobility.lab import (
    CURRENT_VERSION,
    OLD_VERSION,
    FakeHost,
    build_installer,
    closed_port,
    listening_ports,
    write_inventory,
)

PROJECT = Path(__file__).resolve().parent.parent
PASSPHRASE = "Cs-Pass!phrase-7f3a91"
SUCCEEDING = ["fresh-rhel", "fresh-ubuntu", "old-agent", "unregistered", "reboot-209"]
FAILING = ["other-cs", "fedora", "rc-42", "closed-ps", "sles-no-installer", "tiny-disk", "gone"]


def _hosts() -> list[FakeHost]:
    ssh_unreachable = {
        "ansible_connection": "ssh",
        "ansible_host": "127.0.0.1",
        "ansible_port": closed_port(),
        "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=yes -o BatchMode=yes",
    }
    spy = {"ansible_connection": "spy_local"}  # audits the files Ansible transfers (connection_plugins/spy_local.py)
    return [
        FakeHost("fresh-rhel", extra=spy),
        FakeHost("fresh-ubuntu", distribution="Ubuntu", version="20.04"),
        FakeHost("old-agent", preinstalled=(OLD_VERSION, "Succeeded", "127.0.0.1")),
        FakeHost("unregistered", distribution="Ubuntu", version="20.04", preinstalled=(CURRENT_VERSION, "Failed", ""),
                 extra=spy),
        FakeHost("reboot-209", install_rc=209),
        FakeHost("other-cs", preinstalled=(CURRENT_VERSION, "Succeeded", "10.99.99.99")),
        FakeHost("fedora", distribution="Fedora", version="39"),
        FakeHost("rc-42", install_rc=42),
        FakeHost("closed-ps", extra={"asr_mobility_service_ps_port": closed_port()}),
        FakeHost("sles-no-installer", distribution="SLES", version="15.4"),
        FakeHost("tiny-disk", extra={"asr_mobility_service_min_free_mb": 10**12}),
        FakeHost("gone", extra=ssh_unreachable),
    ]


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str

    @property
    def hosts(self) -> dict[str, dict]:
        return {h["name"]: h for h in json.loads(self.stdout)["hosts"]}


class CmdlineSpy:
    """Samples every process's command line and environment while a run is going, looking for the passphrase.

    The asrctl process itself is handed the passphrase in its environment (that is the interface), so only its
    environment is exempt; its command line and every descendant's command line and environment are checked.
    """

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        needle = PASSPHRASE.encode()
        me = str(os.getpid())
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit() or pid == me:
                    continue
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                is_cli = b"-m\x00asrctl\x00mobility\x00deploy" in cmdline
                for what in ("cmdline",) if is_cli else ("cmdline", "environ"):
                    try:
                        data = Path(f"/proc/{pid}/{what}").read_bytes()
                    except OSError:
                        continue
                    if needle in data:
                        self.hits.append(f"{pid}/{what}: {data[:200]!r}")
            self.samples += 1
            self._stop.wait(0.05)

    def __enter__(self) -> CmdlineSpy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _tree_snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _run_lab(base: Path) -> dict:
    """Build the lab under ``base`` and run check → converge → idempotence; a JSON-able summary."""
    installers = base / "installers"
    for token in ("RHEL8-64", "UBUNTU-20.04-64"):
        build_installer(installers, CURRENT_VERSION, token)
    build_installer(installers, OLD_VERSION, "RHEL8-64")  # the newest version must win
    hosts = _hosts()
    home = base / "asrctl-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASRCTL_")}
    env.update(ASRCTL_HOME=str(home), ASRCTL_PROJECT_DIR=str(PROJECT), ASRCTL_CS_PASSPHRASE=PASSPHRASE)
    env["PATH"] = "/usr/bin:/bin"  # the driver must find the venv's ansible-playbook by itself
    env.update(
        ANSIBLE_CONNECTION_PLUGINS=str(PROJECT / "tests" / "fixtures" / "mobility" / "connection_plugins"),
        MOBILITY_SPY_LOG=str(base / "transfers.jsonl"),
        MOBILITY_SPY_SHA256=hashlib.sha256(PASSPHRASE.encode()).hexdigest(),
        MOBILITY_SPY_LEN=str(len(PASSPHRASE.encode())),
    )

    with listening_ports(2) as (cs_port, ps_port):
        inventory = write_inventory(base, hosts, cs_port, ps_port)

        def deploy(*extra: str) -> dict:
            proc = subprocess.run(
                [sys.executable, "-m", "asrctl", "mobility", "deploy", "--stack", "dev", "--inventory", str(inventory),
                 "--installer-dir", str(installers), "--forks", "12", "--json", *extra],
                cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900,
            )
            return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}

        before = _tree_snapshot(base / "hosts")
        check = deploy("--check")
        after_check = _tree_snapshot(base / "hosts")
        with CmdlineSpy() as spy:
            converge = deploy()
        idempotence = deploy("--limit", "all:!" + ":!".join(FAILING))
    return {
        "check": check, "converge": converge, "idempotence": idempotence,
        "check_changed_files": sorted(k for k in set(before) | set(after_check) if before.get(k) != after_check.get(k)),
        "spy_samples": spy.samples, "spy_hits": spy.hits,
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory, worker_id):
    """The three runs happen once per test session, even with pytest -n (the first xdist worker runs them under
    a lock, the others read its summary), so CI pays for them once."""
    if not shutil.which("ssh"):
        pytest.fail("the unreachable-host case needs an ssh client: apt-get install openssh-client")
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    base = shared / "mobility-lab"
    summary_file = shared / "mobility-lab.json"
    with open(shared / "mobility-lab.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not summary_file.exists():
            base.mkdir()
            summary_file.write_text(json.dumps(_run_lab(base)))
        summary = json.loads(summary_file.read_text())
    return {
        "base": base, "home": base / "asrctl-home", "hosts": {h.name: h for h in _hosts()},
        "check": Run(**summary["check"]), "converge": Run(**summary["converge"]),
        "idempotence": Run(**summary["idempotence"]), "check_changed_files": summary["check_changed_files"],
        "spy": summary,
    }


pytestmark = pytest.mark.slow


def _argv(lab, name: str) -> list[str]:
    path = lab["hosts"][name].argv_log(lab["base"])
    return path.read_text().splitlines() if path.exists() else []


def test_check_mode_changes_nothing_and_reports_the_plan(lab):
    check = lab["check"]
    assert lab["check_changed_files"] == [], "check mode changed files on a host"
    hosts = check.hosts
    assert hosts["fresh-rhel"]["status"] == "installed"
    assert hosts["fresh-rhel"]["message"].startswith("check mode: would install 9.60.0.0")
    assert hosts["old-agent"]["status"] == "upgraded"
    assert hosts["unregistered"]["status"] == "registered"
    assert check.rc == 1  # the preflight failures are real in check mode too


def test_first_run_installs_and_registers(lab):
    base, host = lab["base"], lab["hosts"]["fresh-rhel"]
    result = lab["converge"].hosts["fresh-rhel"]
    assert result == {
        "name": "fresh-rhel", "status": "installed", "changed": True, "reboot_required": False,
        "message": "installed 9.60.0.0 and registered with 127.0.0.1",
    }
    vx = host.vx_version(base).read_text()
    assert "VERSION=9.60.0.0" in vx and "AGENT_CONFIGURATION_STATUS=Succeeded" in vx
    conf = (host.install_dir(base) / "Vx" / "etc" / "drscout.conf").read_text()
    assert "Hostname=127.0.0.1" in conf
    install, configure = _argv(lab, "fresh-rhel")
    assert install == f"install -r MS -v VmWare -d {host.install_dir(base)} -q -c CSLegacy"
    assert configure.startswith("configurator -i 127.0.0.1 -P ") and configure.endswith(" -c CSLegacy")
    assert lab["converge"].hosts["fresh-ubuntu"]["status"] == "installed"


def test_passphrase_file_was_private_correct_and_deleted(lab):
    base, host = lab["base"], lab["hosts"]["fresh-rhel"]
    record = (host.root(base) / ".fake" / "passphrase.log").read_text().split()
    assert record == ["mode=600", f"sha256={hashlib.sha256(PASSPHRASE.encode()).hexdigest()}"]
    passphrase_file = _argv(lab, "fresh-rhel")[1].split(" -P ")[1].split(" -c ")[0]
    assert not Path(passphrase_file).exists()
    assert not (host.root(base) / "var" / "tmp" / "asr-mobility").exists(), "installer work dir left behind"


def test_passphrase_reaches_the_guest_only_in_its_private_file(lab):
    """No file Ansible transfers to a guest carries the passphrase (``copy: content=`` would stage it in a controller
    temp file and a remote ``source`` file); the role pipes it into the 0600 file instead."""
    log = lab["base"] / "transfers.jsonl"
    assert log.exists(), "the spy connection plugin never ran"
    transfers = [json.loads(line) for line in log.read_text().splitlines()]
    assert transfers, "no file was transferred at all: the spy saw nothing to audit"
    assert [t["out_path"] for t in transfers if t["carries_secret"]] == []
    for name in ("fresh-rhel", "unregistered"):
        record = (lab["hosts"][name].root(lab["base"]) / ".fake" / "passphrase.log").read_text().split()
        assert record == ["mode=600", f"sha256={hashlib.sha256(PASSPHRASE.encode()).hexdigest()}"], name


def test_older_agent_is_upgraded(lab):
    result = lab["converge"].hosts["old-agent"]
    assert (result["status"], result["changed"]) == ("upgraded", True)
    assert result["message"] == "upgraded 9.50.0.0 to 9.60.0.0"
    (install,) = _argv(lab, "old-agent")  # still registered with our server: no re-registration
    assert install.endswith("-q -c CSLegacy -a Upgrade")
    assert "VERSION=9.60.0.0" in lab["hosts"]["old-agent"].vx_version(lab["base"]).read_text()


def test_unregistered_agent_is_only_registered(lab):
    assert lab["converge"].hosts["unregistered"]["status"] == "registered"
    (configure,) = _argv(lab, "unregistered")
    assert configure.startswith("configurator -i 127.0.0.1")


def test_registration_to_another_server_fails_and_is_not_overwritten(lab):
    for run in ("check", "converge"):
        result = lab[run].hosts["other-cs"]
        assert (result["status"], result["changed"]) == ("failed", False), (run, result)
        assert "registered with configuration server 10.99.99.99, not 127.0.0.1" in result["message"], result
        assert "unregister the agent from 10.99.99.99, then rerun" in result["message"], result
    # Microsoft's configurator moves an agent to whichever server it is given: the role must not even call it.
    assert _argv(lab, "other-cs") == []
    conf = lab["hosts"]["other-cs"].install_dir(lab["base"]) / "Vx" / "etc" / "drscout.conf"
    assert "Hostname=10.99.99.99" in conf.read_text()


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("fedora", "unsupported operating system Fedora 39"),
        ("rc-42", "installer exited 42: the installer does not support this operating system"),
        ("closed-ps", "process server 127.0.0.1:"),
        ("sles-no-installer", "no Mobility service installer for SLES15-64"),
        ("tiny-disk", "MiB free"),
    ],
)
def test_failing_host_fails_with_its_reason(lab, name, needle):
    result = lab["converge"].hosts[name]
    assert result["status"] == "failed", result
    assert needle in result["message"], result
    assert result["changed"] is False


def test_preflight_failures_never_run_the_installer(lab):
    for name in ("fedora", "closed-ps", "sles-no-installer", "tiny-disk"):
        assert _argv(lab, name) == [], name


def test_unreachable_host_is_reported_as_unreachable(lab):
    assert lab["converge"].hosts["gone"]["status"] == "unreachable"


def test_reboot_recommended_is_success_with_reboot_required(lab):
    result = lab["converge"].hosts["reboot-209"]
    assert (result["status"], result["reboot_required"]) == ("installed", True)
    assert "reboot recommended" in result["message"]


def test_any_failed_host_makes_the_run_exit_1_and_others_still_succeed(lab):
    converge = lab["converge"]
    assert converge.rc == 1
    assert set(converge.hosts) == set(SUCCEEDING) | set(FAILING)
    assert {n for n, h in converge.hosts.items() if h["status"] not in ("failed", "unreachable")} == set(SUCCEEDING)
    assert "fresh-rhel" in converge.stderr and "installed" in converge.stderr  # the human table on stderr


def test_second_run_reports_no_change_and_exits_0(lab):
    run = lab["idempotence"]
    assert run.rc == 0, run.stderr
    assert set(run.hosts) == set(SUCCEEDING)  # --limit honoured
    for name, result in run.hosts.items():
        assert (result["status"], result["changed"]) == ("unchanged", False), (name, result)


def test_passphrase_leaves_no_trace(lab):
    needle = PASSPHRASE.encode()
    spy = lab["spy"]
    assert spy["spy_samples"] > 5 and spy["spy_hits"] == [], spy["spy_hits"]
    for run in (lab["check"], lab["converge"], lab["idempotence"]):
        assert PASSPHRASE not in run.stdout and PASSPHRASE not in run.stderr
    files = [p for p in lab["base"].rglob("*") if p.is_file()]
    runs = list((lab["home"] / "mobility").glob("run-*"))
    assert len(runs) == 3 and any(p.name == "command" for p in files) and any("job_events" in str(p) for p in files)
    leaks = [str(p) for p in files if needle in p.read_bytes()]
    assert leaks == []
    for run_dir in runs:
        assert not (run_dir / "env").exists() or not any((run_dir / "env").iterdir()), "runner wrote env files"
        (artifact,) = (run_dir / "artifacts").iterdir()
        command = json.loads((artifact / "command").read_text())
        assert "ASRCTL_CS_PASSPHRASE" not in command["env"]
        assert command["env"]["PATH"].split(":")[0] == str(Path(sys.executable).parent)

"""The Mobility labs (fixtures in conftest.py): real ansible-playbook runs through `asrctl mobility deploy` against simulated hosts.

One lab per architecture (modernized: tests/fixtures/mobility/stacks/Pulumi.mobmodern.yaml; classic: mobclassic),
each run once per test session as check mode → converge → idempotence (even with pytest -n: the first xdist worker
runs it under a lock, the others read its summary), with distinctive values in every credential variable so the
secrets tests can look for them everywhere afterwards.
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
    CLIENT_CERTIFICATE,
    CURRENT_VERSION,
    OLD_VERSION,
    FakeHost,
    Preinstalled,
    build_installer,
    closed_port,
    connection_plugins,
    listening_ports,
    project,
    write_inventory,
)

PROJECT = Path(__file__).resolve().parents[2]
PASSPHRASE = "Cs-Pass!phrase-7f3a91"
# Distinctive values for every credential a user's shell may hold while running asrctl.
CREDENTIALS = {
    "ASRCTL_ARM_TOKEN": "arm-token-5d0c8e1b7a",
    "AZURE_CLIENT_SECRET": "azure-client-secret-91fe22",
    "ASRCTL_VCENTER_PASSWORD": "vcenter-password-4b7d10",
    "ASRCTL_VPN_SHARED_KEY": "vpn-shared-key-c0ffee",
    "ASRCTL_FAILBACK_ADMIN_PASSWORD": "failback-admin-password-77aa",
    "MY_TOOL_API_KEY": "my-tool-api-key-12ab",
}


def ssh_unreachable() -> dict[str, object]:
    return {
        "ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": closed_port(),
        "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=yes -o BatchMode=yes",
    }


SPY = {"ansible_connection": "spy_local"}  # audits the files Ansible transfers (connection_plugins/spy_local.py)


def modernized_hosts() -> list[FakeHost]:
    prime = "CSPrime"
    return [
        FakeHost("m-fresh-rhel", extra=SPY),
        FakeHost("m-fresh-ubuntu", distribution="ubuntu", version="20.04"),
        FakeHost("m-old", preinstalled=Preinstalled(OLD_VERSION, True, prime, "127.0.0.1")),
        FakeHost("m-unconfigured", preinstalled=Preinstalled(CURRENT_VERSION, False, prime)),
        FakeHost("m-warnings-98", install_rc=98),
        FakeHost("m-classic-agent", preinstalled=Preinstalled(CURRENT_VERSION, True, "CSLegacy", "10.99.99.99")),
        FakeHost("m-other-appliance", preinstalled=Preinstalled(CURRENT_VERSION, True, prime, "10.99.99.98")),
        FakeHost("m-rc-42", install_rc=42),
        FakeHost("m-fedora", distribution="fedora", version="39"),
        FakeHost("m-closed-ps", extra={"asr_mobility_service_ps_port": closed_port()}),
        FakeHost("w-fresh", os="windows"),
        FakeHost("w-old", os="windows", product_name="Windows Server 2022 Standard",
                 preinstalled=Preinstalled(OLD_VERSION, True, prime, "127.0.0.1")),
        FakeHost("w-unconfigured", os="windows", preinstalled=Preinstalled(CURRENT_VERSION, False, prime)),
        FakeHost("w-reboot-3010", os="windows", install_rc=3010),
        FakeHost("w-classic-agent", os="windows", preinstalled=Preinstalled(CURRENT_VERSION, True, "CSLegacy", "10.99.99.99")),
        FakeHost("w-2008", os="windows", product_name="Windows Server 2008 R2 Enterprise"),
        FakeHost("w-not-admin", os="windows", admin=False),
    ]


MODERNIZED_SUCCEEDING = ["m-fresh-rhel", "m-fresh-ubuntu", "m-old", "m-unconfigured", "m-warnings-98",
                         "w-fresh", "w-old", "w-unconfigured", "w-reboot-3010"]


def classic_hosts() -> list[FakeHost]:
    legacy = "CSLegacy"
    return [
        FakeHost("c-fresh-rhel", extra=SPY),
        FakeHost("c-old", preinstalled=Preinstalled(OLD_VERSION, True, legacy, "127.0.0.1")),
        FakeHost("c-unregistered", distribution="ubuntu", version="20.04", preinstalled=Preinstalled(CURRENT_VERSION, False, legacy),
                 extra=SPY),
        FakeHost("c-reboot-209", install_rc=209),
        FakeHost("c-other-cs", preinstalled=Preinstalled(CURRENT_VERSION, True, legacy, "10.99.99.99")),
        FakeHost("c-appliance-agent", preinstalled=Preinstalled(CURRENT_VERSION, True, "CSPrime", "10.99.99.98")),
        FakeHost("c-sles-no-installer", distribution="sles", version="15.4"),
        FakeHost("c-tiny-disk", extra={"asr_mobility_service_min_free_mb": 10**12}),
        FakeHost("c-gone", extra=ssh_unreachable()),
        FakeHost("cw-fresh", os="windows"),
        FakeHost("cw-unregistered", os="windows", preinstalled=Preinstalled(CURRENT_VERSION, False, legacy)),
        FakeHost("cw-tiny-disk", os="windows", free_mb=100, extra={"asr_mobility_service_min_free_mb": 500}),
    ]


CLASSIC_SUCCEEDING = ["c-fresh-rhel", "c-old", "c-unregistered", "c-reboot-209", "cw-fresh", "cw-unregistered"]


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str

    @property
    def hosts(self) -> dict[str, dict]:
        return {h["name"]: h for h in json.loads(self.stdout)["hosts"]}


class ProcessSpy:
    """Samples every process's command line and environment while a run is going, looking for secret values.

    The asrctl process itself is handed the credentials in its environment (that is the interface), so only its
    environment is exempt; its command line and every other process's command line and environment are checked.
    """

    def __init__(self, needles: list[str]) -> None:
        self.needles = [n.encode() for n in needles]
        self.hits: list[str] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
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
                    for needle in self.needles:
                        if needle in data:
                            self.hits.append(f"{pid}/{what}: {data[:200]!r}")
            self.samples += 1
            self._stop.wait(0.05)

    def __enter__(self) -> ProcessSpy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def tree_snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def guest_secret(architecture: str) -> str:
    """The secret a registration hands the guest: the appliance's configuration file (its client certificate) or the
    classic passphrase."""
    return CLIENT_CERTIFICATE if architecture == "modernized" else PASSPHRASE


def _run_lab(base: Path, architecture: str) -> dict:
    """Build the lab under ``base`` and run check → converge → idempotence; a JSON-able summary."""
    hosts = modernized_hosts() if architecture == "modernized" else classic_hosts()
    succeeding = MODERNIZED_SUCCEEDING if architecture == "modernized" else CLASSIC_SUCCEEDING
    installers = base / "installers"
    for token in ("RHEL8-64", "UBUNTU-20.04-64", "Windows"):
        build_installer(installers, CURRENT_VERSION, token)
    build_installer(installers, OLD_VERSION, "RHEL8-64")  # the newest version must win
    home = base / "asrctl-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASRCTL_")}
    env.update(ASRCTL_HOME=str(home), ASRCTL_PROJECT_DIR=str(project(base)), **CREDENTIALS)
    if architecture == "classic":
        env["ASRCTL_CS_PASSPHRASE"] = PASSPHRASE
    env["PATH"] = "/usr/bin:/bin"  # the driver must find the venv's ansible-playbook by itself
    env.update(
        ANSIBLE_CONNECTION_PLUGINS=connection_plugins(),
        MOBILITY_SPY_LOG=str(base / "transfers.jsonl"),
        MOBILITY_SPY_SHA256=hashlib.sha256(guest_secret(architecture).encode()).hexdigest(),
        MOBILITY_SPY_LEN=str(len(guest_secret(architecture).encode())),
    )
    stack = "mobmodern" if architecture == "modernized" else "mobclassic"
    with listening_ports(2) as (cs_port, ps_port):
        inventory = write_inventory(base, hosts, cs_port, ps_port, architecture=architecture)

        def deploy(*extra: str) -> dict:
            proc = subprocess.run(
                [sys.executable, "-m", "asrctl", "mobility", "deploy", "--stack", stack, "--inventory", str(inventory),
                 "--installer-dir", str(installers), "--forks", "12", "--json", *extra],
                cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900,
            )
            return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}

        before = tree_snapshot(base / "hosts") | tree_snapshot(base / "appliances")
        check = deploy("--check")
        after_check = tree_snapshot(base / "hosts") | tree_snapshot(base / "appliances")
        with ProcessSpy([PASSPHRASE, CLIENT_CERTIFICATE, *CREDENTIALS.values()]) as spy:
            converge = deploy()
        idempotence = deploy("--limit", ":".join(succeeding))
    return {
        "check": check, "converge": converge, "idempotence": idempotence,
        "check_changed_files": sorted(k for k in set(before) | set(after_check) if before.get(k) != after_check.get(k)),
        "spy_samples": spy.samples, "spy_hits": spy.hits,
    }


def shared_lab(tmp_path_factory, worker_id, architecture: str) -> dict:
    if not shutil.which("ssh"):
        pytest.fail("the unreachable-host case needs an ssh client: apt-get install openssh-client")
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    base = shared / f"mobility-lab-{architecture}"
    summary_file = shared / f"mobility-lab-{architecture}.json"
    with open(shared / f"mobility-lab-{architecture}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not summary_file.exists():
            base.mkdir()
            summary_file.write_text(json.dumps(_run_lab(base, architecture)))
        summary = json.loads(summary_file.read_text())
    hosts = modernized_hosts() if architecture == "modernized" else classic_hosts()
    return {
        "base": base, "home": base / "asrctl-home", "hosts": {h.name: h for h in hosts},
        "check": Run(**summary["check"]), "converge": Run(**summary["converge"]),
        "idempotence": Run(**summary["idempotence"]), "check_changed_files": summary["check_changed_files"],
        "spy": summary,
    }

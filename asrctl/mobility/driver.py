"""Run ``playbooks/mobility.yml`` through ansible-runner without leaving the passphrase anywhere.

How the configuration-server passphrase travels (verified with ansible-runner 2.4.3 + ansible-core 2.19; the tests
grep every artifact): the playbook asks for it with a private ``vars_prompt``; ansible-runner answers the prompt from
``passwords=`` held in memory (pexpect, echo off). ``suppress_env_files=True`` keeps ansible-runner from writing
env/extravars, env/envvars and env/passwords, and the secret variables are removed from the environment the
playbook inherits, so neither ``artifacts/<id>/command`` nor any process environment or command line carries it.
On the guest the role writes it to a 0600 temporary file under ``no_log`` and deletes it in an ``always:`` block.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asrctl.config import SECRET_KEYS
from asrctl.errors import BadInput, OperationFailed
from asrctl.mobility.outcome import HostOutcome, OutcomeCollector
from asrctl.project import project_dir, state_home

PASSPHRASE_ENV = SECRET_KEYS["csPassphrase"]
PLAYBOOK = "mobility.yml"
# The playbook's vars_prompt text; unanchored because the prompt arrives after ansible-runner's event markers.
PASSPHRASE_PROMPT = r"Configuration server passphrase"
INSTALLER_DIR_VAR = "asr_mobility_service_installer_dir"
DEFAULT_TIMEOUT_S = 3600

EventCallback = Callable[[dict[str, Any], HostOutcome | None], None]


@dataclass(frozen=True)
class DeployResult:
    outcomes: list[HostOutcome]
    private_data_dir: Path
    runner_rc: int
    check: bool

    @property
    def ok(self) -> bool:
        return all(o.status not in ("failed", "unreachable") for o in self.outcomes)


def passphrase_from_env() -> str:
    """The configuration-server passphrase from ``ASRCTL_CS_PASSPHRASE``; exit 2 naming the variable without it."""
    value = os.environ.get(PASSPHRASE_ENV, "")
    if not value.strip():
        raise BadInput(
            f"{PASSPHRASE_ENV} is not set: export the configuration server passphrase (genpassphrase.exe -v on the "
            "configuration server) before deploying the Mobility service"
        )
    return value


def playbooks_dir() -> Path:
    return project_dir() / "playbooks"


def new_private_data_dir() -> Path:
    """A fresh ansible-runner private data dir per run under $ASRCTL_HOME/mobility (kept: artifacts for support)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = state_home() / "mobility" / f"run-{stamp}"
    path.mkdir(parents=True, exist_ok=False, mode=0o700)
    return path


def deploy(
    *,
    passphrase: str,
    inventory_file: Path | None = None,
    inventory_text: str | None = None,
    installer_dir: Path | None = None,
    limit: str | None = None,
    check: bool = False,
    forks: int = 5,
    on_event: EventCallback | None = None,
    private_data_dir: Path | None = None,
    timeout_s: int = DEFAULT_TIMEOUT_S,
) -> DeployResult:
    """Run the Mobility service playbook; one outcome per host. Raises BadInput for unusable arguments."""
    if (inventory_file is None) == (inventory_text is None):
        raise ValueError("pass exactly one of inventory_file and inventory_text")
    if forks < 1:
        raise BadInput(f"--forks {forks}: must be at least 1")
    if inventory_file is not None and not inventory_file.is_file():
        raise BadInput(f"--inventory {inventory_file}: no such file")
    if installer_dir is not None and not installer_dir.is_dir():
        raise BadInput(
            f"--installer-dir {installer_dir}: no such directory; copy the installers from the process server's "
            r"push-install repository (%ProgramData%\ASR\home\svsystems\pushinstallsvc\repository)"
        )
    if limit is not None and not limit.strip():
        raise BadInput("--limit: empty host pattern")
    playbook = playbooks_dir() / PLAYBOOK
    if not playbook.is_file():
        raise BadInput(f"{playbook}: playbook not found (is ASRCTL_PROJECT_DIR the asrctl checkout?)")

    pdd = private_data_dir or new_private_data_dir()
    if inventory_text is not None:
        inventory_path = pdd / "inventory" / "hosts.ini"
        inventory_path.parent.mkdir(parents=True, exist_ok=True)
        inventory_path.write_text(inventory_text)
    else:
        inventory_path = inventory_file.resolve()

    extravars = {INSTALLER_DIR_VAR: str(installer_dir.resolve())} if installer_dir is not None else None
    collector = OutcomeCollector(secrets=(passphrase,))

    def handle(event: dict[str, Any]) -> bool:
        outcome = collector.collect(event)
        if on_event is not None:
            on_event(event, outcome)
        return True  # keep the event on disk: artifacts are secret-free and useful for support

    runner = _prepare_runner(
        private_data_dir=pdd,
        playbook=playbook,
        inventory_path=inventory_path,
        extravars=extravars,
        passphrase=passphrase,
        limit=limit,
        check=check,
        forks=forks,
        handle=handle,
        timeout_s=timeout_s,
    )
    runner.run()
    rc = runner.rc if isinstance(runner.rc, int) else 1
    outcomes = collector.outcomes
    if not outcomes:
        tail = _stdout_tail(runner)
        if limit and rc == 0:
            raise BadInput(f"--limit {limit}: matched no host of the inventory")
        raise OperationFailed(f"ansible-playbook exited {rc} before any host ran ({tail}); artifacts in {pdd}")
    return DeployResult(outcomes=outcomes, private_data_dir=pdd, runner_rc=rc, check=check)


def _prepare_runner(
    *,
    private_data_dir: Path,
    playbook: Path,
    inventory_path: Path,
    extravars: dict[str, str] | None,
    passphrase: str,
    limit: str | None,
    check: bool,
    forks: int,
    handle: Callable[[dict[str, Any]], bool],
    timeout_s: int,
) -> Any:
    from ansible_runner.interface import init_runner

    kwargs: dict[str, Any] = dict(
        private_data_dir=str(private_data_dir),
        project_dir=str(playbook.parent),
        playbook=str(playbook),
        inventory=str(inventory_path),
        passwords={PASSPHRASE_PROMPT: passphrase},
        suppress_env_files=True,
        envvars={"ANSIBLE_NOCOLOR": "1"},
        forks=forks,
        quiet=True,
        event_handler=handle,
        timeout=timeout_s,
    )
    if extravars:
        kwargs["extravars"] = extravars
    if limit:
        kwargs["limit"] = limit
    if check:
        kwargs["cmdline"] = "--check"
    runner = init_runner(**kwargs)
    # ansible-runner starts from a copy of os.environ: scrub the secrets before anything runs, so neither the
    # playbook's environment nor artifacts/<id>/command ever holds one; put the venv's binaries first on PATH.
    env = runner.config.env
    for name in SECRET_KEYS.values():
        env.pop(name, None)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, *(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)])
    env["ANSIBLE_ROLES_PATH"] = str(playbook.parent / "roles")
    env["ANSIBLE_RETRY_FILES_ENABLED"] = "0"
    # One connection round trip per task instead of a copy + execute (needs no `requiretty` for become over SSH).
    env.setdefault("ANSIBLE_PIPELINING", "1")
    return runner


def _stdout_tail(runner: Any) -> str:
    try:
        text = runner.stdout.read()
    except Exception:  # noqa: BLE001 - best effort for an error message
        return "no output"
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]
    interesting = [line for line in lines if "ERROR" in line or "error" in line.lower()]
    return (interesting or lines or ["no output"])[-1][:300]

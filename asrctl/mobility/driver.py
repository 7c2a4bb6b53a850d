"""Run the Mobility service playbook through ansible-runner without leaving a secret anywhere.

The stack's architecture picks the playbook: ``playbooks/mobility.yml`` (modernized: agents register with their
replication appliance, no passphrase) or ``playbooks/mobility_classic.yml`` (classic: configuration server and its
passphrase).

What a run may hold, and where (verified with ansible-runner 2.4.3 + ansible-core 2.19; the tests grep every file
and process):

* Credentials of asrctl's own environment (``ASRCTL_ARM_TOKEN``, ``AZURE_CLIENT_SECRET``, the stack secrets'
  variables, anything named like a credential) never reach ansible-playbook: its environment is
  :func:`asrctl.childenv.child_environment`, set on the runner before it starts, so neither ``artifacts/<id>/command``
  nor the fact cache nor any process on a host (installer, configurator) sees them.
* The classic passphrase is asked for by the playbook's private ``vars_prompt`` and answered by ansible-runner from
  ``passwords=`` held in memory (pexpect, echo off); ``suppress_env_files=True`` keeps env/extravars, env/envvars and
  env/passwords off the disk. On the guest the role pipes it into a 0600 file and deletes it (see the role).
* Ansible's controller-side temporary files go to ``<private data dir>/tmp`` (0700), removed after the run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from asrctl.childenv import child_environment
from asrctl.errors import BadInput, OperationFailed
from asrctl.mobility.outcome import HostOutcome, OutcomeCollector
from asrctl.project import project_dir, state_home

Architecture = Literal["modernized", "classic"]
PLAYBOOKS: dict[str, str] = {"modernized": "mobility.yml", "classic": "mobility_classic.yml"}
# Where the installers come from, by architecture (REFERENCE 4 / REFERENCE-modernized 1.1).
INSTALLER_SOURCES: dict[str, str] = {
    "modernized": r"the replication appliance's E:\Software\Agents",
    "classic": r"the process server's push-install repository (%ProgramData%\ASR\home\svsystems\pushinstallsvc\repository)",
}
# The classic playbook's vars_prompt text; unanchored because the prompt arrives after ansible-runner's event markers.
PASSPHRASE_PROMPT = r"Configuration server passphrase"
INSTALLER_DIR_VAR = "asr_mobility_service_installer_dir"
DEFAULT_TIMEOUT_S = 3600
INVENTORY_TIMEOUT_S = 300
# ansible-playbook's own exit codes for a run that ended normally: all ok, some host failed, some host unreachable.
RUNNER_RC_COMPLETED = (0, 2, 4)

EventCallback = Callable[[dict[str, Any], HostOutcome | None], None]


@dataclass(frozen=True)
class DeployResult:
    outcomes: list[HostOutcome]
    private_data_dir: Path
    runner_rc: int
    check: bool

    @property
    def ok(self) -> bool:
        """Every host succeeded and ansible-playbook itself finished cleanly (a run killed by the timeout or crashed
        after some hosts reported is not a success, whatever those hosts said)."""
        return self.runner_rc == 0 and all(o.status not in ("failed", "unreachable") for o in self.outcomes)


def passphrase_for_stack(stack: str) -> str:
    """The configuration-server passphrase (classic only): ``ASRCTL_CS_PASSPHRASE``, else the stack's Pulumi secret
    csPassphrase (``pulumi config get``); exit 2 naming both sources when neither has it."""
    from asrctl.stack_secrets import stack_secret

    return stack_secret(stack, "csPassphrase", "the configuration server passphrase: genpassphrase.exe -v on it")


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
    architecture: Architecture,
    passphrase: str | None = None,
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
    """Run the architecture's Mobility service playbook; one outcome per host. Raises BadInput for unusable
    arguments. ``passphrase`` is required for classic and refused for modernized (which needs none)."""
    if (inventory_file is None) == (inventory_text is None):
        raise ValueError("pass exactly one of inventory_file and inventory_text")
    if architecture not in PLAYBOOKS:
        raise ValueError(f"unknown architecture {architecture!r}")
    if (passphrase is not None) != (architecture == "classic"):
        raise ValueError("a passphrase goes with the classic architecture only")
    if forks < 1:
        raise BadInput(f"--forks {forks}: must be at least 1")
    if inventory_file is not None and not inventory_file.is_file():
        raise BadInput(f"--inventory {inventory_file}: no such file")
    if installer_dir is not None and not installer_dir.is_dir():
        raise BadInput(
            f"--installer-dir {installer_dir}: no such directory; copy the installers from {INSTALLER_SOURCES[architecture]}"
        )
    if limit is not None and not limit.strip():
        raise BadInput("--limit: empty host pattern")
    playbook = playbooks_dir() / PLAYBOOKS[architecture]
    if not playbook.is_file():
        raise BadInput(f"{playbook}: playbook not found (is ASRCTL_PROJECT_DIR the asrctl checkout?)")

    if inventory_file is not None:
        hostvars = _read_inventory(inventory_file, limit)
        if installer_dir is None:
            _check_inventory_installer_dirs(inventory_file, hostvars, architecture)

    pdd = private_data_dir or new_private_data_dir()
    if inventory_text is not None:
        inventory_path = pdd / "inventory" / "hosts.ini"
        inventory_path.parent.mkdir(parents=True, exist_ok=True)
        inventory_path.write_text(inventory_text)
    else:
        inventory_path = inventory_file.resolve()

    extravars = {INSTALLER_DIR_VAR: str(installer_dir.resolve())} if installer_dir is not None else None
    collector = OutcomeCollector(secrets=(passphrase,) if passphrase else ())

    def handle(event: dict[str, Any]) -> bool:
        outcome = collector.collect(event)
        if on_event is not None:
            on_event(event, outcome)
        return True  # keep the event on disk: artifacts are secret-free and useful for support

    local_tmp = pdd / "tmp"
    local_tmp.mkdir(mode=0o700, exist_ok=True)
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
        local_tmp=local_tmp,
    )
    try:
        runner.run()
    finally:
        shutil.rmtree(local_tmp, ignore_errors=True)
    rc = runner.rc if isinstance(runner.rc, int) else 1
    status = runner.status
    if status in ("timeout", "canceled") or rc not in RUNNER_RC_COMPLETED:
        # No recap will come: hosts that started but never reported did not succeed.
        why = f"timed out after {timeout_s} s" if status == "timeout" else f"ended early (ansible-playbook exited {rc})"
        collector.abort(f"the run {why} before this host reported; artifacts in {pdd}")
    outcomes = collector.outcomes
    if not outcomes:
        tail = _stdout_tail(runner)
        if limit and rc == 0:
            raise BadInput(f"--limit {limit}: matched no host of the inventory")
        raise OperationFailed(f"ansible-playbook exited {rc} before any host ran ({tail}); artifacts in {pdd}")
    return DeployResult(outcomes=outcomes, private_data_dir=pdd, runner_rc=rc, check=check)


def _ansible_tool(name: str) -> str:
    venv_tool = Path(sys.executable).parent / name
    if venv_tool.is_file():
        return str(venv_tool)
    found = shutil.which(name)
    if not found:
        raise BadInput(f"{name} not found: install ansible into asrctl's environment (pip install -r requirements.txt)")
    return found


def _read_inventory(path: Path, limit: str | None) -> dict[str, dict[str, Any]]:
    """The hosts of ``--inventory`` (within ``--limit``) and their variables, as ansible-inventory reads them.

    Run before the playbook so that an unparsable or empty inventory is bad input (exit 2, one line) rather than a
    playbook that silently runs against no host.
    """
    env = child_environment({"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
    argv = [_ansible_tool("ansible-inventory"), "-i", str(path), "--list"]
    if limit:
        argv += ["--limit", limit]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=INVENTORY_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise BadInput(f"--inventory {path}: ansible-inventory took more than {INVENTORY_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        raise BadInput(f"--inventory {path}: not a usable Ansible inventory ({_inventory_error(proc.stderr, path)})")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise BadInput(f"--inventory {path}: ansible-inventory printed no inventory") from None
    hostvars: dict[str, dict[str, Any]] = (data.get("_meta") or {}).get("hostvars") or {}
    appliances = set((data.get("asr_appliances") or {}).get("hosts") or ())
    hosts = {h for group in data.values() if isinstance(group, dict) for h in group.get("hosts") or ()} - appliances
    if not hosts:
        if limit:
            raise BadInput(f"--limit {limit}: matched no host of {path}")
        raise BadInput(f"--inventory {path}: no hosts; list the machines to deploy the Mobility service to")
    return {h: hostvars.get(h) or {} for h in sorted(hosts)}


def _inventory_error(stderr: str, path: Path) -> str:
    """The parser's own reason, from the plugin that matches the file type, in one line."""
    reasons: dict[str, str] = {}
    for m in re.finditer(r"Failed to parse inventory with '(\w+)' plugin: (.*)", stderr):
        reasons.setdefault(m.group(1), m.group(2).strip())
    preferred = ("yaml", "auto") if path.suffix in (".yml", ".yaml") else ("ini",)
    for plugin in (*preferred, *reasons):
        if plugin in reasons:
            return reasons[plugin][:300]
    errors = [line for line in stderr.splitlines() if line.startswith("[ERROR]")]
    return (errors or [line for line in stderr.splitlines() if line.strip()] or ["no output"])[0][:300]


def _check_inventory_installer_dirs(path: Path, hostvars: dict[str, dict[str, Any]], architecture: str) -> None:
    """Without --installer-dir every host needs asr_mobility_service_installer_dir, naming an existing directory."""
    source = INSTALLER_SOURCES[architecture]
    missing = [h for h, v in hostvars.items() if not str(v.get(INSTALLER_DIR_VAR) or "").strip()]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise BadInput(
            f"--inventory {path}: no {INSTALLER_DIR_VAR} for {shown}; pass --installer-dir DIR (the installers copied "
            f"from {source}) or set it in the inventory"
        )
    for host, v in hostvars.items():
        value = str(v[INSTALLER_DIR_VAR])
        if "{{" not in value and not Path(value).expanduser().is_dir():
            raise BadInput(
                f"--inventory {path}: {INSTALLER_DIR_VAR} {value} (host {host}) is no directory; copy the installers "
                f"from {source} there or pass --installer-dir DIR"
            )


def _prepare_runner(
    *,
    private_data_dir: Path,
    playbook: Path,
    inventory_path: Path,
    extravars: dict[str, str] | None,
    passphrase: str | None,
    limit: str | None,
    check: bool,
    forks: int,
    handle: Callable[[dict[str, Any]], bool],
    timeout_s: int,
    local_tmp: Path,
) -> Any:
    from ansible_runner.interface import init_runner

    kwargs: dict[str, Any] = dict(
        private_data_dir=str(private_data_dir),
        project_dir=str(playbook.parent),
        playbook=str(playbook),
        inventory=str(inventory_path),
        suppress_env_files=True,
        envvars={"ANSIBLE_NOCOLOR": "1"},
        forks=forks,
        quiet=True,
        event_handler=handle,
        timeout=timeout_s,
    )
    if passphrase is not None:
        kwargs["passwords"] = {PASSPHRASE_PROMPT: passphrase}
    if extravars:
        kwargs["extravars"] = extravars
    if limit:
        kwargs["limit"] = limit
    if check:
        kwargs["cmdline"] = "--check"
    runner = init_runner(**kwargs)
    # ansible-runner starts from a copy of os.environ: replace it with the credential-free child environment before
    # anything runs, so neither the playbook's processes nor artifacts/<id>/command ever hold a credential.
    env = runner.config.env
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join([venv_bin, *(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)])
    # ssh asks about unknown host keys (and passwords) on the controlling terminal, which is ansible-runner's pty:
    # nobody answers there, so the host would hang until the job timeout. BatchMode makes it fail as unreachable.
    ssh_extra = env.get("ANSIBLE_SSH_EXTRA_ARGS", "")
    if "BatchMode" not in ssh_extra:
        ssh_extra = f"{ssh_extra} -o BatchMode=yes".strip()
    runner.config.env = child_environment(
        {
            "PATH": path,
            "ANSIBLE_ROLES_PATH": str(playbook.parent / "roles"),
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_SSH_EXTRA_ARGS": ssh_extra,
            "ANSIBLE_LOCAL_TEMP": str(local_tmp),
            # One connection round trip per task instead of a copy + execute (needs no `requiretty` for become).
            "ANSIBLE_PIPELINING": env.get("ANSIBLE_PIPELINING", "1"),
        },
        base=env,
    )
    return runner


def _stdout_tail(runner: Any) -> str:
    try:
        text = runner.stdout.read()
    except Exception:  # noqa: BLE001 - best effort for an error message
        return "no output"
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]
    interesting = [line for line in lines if "ERROR" in line or "error" in line.lower()]
    return (interesting or lines or ["no output"])[-1][:300]

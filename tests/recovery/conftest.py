"""Shared fixtures of the recovery tests: a fast simulator, a private project copy, run helpers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fast_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated time paced at 100,000× real time: a whole drill in well under a second."""
    monkeypatch.setenv("ASRCTL_SIM_SPEED", "100000")


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the project, so a test can edit plan, action and stack files."""
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(PROJECT / "Pulumi.yaml", copy)
    for folder in ("stacks", "runbooks", "templates"):
        shutil.copytree(PROJECT / folder, copy / folder)
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(copy))
    return copy


def run_id_from(text: str) -> str:
    """The run id in the last line of a command's stderr: ``paused: run <id> …``, ``error: run <id> …``."""
    import re

    found = re.findall(r"(?:paused|error|interrupted): run (\S+)", text)
    assert found, f"no run id in: {text[-300:]}"
    return found[-1]


def show(cli, run_id: str) -> dict:
    result = cli("runs", "show", run_id, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def start_run(journal, plan, stack_cfg, stack_name: str, provider, command_key: str = "drill",
              run_id: str | None = None) -> str:
    """Record a run of ``command_key`` in ``journal`` the way the runner does (tests then drive it themselves)."""
    from asrctl.recovery.operations import COMMANDS
    from asrctl.recovery.records import RunSpec

    command = COMMANDS[command_key]
    spec = RunSpec(command=command_key.split("-")[0], command_key=command_key, stages=command.stages,
                   main_stage=command.main_stage, architecture=stack_cfg.architecture,
                   provider_identity=provider.identity(), auto_approve=True)
    return journal.create_run(run_id=run_id or f"{plan.name}-test-{id(provider):x}", plan=plan.name,
                              stack=stack_name, spec=spec, provider=provider.name, plan_path=str(plan.path),
                              plan_sha256=plan.sha256, clock=provider.clock.kind,
                              targets={"rto_seconds": plan.targets.rto, "rpo_seconds": plan.targets.rpo},
                              readiness=[])


def engine_for(journal, run_id: str, plan, stack_cfg, stack_name: str, provider, approver=None, on_event=None,
               pacing=None, concurrency: int | None = None):
    """The engine and local runtime of a recorded run (``asrctl.recovery.local.drive(*engine_for(...))``)."""
    from asrctl.recovery.approval import AutoApprover
    from asrctl.recovery.engine import DEFAULT_CONCURRENCY, Engine
    from asrctl.recovery.local import LocalBackend, LocalRuntime
    from asrctl.recovery.pacing import Pacing, RateLimiter

    runtime = LocalRuntime(journal, run_id, provider, approver or AutoApprover(), on_event)
    pacing = pacing or Pacing(RateLimiter(provider.capabilities, provider.clock.now()))
    engine = Engine(plan, stack_cfg, stack_name, run_id, runtime, LocalBackend(provider), pacing,
                    concurrency=concurrency or DEFAULT_CONCURRENCY)
    return engine, runtime


@pytest.fixture
def make_lab(project_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``make_lab(architecture=…, …)``: a stack of its own and the ASR stand-in seeded from it
    (:class:`recovery.azure.lab.Lab`), reached the way a user reaches Azure with ``--provider azure``:
    ASRCTL_ARM_ENDPOINT, ASRCTL_ARM_TOKEN and REQUESTS_CA_BUNDLE (the stand-in's private certificate)."""
    from recovery.azure.lab import Lab

    labs: list[Lab] = []

    def make(**options):
        assert not labs, "one lab per test: they share the project copy"
        lab = Lab(project_copy, tmp_path / "lab", **options)
        lab.arm.start()
        labs.append(lab)
        monkeypatch.setenv("ASRCTL_ARM_ENDPOINT", lab.arm.endpoint)
        monkeypatch.setenv("ASRCTL_ARM_TOKEN", lab.arm.token)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(lab.arm.cert_path))
        return lab

    yield make
    for lab in labs:
        lab.arm.stop()


# ---------------------------------------------------------------------------------------------------------------
# Team mode (Temporal): one real dev server per test session (per xdist worker), a namespace per test.


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory):
    from recovery.temporal.server import start_server

    server = start_server(tmp_path_factory.mktemp("temporal"))
    yield server
    server.stop()


class Team:
    """The team-mode environment of one test: its namespace, in-process or subprocess workers, cleanup."""

    def __init__(self, server, namespace: str, env: dict[str, str]) -> None:
        self.server = server
        self.namespace = namespace
        self.env = env
        self._threads: list = []
        self.procs: list = []

    def worker(self):
        """A worker in this process (shares the test's environment: $ASRCTL_HOME, faults, project copy)."""
        from asrctl.recovery.temporal.settings import TeamSettings
        from asrctl.recovery.temporal.worker import start_in_thread

        workers, thread = start_in_thread([TeamSettings.resolve(None)])
        self._threads.append((workers, thread))
        return workers

    def spawn_worker(self, **extra_env: str):
        """``asrctl worker`` as its own process (to kill -9 it); stopped by its pid at teardown."""
        import subprocess
        import sys

        env = {**os.environ, **extra_env}
        log = open(os.environ["ASRCTL_HOME"] + f"-worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "asrctl", "worker"], env=env, cwd=PROJECT, stdout=log,
                                stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        import asyncio
        import signal

        from recovery.temporal.server import clean_namespace

        for workers, thread in self._threads:
            workers.stop()
            thread.join(30)
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        asyncio.run(clean_namespace(self.server.address, self.namespace))


@pytest.fixture
def team(temporal_server, monkeypatch: pytest.MonkeyPatch):
    """A fresh namespace on the session's dev server, the ASRCTL_TEMPORAL_* settings pointing at it, and quick
    worker-loss detection (5 s activity timeout). Workers are started by the test (``team.worker()``)."""
    from recovery.temporal.server import next_namespace

    env = {
        "ASRCTL_TEMPORAL_ADDRESS": temporal_server.address,
        "ASRCTL_TEMPORAL_NAMESPACE": next_namespace(temporal_server),
        "ASRCTL_TEMPORAL_TASK_QUEUE": "asrctl-test",
        "ASRCTL_TEMPORAL_ACTIVITY_TIMEOUT": "5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ASRCTL_ENGINE", raising=False)
    environment = Team(temporal_server, env["ASRCTL_TEMPORAL_NAMESPACE"], env)
    yield environment
    environment.close()


@pytest.fixture(params=["local", "temporal"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The interpreter's tests on both runtimes: ``temporal`` runs every CLI command of the test through a dev
    server and an in-process worker (ASRCTL_ENGINE=temporal)."""
    if request.param == "temporal":
        request.getfixturevalue("team").worker()
        monkeypatch.setenv("ASRCTL_ENGINE", "temporal")
    return request.param


def run_events(run_id: str) -> list[dict]:
    """The run's audit events from whichever engine ran it (the journal, or the workflow's `journal` query)."""
    if os.environ.get("ASRCTL_ENGINE") == "temporal":
        from asrctl.recovery.temporal.client import run_events as team_events

        return team_events(run_id)
    from asrctl.recovery.journal import Journal

    journal = Journal()
    try:
        return journal.events(run_id)
    finally:
        journal.close()

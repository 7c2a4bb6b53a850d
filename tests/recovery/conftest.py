"""Shared fixtures of the recovery tests: a fast simulator, a private project copy, run helpers."""

from __future__ import annotations

import json
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


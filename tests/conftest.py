"""Shared fixtures: an isolated $ASRCTL_HOME per test and an in-process CLI runner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state directory and runs from the project root."""
    home = tmp_path / "asrctl-home"
    monkeypatch.setenv("ASRCTL_HOME", str(home))
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(PROJECT))
    from asrctl.config import SECRET_KEYS

    # The stack secrets too: asrctl accepts a secret from its ASRCTL_* variable, so one set in the developer's shell
    # would hide a missing-secret error from the tests.
    for var in ("ASRCTL_SIM_FAULTS", "ASRCTL_ARM_ENDPOINT", "ASRCTL_ARM_TOKEN", *SECRET_KEYS.values()):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(PROJECT)
    return home


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``asrctl ARGS`` in-process; returns exit code, stdout and stderr."""
    from asrctl.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def asrctl_env() -> dict[str, str]:
    """Environment for running the real ``asrctl`` executable in a subprocess."""
    return {**os.environ}

"""Shared fixtures of the infra tests: a project copy to edit, and variants of the sample stacks inside it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]

#: ``stack_variant(base, name, edit)``: see the fixture.
StackVariant = Callable[[str, str, Callable[[dict], None]], str]


@pytest.fixture
def tmp_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project (stacks, runbooks, the program) that $ASRCTL_PROJECT_DIR points at, for a test to edit."""
    root = tmp_path / "project"
    for item in ("stacks", "runbooks"):
        shutil.copytree(PROJECT / item, root / item)
    for item in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(PROJECT / item, root / item)
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(root))
    return root


@pytest.fixture
def stack_variant(tmp_project: Path) -> StackVariant:
    """``stack_variant(base, name, edit)`` writes stacks/Pulumi.<name>.yaml into the project copy: the sample stack
    ``base`` with ``edit`` applied to its ``config`` mapping; returns ``name`` (for ``run_program``)."""

    def make(base: str, name: str, edit: Callable[[dict], None]) -> str:
        doc = yaml.safe_load((tmp_project / "stacks" / f"Pulumi.{base}.yaml").read_text())
        edit(doc["config"])
        (tmp_project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        return name

    return make

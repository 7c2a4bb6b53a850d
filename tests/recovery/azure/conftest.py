"""Fixtures of the Azure provider tests: a lab (own stack + seeded ASR stand-in) reached the way a user reaches
Azure with ``--provider azure``: ASRCTL_ARM_ENDPOINT, ASRCTL_ARM_TOKEN and REQUESTS_CA_BUNDLE (the stand-in's
private certificate)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from recovery.azure.lab import Lab


@pytest.fixture
def make_lab(project_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Lab]]:
    labs: list[Lab] = []

    def make(**options: Any) -> Lab:
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


@pytest.fixture
def modern(make_lab: Callable[..., Lab]) -> Lab:
    return make_lab(architecture="modernized")


@pytest.fixture
def classic(make_lab: Callable[..., Lab]) -> Lab:
    return make_lab(architecture="classic")

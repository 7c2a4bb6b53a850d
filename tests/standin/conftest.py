"""Fixtures for the stand-in's self-tests: a running stand-in over a seeded world, and the SDK client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from standin import Standin, World
from standin.client import site_recovery_client


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[World], Standin]]:
    """``serve(world)`` starts a stand-in (Retry-After 0, so SDK pollers never sleep) and stops it after the test."""
    started: list[Standin] = []

    def run(world: World, **kw: object) -> Standin:
        kw.setdefault("retry_after", 0)
        arm = Standin(world, tmp_path / f"arm{len(started)}", **kw).start()  # type: ignore[arg-type]
        started.append(arm)
        return arm

    yield run
    for arm in started:
        arm.stop()


@pytest.fixture
def sdk() -> Callable[[Standin], object]:
    return site_recovery_client

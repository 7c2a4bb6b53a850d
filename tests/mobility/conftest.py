"""Fixtures of the Mobility tests: the two labs of mobility_labs.py, run once per session."""

from __future__ import annotations

import pytest
from mobility_labs import shared_lab


@pytest.fixture(scope="module")
def modern_lab(tmp_path_factory, worker_id):
    return shared_lab(tmp_path_factory, worker_id, "modernized")


@pytest.fixture(scope="module")
def classic_lab(tmp_path_factory, worker_id):
    return shared_lab(tmp_path_factory, worker_id, "classic")

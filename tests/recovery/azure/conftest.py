"""Fixtures of the Azure provider tests: a modernized and a classic lab (``make_lab`` in tests/recovery/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from recovery.azure.lab import Lab


@pytest.fixture
def modern(make_lab: Callable[..., Lab]) -> Lab:
    return make_lab(architecture="modernized")


@pytest.fixture
def classic(make_lab: Callable[..., Lab]) -> Lab:
    return make_lab(architecture="classic")

"""Assertions about run documents shared by the reporting tests."""

from __future__ import annotations


def assert_kept(original, rendered, path: str = "run") -> None:
    """Every key and value of ``original`` is in ``rendered`` unchanged (``rendered`` may add keys)."""
    if isinstance(original, dict):
        assert isinstance(rendered, dict), path
        for key, value in original.items():
            assert key in rendered, f"{path}.{key} was dropped"
            assert_kept(value, rendered[key], f"{path}.{key}")
    elif isinstance(original, list):
        assert isinstance(rendered, list) and len(rendered) == len(original), path
        for i, (a, b) in enumerate(zip(original, rendered, strict=True)):
            assert_kept(a, b, f"{path}[{i}]")
    else:
        assert rendered == original, f"{path}: {original!r} became {rendered!r}"

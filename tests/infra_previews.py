"""One mock-mode run per stack per test process, shared by the infra and preview tests (runs cost ~23 ms/resource).

Call ``preview(stack)`` from a test or a function-scoped fixture (after conftest has pointed $ASRCTL_PROJECT_DIR at
the project); the first call runs the program, later calls reuse the result.
"""

from __future__ import annotations

from functools import cache

from asrctl.mockmode import CapturedResource, PreviewResult, run_program


@cache
def preview(stack: str) -> PreviewResult:
    return run_program(stack)


def one(result: PreviewResult, type_token: str, name_suffix: str = "") -> CapturedResource:
    """The single resource of a type (optionally whose logical name ends with ``name_suffix``)."""
    found = [r for r in result.of_type(type_token) if r.name.endswith(name_suffix)]
    assert len(found) == 1, f"expected one {type_token} ending {name_suffix!r}, got {[r.urn for r in found]}"
    return found[0]

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


def assert_components_own(result: PreviewResult, expected_parent: dict[str, str]) -> None:
    """Each named resource is a child of a component of the given type, named after it, itself a child of DrSite."""
    by_urn = {r.urn: r for r in result.resources}
    for child, component_type in expected_parent.items():
        resource = next(r for r in result.resources if r.name == child)
        parent = by_urn[resource.parent]
        assert parent.type == component_type and child.startswith(parent.name), child
        assert by_urn[parent.parent].type == "asrctl:dr:DrSite"

"""The benchmarks' generated projects are valid input at the scales they run.

A benchmark's figures are only printed by `make bench`, which no test runs; twice a tightening of the stack's rules
(an OVF source, one appliance per 200 machines) made a benchmark die at its first stack while every test passed.
Each generator here builds its project at the largest scale the benchmark uses, and asrctl's own loaders must
accept every stack and plan in it — cheap (no run), and the failure names the file, line and key."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from asrctl.config import load_stack_file
from asrctl.plans import load_plan

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def benchmark(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def load_project(root: Path) -> tuple[dict[str, object], int]:
    """Every stack of a generated project, and every plan validated against each stack it belongs to."""
    stacks = {p.name.removeprefix("Pulumi.").removesuffix(".yaml"): load_stack_file(p)
              for p in sorted((root / "stacks").glob("Pulumi.*.yaml"))}  # fmt: skip
    assert stacks, f"no stack generated under {root}"
    plans = 0
    for path in sorted((root / "runbooks" / "plans").glob("*.yaml")) if (root / "runbooks" / "plans").is_dir() else ():
        owners = [(n, s) for n, s in stacks.items()
                  if {m for g in load_plan(str(path)).groups for m in g.machines} <= set(s.machines_by_name)]
        assert owners, f"plan {path.name} belongs to no generated stack"
        for name, stack in owners:
            load_plan(str(path), stack, name)
        plans += 1
    return stacks, plans


@pytest.mark.parametrize("plans", [1, 50])
def test_runbook_scale_projects_load(tmp_path: Path, plans: int) -> None:
    benchmark("runbook_scale").make_project(tmp_path, plans)
    stacks, count = load_project(tmp_path)
    assert set(stacks) == {"bench", "bench-mvm"} and count == plans
    assert len(stacks["bench"].machines) == plans * 100


def test_temporal_scale_project_loads(tmp_path: Path) -> None:
    benchmark("temporal_scale").make_project(tmp_path, 20)
    stacks, count = load_project(tmp_path)
    assert len(stacks) == 20 and count == 20


@pytest.mark.parametrize("multi_vm", [False, True])
def test_azure_scale_project_loads(tmp_path: Path, multi_vm: bool) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "runbooks" / "plans").mkdir(parents=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # the stand-in package, as the benchmark imports it
    stack, _world = benchmark("azure_scale").build(tmp_path, 20, multi_vm)
    stacks, count = load_project(tmp_path)
    assert stacks[stack].registration is not None and count == 20


@pytest.mark.parametrize("architecture", ["modernized", "classic"])
def test_preview_scale_project_loads(tmp_path: Path, architecture: str) -> None:
    benchmark("preview_scale").write_project(tmp_path, 1000, architecture)
    stacks, _ = load_project(tmp_path)
    assert len(stacks["bench"].machines) == 1000


def test_yaml_parse_stack_loads(tmp_path: Path) -> None:
    path = benchmark("yaml_parse").write_stack(tmp_path, 4000)
    assert len(load_stack_file(path).machines) == 4000

"""asrctl migrate: the classic → modernized move as a journaled, resumable run (batches of 10, then the recovery
plans re-created on the modernized vault), on the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

KEEP_PLANS = ("erp", "crm", "hr")  # 6 + 10 + 11 = 27 machines: batches of 10, 10 and 7


@pytest.fixture
def legacy27(project_copy: Path) -> Path:
    """The legacy (classic) stack trimmed to the machines of three plans; prod (modernized) lists them all."""
    ns = "vmware-azure-dr:"
    keep = set()
    for plan in (project_copy / "runbooks" / "plans").glob("*.yaml"):
        if plan.stem in KEEP_PLANS:
            keep |= {m for g in yaml.safe_load(plan.read_text())["groups"] for m in g["machines"]}
        else:
            plan.unlink()
    path = project_copy / "stacks" / "Pulumi.legacy.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"][ns + "machines"] = [m for m in doc["config"][ns + "machines"] if m["name"] in keep]
    items = doc["config"][ns + "registration"].get("protectableItems", {})
    doc["config"][ns + "registration"]["protectableItems"] = {k: v for k, v in items.items() if k in keep}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert len(doc["config"][ns + "machines"]) == 27
    return project_copy


def world(cli, stack: str) -> dict:
    result = cli("sim", "show", "--stack", stack, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_migration_moves_every_machine_once_in_batches_and_recreates_the_plans(cli, legacy27: Path):
    result = cli("migrate", "--stack", "legacy", "--to-stack", "prod", "--json")
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["command"] == "migrate" and run["status"] == "succeeded" and run["verdict"] == "pass"
    assert [g["name"] for g in run["groups"]] == ["batch-1", "batch-2", "batch-3"]
    assert [len(g["machines"]) for g in run["groups"]] == [10, 10, 7]
    assert [s["operation"] for s in run["stages"]] == ["switch-provider", "recreate-recovery-plans"]
    # the move's own checks ran first and are on the record: same access mode, the tenant left to the person
    checks = {c["name"]: c["status"] for c in run["readiness"] if c["machine"] is None}
    assert checks["network-access"] == "pass" and checks["tenant"] == "warn"
    assert checks["target-appliance"] == "pass" and checks["component-version"] == "pass"
    # batches strictly one after another
    for before, after in zip(run["groups"], run["groups"][1:], strict=False):
        assert before["finished_at"] <= after["started_at"]
    source = world(cli, "legacy")
    assert {m["architecture"] for m in source["machines"]} == {"modernized"}
    assert all([o["name"] for o in m["operations"]].count("switch-provider") == 1 for m in source["machines"])
    target = world(cli, "prod")
    assert sorted(p["name"] for p in target["recovery_plans"]) == sorted(KEEP_PLANS)
    erp = next(p for p in target["recovery_plans"] if p["name"] == "erp")
    assert [g["name"] for g in erp["groups"]] == ["database", "application", "web"]  # order kept
    moved = {m["name"] for m in source["machines"]}
    assert moved <= {m["name"] for m in target["machines"] if m["state"] == "protected"}


# result#14: mid batch 2, after a send was recorded; intent#3 / intent#28: an intent committed but nothing sent (in
# batch 1, and the plans' step) — the machine is "protected" before and after, so only the backend can tell.
@pytest.mark.parametrize("boundary", ["result#14", "intent#3", "intent#28"])
def test_a_killed_migration_resumes_without_moving_any_machine_twice(cli, legacy27: Path, boundary: str):
    env = {**os.environ, "ASRCTL_SIM_SPEED": "100000", "ASRCTL_TEST_CRASH_AT": boundary}
    crashed = subprocess.run([sys.executable, "-m", "asrctl", "migrate", "--stack", "legacy", "--to-stack", "prod"],
                             env=env, cwd=legacy27, capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 137, crashed.stderr
    [summary] = json.loads(cli("runs", "list", "--json").stdout)["runs"]
    assert summary["command"] == "migrate" and summary["status"] == "running"
    resumed = cli("runs", "resume", summary["run_id"], "--json")
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "succeeded"
    source = world(cli, "legacy")
    for m in source["machines"]:
        assert [o["name"] for o in m["operations"]].count("switch-provider") == 1, m["name"]
        assert m["architecture"] == "modernized", m["name"]
    assert len(world(cli, "prod")["recovery_plans"]) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--stack", "prod", "--to-stack", "legacy"), "stack prod is modernized; only a classic stack moves"),
        (("--stack", "legacy", "--to-stack", "dev"), "stack dev must describe every machine that moves; missing: "),
        (("--stack", "legacy", "--to-stack", "nope"), "--stack nope: unknown stack"),
    ],
)
def test_an_impossible_migration_is_refused_in_one_line(cli, args, message):
    result = cli("migrate", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(cli("runs", "list", "--json").stdout)["runs"] == []

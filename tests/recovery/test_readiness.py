"""Readiness checks: against the simulator (the default provider), through the CLI, and rule by rule."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from asrctl.config import load_stack
from asrctl.errors import BadInput
from asrctl.plans import load_plan
from asrctl.recovery.clock import WallClock
from asrctl.recovery.providers import make_provider
from asrctl.recovery.providers.protocol import EnvironmentStatus, JobRef, MachineStatus
from asrctl.recovery.readiness import machines_needing_app_consistency, run_readiness


def simulator_report(stack: str, operation: str, plan: str = "erp"):
    cfg = load_stack(stack)
    provider = make_provider("simulator", cfg, stack)
    try:
        return run_readiness(load_plan(plan, cfg, stack), cfg, stack, provider, operation)
    finally:
        provider.close()


def failing(report) -> set[tuple[str, str | None]]:
    return {(c.name, c.machine) for c in report.checks if c.status == "fail"}


def test_fresh_simulator_world_is_ready_for_a_drill():
    report = simulator_report("dev", "test-failover")
    assert report.ok, report.summary()
    names = {c.name for c in report.checks}
    assert {"protected-item", "state", "replication-health", "rpo", "heartbeat", "recovery-point"} <= names
    assert ("test-network", None) in {(c.name, c.machine) for c in report.checks if c.status == "pass"}
    # erp's database group needs app-consistent points; its web tier does not.
    app_checked = {c.machine for c in report.checks if c.name == "app-consistent-point"}
    assert app_checked == {"erp-sql01", "erp-sql02"}


def test_uncleaned_test_failover_fails_readiness_for_failover_until_cleaned(cli):
    assert cli("drill", "erp", "--stack", "dev", "--no-cleanup", "--auto-approve").exit_code == 0
    report = simulator_report("dev", "planned-failover")
    assert not report.ok
    plan_machines = load_plan("erp").machines
    assert failing(report) == {("test-failover-cleaned", m) for m in plan_machines}
    assert "asrctl cleanup erp --stack dev" in report.failures[0].advice
    # the problem is listed once, with its machines and the advice that matches its cause
    assert report.summary() == (f"{', '.join(plan_machines)}: a test failover is not cleaned up — run `asrctl "
                                "cleanup erp --stack dev` first")
    # The cleanup itself is ready to run.
    assert simulator_report("dev", "cleanup-test-failover").ok

    result = cli("readiness", "erp", "--stack", "dev", "--operation", "planned-failover")
    assert result.exit_code == 1
    assert "test-failover-cleaned" in result.stdout and "not ready for planned-failover" in result.stderr


def test_failback_on_dev_fails_for_missing_failback_infrastructure():
    report = simulator_report("dev", "failback")
    reasons = {c.name: c.reason for c in report.failures}
    assert "failback-infrastructure" in reasons
    assert "failback.enabled" in reasons["failback-infrastructure"]
    assert {c.machine for c in report.failures if c.name == "state"} == set(load_plan("erp").machines)


def test_cli_json_report_shape_and_exit_codes(cli):
    result = cli("readiness", "erp", "--stack", "dev", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["operation"] == "test-failover" and data["provider"] == "simulator"
    assert data["counts"]["fail"] == 0 and data["counts"]["pass"] == len(data["checks"])
    assert set(data["checks"][0]) == {"name", "status", "reason", "machine"}
    assert data["problems"] == [] and data["command"] == "test-failover"

    bad = cli("readiness", "erp", "--stack", "dev", "--operation", "explode")
    assert bad.exit_code == 2 and "--operation 'explode'" in bad.stderr and "Traceback" not in bad.stderr
    assert cli("readiness", "erp", "--stack", "nope").exit_code == 2


# ---------------------------------------------------------------------------------------------------------------
# Rule by rule, with hand-made machine statuses (the provider protocol's data types)


class StatusProvider:
    """Only the reads readiness uses (a partial provider: readiness never sends anything)."""

    name = "test"

    def __init__(self, statuses: dict[str, MachineStatus], env: EnvironmentStatus) -> None:
        self.clock = WallClock()
        self.api_calls: dict[str, int] = {}
        self.statuses = statuses
        self.env = env

    def describe_machines(self, names):
        return {n: s for n, s in self.statuses.items() if n in names}

    def describe_environment(self):
        return self.env


@pytest.fixture
def dev():
    cfg = load_stack("dev")
    return cfg, load_plan("erp", cfg, "dev")


def healthy(name: str, **changes) -> MachineStatus:
    now = datetime.now(UTC)
    status = MachineStatus(
        name=name,
        state="protected",
        protection_state="Protected",
        replication_health="Normal",
        rpo_seconds=60,
        last_heartbeat=now - timedelta(minutes=1),
        recovery_points={"crash-consistent": now - timedelta(minutes=2), "app-consistent": now - timedelta(hours=1)},
    )
    return replace(status, **changes)


def check_of(report, name: str, machine: str):
    return next(c for c in report.checks if c.name == name and c.machine == machine)


def report_for(dev, operation: str, **overrides: MachineStatus):
    cfg, plan = dev
    statuses = {m: overrides.get(m.replace("-", "_"), healthy(m)) for m in plan.machines}
    provider = StatusProvider(statuses, EnvironmentStatus(test_network_present=True, failback_ready=False))
    return run_readiness(plan, cfg, "dev", provider, operation)


def test_rpo_over_the_policy_threshold_fails_a_drill_but_only_warns_an_unplanned_failover(dev):
    slow = healthy("erp-app01", rpo_seconds=31 * 60)  # dev's threshold is 30 minutes
    drill = report_for(dev, "test-failover", erp_app01=slow)
    assert check_of(drill, "rpo", "erp-app01").status == "fail"
    assert check_of(drill, "rpo-target", "erp-app01").status == "warn"  # erp targets rpo 15m
    assert not drill.ok
    disaster = report_for(dev, "unplanned-failover", erp_app01=slow)
    assert check_of(disaster, "rpo", "erp-app01").status == "warn" and disaster.ok


def test_stale_heartbeat_and_critical_health_fail(dev):
    stale = healthy("erp-web01", last_heartbeat=datetime.now(UTC) - timedelta(minutes=40))
    critical = healthy("erp-web02", replication_health="Critical")
    report = report_for(dev, "planned-failover", erp_web01=stale, erp_web02=critical)
    assert failing(report) == {("heartbeat", "erp-web01"), ("replication-health", "erp-web02")}


def test_app_consistent_point_required_only_for_database_groups(dev):
    no_app = {"crash-consistent": datetime.now(UTC)}
    report = report_for(
        dev,
        "test-failover",
        erp_sql01=healthy("erp-sql01", recovery_points=no_app),
        erp_app01=healthy("erp-app01", recovery_points=no_app),
    )
    assert failing(report) == {("app-consistent-point", "erp-sql01")}
    old = {**no_app, "app-consistent": datetime.now(UTC) - timedelta(hours=9)}  # 2 × 240 min = 8 h
    report = report_for(dev, "test-failover", erp_sql02=healthy("erp-sql02", recovery_points=old))
    assert failing(report) == {("app-consistent-point", "erp-sql02")}
    assert machines_needing_app_consistency(dev[1]) == {"erp-sql01", "erp-sql02"}


def test_chosen_recovery_point_kind_is_required_on_every_machine_even_for_an_unplanned_failover(dev):
    crash_only = {"crash-consistent": datetime.now(UTC) - timedelta(minutes=2)}
    web = healthy("erp-web01", recovery_points=crash_only)  # not a database machine
    cfg, plan = dev
    provider = StatusProvider({m: web if m == "erp-web01" else healthy(m) for m in plan.machines},
                              EnvironmentStatus(test_network_present=True, failback_ready=False))  # fmt: skip

    def report_for_point(point: str):
        return run_readiness(plan, cfg, "dev", provider, "unplanned-failover", point)

    assert report_for_point("latest").ok
    chosen = report_for_point("latest-app-consistent")
    assert ("recovery-point-type", "erp-web01") in failing(chosen) and not chosen.ok
    assert "--recovery-point latest-app-consistent" in check_of(chosen, "recovery-point-type", "erp-web01").reason
    assert {c.machine for c in chosen.checks if c.name == "app-consistent-point"} == set(dev[1].machines)
    assert report_for_point("latest-crash-consistent").ok
    with pytest.raises(BadInput, match="--recovery-point 'yesterday'"):
        report_for_point("yesterday")


def test_unknown_item_running_job_and_wrong_state_fail(dev):
    cfg, plan = dev
    statuses = {m: healthy(m) for m in plan.machines if m != "erp-web02"}
    statuses["erp-app02"] = healthy("erp-app02", current_job=JobRef("job-9", "test-failover", ("erp-app02",)))
    statuses["erp-sql01"] = healthy("erp-sql01", state="committed")
    provider = StatusProvider(statuses, EnvironmentStatus(test_network_present=False, failback_ready=False))
    report = run_readiness(plan, cfg, "dev", provider, "test-failover")
    assert failing(report) == {
        ("protected-item", "erp-web02"),
        ("no-running-job", "erp-app02"),
        ("state", "erp-sql01"),
        ("test-network", None),
    }

"""Fault injection (ASRCTL_SIM_FAULTS): each effect ends the way the engine guarantees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asrctl.config import load_stack
from asrctl.plans import load_plan
from asrctl.recovery.clock import from_iso
from asrctl.recovery.journal import Journal
from asrctl.recovery.local import drive
from asrctl.recovery.providers.protocol import TransientError
from asrctl.recovery.providers.simulator import SimulatorProvider
from recovery.conftest import engine_for, run_events, start_run


@pytest.fixture
def faults(tmp_path, monkeypatch):
    def write(*items: str) -> None:
        path = tmp_path / "faults.yaml"
        path.write_text("faults:\n" + "".join(items))
        monkeypatch.setenv("ASRCTL_SIM_FAULTS", str(path))

    return write


def fault(machine: str | None, operation: str, effect: str, times: int | None = None) -> str:
    text = f"  - operation: {operation}\n    effect: {effect}\n"
    text += f"    machine: {machine}\n" if machine else ""
    return text + (f"    times: {times}\n" if times else "")


def runs(cli) -> list[dict]:
    """Every run as its full document (`runs list` is a summary per run)."""
    summaries = json.loads(cli("runs", "list", "--json", "--limit", "0").stdout)["runs"]
    return [json.loads(cli("runs", "show", s["run_id"], "--json").stdout) for s in summaries]


def ops(cli, stack="dev") -> dict[str, list[tuple[str, str]]]:
    world = json.loads(cli("sim", "show", "--stack", stack, "--json").stdout)
    return {m["name"]: [(o["name"], o["status"]) for o in m["operations"]] for m in world["machines"]}


def machine(run: dict, name: str) -> dict:
    return next(m for g in run["groups"] for m in g["machines"] if m["name"] == name)


def events(run_id: str, step_suffix: str) -> list[str]:
    return [e["type"] for e in run_events(run_id) if (e["step_id"] or "").endswith(step_suffix)]


def test_fail_fails_the_run_and_resume_redrives_only_what_did_not_succeed(cli, faults, engine):
    # dev syncs multi-VM groups: the application group fails over as one recovery-plan job, so a fault on one of
    # its machines fails the group's job, and the redrive sends that group's job again — nothing else.
    faults(fault("erp-app01", "test-failover", "fail", 1))
    result = cli("drill", "erp", "--stack", "dev", "--auto-approve")
    assert result.exit_code == 1
    assert "erp-app01: test-failover job" in result.stderr and "simulated fault" in result.stderr
    run = runs(cli)[-1]
    assert run["status"] == "failed" and "erp-app01" in run["error"]
    assert machine(run, "erp-app01")["status"] == "failed" and machine(run, "erp-app02")["status"] == "failed"
    assert machine(run, "erp-sql01")["status"] == "succeeded"
    assert [g["status"] for g in run["groups"]] == ["succeeded", "failed"]  # the web group never started

    resumed = cli("runs", "resume", run["run_id"])
    assert resumed.exit_code == 0, resumed.stderr
    run = runs(cli)[-1]
    assert run["status"] == "succeeded" and machine(run, "erp-app01")["attempts"] == 2
    assert machine(run, "erp-sql01")["attempts"] == 1
    world = ops(cli)
    for name in ("erp-app01", "erp-app02"):
        assert [o for o in world[name] if o[0] == "test-failover"] == [("test-failover", "Failed"),
                                                                        ("test-failover", "Succeeded")]
    for name in ("erp-sql01", "erp-sql02", "erp-web01", "erp-web02"):
        assert world[name] == [("test-failover", "Succeeded"), ("cleanup-test-failover", "Succeeded")]


def test_hang_hits_the_step_timeout_and_cancels_the_job(cli, faults):
    faults(fault("erp-web02", "test-failover", "hang"))
    result = cli("drill", "erp", "--stack", "dev", "--auto-approve")
    assert result.exit_code == 1
    run = runs(cli)[-1]
    web02 = machine(run, "erp-web02")
    assert web02["status"] == "failed" and "past its 120-minute deadline" in web02["error"]
    assert from_iso(web02["finished_at"]).timestamp() - from_iso(web02["started_at"]).timestamp() >= 7200
    assert ops(cli)["erp-web02"] == [("test-failover", "Cancelled")]


def test_throttle_is_retried_after_retry_after_without_duplicates(cli, faults, engine):
    faults(fault("erp-sql01", "test-failover", "throttle", 2))
    assert cli("drill", "erp", "--stack", "dev", "--auto-approve").exit_code == 0
    run = runs(cli)[-1]
    sql01 = machine(run, "erp-sql01")
    waited = from_iso(sql01["started_at"]).timestamp() - from_iso(run["groups"][0]["started_at"]).timestamp()
    assert waited >= 40  # two 429s with Retry-After 20 s each
    assert events(run["run_id"], "m/erp-sql01")[:5] == ["intent", "throttled", "intent", "throttled", "intent"]
    assert ops(cli)["erp-sql01"][0] == ("test-failover", "Succeeded")
    assert len(ops(cli)["erp-sql01"]) == 2  # one test failover, one cleanup


def test_lost_response_is_reconciled_not_resent(cli, faults, engine):
    faults(fault("erp-web01", "test-failover", "lose-response", 1))
    assert cli("drill", "erp", "--stack", "dev", "--auto-approve").exit_code == 0
    run = runs(cli)[-1]
    assert events(run["run_id"], "s0/g2/m/erp-web01")[:3] == ["intent", "ambiguous", "reconciled"]
    assert ops(cli)["erp-web01"] == [("test-failover", "Succeeded"), ("cleanup-test-failover", "Succeeded")]


def test_failing_runbook_fails_the_run_with_its_reason(cli, faults, engine):
    faults(fault(None, "ASR-AddPublicIp", "fail", 1))
    result = cli("drill", "erp", "--stack", "dev", "--auto-approve")
    assert result.exit_code == 1
    run = runs(cli)[-1]
    action = run["groups"][2]["actions"][0]
    assert action["name"] == "ASR-AddPublicIp" and action["status"] == "failed"
    assert "runbook ASR-AddPublicIp failed: simulated fault" in run["error"]
    assert cli("runs", "resume", run["run_id"]).exit_code == 0  # times: 1 — the redrive runs it again


class FlakyReads(SimulatorProvider):
    """503 on the first two batched reads: the engine must retry them with backoff, not give up."""

    failures = 2

    def describe_machines(self, names):
        if self.failures:
            self.failures -= 1
            raise TransientError("503 Service Unavailable", retry_after=3)
        return super().describe_machines(names)


def test_transient_read_errors_are_retried_with_backoff(tmp_path: Path):
    stack = load_stack("dev")
    plan = load_plan("erp", stack, "dev")
    provider = FlakyReads(stack, "dev", speed=100000, faults=[])
    journal = Journal()
    run_id = start_run(journal, plan, stack, "dev", provider, "drill-no-cleanup")
    engine, runtime = engine_for(journal, run_id, plan, stack, "dev", provider)
    assert drive(engine, runtime) == "succeeded"
    assert provider.failures == 0 and engine.calls["reads"] >= 2
    provider.close()
    journal.close()

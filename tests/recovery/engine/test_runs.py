"""Run lifecycle guarantees: one active run per plan, durable pauses and approvals, plan changes, cancel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from asrctl.errors import BadInput
from asrctl.recovery.journal import Journal
from asrctl.recovery.records import RunSpec
from recovery.conftest import PROJECT, run_id_from, show


def test_manual_action_pauses_durably_and_records_the_approval(cli, engine):
    paused = cli("drill", "erp", "--stack", "prod")  # not a TTY: the manual action pauses the run
    assert paused.exit_code == 3
    run_id = run_id_from(paused.stderr)
    assert f"asrctl runs resume {run_id} --approve --by NAME --comment TEXT" in paused.stderr
    run = show(cli, run_id)
    assert run["status"] == "paused" and run["finished_at"] is None
    assert run["paused_step"]["group"] == "web" and run["paused_step"]["name"].startswith("Log in to")
    manual = run["groups"][2]["actions"][1]
    assert manual["status"] == "waiting-approval" and manual["approved_by"] is None

    # A fresh process (the restart) approves and finishes it.
    env = {**os.environ, "ASRCTL_SIM_SPEED": "100000"}
    proc = subprocess.run(
        [sys.executable, "-m", "asrctl", "runs", "resume", run_id, "--approve", "--by", "alice",
         "--comment", "journal entry 4711 posted"], capture_output=True, text=True, env=env, cwd=PROJECT, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    run = show(cli, run_id)
    assert run["status"] == "succeeded"
    manual = run["groups"][2]["actions"][1]
    assert (manual["status"], manual["approved_by"], manual["comment"]) == ("succeeded", "alice",
                                                                            "journal entry 4711 posted")
    assert manual["approved_at"].endswith("Z")
    # machines were not sent twice by the resume
    ops = json.loads(cli("sim", "show", "--stack", "prod", "--json").stdout)["machines"]
    assert all([o["name"] for o in m["operations"]] == ["test-failover", "cleanup-test-failover"]
               for m in ops if m["name"].startswith("erp-"))
    assert cli("runs", "resume", run_id).exit_code == 2  # succeeded: nothing to resume


def test_one_active_run_per_plan(cli):
    first = cli("drill", "erp", "--stack", "prod")
    assert first.exit_code == 3
    run_id = run_id_from(first.stderr)
    second = cli("failover", "erp", "--stack", "prod", "--planned")
    assert second.exit_code == 2
    assert f"already has an active run {run_id} (paused)" in second.stderr
    # another plan, or the same plan on another stack, is not blocked
    assert cli("drill", "erp", "--stack", "dev", "--auto-approve").exit_code == 0
    # the database guard holds even without the CLI's checks (two processes racing)
    journal = Journal()
    with pytest.raises(BadInput, match=f"active run {run_id}"):
        journal.create_run(run_id="erp-racer", plan="erp", stack="prod", provider="simulator", plan_path="x",
                           plan_sha256="y", clock="simulated", targets={}, readiness=[],
                           spec=RunSpec(command="drill", command_key="drill",
                                        stages=("test-failover", "cleanup-test-failover")))
    journal.close()


def test_cancel_a_paused_run_then_start_again(cli, engine):
    run_id = run_id_from(cli("drill", "erp", "--stack", "prod").stderr)
    result = cli("runs", "cancel", run_id)
    assert result.exit_code == 0 and f"run {run_id} cancelled" in result.stdout
    # the drill's test VMs are up: the cancel says which, and how to clean them up
    assert "test VMs are still running in the isolated network for erp-sql01, erp-sql02" in result.stderr
    assert "`asrctl cleanup erp --stack prod`" in result.stderr
    assert show(cli, run_id)["status"] == "cancelled"
    assert cli("runs", "resume", run_id).exit_code == 2
    assert cli("runs", "cancel", run_id).exit_code == 2
    assert cli("runs", "resume", "no-such-run").exit_code == 2
    # the test VMs from the cancelled drill are still up: cleanup, then a new drill may start
    assert cli("cleanup", "erp", "--stack", "prod").exit_code == 0
    assert cli("drill", "erp", "--stack", "prod", "--auto-approve").exit_code == 0


def test_resume_refuses_a_changed_plan(cli, project_copy):
    run_id = run_id_from(cli("drill", "erp", "--stack", "prod").stderr)
    plan = project_copy / "runbooks" / "plans" / "erp.yaml"
    plan.write_text(plan.read_text().replace("timeout: 1h", "timeout: 2h"))
    result = cli("runs", "resume", run_id, "--approve", "--by", "bob")
    assert result.exit_code == 2
    assert "erp.yaml: changed since run" in result.stderr and "restore the file" in result.stderr
    assert show(cli, run_id)["status"] == "paused"  # untouched


def test_manual_action_timeout_fails_the_run(cli, project_copy):
    import time

    plan = project_copy / "runbooks" / "plans" / "erp.yaml"
    plan.write_text(plan.read_text().replace("timeout: 1h", "timeout: 1s"))
    run_id = run_id_from(cli("drill", "erp", "--stack", "prod").stderr)
    time.sleep(1.2)
    result = cli("runs", "resume", run_id, "--approve", "--by", "late")
    assert result.exit_code == 1
    run = show(cli, run_id)
    assert run["status"] == "failed" and "not approved within its 1s timeout" in run["error"]
    assert run["groups"][2]["actions"][1]["approved_by"] is None


def test_a_timed_out_approval_is_requested_again_when_the_run_is_redriven(cli, project_copy, monkeypatch):
    from asrctl.recovery import local

    # The approval timeout runs on the wall clock: move it by hand, so a loaded machine cannot change the outcome.
    wall = [1_800_000_000.0]
    monkeypatch.setattr(local, "wall_time", lambda: wall[0])
    plan = project_copy / "runbooks" / "plans" / "erp.yaml"
    plan.write_text(plan.read_text().replace("timeout: 1h", "timeout: 3s"))
    run_id = run_id_from(cli("drill", "erp", "--stack", "prod").stderr)
    wall[0] += 3.2
    assert cli("runs", "resume", run_id).exit_code == 1  # the approval timed out: the run fails
    # The redrive asks again, with a fresh timeout (not the one that already ran out): the run pauses...
    again = cli("runs", "resume", run_id)
    assert again.exit_code == 3, again.stderr
    manual = show(cli, run_id)["groups"][2]["actions"][1]
    assert (manual["status"], manual["finished_at"], manual["error"]) == ("waiting-approval", None, None)
    # ...and the operator, now present, finishes it.
    done = cli("runs", "resume", run_id, "--approve", "--by", "carol", "--comment", "smoke test passed")
    assert done.exit_code == 0, done.stderr
    run = show(cli, run_id)
    manual = run["groups"][2]["actions"][1]
    assert run["status"] == "succeeded"
    assert (manual["status"], manual["approved_by"], manual["comment"]) == ("succeeded", "carol", "smoke test passed")


def test_cancel_stops_a_running_run_before_its_next_side_effect(cli):
    import time

    env = {**os.environ, "ASRCTL_SIM_SPEED": "100"}  # slow enough that the database group takes ~5 s
    proc = subprocess.Popen([sys.executable, "-m", "asrctl", "drill", "erp", "--stack", "dev", "--auto-approve"],
                            env=env, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = json.loads(cli("runs", "list", "--json").stdout)["runs"]
            # the run row exists a moment before its first group does
            groups = show(cli, runs[0]["run_id"])["groups"] if runs else []
            started = bool(groups) and any(m["job_id"] for m in groups[0]["machines"])
            if started:
                break
            time.sleep(0.05)
        assert started, "the drill never started a job"
        result = cli("runs", "cancel", runs[0]["run_id"])
        assert result.exit_code == 0
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    run = show(cli, runs[0]["run_id"])
    assert run["status"] == "cancelled" and "cancelled" in run["error"]
    journal = Journal()
    events = journal.events(runs[0]["run_id"])
    journal.close()
    cancel_at = next(e["seq"] for e in events if e["type"] == "cancel-requested")
    assert not [e for e in events if e["seq"] > cancel_at and e["type"] == "intent"]  # no side effect after it
    world = json.loads(cli("sim", "show", "--stack", "dev", "--json").stdout)["machines"]
    assert all(m["operations"] == [] for m in world if m["name"].startswith("erp-web"))  # the last group never ran

"""Team mode against a real dev server: one run per plan across processes, approvals from any machine, durable
pauses and approval timeouts, cancel, detach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from asrctl.recovery.temporal import client
from recovery.conftest import PROJECT, run_id_from


def asrctl(*args: str, home: str | None = None, **env: str) -> subprocess.Popen[str]:
    """``asrctl ARGS`` as another process (another operator), with its own $ASRCTL_HOME when ``home`` is given."""
    environ = {**os.environ, "ASRCTL_ENGINE": "temporal", **env}
    if home is not None:
        environ["ASRCTL_HOME"] = home
    return subprocess.Popen([sys.executable, "-m", "asrctl", *args], env=environ, cwd=PROJECT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def world_ops(cli, stack: str) -> dict[str, list[str]]:
    machines = json.loads(cli("sim", "show", "--stack", stack, "--json").stdout)["machines"]
    return {m["name"]: [o["name"] for o in m["operations"]] for m in machines}


def team_show(cli, run_id: str) -> dict:
    result = cli("runs", "show", run_id, "--json", "--engine", "temporal")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def wait_for(predicate, timeout: float = 60.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s")


def test_the_same_plan_started_from_two_processes_is_one_run(cli, team):
    team.worker()
    first, second = asrctl("drill", "erp", "--stack", "prod"), asrctl("drill", "erp", "--stack", "prod")
    results = [(p.wait(120), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [2, 3], results  # one pauses at the manual action, the other is refused
    paused = next(err for code, _, err in results if code == 3)
    refused = next(err for code, _, err in results if code == 2)
    run_id = run_id_from(paused)
    assert f"already has an active run {run_id}" in refused and "--engine temporal" in refused
    runs = json.loads(cli("runs", "list", "--json", "--engine", "temporal").stdout)["runs"]
    assert [r["run_id"] for r in runs] == [run_id] and runs[0]["status"] == "paused"
    # the refused process sent nothing: every erp machine has one test failover, from the one run
    assert all(ops == ["test-failover"] for name, ops in world_ops(cli, "prod").items() if name.startswith("erp-"))


def test_an_approval_from_another_machine_with_its_own_home_finishes_the_run(cli, team, tmp_path):
    team.worker()
    paused = cli("drill", "erp", "--stack", "prod", "--engine", "temporal")
    assert paused.exit_code == 3, paused.stderr
    run_id = run_id_from(paused.stderr)
    assert f"asrctl runs resume {run_id} --approve --by NAME --comment TEXT --engine temporal" in paused.stderr

    other_home = tmp_path / "approver-home"  # another operator's machine: nothing of the run is on it
    approver = asrctl("runs", "resume", run_id, "--approve", "--by", "alice", "--comment", "journal entry 4711",
                      home=str(other_home))
    out, err = approver.communicate(timeout=120)
    assert approver.returncode == 0, err
    assert "Verdict: PASS" in out
    assert list((other_home / "reports").glob(f"{run_id}.html"))  # the approver followed it to its report

    for home in (os.environ["ASRCTL_HOME"], str(other_home)):  # the same run from both machines
        viewer = asrctl("runs", "show", run_id, "--json", home=home)
        doc = json.loads(viewer.communicate(timeout=60)[0])
        manual = doc["groups"][2]["actions"][1]
        assert doc["status"] == "succeeded" and doc["engine"] == "temporal"
        assert (manual["approved_by"], manual["comment"]) == ("alice", "journal entry 4711")
    assert all(ops == ["test-failover", "cleanup-test-failover"]
               for name, ops in world_ops(cli, "prod").items() if name.startswith("erp-"))
    # approving a finished run is refused, from anywhere
    assert cli("runs", "resume", run_id, "--approve", "--by", "bob", "--engine", "temporal").exit_code == 2


def test_a_worker_restarted_mid_pause_keeps_the_pause(cli, team):
    import signal

    worker = team.spawn_worker()
    paused = cli("drill", "erp", "--stack", "prod", "--engine", "temporal")
    assert paused.exit_code == 3, paused.stderr
    run_id = run_id_from(paused.stderr)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    team.spawn_worker()  # a new worker replays the run from its history, to the same wait

    def shown():  # the new process answers once it has started and polls (seconds; longer on a busy machine)
        result = cli("runs", "show", run_id, "--json", "--engine", "temporal")
        if result.exit_code == 0:
            return json.loads(result.stdout)
        assert result.exit_code == 1 and "no worker answered" in result.stderr, result.stderr
        return None

    doc = wait_for(shown, timeout=180, what="an answer to `runs show` from the restarted worker")
    assert doc["status"] == "paused" and doc["paused_step"]["name"].startswith("Log in to")
    done = cli("runs", "resume", run_id, "--approve", "--by", "carol", "--comment", "after the restart",
               "--engine", "temporal")
    assert done.exit_code == 0, done.stderr
    doc = team_show(cli, run_id)
    assert doc["status"] == "succeeded" and doc["groups"][2]["actions"][1]["approved_by"] == "carol"
    assert all(ops == ["test-failover", "cleanup-test-failover"]
               for name, ops in world_ops(cli, "prod").items() if name.startswith("erp-"))


def test_a_running_run_no_worker_answers_for_is_one_line_not_a_traceback(cli, team):
    # No worker at all: the run is started (Temporal holds it) but nothing can answer its queries.
    started = cli("drill", "erp", "--stack", "dev", "--auto-approve", "--detach", "--engine", "temporal")
    assert started.exit_code == 0, started.stderr
    run_id = started.stdout.strip()
    result = cli("runs", "show", run_id, "--engine", "temporal")  # the server gives up after about 10 s
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: run {run_id} is running, but no worker answered"), result.stderr
    assert "start `asrctl worker` for task queue asrctl-test" in result.stderr


def test_an_unanswered_approval_times_out_by_itself(cli, team, project_copy):
    team.worker()
    plan = project_copy / "runbooks" / "plans" / "erp.yaml"
    plan.write_text(plan.read_text().replace("timeout: 1h", "timeout: 2s"))
    paused = cli("drill", "erp", "--stack", "prod", "--engine", "temporal")
    assert paused.exit_code == 3, paused.stderr
    run_id = run_id_from(paused.stderr)
    # nobody resumes anything: the workflow's durable timer ends the wait
    doc = wait_for(lambda: d if (d := team_show(cli, run_id))["status"] == "failed" else None,
                   what="the approval timeout")
    manual = doc["groups"][2]["actions"][1]
    assert "not approved within its 2s timeout" in doc["error"]
    assert manual["status"] == "failed" and manual["approved_by"] is None
    late = cli("runs", "resume", run_id, "--approve", "--by", "late", "--engine", "temporal")
    assert late.exit_code == 2 and "not waiting for an approval" in late.stderr


def test_cancel_stops_a_detached_run_before_its_next_side_effect(cli, team, monkeypatch):
    team.worker()
    monkeypatch.setenv("ASRCTL_SIM_SPEED", "100")  # the database group takes ~5 s of real time
    started = cli("drill", "erp", "--stack", "dev", "--auto-approve", "--detach", "--engine", "temporal")
    assert started.exit_code == 0, started.stderr  # returned at once, with the run id
    run_id = started.stdout.strip()
    assert f"run {run_id} started on Temporal" in started.stderr

    def first_job():
        doc = team_show(cli, run_id)
        return doc if doc["groups"] and any(m["job_id"] for m in doc["groups"][0]["machines"]) else None

    wait_for(first_job, what="the first job")
    result = cli("runs", "cancel", run_id, "--engine", "temporal")
    assert result.exit_code == 0, result.stderr
    assert f"run {run_id} cancelled" in result.stdout
    doc = team_show(cli, run_id)
    assert doc["status"] == "cancelled" and "cancelled" in doc["error"]
    # the jobs already sent are recorded with their ids, never abandoned half-known
    assert all(m["job_id"] for m in doc["groups"][0]["machines"])
    events = client.run_events(run_id)
    cancel_at = next(e["seq"] for e in events if e["type"] == "cancel-requested")
    assert not [e for e in events if e["seq"] > cancel_at and e["type"] == "intent"]  # nothing sent after it
    assert all(ops == [] for name, ops in world_ops(cli, "dev").items() if name.startswith("erp-web"))
    assert cli("runs", "cancel", run_id, "--engine", "temporal").exit_code == 2  # already cancelled


def test_detach_needs_the_temporal_engine(cli):
    result = cli("drill", "erp", "--stack", "dev", "--detach")
    assert result.exit_code == 2 and "--detach needs the temporal engine" in result.stderr

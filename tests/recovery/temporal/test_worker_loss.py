"""Workers that die mid-failover: kill -9 at random moments while another worker runs — every machine is failed
over (and cleaned up) exactly once, and the run finishes."""

from __future__ import annotations

import json
import os
import random
import signal
import time

from asrctl.recovery.temporal import client

KILLS = 3


def hr_drill_project(project_copy) -> None:
    """Per-machine jobs (no multi-VM groups) and no scripts: eleven machines, each its own side effects to get
    wrong, in three groups."""
    stack = project_copy / "stacks" / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text().replace("multiVmSync: true", "multiVmSync: false"))
    plan = project_copy / "runbooks" / "plans" / "hr.yaml"
    plan.write_text("name: hr\ngroups:\n"
                    "  - name: database\n    machines: [hr-db01, hr-db02]\n"
                    "  - name: application\n    machines: [hr-app01, hr-app02, hr-app03, hr-app04, hr-app05]\n"
                    "  - name: web\n    machines: [hr-web01, hr-web02, hr-web03, hr-web04]\n")


def assert_each_machine_once(cli, context: str) -> None:
    world = json.loads(cli("sim", "show", "--stack", "prod", "--json").stdout)["machines"]
    ops = {m["name"]: [(o["name"], o["status"]) for o in m["operations"]] for m in world
           if m["name"].startswith("hr-")}
    assert len(ops) == 11
    for name, done in ops.items():
        assert done == [("test-failover", "Succeeded"), ("cleanup-test-failover", "Succeeded")], f"{name}: {context}"


def test_a_worker_lost_after_sending_a_failover_is_reconciled_by_another(cli, team, project_copy):
    hr_drill_project(project_copy)
    # The only worker dies right after its third failover reached the vault, before it could report the job; a
    # second worker, started only then, must finish the run (alone from the start, the doomed one surely sends 3).
    doomed = team.spawn_worker(ASRCTL_TEST_WORKER_CRASH="sent#3")
    started = cli("drill", "hr", "--stack", "prod", "--auto-approve", "--detach", "--engine", "temporal")
    assert started.exit_code == 0, started.stderr
    run_id = started.stdout.strip()
    assert doomed.wait(120) == 137  # it did die
    team.spawn_worker()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = next((r.status for r in client.list_runs() if r.run_id == run_id), "?")
        if status in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.5)
    assert status == "succeeded", f"run {run_id} is {status} after 240 s"
    events = client.run_events(run_id)  # one query: once the run has ended, each costs a worker a full replay
    lost = [e for e in events if e["type"] == "ambiguous"]
    assert len(lost) == 1 and "no worker answered" in lost[0]["data"]["error"]
    step = lost[0]["step_id"]
    kinds = [e["type"] for e in events if e["step_id"] == step]
    assert kinds[:4] == ["intent", "ambiguous", "reconciled", "machine-succeeded"]  # found by request id, adopted
    assert_each_machine_once(cli, f"step {step}")


def test_killing_workers_at_random_points_never_fails_a_machine_over_twice(cli, team, project_copy, monkeypatch):
    hr_drill_project(project_copy)
    monkeypatch.setenv("ASRCTL_SIM_SPEED", "300")  # a few seconds of real time per group: room to kill in
    seed = int(os.environ.get("ASRCTL_TEST_SEED", time.time()))
    rng = random.Random(seed)
    workers = [team.spawn_worker(), team.spawn_worker()]
    started = cli("drill", "hr", "--stack", "prod", "--auto-approve", "--detach", "--engine", "temporal")
    assert started.exit_code == 0, started.stderr
    run_id = started.stdout.strip()

    def status() -> str:  # from the workflow's memo (visibility): needs no live worker
        return next((r.status for r in client.list_runs() if r.run_id == run_id), "?")

    kills = []
    deadline = time.monotonic() + 240
    while len(kills) < KILLS and time.monotonic() < deadline and status() not in ("succeeded", "failed"):
        time.sleep(rng.uniform(0.5, 4.0))
        victim = workers.pop(rng.randrange(len(workers)))
        os.kill(victim.pid, signal.SIGKILL)  # mid-activity or mid-workflow-task, whatever it was doing
        victim.wait(10)
        kills.append(round(time.monotonic(), 1))
        workers.append(team.spawn_worker())  # two workers again: one survivor, one newcomer
    while time.monotonic() < deadline and status() not in ("succeeded", "failed", "cancelled"):
        time.sleep(0.5)
    doc = json.loads(cli("runs", "show", run_id, "--json", "--engine", "temporal").stdout)
    context = f"seed {seed}, {len(kills)} kills, felt in the history as {_losses(run_id)}"
    assert len(kills) >= 2, f"the run ended before the workers could be killed ({context})"
    assert doc["status"] == "succeeded", f"{context}: {doc['error']}"
    assert_each_machine_once(cli, context)


def _losses(run_id: str) -> dict[str, int]:
    """How the kills showed in the run's history (for the failure message and manual inspection)."""
    from asrctl.recovery.temporal.client import _find, run_sync

    async def main() -> dict[str, int]:
        _, handle, _, _ = await _find(run_id)
        counts: dict[str, int] = {}
        async for event in handle.fetch_history_events():
            name = event.WhichOneof("attributes") or ""
            if "timed_out" in name or "failed" in name:
                counts[name] = counts.get(name, 0) + 1
        return counts

    return run_sync(main)

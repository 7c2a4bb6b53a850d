"""Pacing and time: the rate limiter keeps inside ARM's budget; on a discrete-event clock the engine's RTO is the
plan's critical path plus only its polling lag (groups strictly in order, machines of a group in parallel)."""

from __future__ import annotations

import threading

from asrctl.config import load_stack
from asrctl.plans import load_plan
from asrctl.recovery.approval import AutoApprover
from asrctl.recovery.engine import Engine
from asrctl.recovery.journal import Journal
from asrctl.recovery.provider import from_iso
from asrctl.recovery.ratelimit import RateLimiter
from asrctl.recovery.simulator import SimulatorProvider
from asrctl.recovery.virtualclock import VirtualClock


def test_virtual_clock_advances_only_when_every_participant_sleeps():
    clock = VirtualClock(1000.0, participants=2)
    woke: list[tuple[str, float]] = []

    def sleeper(name: str, seconds: float) -> None:
        clock.sleep(seconds)
        woke.append((name, clock.now()))
        clock.leave()

    first = threading.Thread(target=sleeper, args=("a", 30))
    first.start()
    first.join(timeout=0.2)
    assert first.is_alive() and clock.now() == 1000.0  # b has not slept yet: time stands still
    second = threading.Thread(target=sleeper, args=("b", 10))
    second.start()
    first.join(timeout=5)
    second.join(timeout=5)
    assert woke == [("b", 1010.0), ("a", 1030.0)]


def test_rate_limiter_never_exceeds_its_window():
    clock = VirtualClock(0.0, participants=4)
    limiter = RateLimiter(clock, reads_per_second=5, writes_per_second=2)
    stamps: list[float] = []
    lock = threading.Lock()

    def caller() -> None:
        for _ in range(10):
            limiter.acquire("writes")
            with lock:
                stamps.append(clock.now())
        clock.leave()

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(stamps) == 40
    assert max(sum(1 for s in stamps if t - 1 < s <= t) for t in stamps) <= 2
    assert max(stamps) >= 19  # 40 writes at 2/s need about 20 s


def test_engine_rto_is_critical_path_plus_polling_lag():
    stack = load_stack("dev")
    plan = load_plan("erp", stack, "dev")
    provider = SimulatorProvider(stack, "dev", faults=[])
    provider.clock = VirtualClock(provider.clock.now(), participants=1)
    journal = Journal()
    run_id = journal.create_run(plan="erp", stack="dev", operation="unplanned-failover", provider="simulator",
                                plan_path=str(plan.path), plan_sha256=plan.sha256,
                                options={"stages": ["unplanned-failover"], "main_stage": 0})
    engine = Engine(plan, stack, "dev", provider, journal, run_id, approver=AutoApprover())
    try:
        assert engine.run() == "succeeded"
    finally:
        provider.clock.leave()
    jobs = {o["job_id"]: o for m in provider.snapshot()["machines"] for o in m["operations"]}
    steps = {s["name"]: s for s in journal.steps(run_id) if s["kind"] == "machine"}
    duration = {name: (from_iso(jobs[s["job_id"]]["finished_at"]) - from_iso(jobs[s["job_id"]]["time"])).total_seconds()
                for name, s in steps.items()}
    critical_path = sum(max(duration[m] for m in g.machines) for g in plan.groups)
    stage = journal.step(run_id, "s0")
    achieved = (from_iso(stage["finished_at"]) - from_iso(stage["started_at"])).total_seconds()
    # the after-actions (scripts, a runbook) take simulated time too: allow them, and 2 poll intervals per group
    actions = sum((from_iso(s["finished_at"]) - from_iso(s["started_at"])).total_seconds()
                  for s in journal.steps(run_id) if s["kind"] in ("script", "runbook", "manual"))
    assert critical_path <= achieved <= critical_path + actions + len(plan.groups) * 2 * provider.poll_interval + 5
    groups = [s for s in journal.steps(run_id) if s["kind"] == "group"]
    assert all(a["finished_at"] <= b["started_at"] for a, b in zip(groups, groups[1:], strict=False))
    provider.close()
    journal.close()


def test_polls_wait_for_the_earliest_plausible_end_then_poll_faster():
    from asrctl.recovery.engine import QUIET_POLL_FACTOR, _MachineTask

    stack = load_stack("dev")
    plan = load_plan("erp", stack, "dev")
    provider = SimulatorProvider(stack, "dev", faults=[])
    provider.clock = VirtualClock(1000.0, participants=1)
    journal = Journal()
    run_id = journal.create_run(plan="erp", stack="dev", operation="test-failover", provider="simulator",
                                plan_path=str(plan.path), plan_sha256=plan.sha256,
                                options={"stages": ["test-failover"], "main_stage": 0})
    engine = Engine(plan, stack, "dev", provider, journal, run_id, approver=AutoApprover())
    interval = engine.poll_interval
    task = _MachineTask(run_id, "erp-sql01", "s0/g0/m/erp-sql01", 1, "poll", started=990.0)
    try:
        assert engine._next_poll("test-failover", [task]) == 1000.0 + interval  # nothing known yet: the default
        engine.provider._asrctl_shortest_jobs["test-failover"] = 400.0  # a test failover took 400 s at best
        # too early for any job to be done: quiet, but never longer than QUIET_POLL_FACTOR intervals
        assert engine._next_poll("test-failover", [task]) == 1000.0 + QUIET_POLL_FACTOR * interval
        task.started = 1000.0 - 380.0 + 1.0  # 1 s before 95 % of the shortest job
        assert engine._next_poll("test-failover", [task]) == 1001.0
        task.started = 1000.0 - 390.0  # inside the window where it can end: twice the rate
        assert engine._next_poll("test-failover", [task]) == 1000.0 + interval / 2
        assert engine._next_poll("commit", [task]) == 1000.0 + interval  # per operation
    finally:
        provider.clock.leave()
        provider.close()
        journal.close()


def test_machines_of_a_group_run_in_parallel_up_to_the_concurrency_bound():
    from asrctl.plans import Plan

    stack = load_stack("prod")
    names = [m.name for m in stack.machines][:8]
    plan = Plan.model_validate({"name": "wide", "groups": [{"name": "all", "machines": names}]})
    provider = SimulatorProvider(stack, "prod", faults=[])
    provider.clock = VirtualClock(provider.clock.now(), participants=1)
    journal = Journal()
    run_id = journal.create_run(plan="wide", stack="prod", operation="test-failover", provider="simulator",
                                plan_path="wide.yaml", plan_sha256="x",
                                options={"stages": ["test-failover"], "main_stage": 0})
    engine = Engine(plan, stack, "prod", provider, journal, run_id, approver=AutoApprover(), concurrency=3)
    try:
        assert engine.run() == "succeeded"
    finally:
        provider.clock.leave()
    jobs = [(from_iso(o["time"]).timestamp(), from_iso(o["finished_at"]).timestamp())
            for m in provider.snapshot()["machines"] for o in m["operations"]]
    assert len(jobs) == 8
    in_flight = [sum(1 for s, f in jobs if s <= t < f) for t, _ in jobs]
    assert max(in_flight) == 3  # in parallel, and never more than the bound
    provider.close()
    journal.close()

"""Pacing and time: the token bucket keeps inside ARM's budget with its burst; the engine's RTO is the plan's
critical path plus only its polling lag (groups strictly in order, machines of a group in parallel), and it does not
depend on how busy the machine is."""

from __future__ import annotations

import asyncio

from asrctl.config import load_stack
from asrctl.plans import Plan, load_plan
from asrctl.recovery.clock import VirtualClock, from_iso
from asrctl.recovery.journal import Journal
from asrctl.recovery.local import drive
from asrctl.recovery.pacing import RateLimiter, TokenBucket
from asrctl.recovery.providers.protocol import Capabilities
from asrctl.recovery.providers.simulator import SimulatorProvider
from recovery.conftest import engine_for, start_run


def per_machine(stack):
    """The stack without multi-VM sync: every machine is its own job (no recovery-plan jobs)."""
    return stack.model_copy(update={"replication": stack.replication.model_copy(update={"multi_vm_sync": False})})


def test_virtual_clock_advances_only_when_every_participant_waits():
    async def scenario() -> list[tuple[str, float]]:
        clock = VirtualClock(1000.0)
        woke: list[tuple[str, float]] = []

        async def sleeper(name: str, seconds: float, delay_start: bool) -> None:
            if delay_start:
                await asyncio.sleep(0.05)  # real time passes; simulated time must not
                assert clock.now() == 1000.0
            await clock.wait(seconds)
            woke.append((name, clock.now()))
            clock.leave()

        clock.join()
        clock.join()
        await asyncio.gather(sleeper("a", 30, False), sleeper("b", 10, True))
        return woke

    assert asyncio.run(scenario()) == [("b", 1010.0), ("a", 1030.0)]


def test_token_bucket_allows_the_burst_then_the_sustained_rate():
    bucket = TokenBucket(rate=2.0, burst=10.0, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(14)]
    assert waits[:10] == [0.0] * 10  # the burst goes out at once
    assert waits[10:] == [0.5, 1.0, 1.5, 2.0]  # then 2 per second
    assert bucket.reserve(10.0) == 0.0  # refilled while idle


def test_rate_limiter_keeps_inside_arms_budget():
    caps = Capabilities(poll_interval=1.0, jobs_can_suspend=False, group_jobs=False)
    limiter = RateLimiter(caps, now=0.0)
    now, sent = 0.0, []
    for _ in range(600):  # 600 writes as fast as the limiter lets them go
        now += limiter.reserve("writes", now)
        sent.append(now)
    # ARM: burst 200 refilled 10/s. The client stays at 90 % of both: 180 at once, then 9 per second.
    assert sum(1 for t in sent if t == 0.0) == 180
    assert all(sum(1 for t in sent if a - 1 < t <= a) <= 10 for a in sent if a > 1)
    assert 600 - 180 <= 9 * sent[-1] + 1


def _unplanned(stack_name: str, stack=None):
    stack = stack or load_stack(stack_name)
    plan = load_plan("erp", stack, stack_name)
    provider = SimulatorProvider(stack, stack_name, faults=[], speed=1e9)
    journal = Journal()
    run_id = start_run(journal, plan, stack, stack_name, provider, "failover-unplanned")
    return stack, plan, provider, journal, run_id


def test_engine_rto_is_critical_path_plus_polling_lag():
    stack, plan, provider, journal, run_id = _unplanned("dev")
    engine, runtime = engine_for(journal, run_id, plan, stack, "dev", provider)
    assert drive(engine, runtime) == "succeeded"
    jobs = {o["job_id"]: o for m in provider.snapshot()["machines"] for o in m["operations"]}
    steps = {s.name: s for s in journal.steps(run_id) if s.kind == "machine"}
    duration = {name: (from_iso(jobs[s.job_id]["finished_at"]) - from_iso(jobs[s.job_id]["time"])).total_seconds()
                for name, s in steps.items()}
    critical_path = sum(max(duration[m] for m in g.machines) for g in plan.groups)
    stage = journal.step(run_id, "s0")
    achieved = (from_iso(stage.finished_at) - from_iso(stage.started_at)).total_seconds()
    # the after-actions (scripts, a runbook) take simulated time too: allow them, and 2 poll intervals per group
    actions = sum((from_iso(s.finished_at) - from_iso(s.started_at)).total_seconds()
                  for s in journal.steps(run_id) if s.kind in ("script", "runbook", "manual"))
    interval = provider.capabilities.poll_interval
    assert critical_path <= achieved <= critical_path + actions + len(plan.groups) * 2 * interval + 5
    groups = [s for s in journal.steps(run_id) if s.kind == "group"]
    assert all(a.finished_at <= b.started_at for a, b in zip(groups, groups[1:], strict=False))
    provider.close()
    journal.close()


def test_polls_wait_for_the_earliest_plausible_end_then_poll_faster():
    from asrctl.recovery.machines import QUIET_POLL_FACTOR, GroupDriver, Task

    stack, plan, provider, journal, run_id = _unplanned("dev")
    engine, runtime = engine_for(journal, run_id, plan, stack, "dev", provider)
    driver = GroupDriver(engine)
    now = provider.clock.now()
    interval = engine.poll_interval
    task = Task("erp-sql01", ("erp-sql01",), ("s0/g0/m/erp-sql01",), 1, "poll", first_sent=now - 10)
    assert driver._next_poll("test-failover", [task]) == now + interval  # nothing known yet: the default
    engine.pacing.jobs.record("test-failover", 400.0)  # a test failover took 400 s at best
    # too early for any job to be done: quiet, but never longer than QUIET_POLL_FACTOR intervals
    assert driver._next_poll("test-failover", [task]) == now + QUIET_POLL_FACTOR * interval
    task.first_sent = now - 380.0 + 1.0  # 1 s before 95 % of the shortest job
    assert driver._next_poll("test-failover", [task]) == now + 1.0
    task.first_sent = now - 390.0  # inside the window where it can end: twice the rate
    assert driver._next_poll("test-failover", [task]) == now + interval / 2
    assert driver._next_poll("commit", [task]) == now + interval  # per operation
    provider.close()
    journal.close()


def test_machines_of_a_group_run_in_parallel_up_to_the_concurrency_bound():
    stack = per_machine(load_stack("prod"))
    names = [m.name for m in stack.machines][:8]
    plan = Plan.model_validate({"name": "wide", "groups": [{"name": "all", "machines": names}]})
    provider = SimulatorProvider(stack, "prod", faults=[], speed=1e9, multi_vm_groups={})
    journal = Journal()
    run_id = start_run(journal, plan, stack, "prod", provider, "drill-no-cleanup")
    engine, runtime = engine_for(journal, run_id, plan, stack, "prod", provider, concurrency=3)
    assert drive(engine, runtime) == "succeeded"
    jobs = [(from_iso(o["time"]).timestamp(), from_iso(o["finished_at"]).timestamp())
            for m in provider.snapshot()["machines"] for o in m["operations"]]
    assert len(jobs) == 8
    in_flight = [sum(1 for s, f in jobs if s <= t < f) for t, _ in jobs]
    assert max(in_flight) == 3  # in parallel, and never more than the bound
    provider.close()
    journal.close()


def test_while_several_jobs_run_the_group_is_polled_at_the_interval_and_the_last_ones_twice_as_often():
    from asrctl.recovery.machines import FAST_POLL_JOBS, GroupDriver, Task

    stack, plan, provider, journal, run_id = _unplanned("dev")
    engine, runtime = engine_for(journal, run_id, plan, stack, "dev", provider)
    driver = GroupDriver(engine)
    now = provider.clock.now()
    interval = engine.poll_interval
    engine.pacing.jobs.record("test-failover", 400.0)
    tasks = [Task(f"m{i}", (f"m{i}",), (f"s0/g0/m/m{i}",), 1, "poll", first_sent=now - 390.0)
             for i in range(FAST_POLL_JOBS + 1)]
    assert driver._next_poll("test-failover", tasks) == now + interval  # inside the window, several still run
    assert driver._next_poll("test-failover", tasks[:FAST_POLL_JOBS]) == now + interval / 2  # the last ones
    # tasks waiting for a concurrency slot: an end frees one, so ends are looked for at twice the rate
    assert driver._next_poll("test-failover", tasks, queued=True) == now + interval / 2
    provider.close()
    journal.close()


def test_waits_are_cut_at_the_poll_interval_only_on_a_wall_clock(tmp_path):
    """On a wall clock `asrctl runs cancel` must be seen within a poll interval; a simulated clock runs far ahead
    of real time, so cutting its waits would only add idle wake-ups."""
    longest = {}
    for kind in ("wall", "simulated"):
        stack = per_machine(load_stack("dev"))
        plan = load_plan("erp", stack, "dev")
        provider = SimulatorProvider(stack, "dev", faults=[], speed=1e9, multi_vm_groups={},
                                     path=tmp_path / f"{kind}.db")  # a fresh world each: both runs fail over
        waits: list[float] = []
        wait = provider.clock.wait

        async def recorded(seconds: float, _wait=wait, _waits=waits) -> None:
            _waits.append(seconds)
            await _wait(seconds)

        provider.clock.wait = recorded
        journal = Journal()
        run_id = start_run(journal, plan, stack, "dev", provider, "failover-unplanned", run_id=f"erp-{kind}")
        journal._db.execute("UPDATE runs SET clock=? WHERE run_id=?", (kind, run_id))  # the run's recorded clock
        engine, runtime = engine_for(journal, run_id, plan, stack, "dev", provider)
        assert drive(engine, runtime) == "succeeded"
        longest[kind] = max(waits)
        provider.close()
        journal.close()
    interval = SimulatorProvider.capabilities.poll_interval
    assert longest["wall"] <= interval < longest["simulated"]

"""Shared status polls: the describe_machines reads that concurrent group drivers send in the same tick become one
backend call; every caller gets its own machines back, or the error; sharing never changes a run's outcome."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asrctl.config import load_stack
from asrctl.plans import Plan
from asrctl.recovery.clock import VirtualClock
from asrctl.recovery.journal import Journal
from asrctl.recovery.pacing import JobStats, Pacing, RateLimiter
from asrctl.recovery.polling import StatusPolls
from asrctl.recovery.providers.protocol import Capabilities, MachineStatus, TransientError, WorldChanged
from asrctl.recovery.providers.simulator import SimulatorProvider
from recovery.conftest import engine_for, start_run

CAPS = Capabilities(poll_interval=2.0, jobs_can_suspend=False, group_jobs=False)
START = 1_767_225_600.0  # a fixed start, so two worlds run on the same moments


def status(name: str) -> MachineStatus:
    return MachineStatus(name=name, state="protected", protection_state="Protected", replication_health="Normal",
                         rpo_seconds=30.0, last_heartbeat=None)


class FakeBackend:
    """Answers describe_machines for the machines it knows; records every call; can fail or hold a call."""

    def __init__(self, known: set[str], error: Exception | None = None) -> None:
        self.known = known
        self.error = error
        self.calls: list[list[str]] = []
        self.hold: asyncio.Event | None = None

    async def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        self.calls.append(list(names))
        if self.hold is not None:
            await self.hold.wait()
        if self.error is not None:
            raise self.error
        return {n: status(n) for n in names if n in self.known}


class ClockRuntime:
    """The two things StatusPolls asks of a runtime: the run clock and a wait on it."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now()

    async def wait(self, seconds: float) -> None:
        await self.clock.wait(seconds)


def polls() -> StatusPolls:
    return StatusPolls(RateLimiter(CAPS, START))


def test_callers_of_one_tick_share_one_backend_call_and_get_their_own_machines():
    shared, backend = polls(), FakeBackend({"a1", "a2", "b1"})
    runtime = ClockRuntime(VirtualClock(START))
    sent: list[str] = []

    async def both():
        return await asyncio.gather(
            shared.describe(["a1", "a2"], backend, runtime, lambda: sent.append("first")),
            shared.describe(["b1", "b2"], backend, runtime, lambda: sent.append("second")),
        )

    first, second = asyncio.run(both())
    assert backend.calls == [["a1", "a2", "b1", "b2"]]  # one call, for the union
    assert set(first) == {"a1", "a2"} and first["a1"].name == "a1"
    assert set(second) == {"b1"}  # an unknown machine is left out, as the backend leaves it out
    assert sent == ["first"]  # counted once, for the caller that sent it
    assert (shared.sent, shared.asked) == (1, 2)


def test_a_shared_read_takes_one_token_of_the_read_budget():
    shared, backend = polls(), FakeBackend({f"m{i}" for i in range(10)})
    bucket = shared.limiter.buckets["reads"]
    full = bucket.tokens
    runtime = ClockRuntime(VirtualClock(START))

    async def ten():
        await asyncio.gather(*(shared.describe([f"m{i}"], backend, runtime, lambda: None) for i in range(10)))

    asyncio.run(ten())
    assert len(backend.calls) == 1
    assert bucket.tokens == full - 1


def test_callers_at_different_moments_do_not_share():
    shared, backend = polls(), FakeBackend({"a", "b"})
    clock = VirtualClock(START)
    runtime = ClockRuntime(clock)

    sent: list[str] = []

    async def apart():
        first = await shared.describe(["a", "gone"], backend, runtime, lambda: sent.append("a"))
        clock.join()
        await clock.wait(1.0)
        clock.leave()
        second = await shared.describe(["b"], backend, runtime, lambda: sent.append("b"))
        return first, second

    first, second = asyncio.run(apart())
    assert backend.calls == [["a", "gone"], ["b"]]  # alone in its tick, each caller sends its own read
    assert set(first) == {"a"} and set(second) == {"b"}
    assert sent == ["a", "b"]


@pytest.mark.parametrize("error", [TransientError("503 Service Unavailable", 3.0),
                                   WorldChanged("the simulator world was replaced")])
def test_an_error_reaches_every_caller_of_the_batch(error):
    shared, backend = polls(), FakeBackend({"a", "b"}, error=error)
    runtime = ClockRuntime(VirtualClock(START))

    async def both():
        return await asyncio.gather(shared.describe(["a"], backend, runtime, lambda: None),
                                    shared.describe(["b"], backend, runtime, lambda: None),
                                    return_exceptions=True)

    results = asyncio.run(both())
    assert len(backend.calls) == 1
    assert [type(r) for r in results] == [type(error), type(error)]
    assert all(str(r) == str(error) for r in results)


def test_a_cancelled_waiter_does_not_cancel_the_answer_for_the_others():
    shared, backend = polls(), FakeBackend({"a", "b", "c"})
    runtime = ClockRuntime(VirtualClock(START))

    async def scenario():
        backend.hold = asyncio.Event()
        sender = asyncio.ensure_future(shared.describe(["a"], backend, runtime, lambda: None))
        quitter = asyncio.ensure_future(shared.describe(["b"], backend, runtime, lambda: None))
        stayer = asyncio.ensure_future(shared.describe(["c"], backend, runtime, lambda: None))
        while not backend.calls:  # the call is out and held, as a real HTTP request would be
            await asyncio.sleep(0)
        quitter.cancel()
        await asyncio.sleep(0)
        backend.hold.set()
        return await sender, await stayer, quitter.cancelled()

    sender, stayer, quitter_cancelled = asyncio.run(scenario())
    assert set(sender) == {"a"} and set(stayer) == {"c"} and quitter_cancelled
    assert len(backend.calls) == 1


def test_the_others_retry_when_the_caller_that_sent_the_read_is_stopped_mid_call():
    shared, backend = polls(), FakeBackend({"a", "b"})
    runtime = ClockRuntime(VirtualClock(START))

    async def scenario():
        backend.hold = asyncio.Event()
        sender = asyncio.ensure_future(shared.describe(["a"], backend, runtime, lambda: None))
        other = asyncio.ensure_future(shared.describe(["b"], backend, runtime, lambda: None))
        while not backend.calls:
            await asyncio.sleep(0)
        sender.cancel()  # SIGINT in the process that was waiting for the HTTP response
        results = await asyncio.gather(sender, other, return_exceptions=True)
        return results

    sender_result, other_result = asyncio.run(scenario())
    assert isinstance(sender_result, asyncio.CancelledError)
    assert isinstance(other_result, TransientError)  # the engine's one retry layer reads again


def test_poll_moments_are_a_grid_from_the_pacing_origin_every_run_shares():
    polls = StatusPolls(limiter=None, origin=1000.0)  # type: ignore[arg-type]
    assert polls.next_tick(1000.0, 2.0) == 1000.0
    assert polls.next_tick(1000.2, 2.0) == 1001.0
    assert polls.next_tick(1001.0, 2.0) == 1001.0
    assert polls.next_tick(1000.5, 30.0) == 1015.0
    # the grid moves with its origin: a world created at another moment polls at the same offsets
    shifted = StatusPolls(limiter=None, origin=1000.3)  # type: ignore[arg-type]
    assert shifted.next_tick(1000.5, 2.0) - 1000.3 == polls.next_tick(1000.2, 2.0) - 1000.0


# -- whole runs --------------------------------------------------------------------------------------------------

def _two_plans(stack) -> list[Plan]:
    names = [m.name for m in stack.machines]
    return [
        Plan.model_validate({"name": "alpha", "groups": [{"name": "db", "machines": names[0:3]},
                                                         {"name": "app", "machines": names[3:6]}]}),
        Plan.model_validate({"name": "beta", "groups": [{"name": "db", "machines": names[6:8]},
                                                        {"name": "app", "machines": names[8:12]}]}),
    ]


def _drive_together(tmp_path: Path, label: str, share: bool):
    """Both plans' drills at once in one event loop on one simulator; one Pacing for both, or polls per run."""
    raw = load_stack("prod")
    stack = raw.model_copy(update={"replication": raw.replication.model_copy(update={"multi_vm_sync": False})})
    plans = _two_plans(stack)
    clock = VirtualClock(START)
    provider = SimulatorProvider(stack, "prod", faults=[], clock=clock, multi_vm_groups={},
                                 path=tmp_path / f"{label}.db")
    backend_reads: list[tuple[float, int]] = []
    describe = provider.describe_machines

    def counted(names):
        backend_reads.append((clock.now(), len(names)))
        return describe(names)

    provider.describe_machines = counted
    journal = Journal(tmp_path / f"{label}-journal.db")
    limiter, jobs = RateLimiter(provider.capabilities, clock.now()), JobStats()
    one_pacing = Pacing(limiter, jobs)
    engines = []
    for plan in plans:
        run_id = start_run(journal, plan, stack, "prod", provider, "drill-no-cleanup", run_id=f"{plan.name}-run")
        pacing = one_pacing if share else Pacing(limiter, jobs)
        engines.append(engine_for(journal, run_id, plan, stack, "prod", provider, pacing=pacing)[0])

    async def run_all():
        for _ in engines:
            clock.join()

        async def one(engine):
            try:
                return await engine.run()
            finally:
                clock.leave()

        return await asyncio.gather(*(one(e) for e in engines))

    statuses = asyncio.run(run_all())
    steps = {e.run_id: [(s.step_id, s.status, s.started_at, s.finished_at, s.job_id, s.attempts,
                         s.recovery_point_time, s.rpo_seconds, s.error) for s in journal.steps(e.run_id)]
             for e in engines}
    reads = {e.run_id: journal.get_run(e.run_id).api_reads for e in engines}
    total_reads = provider.api_calls["reads"]
    provider.close()
    journal.close()
    return statuses, steps, reads, total_reads, backend_reads


def test_concurrent_runs_share_their_polls_and_keep_every_outcome(tmp_path):
    alone = _drive_together(tmp_path, "alone", share=False)
    shared = _drive_together(tmp_path, "shared", share=True)
    assert alone[0] == shared[0] == ["succeeded", "succeeded"]
    # Same statuses, times, jobs, attempts and recovery points, step for step: only the read counts differ.
    assert shared[1] == alone[1]
    moments = [t for t, _ in alone[4]]
    assert len(moments) > len(set(moments))  # alone, both runs read the same moments separately
    shared_moments = [t for t, _ in shared[4]]
    assert len(shared[4]) < len(alone[4])
    # Sharing: at a moment both groups poll there is one read, for both groups' machines.
    assert any(n > 4 for _, n in shared[4])
    assert len(shared_moments) - len(set(shared_moments)) < len(moments) - len(set(moments))
    # Every backend read is counted once, for the run that sent it: the runs' counts add up to the backend's.
    assert sum(shared[2].values()) == shared[3]
    assert sum(alone[2].values()) == alone[3]

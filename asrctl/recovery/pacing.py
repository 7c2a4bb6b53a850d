"""The engine's pacing: a client-side token bucket inside ARM's request budget, what it learns about job durations
to poll well, and the status polls it sends (:mod:`asrctl.recovery.polling`). All three belong to the engine (not
to a provider) and are shared by every run in the process that talks to the same backend (:func:`pacing_for`).

ARM throttles per region, subscription and principal with token buckets: reads 250 burst refilled 25/s, writes
200 burst refilled 10/s (REFERENCE.md §3). The client bucket keeps :data:`BUDGET_FRACTION` of both the burst and
the rate, on the run's clock, so a first wave of 100 failovers goes out at once instead of at 9 per second, and a
sustained load stays below the server's refill. :meth:`RateLimiter.reserve` is pure arithmetic: it answers how long
to wait and the engine waits through its runtime, so the same code paces a local run and a Temporal workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asrctl.recovery.polling import StatusPolls
from asrctl.recovery.providers.protocol import Capabilities

BUDGET_FRACTION = 0.9


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, burst)
        self.tokens = self.capacity
        self.stamp = now

    def reserve(self, now: float) -> float:
        """Take one token; the seconds to wait before using it (0 when one was there)."""
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """One bucket for reads, one for writes, at :data:`BUDGET_FRACTION` of the backend's budget."""

    def __init__(self, capabilities: Capabilities, now: float, fraction: float = BUDGET_FRACTION) -> None:
        self.buckets = {
            "reads": TokenBucket(capabilities.reads_per_second * fraction, capabilities.read_burst * fraction, now),
            "writes": TokenBucket(capabilities.writes_per_second * fraction, capabilities.write_burst * fraction, now),
        }
        self.waited = {"reads": 0.0, "writes": 0.0}  # clock seconds spent waiting, for benchmarks

    def reserve(self, kind: str, now: float) -> float:
        wait = self.buckets[kind].reserve(now)
        self.waited[kind] += wait
        return wait


@dataclass
class JobStats:
    """The shortest successful job seen per operation: a group's jobs are not polled hard before it could end."""

    shortest: dict[str, float] = field(default_factory=dict)

    def record(self, operation: str, seconds: float) -> None:
        self.shortest[operation] = min(self.shortest.get(operation, seconds), seconds)


@dataclass
class Pacing:
    """What every run on one backend shares: the read/write budget, job durations, and one status poll per tick.
    Runs given the same Pacing share all three; a run given its own polls alone (``Pacing(limiter, jobs)``)."""

    limiter: RateLimiter
    jobs: JobStats = field(default_factory=JobStats)
    polls: StatusPolls = field(init=False)

    def __post_init__(self) -> None:
        self.polls = StatusPolls(self.limiter, origin=self.limiter.buckets["reads"].stamp)


_SHARED: dict[str, Pacing] = {}


def pacing_for(key: str, capabilities: Capabilities, now: float) -> Pacing:
    """The process-wide pacing of one backend (``provider.identity()``): runs in one process share its budget."""
    pacing = _SHARED.get(key)
    if pacing is None:
        pacing = _SHARED[key] = Pacing(RateLimiter(capabilities, now))
    return pacing

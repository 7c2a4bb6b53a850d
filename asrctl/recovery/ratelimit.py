"""Client-side pacing so the engine stays inside ARM's request budget per principal.

ARM throttles per region, subscription and principal with token buckets (reads refilled 25/s, writes 10/s). We keep
a sliding one-second window at about 90 % of those rates (22 reads/s, 9 writes/s), on the provider's clock, so it
scales with simulated time; it is shared by every run in the process that uses the same provider. Runs in separate
processes do not share it.
"""

from __future__ import annotations

import threading
from collections import deque

from asrctl.recovery.provider import Clock

READS_PER_SECOND = 22
WRITES_PER_SECOND = 9


class RateLimiter:
    """At most ``limits[kind]`` calls of a kind in any window of one second of ``clock`` time."""

    def __init__(self, clock: Clock, reads_per_second: int = READS_PER_SECOND, writes_per_second: int = WRITES_PER_SECOND):
        self.clock = clock
        self.limits = {"reads": reads_per_second, "writes": writes_per_second}
        self._calls: dict[str, deque[float]] = {"reads": deque(), "writes": deque()}
        self._lock = threading.Lock()
        self.waited = {"reads": 0.0, "writes": 0.0}  # clock seconds spent waiting, for benchmarks

    def acquire(self, kind: str) -> None:
        while True:
            with self._lock:
                now = self.clock.now()
                calls = self._calls[kind]
                while calls and calls[0] <= now - 1.0:
                    calls.popleft()
                if len(calls) < self.limits[kind]:
                    calls.append(now)
                    return
                wait = calls[0] + 1.0 - now
            self.waited[kind] += wait
            self.clock.sleep(wait + 0.001)


def shared_limiter(provider: object) -> RateLimiter:
    """The limiter of ``provider`` (created on first use): one budget per principal = per provider object."""
    limiter = getattr(provider, "_asrctl_rate_limiter", None)
    if limiter is None:
        limiter = RateLimiter(provider.clock)  # type: ignore[attr-defined]
        provider._asrctl_rate_limiter = limiter  # type: ignore[attr-defined]
    return limiter

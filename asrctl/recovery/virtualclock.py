"""A discrete-event clock for benchmarks and tests: simulated time stands still while any participant works
and jumps to the next wake-up when every participant sleeps.

Results then depend only on the engine's logic (poll intervals, rate limits, ordering), not on how busy the CPU
is: an RTO measured under a VirtualClock is reproducible on a loaded 2-core machine. Each thread that sleeps on
the clock must be a registered participant (``join`` before it starts, ``leave`` when it ends); a participant that
blocks on anything else for long stalls time for everyone (by design: that is work, not waiting).
"""

from __future__ import annotations

import heapq
import threading


class VirtualClock:
    kind = "simulated"

    def __init__(self, start: float, participants: int = 1) -> None:
        self._now = start
        self._active = participants
        self._lock = threading.Lock()
        # One event per sleeping participant, so advancing wakes only the threads that are due (no thundering herd).
        self._sleepers: list[tuple[float, int, threading.Event]] = []
        self._seq = 0

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        event = threading.Event()
        with self._lock:
            self._seq += 1
            heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), self._seq, event))
            self._advance()
        event.wait()

    def join(self) -> None:
        with self._lock:
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            self._advance()

    def _advance(self) -> None:
        """Called with the lock held: when everyone sleeps, move time to the earliest wake-up and wake those due."""
        if not self._sleepers or len(self._sleepers) < self._active:
            return
        self._now = max(self._now, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self._now:
            heapq.heappop(self._sleepers)[2].set()

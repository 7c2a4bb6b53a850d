"""A discrete-event clock for benchmarks and tests: simulated time stands still while any participant works
and jumps to the next wake-up when every participant sleeps.

Results then depend only on the engine's logic (poll intervals, rate limits, ordering), not on how busy the CPU
is: an RTO measured under a VirtualClock is reproducible on a loaded 2-core machine. Each thread that sleeps on
the clock must be a registered participant (``join`` before it starts, ``leave`` when it ends); a participant that
blocks on anything else for long stalls time for everyone (by design: that is work, not waiting).
"""

from __future__ import annotations

import threading


class VirtualClock:
    kind = "simulated"

    def __init__(self, start: float, participants: int = 1) -> None:
        self._now = start
        self._active = participants
        self._cond = threading.Condition()
        self._sleepers: list[float] = []  # wake-up times of the participants currently sleeping

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            wake = self._now + max(0.0, seconds)
            self._sleepers.append(wake)
            self._advance()
            while self._now < wake:
                self._cond.wait()

    def join(self) -> None:
        with self._cond:
            self._active += 1

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._advance()

    def _advance(self) -> None:
        """Called with the lock held: when everyone sleeps, move time to the earliest wake-up and wake it."""
        if self._sleepers and len(self._sleepers) >= self._active:
            self._now = max(self._now, min(self._sleepers))
            self._sleepers = [w for w in self._sleepers if w > self._now]
            self._cond.notify_all()

"""The clocks a run is timed on, and the one timestamp format of journals and run documents.

A run has **one clock** (DESIGN: "All times of one run are on one clock"): the provider's. Against Azure it is the
wall clock. Against the simulator it is a *simulated* clock that moves only when the engine waits — never with CPU
load — so the same plan, stack and seed give the same RTO on any machine (:class:`SimClock`). Time a person takes
to approve a manual action is real time and is added to the simulated clock (:meth:`Clock.add_real_wait`), so it
counts in the RTO like it would in a real failover, and the report shows it separately as approval wait.

The engine waits through :meth:`Clock.wait` (a coroutine, so the local engine can be interrupted while waiting and
the Temporal runtime can replace it with a durable timer); synchronous callers (readiness, discover) use
:meth:`Clock.sleep`.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from datetime import UTC, datetime
from typing import Literal, Protocol, runtime_checkable

ClockKind = Literal["simulated", "wall"]


@runtime_checkable
class Clock(Protocol):
    kind: ClockKind

    def now(self) -> float:
        """Seconds since the epoch on this clock."""

    async def wait(self, seconds: float) -> None:
        """Let ``seconds`` of this clock pass (simulated: pace in real time by the speed, then move on)."""

    def sleep(self, seconds: float) -> None:
        """The synchronous :meth:`wait`, for callers outside the engine."""

    def add_real_wait(self, seconds: float) -> None:
        """``seconds`` of real time passed outside this clock's control (a person approving): count them."""


class WallClock:
    """Real time: the Azure provider's clock."""

    kind: ClockKind = "wall"

    def now(self) -> float:
        return time.time()

    async def wait(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def add_real_wait(self, seconds: float) -> None:
        """Wall time already passed."""


class SimClock:
    """Simulated time that advances only by what the engine waits for (and real approval time), paced so that
    ``speed`` simulated seconds take one real second. Engine CPU time never moves it: results are reproducible."""

    kind: ClockKind = "simulated"

    # Real pauses shorter than this are owed rather than slept: an event loop cannot sleep 20 µs (epoll waits whole
    # milliseconds), so at high speeds many tiny waits would each cost a millisecond. The debt is paid in one pause.
    MIN_PAUSE = 0.005

    def __init__(self, start: float, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._now = float(start)
        self.speed = float(speed)
        self._owed = 0.0

    def now(self) -> float:
        return self._now

    async def wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._owed += seconds / self.speed
        if self._owed >= self.MIN_PAUSE:
            pause, self._owed = self._owed, 0.0
            await asyncio.sleep(pause)
        else:
            await asyncio.sleep(0)  # still a point where a signal can stop the run
        self._now += seconds

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._owed += seconds / self.speed
        if self._owed >= self.MIN_PAUSE:
            pause, self._owed = self._owed, 0.0
            time.sleep(pause)
        self._now += seconds

    def add_real_wait(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds


class VirtualClock:
    """A discrete-event clock shared by several concurrent runs in one event loop (benchmarks): time stands still
    while any participant works and jumps to the earliest wake-up once every participant waits. Each run that waits
    on it must be a participant (:meth:`join` before it starts, :meth:`leave` when it ends)."""

    kind: ClockKind = "simulated"

    def __init__(self, start: float, participants: int = 0) -> None:
        self._now = float(start)
        self._active = participants
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def now(self) -> float:
        return self._now

    def join(self) -> None:
        self._active += 1

    def leave(self) -> None:
        self._active -= 1
        self._advance()

    async def wait(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), self._seq, future))
        self._advance()
        await future

    def sleep(self, seconds: float) -> None:
        self._now += max(0.0, seconds)

    def add_real_wait(self, seconds: float) -> None:
        """Benchmarks approve automatically: nothing to add."""

    def _advance(self) -> None:
        if not self._sleepers or len(self._sleepers) < self._active:
            return
        self._now = max(self._now, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self._now:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)


def iso(ts: float | datetime | None) -> str | None:
    """ISO-8601 UTC with a Z and milliseconds: the one timestamp format of journals and run documents."""
    if ts is None:
        return None
    dt = ts.astimezone(UTC) if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_iso(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text.replace("Z", "+00:00"))


def seconds_between(start: str | None, end: str | None) -> float | None:
    a, b = from_iso(start), from_iso(end)
    return None if a is None or b is None else round((b - a).total_seconds(), 3)

"""A clock for code under test that waits on its own clock (asrctl's runbook engine) while talking to the stand-in:
the stand-in's time moves by exactly what the caller waits for, never with real time or CPU load.

It has the shape of asrctl's ``Clock`` protocol (``kind``, ``now``, ``wait``, ``sleep``, ``add_real_wait``) without
importing asrctl. ``now()`` is the stand-in's own time, so every time the caller records (job start and end, the
recovery point a VM came up from) and every time it measures are on one clock.

One run (nobody joined): a wait of *s* seconds advances the stand-in by *s*, then returns. Several runs sharing one
stand-in (benchmarks): each run ``join()``s before it starts and ``leave()``s when done; time stands still while
any run works and jumps to the earliest wake-up once every run waits (a discrete-event clock), so N concurrent runs
do not make time pass N times faster.
"""

from __future__ import annotations

import asyncio
import heapq
import threading

from .server import Standin

RESOLUTION = 1e-3  # seconds: wake-ups this close count as due (datetime rounding)


class EngineClock:
    kind = "simulated"

    def __init__(self, arm: Standin) -> None:
        self.arm = arm
        self._active = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._seq = 0
        self._lock = threading.Lock()
        self.waited = 0.0  # simulated seconds this clock moved on the caller's behalf

    def now(self) -> float:
        return self.arm.world.now().timestamp()

    def _move_to(self, when: float) -> None:
        delta = when - self.now()
        if delta > 0:
            self.arm.advance(delta)
            self.waited += delta

    # -- several participants ------------------------------------------------------------------------------------
    def join(self) -> None:
        with self._lock:
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            self._advance()

    def _advance(self) -> None:
        if not self._sleepers or len(self._sleepers) < self._active:
            return
        self._move_to(self._sleepers[0][0])
        # The stand-in keeps time in microseconds: the clock may land a hair before the wake-up it was moved to.
        now = self.now() + RESOLUTION
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, future, loop = heapq.heappop(self._sleepers)
            loop.call_soon_threadsafe(_wake, future)

    # -- the Clock protocol --------------------------------------------------------------------------------------
    async def wait(self, seconds: float) -> None:
        if self._active <= 1:
            if seconds > 0:
                self._move_to(self.now() + seconds)
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._seq += 1
            heapq.heappush(self._sleepers, (self.now() + max(0.0, seconds), self._seq, future, loop))
            self._advance()
        await future

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._move_to(self.now() + seconds)

    def add_real_wait(self, seconds: float) -> None:
        if seconds > 0:
            self._move_to(self.now() + seconds)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)

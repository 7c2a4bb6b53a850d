"""The stand-in's clock: ASR jobs advance with time, never with the number of reads.

A test drives it by hand (``advance(seconds)``); a demo or a long-running manual check can run it in auto mode
(real time × ``speed``). Every time the stand-in reports (job start/end, recovery points, RPO) comes from here.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

# A fixed default start keeps test output reproducible. It is after the classic architecture's retirement
# (31 January 2026, no new classic replication), which the rules table enforces for classic enable-protection.
DEFAULT_START = dt.datetime(2026, 12, 1, 8, 0, 0, tzinfo=dt.UTC)


class Clock:
    """Simulated UTC time. ``speed=None`` (default): time moves only through :meth:`advance`.

    ``speed=x``: auto mode, the clock also moves x simulated seconds per real second (``monotonic``, injectable
    so auto mode is testable without waiting), on top of any :meth:`advance`.
    """

    def __init__(
        self,
        start: dt.datetime = DEFAULT_START,
        *,
        speed: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("Clock start must be timezone-aware (UTC)")
        self._start = start.astimezone(dt.UTC)
        self._offset = 0.0
        self._speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()
        self._lock = threading.Lock()

    @property
    def auto(self) -> bool:
        return self._speed is not None

    def now(self) -> dt.datetime:
        with self._lock:
            seconds = self._offset
            if self._speed is not None:
                seconds += (self._monotonic() - self._origin) * self._speed
        return self._start + dt.timedelta(seconds=seconds)

    def advance(self, seconds: float) -> dt.datetime:
        """Move simulated time forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("the clock never goes backwards")
        with self._lock:
            self._offset += seconds
        return self.now()

"""One status read per tick for every run and group on a backend: the ``describe_machines`` reads that concurrent
group drivers send at the same moment become one backend call.

Every run in a process that talks to the same backend shares one :class:`StatusPolls` (it lives in the run's
:class:`~asrctl.recovery.pacing.Pacing`, shared per backend identity). Group drivers poll on a common grid of the
run clock (:meth:`StatusPolls.next_tick`), so the polls of 50 concurrent runs land on the same ticks; a caller that
asks while the event loop has not yet turned over joins the tick's batch. The batch is paced once (one token of the
read budget), sent once for the union of the machines, and each caller gets back exactly its own machines — or the
error, which every caller of the batch receives and handles in its own retry layer (:meth:`Engine.read`). A
backend such as Azure, whose one ``describe_machines`` lists every replicated item page by page, pays those pages
once per tick instead of once per group.

What a caller sees is what it would have seen alone, at the same moment of the run clock: sharing changes how many
reads the backend counts, never a run's outcome. The read is counted for the run that sent it, so the runs'
``api_reads`` add up to what the backend served.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asrctl.recovery.providers.protocol import MachineStatus, TransientError

if TYPE_CHECKING:
    from asrctl.recovery.pacing import RateLimiter
    from asrctl.recovery.runtime import Backend, Runtime

# The grid of poll moments, as a fraction of the backend's poll interval: the finest step the group driver uses
# (machines.GroupDriver._next_poll polls at half the interval while jobs can end).
TICK_FRACTION = 0.5


@dataclass
class _Batch:
    """The reads of one tick: the machines asked for so far, and the one answer every caller waits on."""

    at: float  # run clock
    names: set[str] = field(default_factory=set)
    answer: asyncio.Future[dict[str, MachineStatus]] | None = None
    callers: int = 0
    wait: float | None = None  # read-budget wait, decided once when the batch closes
    sent: bool = False


class StatusPolls:
    """Coalesces ``describe_machines`` across callers; paces each backend call once on ``limiter``."""

    def __init__(self, limiter: RateLimiter, origin: float = 0.0) -> None:
        self.limiter = limiter
        # The grid starts when this pacing was made (the first run on the backend), not at the clock's epoch: the
        # same plan on a world created at another moment then polls at the same offsets, so its RTO is the same.
        self.origin = origin
        self._open: _Batch | None = None
        self.sent = 0  # backend calls made
        self.asked = 0  # callers served (sent / asked: how much sharing saved)

    def next_tick(self, t: float, interval: float) -> float:
        """The first grid moment at or after ``t`` (grid step: ``TICK_FRACTION`` of the poll interval, from
        :attr:`origin`, so every run sharing this pacing shares the grid)."""
        step = interval * TICK_FRACTION
        return self.origin + math.ceil((t - self.origin) / step - 1e-9) * step

    async def describe(self, names: list[str], backend: Backend, runtime: Runtime,
                       on_sent: Callable[[], None]) -> dict[str, MachineStatus]:
        """``backend.describe_machines(names)``, shared with every caller of the same tick. ``on_sent`` is called
        when this caller's backend made the (one) call."""
        now = runtime.now()
        batch = self._open
        if batch is None or batch.at != now:
            loop = asyncio.get_running_loop()
            batch = self._open = _Batch(at=now, answer=loop.create_future())
        assert batch.answer is not None
        batch.names.update(names)
        batch.callers += 1
        self.asked += 1
        # Let every other caller that is ready at this moment join before the batch goes out.
        await asyncio.sleep(0)
        if self._open is batch:
            self._open = None
            batch.wait = self.limiter.reserve("reads", runtime.now())
        if batch.wait:
            # Every caller waits on its own clock (a discrete-event clock advances only when all its runs wait).
            await runtime.wait(batch.wait)
        if not batch.sent:
            batch.sent = True
            self.sent += 1
            on_sent()
            alone = batch.callers == 1  # the batch is closed: nobody joins any more
            try:
                status = await backend.describe_machines(list(names) if alone else sorted(batch.names))
            except asyncio.CancelledError:
                # This caller was stopped mid-call: the others cannot know what the backend said, so they retry.
                if not batch.answer.done():
                    batch.answer.set_exception(TransientError("the shared status read was interrupted", 0.0))
                    batch.answer.exception()  # nobody else may be waiting: do not log it as unretrieved
                raise
            except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
                batch.answer.set_exception(exc)
            else:
                if alone:  # asked for exactly this caller's machines: nothing to split, nobody waiting
                    return status
                batch.answer.set_result(status)
        if batch.answer.done():  # the usual case: the sender's call did not have to wait for I/O
            status = batch.answer.result()
        else:  # shield: a caller cancelled while waiting must not cancel the answer for the others
            status = await asyncio.shield(batch.answer)
        return {name: status[name] for name in names if name in status}

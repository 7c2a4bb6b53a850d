"""The one retry layer for provider reads (providers never retry inside: see the provider contract).

429 (:class:`Throttled`) waits exactly its ``Retry-After``; other transient errors back off exponentially from the
error's own hint. Side effects are never retried here: after a 429 the engine re-sends (not accepted), after an
ambiguous error it reconciles. Every wait counts against the step's deadline, so throttling cannot stall a run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from asrctl.recovery.clock import Clock
from asrctl.recovery.providers.protocol import ProviderError, Throttled, TransientError

READ_ATTEMPTS = 6
FIRST_BACKOFF = 2.0
MAX_BACKOFF = 60.0

T = TypeVar("T")


def retry_wait(attempt: int, exc: TransientError) -> float | None:
    """Seconds to wait before read attempt ``attempt + 1`` after ``exc`` on attempt ``attempt`` (1-based), or None
    to give up."""
    if attempt >= READ_ATTEMPTS:
        return None
    if isinstance(exc, Throttled):
        return max(0.0, exc.retry_after)
    backoff = min(FIRST_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)
    return max(backoff, exc.retry_after if attempt == 1 else 0.0)


def read_with_retries(fn: Callable[[], T], clock: Clock, what: str) -> T:
    """A read for callers outside the engine (readiness, pre-flight, discover), retried with :func:`retry_wait`."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except TransientError as exc:
            wait = retry_wait(attempt, exc)
            if wait is None:
                raise ProviderError(f"{what} kept failing after {attempt} attempts: {exc}") from None
            clock.sleep(wait)

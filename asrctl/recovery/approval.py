"""Human approval of manual actions: an injected seam, so tests and demos never wait for a person.

An approver answers a manual action with an :class:`Approval` or ``None`` ("nobody answered here"): the engine
then persists the run as paused and the CLI exits 3 with the `asrctl runs resume ... --approve` command.
"""

from __future__ import annotations

import getpass
import select
import sys
import time
from dataclasses import dataclass, field
from typing import Protocol

from asrctl.recovery.runtime import Approval


class Approver(Protocol):
    blocking: bool  # True when request() waits for a person (the local runtime then asks from a thread)

    def request(self, step_id: str, instruction: str, timeout_seconds: float) -> Approval | None: ...


class DeferApprover:
    """Nobody is at a terminal: pause the run durably."""

    blocking = False

    def request(self, step_id: str, instruction: str, timeout_seconds: float) -> Approval | None:
        return None


class AutoApprover:
    """``--auto-approve`` (demos, drills in CI): approved on the spot, recorded as by ``auto-approve``."""

    blocking = False

    def request(self, step_id: str, instruction: str, timeout_seconds: float) -> Approval | None:
        return Approval(by="auto-approve", comment="approved automatically (--auto-approve)", at=time.time(),
                        immediate=True)


@dataclass
class PreApproved:
    """``asrctl runs resume RUN --approve --by NAME --comment TEXT``: approves the paused step only."""

    step_id: str
    by: str
    comment: str
    fallback: Approver = field(default_factory=DeferApprover)

    @property
    def blocking(self) -> bool:  # type: ignore[override]
        return self.fallback.blocking

    def request(self, step_id: str, instruction: str, timeout_seconds: float) -> Approval | None:
        if step_id == self.step_id:
            return Approval(by=self.by, comment=self.comment, at=time.time())
        return self.fallback.request(step_id, instruction, timeout_seconds)


class TtyApprover:
    """Ask on the terminal; an empty answer or the step's timeout leaves the run paused (resumable later)."""

    blocking = True

    def request(self, step_id: str, instruction: str, timeout_seconds: float) -> Approval | None:
        sys.stderr.write(f"\nMANUAL ACTION: {instruction}\nType 'yes' when done (Enter alone pauses the run): ")
        sys.stderr.flush()
        answer = _read_line(timeout_seconds)
        if answer is None or answer.strip().lower() not in ("y", "yes"):
            return None
        sys.stderr.write("Comment (optional): ")
        sys.stderr.flush()
        at = time.time()
        comment = (_read_line(300) or "").strip()
        return Approval(by=getpass.getuser(), comment=comment, at=at)


def _read_line(timeout: float) -> str | None:
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return sys.stdin.readline() if ready else None


def default_approver(auto_approve: bool) -> Approver:
    if auto_approve:
        return AutoApprover()
    if sys.stdin.isatty() and sys.stderr.isatty():
        return TtyApprover()
    return DeferApprover()

"""The interpreter's :class:`~asrctl.recovery.runtime.Runtime` inside a workflow: durable waits, approvals that
wait for a person, scripts as activities, cancellation between side effects.

Clocks (DESIGN: one clock per run):

* **wall** (Azure): the run's clock is workflow time (``workflow.now()``, the same on every replay); a wait is a
  durable timer.
* **simulated** (the simulator): the workflow keeps the simulated clock itself. It starts at the world's saved time
  (read by an activity when the run starts), moves only by what the interpreter waits — exactly like
  :class:`~asrctl.recovery.clock.SimClock` — and every simulator activity is told that time, so a worker evaluates
  the world at the workflow's time whichever worker it is and however loaded. Real time is paced with durable timers
  of ``seconds / speed``; short waits are owed and paid in one timer of at least :data:`MIN_TIMER` seconds, so a
  simulated run does not spend its history on millisecond timers. The same plan, stack and seed give the same RTO
  on both engines.

Approvals: a manual action asks :meth:`WorkflowRuntime.request_approval`, which marks the run ``paused`` (visible to
every operator's query) and waits — a durable timer of the action's remaining timeout — for the ``approve`` update
(approver and comment, from any machine). A worker restarted meanwhile replays to the same wait. Without an
approval by the deadline it returns None and the interpreter fails the step, as locally.

Cancel: ``asrctl runs cancel`` is a Temporal cancellation request. The workflow turns it into
:meth:`request_cancel`: the interpreter's next check between side effects stops the run (``cancelled``), a wait or
an approval wait ends at once, and an activity already sent is awaited and recorded, never abandoned half-known.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from asrctl.recovery.clock import iso
from asrctl.recovery.runtime import Approval, ScriptCall, ScriptResult
from asrctl.recovery.temporal.store import MemoryStore

# Real seconds owed before a simulated run takes a durable timer (each timer is two history events).
MIN_TIMER = 1.0
# Scripts: a lost worker is noticed within the heartbeat timeout; the script is then run once more on another
# worker (action scripts are idempotent: the local engine re-runs one interrupted between intent and result too).
SCRIPT_HEARTBEAT = timedelta(seconds=15)
SCRIPT_ATTEMPTS = 2
PROGRESS_KEPT = 20_000


class WorkflowRuntime:
    def __init__(self, store: MemoryStore, run_id: str, *, clock: str, speed: float, auto_approve: bool) -> None:
        self.store = store
        self.run_id = run_id
        self.simulated = clock == "simulated"
        self.speed = speed if speed > 0 else 1.0
        self.auto_approve = auto_approve
        self.sim_now = 0.0
        self._owed = 0.0
        self.cancel_reason: str | None = None
        self.waiting_step: str | None = None  # the manual action the run is paused at
        self.approvals: dict[str, Approval] = {}
        self.progress: list[dict[str, Any]] = []  # emitted events, for followers (the `progress` query)
        self.progress_base = 0  # index of progress[0] once old events were dropped
        self.home = ""  # the workers' $ASRCTL_HOME (file-backed actions: the simulated DNS zone)

    # -- time ------------------------------------------------------------------------------------------------------
    def start_clock(self, sim_start: float | None, home: str) -> None:
        if self.simulated and sim_start is not None:
            self.sim_now = sim_start
        self.home = home

    def now(self) -> float:
        return self.sim_now if self.simulated else self.wall_now()

    def wall_now(self) -> float:
        return workflow.now().timestamp()

    async def wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if not self.simulated:
            await self._timer(seconds)
            return
        self.sim_now += seconds
        self._owed += seconds / self.speed
        if self._owed >= MIN_TIMER:
            pause, self._owed = self._owed, 0.0
            await self._timer(pause)

    async def _timer(self, seconds: float) -> None:
        """A durable timer that a cancel request ends early."""
        if self.cancel_reason is not None:
            return
        try:
            await workflow.wait_condition(lambda: self.cancel_reason is not None, timeout=seconds)
        except TimeoutError:
            pass

    def add_real_wait(self, seconds: float) -> None:
        if self.simulated and seconds > 0:
            self.sim_now += seconds

    # -- effects ---------------------------------------------------------------------------------------------------
    async def run_script(self, call: ScriptCall) -> ScriptResult:
        try:
            result = await workflow.execute_activity(
                "run_script", {"path": call.path, "args": list(call.args), "context_json": call.context_json,
                               "timeout": call.timeout},
                start_to_close_timeout=timedelta(seconds=call.timeout + 60), heartbeat_timeout=SCRIPT_HEARTBEAT,
                retry_policy=RetryPolicy(maximum_attempts=SCRIPT_ATTEMPTS),
            )
        except ActivityError as err:
            cause = err.cause
            why = getattr(cause, "message", None) or str(cause or err)
            return ScriptResult(-1, "", f"no worker could finish it ({SCRIPT_ATTEMPTS} attempts): {why}")
        return ScriptResult(result["returncode"], result.get("stdout", ""), result.get("stderr", ""))

    async def request_approval(self, step_id: str, instruction: str, timeout_seconds: float) -> Approval | None:
        if self.auto_approve:
            return Approval(by="auto-approve", comment="approved automatically (--auto-approve)", at=self.wall_now(),
                            immediate=True)
        deadline = self.wall_now() + timeout_seconds
        self.waiting_step = step_id
        self.store.update_run(self.run_id, "paused", {"step": step_id}, status="paused", paused_step=step_id)
        self.emit({"event": "paused", "at": iso(self.now()), "step": step_id, "instruction": instruction})
        try:
            # Looped: the engine decides "timed out" on workflow time, so never return before the deadline passed.
            while step_id not in self.approvals and self.cancel_reason is None:
                remaining = deadline - self.wall_now()
                if remaining <= 0:
                    break
                try:
                    await workflow.wait_condition(
                        lambda: step_id in self.approvals or self.cancel_reason is not None, timeout=remaining)
                except TimeoutError:
                    pass
        finally:
            self.waiting_step = None
        approval = self.approvals.pop(step_id, None)
        if approval is None and self.cancel_reason is not None:
            raise asyncio.CancelledError()
        self.store.update_run(self.run_id, "approved" if approval else "approval-timed-out",
                              {"by": approval.by} if approval else {}, status="running", paused_step=None)
        return approval

    def approve(self, by: str, comment: str) -> str:
        """The ``approve`` update: approve the step the run is paused at; returns its id."""
        step = self.waiting_step
        if step is None:
            raise RuntimeError("not waiting for an approval")
        self.approvals[step] = Approval(by=by, comment=comment, at=self.wall_now())
        return step

    def request_cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
            self.store.update_run(self.run_id, "cancel-requested", {"reason": reason}, cancel_requested=True)

    def cancel_requested(self) -> bool:
        return self.cancel_reason is not None

    def stop_reason(self) -> str | None:
        # In a workflow nothing but a cancel request stops the interpreter: a lost worker is replayed, not stopped.
        return "cancelled"

    def emit(self, event: dict[str, Any]) -> None:
        self.progress.append(event)
        if len(self.progress) > PROGRESS_KEPT:
            drop = len(self.progress) - PROGRESS_KEPT
            del self.progress[:drop]
            self.progress_base += drop

    def progress_since(self, index: int) -> tuple[list[dict[str, Any]], int]:
        start = max(0, index - self.progress_base)
        return self.progress[start:], self.progress_base + len(self.progress)

    def state_dir(self) -> str:
        return self.home

"""The plan's actions: manual approvals, client-side scripts, Azure Automation runbooks — and the approval of an
ASR recovery-plan job suspended on a manual action.

Every action has a deadline: a manual action its ``timeout`` on the wall clock (people approve in real time), a
script its ``timeout`` (killed after it), a runbook its ``timeout`` on the run's clock — throttled starts and
Retry-After waits included.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from asrctl.plans import Group, ManualAction, RunbookAction, ScriptAction, format_duration
from asrctl.recovery.clock import iso
from asrctl.recovery.providers.protocol import AmbiguousResult, JobRef, JobStatus, OperationRejected, Throttled
from asrctl.recovery.records import DONE_STEP_STATUSES, StepId, StepRecord, request_id
from asrctl.recovery.runtime import ScriptCall

if TYPE_CHECKING:
    from asrctl.recovery.engine import Engine
    from asrctl.recovery.machines import Task

OUTPUT_LIMIT = 2000


class ActionRunner:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
        self.rt = engine.runtime
        self.run_id = engine.run_id

    async def run(self, si: int, operation: str, gi: int, group: Group, phase: str, ai: int, action: Any) -> None:
        aid = str(StepId.of_action(si, gi, phase, ai))
        row = self.store.ensure_step(
            self.run_id, aid, stage=si, operation=operation, group_index=gi, group_name=group.name, kind=action.kind,
            name=action.label, phase=phase,
        )
        if row.status in DONE_STEP_STATUSES:
            return
        self.engine.check_stop(force=True)
        self.engine.emit("action-started", group=group.name, kind=action.kind, name=action.label, phase=phase)
        if isinstance(action, ManualAction):
            await self._manual(aid, row, action)
        elif isinstance(action, ScriptAction):
            await self._script(aid, row, action, operation, group)
        elif isinstance(action, RunbookAction):
            await self._runbook(aid, row, action, operation, group)
        self.engine.emit("action-finished", group=group.name, kind=action.kind, name=action.label, phase=phase)

    def _fail(self, aid: str, message: str, **fields: Any) -> None:
        from asrctl.recovery.engine import Stop

        self.store.result(self.run_id, aid, {"error": message}, status="failed", error=message,
                          finished_at=iso(self.rt.now()), **fields)
        raise Stop("failed", message)

    # -- manual ----------------------------------------------------------------------------------------------------
    async def _manual(self, aid: str, row: StepRecord, action: ManualAction) -> None:
        from asrctl.recovery.engine import Stop

        wall_started = row.wall_started
        if row.status != "waiting-approval" or wall_started is None:
            # A new request (first time, or the redrive of a run whose approval timed out): its timeout starts now.
            wall_started = self.rt.wall_now()
            self.store.update_step(self.run_id, aid, "approval-requested", {"instruction": action.manual},
                                   status="waiting-approval", started_at=iso(self.rt.now()), finished_at=None,
                                   wall_started=wall_started, attempts=row.attempts + 1, error=None)
        timeout = action.effective_timeout
        remaining = timeout - (self.rt.wall_now() - wall_started)
        approval = await self.rt.request_approval(aid, action.manual, remaining) if remaining > 0 else None
        if approval is None and self.rt.wall_now() - wall_started >= timeout:
            self._fail(aid, f"manual action not approved within its {format_duration(timeout)} timeout: "
                            f"{action.manual}")
        if approval is None:
            self.engine.emit("paused", step=aid, instruction=action.manual)
            raise Stop("paused", f"waiting for approval: {action.manual}", step_id=aid)
        waited = 0.0 if approval.immediate else max(0.0, (approval.at or self.rt.wall_now()) - wall_started)
        # The person's time is real time, part of a real RTO: the run's clock moves on by it (shown separately).
        self.rt.add_real_wait(waited)
        self.store.update_step(
            self.run_id, aid, "approved", {"by": approval.by, "comment": approval.comment}, status="succeeded",
            approved_by=approval.by, approved_at=iso(self.rt.now()), comment=approval.comment,
            wait_seconds=round(waited, 3), finished_at=iso(self.rt.now()),
        )

    async def suspended_job(self, operation: str, task: Task, job: JobStatus) -> None:
        """An ASR recovery-plan job stopped on a manual action: a pause of the run (exit 3) like a plan's own manual
        action; the approval (``runs resume --approve``) resumes the job, with the approver's comment, once."""
        from asrctl.recovery.engine import Stop

        assert task.job is not None
        sid = task.step_ids[0]
        instruction = (f"{', '.join(task.members)}: ASR {operation} job {job.id} is suspended waiting for a manual "
                       f"action ({job.output or 'WaitingForManualAction'}); do it, then approve to resume the job")
        row = self.store.step(self.run_id, sid)
        wall_started = row.wall_started if row and row.wall_started else self.rt.wall_now()
        if not (row and row.wall_started):
            self.store.update_step(self.run_id, sid, "job-suspended", {"job_id": job.id}, wall_started=wall_started)
        approval = await self.rt.request_approval(sid, instruction, 24 * 3600.0)
        if approval is None:
            self.engine.emit("paused", step=sid, instruction=instruction)
            raise Stop("paused", f"waiting for approval: {instruction}", step_id=sid)
        waited = 0.0 if approval.immediate else max(0.0, (approval.at or self.rt.wall_now()) - wall_started)
        self.rt.add_real_wait(waited)
        rid = request_id(self.run_id, task.request_step, task.attempt, f"/resume/{approval.at:.0f}")
        for member_sid in task.step_ids:
            self.store.update_step(self.run_id, member_sid, "intent",
                                   {"call": "resume_job", "job_id": job.id, "request_id": rid})
        comment = approval.comment or f"approved by {approval.by}"
        try:
            await self.engine.write(self.engine.backend.resume_job, task.job, comment, rid)
        except (AmbiguousResult, Throttled, OperationRejected) as exc:
            # Not re-sent blindly: the next poll shows whether the job left Suspended; if not, it asks again.
            self.store.update_step(self.run_id, sid, "ambiguous", {"error": str(exc)})
            return
        for member_sid in task.step_ids:
            self.store.update_step(self.run_id, member_sid, "job-resumed", {"by": approval.by, "comment": comment},
                                   wall_started=None, wait_seconds=round(waited, 3))
        self.engine.emit("job-resumed", machines=list(task.members), operation=operation, by=approval.by)

    # -- scripts ---------------------------------------------------------------------------------------------------
    async def _script(self, aid: str, row: StepRecord, action: ScriptAction, operation: str, group: Group) -> None:
        attempt = row.attempts + 1
        context = json.dumps(await self.engine.context(operation, group))
        # Scripts are re-run after a crash between intent and result: action scripts must be idempotent.
        self.store.intent(self.run_id, aid, {"call": "script", "script": action.script, "args": list(action.args)},
                          status="running", attempts=attempt, started_at=iso(self.rt.now()), error=None)
        result = await self.rt.run_script(ScriptCall(action.script, tuple(action.args), context,
                                                     float(action.effective_timeout)))
        output = (result.stdout or "")[-OUTPUT_LIMIT:]
        if result.returncode is None:
            self._fail(aid, f"script {action.script} timed out after {format_duration(action.effective_timeout)}; "
                            "it was killed", output=output)
        if result.returncode != 0:
            reason = (result.stderr or "").strip().splitlines()[-1:] or ["no error output"]
            self._fail(aid, f"script {action.script} exited {result.returncode}: {reason[0]}", output=output)
        self.store.result(self.run_id, aid, {"exit": 0}, status="succeeded", output=output,
                          finished_at=iso(self.rt.now()))

    # -- runbooks --------------------------------------------------------------------------------------------------
    async def _runbook(self, aid: str, row: StepRecord, action: RunbookAction, operation: str, group: Group) -> None:
        backend = self.engine.backend
        interrupted = row.status == "running"  # intent written, result maybe not: reconcile, same request id
        attempt = row.attempts if interrupted else row.attempts + 1
        rid = request_id(self.run_id, aid, attempt)
        started = self.rt.now()
        from asrctl.recovery.clock import from_iso

        if interrupted and row.started_at:
            started = from_iso(row.started_at).timestamp()  # type: ignore[union-attr]
        deadline = started + action.effective_timeout
        job: JobRef | None = JobRef(row.job_id, f"runbook:{action.runbook}") if row.job_id and interrupted else None
        if job is None and interrupted:
            job = await self.engine.read("find_runbook_job", backend.find_runbook_job, action.runbook, rid,
                                         deadline=deadline)
        timeout_text = format_duration(action.effective_timeout)
        while job is None:
            if self.rt.now() > deadline:
                self._fail(aid, f"runbook {action.runbook} could not be started within its {timeout_text} timeout "
                                "(throttled or unanswered the whole time)")
            self.store.intent(self.run_id, aid, {"call": "start_runbook", "runbook": action.runbook,
                                                 "request_id": rid},
                              status="running", attempts=attempt, request_id=rid,
                              started_at=row.started_at if interrupted else iso(started), error=None)
            try:
                job = await self.engine.write(backend.start_runbook, action.runbook, dict(action.parameters),
                                              await self.engine.context(operation, group), rid)
            except Throttled as exc:
                await self.rt.wait(min(exc.retry_after, max(0.0, deadline - self.rt.now()) + 0.001))
                continue
            except AmbiguousResult:
                job = await self.engine.read("find_runbook_job", backend.find_runbook_job, action.runbook, rid,
                                             deadline=deadline)
                if job is None:
                    continue  # never arrived: sending the same request id again cannot double it
            except OperationRejected as exc:
                self._fail(aid, f"runbook {action.runbook} was refused: {exc}")
            self.store.result(self.run_id, aid, {"job_id": job.id}, job_id=job.id)
        interval = self.engine.poll_interval
        while True:
            status = await self.engine.read("get_job", backend.get_job, job, deadline=deadline + interval)
            if status.done:
                break
            if self.rt.now() > deadline:
                try:
                    await self.engine.write(backend.cancel_job, job)
                except (AmbiguousResult, Throttled, OperationRejected):
                    pass
                self._fail(aid, f"runbook {action.runbook} timed out after {timeout_text}; asked Automation to "
                                "stop it")
            self.engine.check_stop()
            await self.rt.wait(interval)
        if status.state != "Succeeded":
            self._fail(aid, f"runbook {action.runbook} {status.state.lower()}: {status.error or 'no reason'}",
                       output=status.output)
        self.store.update_step(self.run_id, aid, "runbook-succeeded", {"job_id": job.id}, status="succeeded",
                               output=status.output, finished_at=iso(self.rt.now()))

"""Driving a group's machines: classify against the provider, start (bounded), reconcile, poll, finish, time out.

A *task* is one job's worth of work: one machine, or the members of a multi-VM group that ASR fails over together
through the recovery plan that holds exactly them (``replication.multiVmSync`` and a plan group of two or more
machines; per-item failover of such members is refused by ASR). Every member keeps its own step in the store; the
task writes the same intent, job and result to each.

Guarantees (DESIGN "Runbook engine guarantees"):

* Nothing is sent for a machine that already has an intent without a result: it is **reconciled** first —
  ``find_job`` by request id, then the machine's current job and state — and only re-sent (same request id) when
  the backend certainly never got it.
* Every task has a **deadline** (:data:`MACHINE_OPERATION_TIMEOUT` on the run's clock from its first send):
  throttled sends, Retry-After waits and polls all count. Past it the task fails naming machine, operation and time.
* A machine already where the stage leads, or already ahead for a later stage of this run, is ``skipped`` with the
  state it was found in; any other state the operation cannot start from fails the run (the pre-flight refuses
  those before a run starts, so this only happens when the world changed under the run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asrctl.plans import Group
from asrctl.recovery.clock import iso
from asrctl.recovery.operations import OPERATIONS
from asrctl.recovery.providers.protocol import (
    AmbiguousResult,
    JobRef,
    JobStatus,
    MachineStatus,
    OperationRejected,
    OperationRequest,
    Throttled,
)
from asrctl.recovery.records import DONE_STEP_STATUSES, StepId, request_id

if TYPE_CHECKING:
    from asrctl.recovery.engine import Engine

# ASR's RTO SLA is 2 hours per protected instance: a job still not done after that is not going to meet it.
MACHINE_OPERATION_TIMEOUT = 2 * 3600
# Poll scheduling (see GroupDriver._next_poll): a job is not expected to end before this fraction of the shortest
# job of its operation seen so far, and until then the group is polled at most every QUIET_POLL_FACTOR intervals.
EARLIEST_DONE_FRACTION = 0.95
QUIET_POLL_FACTOR = 5
# Inside that window only the group's last job decides when the group is done: while more than this many of its
# jobs run, polling at the interval still sees the next-to-last end in time to poll at twice the rate for the last.
# (Simulated 14-job groups: 37 % fewer polls, the same lag for the last job.)
FAST_POLL_JOBS = 2
# Recovery-plan jobs can stop Suspended on a manual action, which the item list does not show: every this-many polls
# each running plan job is read itself, so the pause surfaces within a few minutes for a few extra reads.
SUSPEND_CHECK_EVERY = 4


@dataclass
class Task:
    key: str  # the machine, or "plan:<recovery plan>" for a multi-VM group
    members: tuple[str, ...]
    step_ids: tuple[str, ...]
    attempt: int
    phase: str  # start | reconcile | poll | done
    recovery_plan: str | None = None
    job: JobRef | None = None
    not_before: float = 0.0
    first_sent: float | None = None  # run clock: when this operation was first sent (deadline origin)
    polls: int = 0
    request_step: str = ""  # the step id the request id derives from
    extra: dict[str, str] = field(default_factory=dict)

    def request(self, run_id: str, operation: str, recovery_point: str, sync_point: bool) -> OperationRequest:
        return OperationRequest(
            operation=operation, machines=self.members, request_id=request_id(run_id, self.request_step, self.attempt),
            recovery_point=recovery_point if OPERATIONS[operation].chooses_point else "latest",
            recovery_plan=self.recovery_plan, multi_vm_sync_point=sync_point,
        )


class GroupDriver:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
        self.rt = engine.runtime
        self.run_id = engine.run_id
        self.backend = engine.backend

    # -- setting up ------------------------------------------------------------------------------------------------
    def _multi_vm_plan(self, operation: str, group: Group) -> str | None:
        """The ASR recovery plan a multi-VM group fails over through, or None for per-machine jobs."""
        from asrctl.plans import multi_vm_group_name

        cfg = self.engine.stack_cfg
        if (not OPERATIONS[operation].group_job or not cfg.replication.multi_vm_sync or len(group.machines) < 2
                or not self.backend.capabilities.group_jobs):
            return None
        return multi_vm_group_name(self.engine.plan.name, group.name)

    def _tasks(self, si: int, operation: str, gi: int, group: Group) -> list[Task]:
        plan_name = self._multi_vm_plan(operation, group)
        rows = {}
        for name in group.machines:
            sid = str(StepId.of_machine(si, gi, name))
            rows[name] = self.store.ensure_step(
                self.run_id, sid, stage=si, operation=operation, group_index=gi, group_name=group.name,
                kind="machine", name=name, recovery_name=name,
                recovery_ip=self.engine.recovery_address(operation, name),
            )
        pending = [n for n in group.machines if rows[n].status not in DONE_STEP_STATUSES]
        if not pending:
            return []
        whole = plan_name is not None or OPERATIONS[operation].scope == "run"
        units = [tuple(pending)] if whole else [(n,) for n in pending]
        tasks = []
        for members in units:
            member_rows = [rows[m] for m in members]
            attempts = max(r.attempts for r in member_rows)
            job_id = next((r.job_id for r in member_rows if r.job_id), None)
            if job_id:
                phase, attempt = "poll", attempts
            elif any(r.status == "running" for r in member_rows):  # intent committed, result never written
                phase, attempt = "reconcile", attempts
            else:
                phase, attempt = "start", attempts + 1  # first try, or a redrive of a failed machine
            first = next((r.started_at for r in member_rows if r.started_at), None)
            task = Task(
                key=f"plan:{plan_name}" if plan_name else members[0], members=members,
                step_ids=tuple(r.step_id for r in member_rows), attempt=attempt, phase=phase,
                recovery_plan=plan_name,
                request_step=str(StepId(si, gi)) + "/plan" if whole else member_rows[0].step_id,
                first_sent=_ts(first) if phase != "start" else None,
            )
            if job_id:
                task.job = JobRef(job_id, operation, members, next((r.job_token for r in member_rows if r.job_token),
                                                                   None))
            tasks.append(task)
        return tasks

    # -- the group -------------------------------------------------------------------------------------------------
    async def drive(self, si: int, operation: str, gi: int, group: Group) -> None:
        tasks = self._tasks(si, operation, gi, group)
        if not tasks:
            return
        await self._classify(si, operation, tasks)
        await self._loop(operation, [t for t in tasks if t.phase != "done"])

    async def _classify(self, si: int, operation: str, tasks: list[Task]) -> None:
        """Before sending anything: adopt jobs already running, skip what is done, refuse what cannot start."""
        op = OPERATIONS[operation]
        names = [m for t in tasks for m in t.members]
        status = await self.engine.describe_machines(names)
        later = {s for name in self.engine.stages[si + 1:] for s in (*OPERATIONS[name].sources.get("modernized", ()),
                                                                      *OPERATIONS[name].sources.get("classic", ()))}
        for task in tasks:
            if task.phase != "start":
                continue
            go: list[str] = []
            for name in task.members:
                ms = status.get(name)
                if ms is None:
                    raise _stop(f"{name}: the {self.backend.name} backend does not know this protected item (was it "
                                "disabled, or the world replaced?); nothing was sent for it")
                if ms.current_job is not None:
                    if ms.current_job.operation == operation:  # an earlier attempt already started it
                        task.phase, task.job = "poll", ms.current_job
                        task.first_sent = self.rt.now()
                        for sid in task.step_ids:
                            self.store.update_step(self.run_id, sid, "reconciled", {"adopted_job": ms.current_job.id},
                                                   status="running", job_id=ms.current_job.id,
                                                   started_at=iso(self.rt.now()))
                        break
                    raise _stop(f"{name}: a {ms.current_job.operation} job ({ms.current_job.id}) is running on it; "
                                f"wait for it to finish, then resume the run")
                if ms.state in op.allowed_from(_arch(ms)):
                    go.append(name)
                elif ms.state == op.target or ms.state in later:
                    self._skip(task, name, ms, operation)
                else:
                    from asrctl.recovery.readiness import transition_problem

                    raise _stop(transition_problem(name, ms.state, operation, _arch(ms), self.engine.plan.name,
                                                   self.engine.stack_name, changed=True))
            if task.phase == "poll":
                continue
            if not go:
                task.phase = "done"
            elif len(go) < len(task.members):
                keep = [i for i, m in enumerate(task.members) if m in go]
                task.members = tuple(task.members[i] for i in keep)
                task.step_ids = tuple(task.step_ids[i] for i in keep)

    def _skip(self, task: Task, name: str, ms: MachineStatus, operation: str) -> None:
        sid = task.step_ids[task.members.index(name)]
        self.store.update_step(self.run_id, sid, "skipped", {"state": ms.state}, status="skipped", error=None,
                               finished_at=iso(self.rt.now()))
        self.engine.emit("machine-skipped", machine=name, state=ms.state, operation=operation)

    async def _loop(self, operation: str, tasks: list[Task]) -> None:
        """The event loop of one group: start (bounded), reconcile, poll in batches, enforce deadlines."""
        if not tasks:
            return
        failures: list[str] = []
        interval = self.engine.poll_interval
        # Polls land on the grid every run on this clock shares, so the groups of concurrent runs that poll at the
        # same moment share one backend read (asrctl.recovery.polling).
        tick = self.engine.pacing.polls.next_tick
        next_poll = tick(self.rt.now() + interval, interval)
        # On a wall clock no wait is longer than a poll interval, so `asrctl runs cancel` is seen within one; a
        # simulated clock runs far ahead of real time, and cutting its waits would only add idle wake-ups.
        longest_wait = interval if self.engine.clock_kind == "wall" else math.inf
        live = [t for t in tasks if t.phase != "done"]
        while live:
            try:
                self.engine.check_stop()
            except Exception:
                if failures:
                    break
                raise
            now = self.rt.now()
            sending = [t for t in live if t.phase in ("start", "reconcile")]
            if sending:  # most wake-ups only poll: the start/reconcile pass is for the tasks that need it
                in_flight = sum(len(t.members) for t in live if t.phase == "poll")
                for task in sending:
                    if task.first_sent is not None and now - task.first_sent > MACHINE_OPERATION_TIMEOUT:
                        self._fail_task(operation, task, failures, f"not accepted within "
                                        f"{_minutes(now - task.first_sent)} (throttled or unanswered the whole time)")
                        continue
                    if task.phase == "reconcile" and task.not_before <= now:
                        await self._reconcile(operation, task)
                    if task.phase == "start" and task.not_before <= now and in_flight < self.engine.concurrency:
                        await self._start(operation, task, failures)
                        in_flight += len(task.members) if task.phase == "poll" else 0
            polling = [t for t in live if t.phase == "poll"]
            now = self.rt.now()
            if polling and now >= next_poll:
                await self._poll(operation, polling, failures)
                polling = [t for t in polling if t.phase == "poll"]
                queued = any(t.phase == "start" for t in sending)  # only those can still wait for a slot
                next_poll = tick(self._next_poll(operation, polling, queued), interval)
            live = [t for t in live if t.phase != "done"]
            if not live:
                break
            waits = [t.not_before for t in live if t.phase in ("start", "reconcile") and t.not_before > now]
            if polling:
                waits.append(next_poll)
            wake = min(waits) if waits else now
            await self.rt.wait(max(0.0, min(wake - self.rt.now(), longest_wait)))
        if failures:
            raise _stop("; ".join(failures))

    def _next_poll(self, operation: str, polling: list[Task], queued: bool = False) -> float:
        """When to read the group's status next: rarely until the earliest moment one of its jobs can plausibly be
        done (its start plus the shortest job of this operation seen), then at the interval while several jobs run
        and at twice the rate for the last ones — or while tasks wait for a slot (``queued``: an end frees one)."""
        now = self.rt.now()
        interval = self.engine.poll_interval
        shortest = self.engine.pacing.jobs.shortest.get(operation)
        if shortest is None or not polling:
            return now + interval
        first_done = min([t.first_sent or now for t in polling]) + EARLIEST_DONE_FRACTION * shortest
        fast = now + (interval / 2 if queued or len(polling) <= FAST_POLL_JOBS else interval)
        return max(fast, min(first_done, now + QUIET_POLL_FACTOR * interval))

    # -- side effects ----------------------------------------------------------------------------------------------
    async def _start(self, operation: str, task: Task, failures: list[str]) -> None:
        self.engine.check_stop(force=True)
        now = self.rt.now()
        spec = self.engine.spec
        request = task.request(self.run_id, operation, spec.recovery_point, sync_point=task.recovery_plan is not None)
        if task.first_sent is None:
            task.first_sent = now
        for sid in task.step_ids:
            # started_at is this send's time (a throttled send is not the start); the deadline counts from the first.
            self.store.intent(
                self.run_id, sid,
                {"call": "start_operation", "operation": operation, "request_id": request.request_id,
                 "machines": list(task.members), "recovery_plan": task.recovery_plan},
                status="running", attempts=task.attempt, request_id=request.request_id, started_at=iso(now),
                error=None,
            )
        for name in task.members:
            self.engine.emit("machine-started", machine=name, operation=operation, attempt=task.attempt,
                             recovery_plan=task.recovery_plan)
        try:
            job = await self.engine.write(self.backend.start_operation, request)
        except Throttled as exc:
            # 429 / not ready: the request was not accepted, so sending it again later is not a duplicate.
            for sid in task.step_ids:
                self.store.update_step(self.run_id, sid, "throttled", {"retry_after": exc.retry_after})
            task.not_before = self.rt.now() + exc.retry_after
            return
        except AmbiguousResult as exc:
            for sid in task.step_ids:
                self.store.update_step(self.run_id, sid, "ambiguous", {"error": str(exc)})
            task.phase = "reconcile"
            return
        except OperationRejected as exc:
            message = str(exc)
            for sid in task.step_ids:
                self.store.result(self.run_id, sid, {"rejected": message}, status="failed", error=message,
                                  finished_at=iso(self.rt.now()))
            failures.append(message)
            task.phase = "done"
            return
        for sid in task.step_ids:
            self.store.result(self.run_id, sid, {"job_id": job.id}, job_id=job.id, job_token=job.token)
        task.job, task.phase = job, "poll"

    async def _reconcile(self, operation: str, task: Task) -> None:
        """After a lost response or a crash: did the start reach the backend? Never guess, ask."""
        request = task.request(self.run_id, operation, self.engine.spec.recovery_point,
                               sync_point=task.recovery_plan is not None)
        found = await self.engine.read("find_job", self.backend.find_job, request)
        if task.first_sent is None:
            task.first_sent = self.rt.now()
        if found is not None:
            for sid in task.step_ids:
                self.store.update_step(self.run_id, sid, "reconciled", {"found_job": found.id}, job_id=found.id,
                                       job_token=found.token)
            task.job, task.phase = found, "poll"
            return
        status = await self.engine.describe_machines(list(task.members))
        current = [status[m].current_job for m in task.members if m in status and status[m].current_job is not None]
        op = OPERATIONS[operation]
        target = op.target
        if current and current[0].operation == operation:
            for sid in task.step_ids:
                self.store.update_step(self.run_id, sid, "reconciled", {"adopted_job": current[0].id},
                                       job_id=current[0].id)
            task.job, task.phase = current[0], "poll"
        elif all(m in status and status[m].state == target and status[m].state not in op.allowed_from(_arch(status[m]))
                 for m in task.members):
            # Where the operation leads, and not where it starts from: done. (A move to modernized and re-creating the
            # plans lead to "protected" too; a machine still classic-protected, or plans never PUT, must be re-sent.)
            for sid in task.step_ids:
                self.store.update_step(self.run_id, sid, "reconciled", {"state": target}, status="succeeded",
                                       finished_at=iso(self.rt.now()))
            task.phase = "done"
        else:
            # Not accepted and not done: sending it again (same request id) cannot double it.
            for sid in task.step_ids:
                self.store.update_step(self.run_id, sid, "reconciled", {"resend": True})
            task.phase = "start"

    # -- polling ---------------------------------------------------------------------------------------------------
    async def _poll(self, operation: str, polling: list[Task], failures: list[str]) -> None:
        """One batched status read; finishes the tasks whose job ended and learns how long their jobs took."""
        names = [m for t in polling for m in t.members]
        status = await self.engine.describe_machines(names)
        now = self.rt.now()
        # The jobs still running on some machine: a task whose job is among them has nothing to do this poll.
        running_jobs = {ms.current_job.id for ms in status.values() if ms.current_job is not None}
        suspendable = self.backend.capabilities.jobs_can_suspend
        for task in polling:
            assert task.job is not None
            running = task.job.id in running_jobs
            check_suspended = (suspendable and task.recovery_plan is not None
                               and task.polls % SUSPEND_CHECK_EVERY == 0)
            task.polls += 1
            overdue = task.first_sent is not None and now - task.first_sent > MACHINE_OPERATION_TIMEOUT
            if running and not check_suspended and not overdue:
                continue
            job = await self.engine.read("get_job", self.backend.get_job, task.job)
            if job.state == "Suspended":
                await self.engine.actions.suspended_job(operation, task, job)
                continue
            if not job.done:
                if overdue:
                    await self._time_out(operation, task, failures)
                continue
            self._finish(operation, task, job, failures)
            if job.state == "Succeeded" and job.started_at is not None and job.finished_at is not None:
                self.engine.pacing.jobs.record(operation, (job.finished_at - job.started_at).total_seconds())

    def _finish(self, operation: str, task: Task, job: JobStatus, failures: list[str]) -> None:
        finished = iso(job.finished_at) if job.finished_at else iso(self.rt.now())
        started = job.started_at.timestamp() if job.started_at else task.first_sent
        for name, sid in zip(task.members, task.step_ids, strict=True):
            if job.state == "Succeeded":
                point = job.recovery_point_times.get(name)
                rpo = None
                if point is not None and started is not None:
                    rpo = round(max(0.0, started - point.timestamp()), 1)
                self.store.update_step(self.run_id, sid, "machine-succeeded", {"job_id": job.id},
                                       status="succeeded", finished_at=finished, recovery_point_time=iso(point),
                                       rpo_seconds=rpo)
                self.engine.emit("machine-finished", machine=name, operation=operation, status="succeeded",
                                 rpo_seconds=rpo)
            else:
                error = f"{name}: {operation} job {job.id} {job.state.lower()}: {job.error or 'no reason given'}"
                self.store.update_step(self.run_id, sid, "machine-failed", {"job_id": job.id}, status="failed",
                                       finished_at=finished, error=error, job_id=None, job_token=None)
                self.engine.emit("machine-finished", machine=name, operation=operation, status="failed", error=error)
                failures.append(error)
        task.phase = "done"

    async def _time_out(self, operation: str, task: Task, failures: list[str]) -> None:
        assert task.job is not None and task.first_sent is not None
        spent = self.rt.now() - task.first_sent
        note = ""
        for sid in task.step_ids:
            self.store.update_step(self.run_id, sid, "intent", {"call": "cancel_job", "job_id": task.job.id})
        try:
            await self.engine.write(self.backend.cancel_job, task.job)
        except (AmbiguousResult, Throttled, OperationRejected):
            note = " (the cancel request may not have arrived; check the job in the vault)"
        self._fail_task(operation, task, failures,
                        f"job {task.job.id} still running after {_minutes(spent)}, past its "
                        f"{MACHINE_OPERATION_TIMEOUT // 60}-minute deadline (ASR's RTO SLA); cancelled it{note}")

    def _fail_task(self, operation: str, task: Task, failures: list[str], why: str) -> None:
        for name, sid in zip(task.members, task.step_ids, strict=True):
            error = f"{name}: {operation} {why}"
            self.store.update_step(self.run_id, sid, "machine-timeout", {"why": why}, status="failed", error=error,
                                   finished_at=iso(self.rt.now()), job_id=None, job_token=None)
            self.engine.emit("machine-finished", machine=name, operation=operation, status="failed", error=error)
            failures.append(error)
        task.phase = "done"


def _arch(ms: MachineStatus) -> str:
    return ms.architecture if ms.architecture in ("modernized", "classic") else "modernized"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _ts(text: str | None) -> float | None:
    from asrctl.recovery.clock import from_iso

    dt = from_iso(text)
    return dt.timestamp() if dt else None


def _stop(message: str):  # noqa: ANN202 - an engine.Stop
    from asrctl.recovery.engine import Stop

    return Stop("failed", message)

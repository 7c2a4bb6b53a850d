"""The runbook engine: a small interpreter that runs a recovery plan (data) against a provider, durably.

Lifecycle of a run: pending → running → paused → succeeded | failed | cancelled (the journal holds it).

* A run is a list of **stages** (one ASR operation each: a drill is test-failover then cleanup-test-failover; a
  failback is reprotect, failback, reenable). Each stage runs the plan's groups strictly in order.
* In a group: the ``before`` actions that run for the operation, then every machine's operation in parallel
  (bounded), then — once all its machines are up — the ``after`` actions.
* Every side effect (provider start, runbook start, script) is preceded by an ``intent`` record and followed by a
  ``result`` record in the journal. On resume, a step with an intent but no result is **reconciled** with the
  provider (``find_job`` by request id, then the machine's state) before anything is sent again, so no machine is
  failed over twice. A machine already in the operation's target state is skipped (ASR does the same).
* Reads are retried with backoff (Throttled honours Retry-After); side effects never are, except after a 429,
  which guarantees the request was not accepted. Calls are paced by a client-side limiter inside ARM's budget.
* Every step has a timeout: machine jobs :data:`MACHINE_OPERATION_TIMEOUT` (provider clock), scripts and
  runbooks their action's timeout, manual actions theirs (wall clock: people approve in real time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asrctl.config import SECRET_KEYS, StackConfig
from asrctl.plans import Group, ManualAction, Plan, RunbookAction, ScriptAction, format_duration
from asrctl.project import project_dir, state_home
from asrctl.recovery.approval import Approver, DeferApprover
from asrctl.recovery.journal import Journal
from asrctl.recovery.provider import (
    TRANSITIONS,
    AmbiguousResult,
    JobRef,
    JobStatus,
    OperationRejected,
    RecoveryProvider,
    Throttled,
    TransientError,
    check_transition,
    direction_of,
    iso,
)
from asrctl.recovery.ratelimit import RateLimiter, shared_limiter

# ASR's RTO SLA is 2 hours per protected instance: a job still running after that is not going to meet it.
MACHINE_OPERATION_TIMEOUT = 2 * 3600


def wall_time() -> float:
    """Manual-action timeouts run on the wall clock (people approve in real time, whatever the simulator's speed);
    one seam so tests can move it without sleeping."""
    return time.time()


DEFAULT_CONCURRENCY = 25  # machines of one group in flight at once (ASR itself runs a group fully in parallel)
READ_ATTEMPTS = 6
MAX_BACKOFF = 60.0
CANCEL_CHECK_INTERVAL = 0.2  # real seconds between looks at the journal for `asrctl runs cancel`
OUTPUT_LIMIT = 2000
# Poll scheduling (see Engine._next_poll): a job is not expected to end before this fraction of the shortest job of
# its operation seen so far, and until then the group is polled at most every QUIET_POLL_FACTOR poll intervals (so
# an unusually quick job is still seen within a few intervals).
EARLIEST_DONE_FRACTION = 0.95
QUIET_POLL_FACTOR = 5
# A provider whose per-machine jobs can stop in Suspended (ASR: WaitingForManualAction) does not show that in the
# item list the engine polls, so every this-many polls each running job is read itself: the pause surfaces within a
# few minutes for a few extra reads.
SUSPEND_CHECK_EVERY = 4

# What each CLI command runs: its stages and which stage is "the" operation (RTO, report's groups).
COMMAND_STAGES: dict[str, tuple[tuple[str, ...], int]] = {
    "drill": (("test-failover", "cleanup-test-failover"), 0),
    "drill-no-cleanup": (("test-failover",), 0),
    "cleanup": (("cleanup-test-failover",), 0),
    "failover-planned": (("planned-failover",), 0),
    "failover-unplanned": (("unplanned-failover",), 0),
    "commit": (("commit",), 0),
    "reprotect": (("reprotect",), 0),
    "failback": (("reprotect", "failback", "reenable"), 1),
}


class _Stop(Exception):
    """Unwinds the interpreter when the run leaves the running state."""

    def __init__(self, status: str, message: str = "", step_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.step_id = step_id


def _shortest_jobs(provider: object) -> dict[str, float]:
    """Shortest job seen per operation on ``provider`` (shared by the runs that use it, like its rate limiter)."""
    seen = getattr(provider, "_asrctl_shortest_jobs", None)
    if seen is None:
        seen = {}
        provider._asrctl_shortest_jobs = seen  # type: ignore[attr-defined]
    return seen


@dataclass
class _MachineTask:
    run_id: str
    name: str
    step_id: str
    attempt: int
    phase: str  # start | reconcile | poll | done
    job: JobRef | None = None
    not_before: float = 0.0
    started: float = 0.0
    read_failures: int = 0
    polls: int = 0

    @property
    def request_id(self) -> str:
        # Stable across crashes of this run, unique across runs: a provider may dedupe or find the job by it.
        return f"{self.run_id}/{self.step_id}#{self.attempt}"


@dataclass
class Engine:
    """Runs (or resumes) one run recorded in ``journal``. ``run()`` returns the final status."""

    plan: Plan
    stack_cfg: StackConfig
    stack_name: str
    provider: RecoveryProvider
    journal: Journal
    run_id: str
    approver: Approver = field(default_factory=DeferApprover)
    on_event: Callable[[dict[str, Any]], None] | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    limiter: RateLimiter | None = None
    poll_interval: float | None = None

    def __post_init__(self) -> None:
        self.clock = self.provider.clock
        self.limiter = self.limiter or shared_limiter(self.provider)
        self.poll_interval = self.poll_interval or float(getattr(self.provider, "poll_interval", 10.0))
        self.calls = {"reads": 0, "writes": 0}
        self._last_cancel_check = 0.0
        run = self.journal.get_run(self.run_id)
        self.options: dict[str, Any] = run["options"]
        self.stages: list[str] = list(self.options["stages"])
        self._base_calls = {"reads": run["api_reads"], "writes": run["api_writes"]}

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def run(self) -> str:
        run = self.journal.get_run(self.run_id)
        self.journal.update_run(
            self.run_id, status="running", started_at=run["started_at"] or iso(self.clock.now()), paused_step=None,
            finished_at=None, error=None,
        )
        status, error, paused = "succeeded", None, None
        try:
            for si, operation in enumerate(self.stages):
                self._stage(si, operation)
        except _Stop as stop:
            status, error, paused = stop.status, stop.message or None, stop.step_id
        except Exception as exc:  # a bug or an unexpected provider error: record it, keep the traceback
            status, error = "failed", f"internal error: {exc!r}; resume with `asrctl runs resume {self.run_id}`"
            raise
        finally:
            self.journal.update_run(
                self.run_id, event=status, data={"error": error},
                status=status, error=error, paused_step=paused,
                finished_at=None if status == "paused" else iso(self.clock.now()),
                api_reads=self._base_calls["reads"] + self.calls["reads"],
                api_writes=self._base_calls["writes"] + self.calls["writes"],
            )
            self._emit("run-finished", status=status, error=error)
        return status

    def _emit(self, event: str, **data: Any) -> None:
        if self.on_event is not None:
            self.on_event({"event": event, "at": iso(self.clock.now()), **data})

    def _check_cancel(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_cancel_check < CANCEL_CHECK_INTERVAL:
            return
        self._last_cancel_check = time.monotonic()
        if self.journal.get_run(self.run_id)["cancel_requested"]:
            raise _Stop("cancelled", "cancelled by `asrctl runs cancel`; no new side effects were sent after it")

    # -- stages and groups -----------------------------------------------------------------------------------------
    def _stage(self, si: int, operation: str) -> None:
        sid = f"s{si}"
        row = self.journal.ensure_step(self.run_id, sid, stage=si, operation=operation, kind="stage", name=operation,
                                       phase=direction_of(operation))
        if row["status"] in ("succeeded", "skipped"):
            return
        self.journal.update_step(self.run_id, sid, "stage-started", status="running",
                                 started_at=row["started_at"] or iso(self.clock.now()))
        self._emit("stage-started", operation=operation)
        try:
            for gi, group in enumerate(self.plan.groups):
                self._group(si, operation, gi, group)
        except _Stop as stop:
            self.journal.update_step(self.run_id, sid, status="paused" if stop.status == "paused" else stop.status,
                                     error=stop.message or None)
            raise
        self.journal.update_step(self.run_id, sid, "stage-finished", status="succeeded",
                                 finished_at=iso(self.clock.now()))

    def _group(self, si: int, operation: str, gi: int, group: Group) -> None:
        gid = f"s{si}/g{gi}"
        row = self.journal.ensure_step(self.run_id, gid, stage=si, operation=operation, group_index=gi,
                                       group_name=group.name, kind="group", name=group.name)
        if row["status"] in ("succeeded", "skipped"):
            return
        self.journal.update_step(self.run_id, gid, "group-started", status="running", error=None,
                                 started_at=row["started_at"] or iso(self.clock.now()))
        self._emit("group-started", operation=operation, group=group.name)
        try:
            for ai, action in enumerate(group.before):
                if action.runs_for(operation):
                    self._action(si, operation, gi, group, "before", ai, action)
            self._machines(si, operation, gi, group)
            for ai, action in enumerate(group.after):
                if action.runs_for(operation):
                    self._action(si, operation, gi, group, "after", ai, action)
        except _Stop as stop:
            self.journal.update_step(self.run_id, gid, status=stop.status, error=stop.message or None,
                                     finished_at=None if stop.status == "paused" else iso(self.clock.now()))
            raise
        self.journal.update_step(self.run_id, gid, "group-finished", status="succeeded",
                                 finished_at=iso(self.clock.now()))
        self._emit("group-finished", operation=operation, group=group.name)

    # -- provider calls --------------------------------------------------------------------------------------------
    def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A read, paced and retried: 429 after Retry-After, other transient errors with exponential backoff."""
        delay = 2.0
        for attempt in range(1, READ_ATTEMPTS + 1):
            self.limiter.acquire("reads")
            self.calls["reads"] += 1
            try:
                return fn(*args)
            except Throttled as exc:
                wait = exc.retry_after
            except TransientError as exc:
                wait = max(delay, exc.retry_after if attempt == 1 else 0)
                delay = min(delay * 2, MAX_BACKOFF)
            if attempt == READ_ATTEMPTS:
                raise _Stop("failed", f"{getattr(fn, '__name__', 'read')} kept failing after {READ_ATTEMPTS} attempts")
            self.clock.sleep(wait)
        raise AssertionError("unreachable")

    def _write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A side effect, paced, sent once. 5xx/timeouts become AmbiguousResult: the caller reconciles."""
        self.limiter.acquire("writes")
        self.calls["writes"] += 1
        try:
            return fn(*args, **kwargs)
        except Throttled:
            raise
        except TransientError as exc:
            raise AmbiguousResult(str(exc)) from exc

    # -- machines --------------------------------------------------------------------------------------------------
    def _recovery_address(self, operation: str, name: str) -> str:
        machine = self.stack_cfg.machines_by_name[name]
        if operation in ("test-failover", "cleanup-test-failover"):
            return self.stack_cfg.test_failover_ip(machine)
        if operation in ("failback", "reenable"):
            return machine.ip  # back on-prem
        return machine.recovery_ip

    def _machines(self, si: int, operation: str, gi: int, group: Group) -> None:
        tasks: dict[str, _MachineTask] = {}
        target = TRANSITIONS[operation][1]
        later = {s for op in self.stages[si + 1:] for s in (*TRANSITIONS[op][0], TRANSITIONS[op][1])}
        for name in group.machines:
            mid = f"s{si}/g{gi}/m/{name}"
            row = self.journal.ensure_step(
                self.run_id, mid, stage=si, operation=operation, group_index=gi, group_name=group.name, kind="machine",
                name=name, recovery_name=name, recovery_ip=self._recovery_address(operation, name),
            )
            if row["status"] in ("succeeded", "skipped"):
                continue
            if row["job_id"]:
                phase, attempt = "poll", row["attempts"]
            elif row["status"] == "running":  # intent committed, result never written: the process died
                phase, attempt = "reconcile", row["attempts"]
            else:
                phase, attempt = "start", row["attempts"] + 1  # first try, or a redrive of a failed machine
            task = _MachineTask(self.run_id, name, mid, attempt, phase)
            if row["job_id"]:
                task.job = JobRef(row["job_id"], operation, name)
            tasks[name] = task
        if not tasks:
            return

        # Classify against the provider before sending anything: skip what is already done, refuse what ASR would.
        status = self._read(self.provider.describe_machines, list(tasks))
        failback_ok = True
        for name, task in list(tasks.items()):
            ms = status.get(name)
            if ms is None:
                raise _Stop("failed", f"{name}: the provider does not know this protected item")
            if task.phase != "start" or ms.current_job is not None:
                if ms.current_job is not None and task.phase == "start" and ms.current_job.operation == operation:
                    task.phase, task.job = "poll", ms.current_job  # someone (an earlier attempt) already started it
                    self.journal.update_step(self.run_id, task.step_id, "reconciled", {"adopted_job": ms.current_job.id},
                                             status="running", job_id=ms.current_job.id)
                continue
            if ms.state in TRANSITIONS[operation][0]:
                continue
            if ms.state == target or ms.state in later:
                self.journal.update_step(
                    self.run_id, task.step_id, "skipped", {"state": ms.state}, status="skipped",
                    error=None, finished_at=iso(self.clock.now()),
                )
                self._emit("machine-skipped", machine=name, state=ms.state, operation=operation)
                del tasks[name]
                continue
            try:
                check_transition(name, ms.state, operation, failback_ok, self.stack_name)
            except OperationRejected as exc:
                raise _Stop("failed", str(exc)) from exc
        self._drive(operation, tasks)

    def _drive(self, operation: str, tasks: dict[str, _MachineTask]) -> None:
        """The event loop of one group: start (bounded), reconcile, poll in batches, time out."""
        failures: list[str] = []
        # Runs started together would poll in lock-step and spend the shared read budget in bursts: give each run
        # its own phase within the poll interval.
        phase = (zlib.crc32(self.run_id.encode()) % 1000) / 1000
        next_poll = self.clock.now() + self.poll_interval * (1 + phase)
        while any(t.phase != "done" for t in tasks.values()):
            try:
                self._check_cancel()
            except _Stop:
                if failures:
                    break
                raise
            now = self.clock.now()
            in_flight = sum(1 for t in tasks.values() if t.phase == "poll")
            for task in tasks.values():
                if task.phase == "reconcile" and task.not_before <= now:
                    self._reconcile_machine(operation, task)
                if task.phase == "start" and task.not_before <= now and in_flight < self.concurrency:
                    self._start_machine(operation, task, failures)
                    in_flight += task.phase == "poll"
            polling = [t for t in tasks.values() if t.phase == "poll"]
            now = self.clock.now()
            if polling and now >= next_poll:
                self._poll(operation, polling, failures)
                next_poll = self._next_poll(operation, [t for t in tasks.values() if t.phase == "poll"])
            waits = [t.not_before for t in tasks.values() if t.phase in ("start", "reconcile") and t.not_before > now]
            if polling:
                waits.append(next_poll)
            if not any(t.phase != "done" for t in tasks.values()):
                break
            wake = min(waits) if waits else now
            self.clock.sleep(max(0.0, min(wake - self.clock.now(), self.poll_interval)))
        if failures:
            raise _Stop("failed", "; ".join(failures))

    def _next_poll(self, operation: str, polling: list[_MachineTask]) -> float:
        """When to read the group's status next.

        Polls spend the read budget every concurrent run shares, and a group is only as fast as the poll that sees
        its last job end. So: until the earliest moment one of the group's jobs can plausibly be done (its start plus
        the shortest job of this operation seen on this provider), poll rarely; from then on, at twice the rate.
        Before any job of the operation has finished, poll at the provider's interval.
        """
        now = self.clock.now()
        shortest = _shortest_jobs(self.provider).get(operation)
        if shortest is None or not polling:
            return now + self.poll_interval
        first_done = min(t.started or now for t in polling) + EARLIEST_DONE_FRACTION * shortest
        return max(now + self.poll_interval / 2, min(first_done, now + QUIET_POLL_FACTOR * self.poll_interval))

    def _start_machine(self, operation: str, task: _MachineTask, failures: list[str]) -> None:
        self._check_cancel(force=True)
        now = self.clock.now()
        recovery_point = self.options.get("recovery_point", "latest")
        self.journal.intent(
            self.run_id, task.step_id,
            {"call": "start_operation", "operation": operation, "request_id": task.request_id},
            status="running", attempts=task.attempt, request_id=task.request_id, started_at=iso(now), error=None,
        )
        task.started = now
        self._emit("machine-started", machine=task.name, operation=operation, attempt=task.attempt)
        try:
            job = self._write(
                self.provider.start_operation, task.name, operation, request_id=task.request_id,
                recovery_point_type=recovery_point, direction=direction_of(operation),
                network="test" if operation == "test-failover" else "recovery",
            )
        except Throttled as exc:
            # 429: the request was not accepted, so sending it again later is not a duplicate.
            self.journal.update_step(self.run_id, task.step_id, "throttled", {"retry_after": exc.retry_after})
            task.not_before = self.clock.now() + exc.retry_after
            return
        except AmbiguousResult as exc:
            self.journal.update_step(self.run_id, task.step_id, "ambiguous", {"error": str(exc)})
            task.phase = "reconcile"
            return
        except OperationRejected as exc:
            self.journal.result(self.run_id, task.step_id, {"rejected": str(exc)}, status="failed", error=str(exc),
                                finished_at=iso(self.clock.now()))
            failures.append(str(exc))
            task.phase = "done"
            return
        self.journal.result(self.run_id, task.step_id, {"job_id": job.id}, job_id=job.id)
        task.job, task.phase = job, "poll"

    def _reconcile_machine(self, operation: str, task: _MachineTask) -> None:
        """After a lost response or a crash: did the start reach the provider? Never guess, ask."""
        found = self._read(self.provider.find_job, task.name, operation, task.request_id)
        if found is not None:
            self.journal.update_step(self.run_id, task.step_id, "reconciled", {"found_job": found.id}, job_id=found.id)
            task.job, task.phase = found, "poll"
            if not task.started:
                task.started = self.clock.now()
            return
        status = self._read(self.provider.describe_machines, [task.name])[task.name]
        if status.current_job is not None and status.current_job.operation == operation:
            self.journal.update_step(self.run_id, task.step_id, "reconciled", {"adopted_job": status.current_job.id},
                                     job_id=status.current_job.id)
            task.job, task.phase = status.current_job, "poll"
            task.started = task.started or self.clock.now()
        elif status.state == TRANSITIONS[operation][1]:
            self.journal.update_step(self.run_id, task.step_id, "reconciled", {"state": status.state},
                                     status="succeeded", finished_at=iso(self.clock.now()))
            task.phase = "done"
        else:
            # Not accepted and not done: sending it again (same request id) cannot double it.
            self.journal.update_step(self.run_id, task.step_id, "reconciled", {"resend": True})
            task.phase = "start"

    def _poll(self, operation: str, polling: list[_MachineTask], failures: list[str]) -> None:
        """One batched status read; finishes the tasks whose job ended and learns how long their jobs took."""
        status = self._read(self.provider.describe_machines, [t.name for t in polling])
        now = self.clock.now()
        for task in polling:
            ms = status.get(task.name)
            still_running = ms is not None and ms.current_job is not None and ms.current_job.id == task.job.id
            check_suspended = getattr(self.provider, "jobs_can_suspend", False) and task.polls % SUSPEND_CHECK_EVERY == 0
            task.polls += 1
            if still_running and not check_suspended:
                if task.started and now - task.started > MACHINE_OPERATION_TIMEOUT:
                    self._timeout_machine(operation, task, failures)
                continue
            job = self._read(self.provider.get_job, task.job)
            if job.state == "Suspended":
                self._suspended_job(operation, task, job)
                continue
            if not job.done:
                if task.started and now - task.started > MACHINE_OPERATION_TIMEOUT:
                    self._timeout_machine(operation, task, failures)
                continue
            self._finish_machine(operation, task, job, failures)
            if job.state == "Succeeded" and job.started_at is not None and job.finished_at is not None:
                took = (job.finished_at - job.started_at).total_seconds()
                shortest = _shortest_jobs(self.provider)
                shortest[operation] = min(shortest.get(operation, took), took)

    def _finish_machine(self, operation: str, task: _MachineTask, job: JobStatus, failures: list[str]) -> None:
        finished = iso(job.finished_at) if job.finished_at else iso(self.clock.now())
        if job.state == "Succeeded":
            rpo = None
            row = self.journal.step(self.run_id, task.step_id)
            start = job.started_at.timestamp() if job.started_at else None
            if job.recovery_point_time is not None and start is not None:
                rpo = round(max(0.0, start - job.recovery_point_time.timestamp()), 1)
            self.journal.update_step(
                self.run_id, task.step_id, "machine-succeeded", {"job_id": job.id},
                status="succeeded", finished_at=finished, recovery_point_time=iso(job.recovery_point_time),
                rpo_seconds=rpo, started_at=row["started_at"] or iso(start),
            )
            self._emit("machine-finished", machine=task.name, operation=operation, status="succeeded", rpo_seconds=rpo)
        else:
            error = f"{task.name}: {operation} job {job.id} {job.state.lower()}: {job.error or 'no reason given'}"
            self.journal.update_step(self.run_id, task.step_id, "machine-failed", {"job_id": job.id},
                                     status="failed", finished_at=finished, error=error, job_id=None)
            self._emit("machine-finished", machine=task.name, operation=operation, status="failed", error=error)
            failures.append(error)
        task.phase = "done"

    def _suspended_job(self, operation: str, task: _MachineTask, job: JobStatus) -> None:
        """An ASR job stopped on a manual action: a pause of the run (exit 3) like a plan's own manual action; the
        approval (``runs resume --approve``) resumes the job, with the approver's comment, exactly once per approval."""
        instruction = (f"{task.name}: ASR {operation} job {job.id} is suspended waiting for a manual action "
                       f"({job.output or 'WaitingForManualAction'}); do it, then approve to resume the job")
        approval = self.approver.request(task.step_id, instruction, 0.0)
        if approval is None:
            self.journal.update_step(self.run_id, task.step_id, "job-suspended", {"job_id": job.id})
            self._emit("paused", step=task.step_id, instruction=instruction)
            raise _Stop("paused", f"waiting for approval: {instruction}", step_id=task.step_id)
        request_id = f"{task.request_id}/resume/{approval.at:.0f}"
        self.journal.update_step(self.run_id, task.step_id, "intent",
                                 {"call": "resume_job", "job_id": job.id, "request_id": request_id})
        comment = approval.comment or f"approved by {approval.by}"
        try:
            self._write(self.provider.resume_job, task.job, comment, request_id=request_id)
        except (AmbiguousResult, Throttled) as exc:
            # Not re-sent blindly: the next poll shows whether the job left Suspended; if not, it asks again.
            self.journal.update_step(self.run_id, task.step_id, "ambiguous", {"error": str(exc)})
            return
        self.journal.update_step(self.run_id, task.step_id, "job-resumed", {"by": approval.by, "comment": comment},
                                 approved_by=approval.by, approved_at=iso(approval.at), comment=comment)
        self._emit("job-resumed", machine=task.name, operation=operation, by=approval.by)

    def _timeout_machine(self, operation: str, task: _MachineTask, failures: list[str]) -> None:
        error = (f"{task.name}: {operation} job {task.job.id} still running after "
                 f"{MACHINE_OPERATION_TIMEOUT // 60} minutes (ASR's RTO SLA); cancelled it")
        self.journal.update_step(self.run_id, task.step_id, "intent", {"call": "cancel_job", "job_id": task.job.id})
        try:
            self._write(self.provider.cancel_job, task.job)
        except (AmbiguousResult, Throttled):
            error += " (the cancel request may not have arrived; check the job in the vault)"
        self.journal.update_step(self.run_id, task.step_id, "machine-timeout", {"job_id": task.job.id},
                                 status="failed", error=error, finished_at=iso(self.clock.now()), job_id=None)
        self._emit("machine-finished", machine=task.name, operation=operation, status="failed", error=error)
        failures.append(error)
        task.phase = "done"

    # -- actions ---------------------------------------------------------------------------------------------------
    def _action(self, si: int, operation: str, gi: int, group: Group, phase: str, ai: int, action: Any) -> None:
        aid = f"s{si}/g{gi}/{phase}/{ai}"
        row = self.journal.ensure_step(
            self.run_id, aid, stage=si, operation=operation, group_index=gi, group_name=group.name, kind=action.kind,
            name=action.label, phase=phase,
        )
        if row["status"] in ("succeeded", "skipped"):
            return
        self._check_cancel(force=True)
        self._emit("action-started", group=group.name, kind=action.kind, name=action.label, phase=phase)
        if isinstance(action, ManualAction):
            self._manual(aid, row, action)
        elif isinstance(action, ScriptAction):
            self._script(aid, row, action, operation, group)
        elif isinstance(action, RunbookAction):
            self._runbook(aid, row, action, operation, group)
        self._emit("action-finished", group=group.name, kind=action.kind, name=action.label, phase=phase)

    def _fail_action(self, aid: str, message: str, **fields: Any) -> None:
        self.journal.result(self.run_id, aid, {"error": message}, status="failed", error=message,
                            finished_at=iso(self.clock.now()), **fields)
        raise _Stop("failed", message)

    def _manual(self, aid: str, row: dict[str, Any], action: ManualAction) -> None:
        wall_started = row["wall_started"] or wall_time()
        if row["status"] != "waiting-approval":
            # A new request (first time, or the redrive of a run whose approval timed out): its timeout starts now.
            # Keeping the old start would fail a redriven approval at once, so the run could never be finished.
            wall_started = wall_time()
            self.journal.update_step(self.run_id, aid, "approval-requested", {"instruction": action.manual},
                                     status="waiting-approval", started_at=iso(self.clock.now()), finished_at=None,
                                     wall_started=wall_started, attempts=row["attempts"] + 1, error=None)
        remaining = action.effective_timeout - (wall_time() - wall_started)
        approval = self.approver.request(aid, action.manual, max(0.0, remaining)) if remaining > 0 else None
        waited = wall_time() - wall_started
        if waited > action.effective_timeout:
            self._fail_action(aid, f"manual action not approved within its {format_duration(action.effective_timeout)} "
                                   f"timeout: {action.manual}")
        if approval is None:
            self._emit("paused", step=aid, instruction=action.manual)
            raise _Stop("paused", f"waiting for approval: {action.manual}", step_id=aid)
        self.journal.update_step(
            self.run_id, aid, "approved", {"by": approval.by, "comment": approval.comment}, status="succeeded",
            approved_by=approval.by, approved_at=iso(approval.at), comment=approval.comment,
            finished_at=iso(self.clock.now()),
        )

    def context(self, operation: str, group: Group) -> dict[str, Any]:
        """The run context scripts and runbooks receive (ASR's RecoveryPlanContext, plus what scripts need)."""
        return {
            "run_id": self.run_id,
            "plan": self.plan.name,
            "stack": self.stack_name,
            "operation": operation,
            "direction": direction_of(operation),
            "group": group.name,
            "provider": self.provider.name,
            "machines": [
                {
                    "name": name,
                    "recovery_name": name,
                    "recovery_ip": self._recovery_address(operation, name),
                    "subnet": self.stack_cfg.machines_by_name[name].target_subnet,
                    "endpoint": self.provider.service_endpoint(name),
                }
                for name in group.machines
            ],
            # Which DNS backend switch_dns.py uses: the file zone under $ASRCTL_HOME when simulating.
            "dns": {"provider": "file" if self.provider.name == "simulator" else "azure",
                    "zone_dir": str(state_home() / "dns")},
        }

    def _script(self, aid: str, row: dict[str, Any], action: ScriptAction, operation: str, group: Group) -> None:
        script = project_dir() / action.script
        attempt = row["attempts"] + 1
        context = json.dumps(self.context(operation, group))
        # Scripts are re-run after a crash between intent and result: action scripts must be idempotent.
        self.journal.intent(self.run_id, aid, {"call": "script", "script": action.script, "args": list(action.args)},
                            status="running", attempts=attempt, started_at=iso(self.clock.now()), error=None)
        # Action scripts never see the stack's secrets (configuration-server passphrase, vCenter password, VPN key).
        env = {k: v for k, v in os.environ.items() if k not in SECRET_KEYS.values()}
        env["ASRCTL_CONTEXT"] = context
        try:
            proc = subprocess.run(
                [sys.executable, str(script), *action.args], input=context, env=env, capture_output=True, text=True,
                timeout=action.effective_timeout, cwd=project_dir(),
            )
        except subprocess.TimeoutExpired:
            self._fail_action(aid, f"script {action.script} timed out after {action.effective_timeout}s")
        output = (proc.stdout or "")[-OUTPUT_LIMIT:]
        if proc.returncode != 0:
            reason = (proc.stderr or "").strip().splitlines()[-1:] or ["no error output"]
            self._fail_action(aid, f"script {action.script} exited {proc.returncode}: {reason[0]}", output=output)
        self.journal.result(self.run_id, aid, {"exit": 0}, status="succeeded", output=output,
                            finished_at=iso(self.clock.now()))

    def _runbook(self, aid: str, row: dict[str, Any], action: RunbookAction, operation: str, group: Group) -> None:
        interrupted = row["status"] == "running"  # intent written, result maybe not: reconcile, same request id
        attempt = row["attempts"] if interrupted else row["attempts"] + 1
        request_id = f"{self.run_id}/{aid}#{attempt}"
        job: JobRef | None = JobRef(row["job_id"], action.runbook) if row["job_id"] and interrupted else None
        if job is None and interrupted:
            job = self._read(self.provider.find_job, None, action.runbook, request_id)
        started = self.clock.now()
        while job is None:
            self.journal.intent(self.run_id, aid, {"call": "start_runbook", "runbook": action.runbook,
                                                   "request_id": request_id},
                                status="running", attempts=attempt, request_id=request_id,
                                started_at=row["started_at"] or iso(started), error=None)
            try:
                job = self._write(self.provider.start_runbook, action.runbook, dict(action.parameters),
                                  self.context(operation, group), request_id)
            except Throttled as exc:
                self.clock.sleep(exc.retry_after)
                continue
            except AmbiguousResult:
                job = self._read(self.provider.find_job, None, action.runbook, request_id)
                if job is None:
                    continue  # never arrived: sending the same request id again cannot double it
            self.journal.result(self.run_id, aid, {"job_id": job.id}, job_id=job.id)
        while True:
            status = self._read(self.provider.get_job, job)
            if status.done:
                break
            if self.clock.now() - started > action.effective_timeout:
                try:
                    self._write(self.provider.cancel_job, job)
                except (AmbiguousResult, Throttled):
                    pass
                self._fail_action(aid, f"runbook {action.runbook} timed out after {action.effective_timeout}s")
            self._check_cancel()
            self.clock.sleep(self.poll_interval)
        if status.state != "Succeeded":
            self._fail_action(aid, f"runbook {action.runbook} {status.state.lower()}: {status.error or 'no reason'}",
                              output=status.output)
        self.journal.update_step(self.run_id, aid, "runbook-succeeded", {"job_id": job.id}, status="succeeded",
                                 output=status.output, finished_at=iso(self.clock.now()))

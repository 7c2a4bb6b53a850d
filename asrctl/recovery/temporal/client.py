"""Team mode from an operator's machine: start, follow, list, show, approve, redrive and cancel runs on Temporal.

The CLI (``asrctl/cli/recovery.py``, ``asrctl/cli/runs.py``) calls exactly these, with the same results and exit
codes as the local runner: a :class:`RunRecord`; :class:`RunPaused` (exit 3, with the resume command) when the run
waits for an approval; :class:`BadInput` (exit 2) for a refused command; Ctrl-C while following stops following
(exit 130) — the run goes on, on the workers.

Finding a run by its id: every run's workflow carries its summary in its memo (updated at each status change), so
``runs list`` is one visibility listing of the ``AsrctlRecoveryRun`` workflows and a run id is found among them —
no custom search attribute to register, on a dev server, a self-hosted cluster or Temporal Cloud alike. A run id is
the local engine's kind (``<plan>-<UTC time>-<hex>``); a redrive of a failed run is a new execution of the plan's
workflow with the same run id (the newest execution is the run).
"""

from __future__ import annotations

import asyncio
import gc
import re
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from asrctl.errors import BadInput, OperationFailed, RunInterrupted, RunPaused
from asrctl.recovery.records import FINAL_RUN_STATUSES, RunRecord, RunSummary
from asrctl.recovery.temporal import messages as wire
from asrctl.recovery.temporal.settings import TeamSettings, connect, project_settings
from asrctl.recovery.temporal.store import pending_summary, record_from_snapshot

FOLLOW_INTERVAL = 0.3  # seconds between progress queries while following a run
QUERY_TIMEOUT = timedelta(seconds=10)  # a running run: its worker answers from the workflow it has in memory
# A finished run is in no worker's memory: the worker that answers a query first replays the run's whole history
# (about 2 s for the ~1,000 events of an 11-machine drill on an idle core, several times that on a busy machine).
REPLAY_QUERY_TIMEOUT = timedelta(seconds=60)
NO_WORKER_NOTE_AFTER = 5.0  # seconds without an answer before saying that no worker seems to serve the queue
CANCEL_WAIT = 30.0
ENGINE_HINT = " --engine temporal"
RUN_ID_RE = re.compile(r"(?P<plan>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-\d{8}T\d{6}-[0-9a-f]{4}")  # journal.new_run_id

Events = Callable[[dict[str, Any]], None] | None


# ---------------------------------------------------------------------------------------------------------------
# The module API the CLI uses


def start_on_temporal(command: str, plan: str, stack: str, provider: str, on_event: Events = None, *,
                      detach: bool = False, planned: bool | None = None, recovery_point: str = "latest",
                      cleanup: bool = True, auto_approve: bool = False, skip_readiness: bool = False,
                      cancel: bool = False) -> RunRecord:
    """Start a run of ``command`` as a workflow and follow it (or, ``detach``, return at once: status pending)."""
    from asrctl.config import load_stack
    from asrctl.plans import load_plan
    from asrctl.recovery.temporal.starter import prepare

    stack_cfg = load_stack(stack)
    plan_name = load_plan(plan, stack_cfg, stack).name
    settings = TeamSettings.resolve(stack_cfg)

    async def main() -> RunRecord:
        client = await connect(settings)
        wid = wire.workflow_id(stack, plan_name)
        active = await _open_summary(client, wid)
        if active is not None:  # say so before anything else: the other run is why the world looks odd
            raise BadInput(active_message(active))
        run = prepare(command, plan, stack, provider, planned=planned, recovery_point=recovery_point,
                      cleanup=cleanup, auto_approve=auto_approve, skip_readiness=skip_readiness, cancel=cancel,
                      activity_timeout=settings.activity_timeout)
        handle = await _start(client, settings, run)
        if detach:
            return _pending_record(run)
        return await _follow(client, handle, run.run_id, on_event)

    return _run_following(main)


def list_runs(limit: int | None = None, plan: str | None = None, status: str | None = None) -> list[RunSummary]:
    """The newest ``limit`` runs (after the filters), oldest first: ``asrctl runs list --engine temporal``."""

    async def main() -> list[RunSummary]:
        found: list[tuple[float, RunSummary]] = []
        seen: set[str] = set()
        for settings in project_settings():
            client = await connect(settings)
            async for execution in client.list_workflows(f"WorkflowType = '{wire.RUN_WORKFLOW}'"):
                summary = (await execution.memo()).get("summary")
                if not summary or summary["run_id"] in seen:
                    continue
                seen.add(summary["run_id"])  # listed newest first: a run's newest execution wins
                if (plan and summary["plan"] != plan) or (status and summary["status"] != status):
                    continue
                found.append((execution.start_time.timestamp(), RunSummary.model_validate(summary)))
                if limit and len(found) >= limit:
                    break
        found.sort(key=lambda pair: pair[0])
        return [s for _, s in found[-limit:]] if limit else [s for _, s in found]

    return run_sync(main)


def load_run(run_id: str) -> RunRecord:
    """The run document, from the workflow (a running one answers a query; a finished one from its result)."""

    async def main() -> RunRecord:
        _, handle, execution, _ = await _find(run_id)
        return _team_record((await _final_or_current(handle, execution))["snapshot"])

    return run_sync(main)


def run_events(run_id: str) -> list[dict[str, Any]]:
    """The run's audit events (intent, result, reconciled, approved, …), like the local journal's ``events``."""

    async def main() -> list[dict[str, Any]]:
        from temporalio.client import WorkflowExecutionStatus

        _, handle, execution, _ = await _find(run_id)
        if execution.status == WorkflowExecutionStatus.RUNNING:
            try:
                return await _query(handle, run_id, execution.task_queue, "journal")
            except OperationFailed:
                if await _running(handle):
                    raise
                # it ended while we asked: its worker let go of it, so the answer now takes a replay
        return await _query(handle, run_id, execution.task_queue, "journal", running=False)

    return run_sync(main)


def resume(run_id: str, approve: bool = False, by: str | None = None, comment: str | None = None,
           on_event: Events = None) -> RunRecord:
    """Approve the pause of a run (from any machine), follow a running run, or redrive a failed one."""
    import getpass

    from asrctl.recovery.temporal.starter import prepare

    approval = wire.ApprovalRequest(by=by or getpass.getuser(), comment=comment or "") if approve else None

    async def main() -> RunRecord:
        client, handle, execution, settings = await _find(run_id)
        from temporalio.client import WorkflowExecutionStatus

        if execution.status == WorkflowExecutionStatus.RUNNING:
            if approval is not None:
                await _approve(handle, run_id, approval)
            return await _follow(client, handle, run_id, on_event)
        previous = (await _final_or_current(handle, execution))["snapshot"]
        status = previous["run"]["status"]
        if status in ("succeeded", "cancelled"):
            raise BadInput(f"run {run_id} is {status}; there is nothing to resume (start a new run instead)")
        if approval is not None and status != "paused":
            raise BadInput(f"run {run_id} is {status}, not waiting for an approval; drop --approve")
        row = previous["run"]
        spec = row["spec"]
        plan = row["plan_path"] if Path(row["plan_path"]).is_file() else row["plan"]
        run = prepare(spec["command"], plan, row["stack"], row["provider"], planned=spec.get("planned"),
                      recovery_point=spec.get("recovery_point", "latest"), cleanup=spec.get("cleanup", True),
                      auto_approve=spec.get("auto_approve", False), skip_readiness=spec.get("skip_readiness", False),
                      cancel=spec.get("command_key") == "failback-cancel", activity_timeout=settings.activity_timeout,
                      run_id=run_id, previous=previous)
        new = await _start(client, settings, run)
        return await _follow(client, new, run_id, on_event, approval=approval)

    return _run_following(main)


def cancel(run_id: str) -> tuple[RunRecord, list[str]]:
    """A Temporal cancellation request: the run stops before its next side effect. Returns the record and the
    machines whose test VMs are still up."""
    from asrctl.recovery.runner import test_vms_up

    async def main() -> tuple[RunRecord, list[str]]:
        from temporalio.client import WorkflowExecutionStatus

        _, handle, execution, _ = await _find(run_id)
        if execution.status != WorkflowExecutionStatus.RUNNING:
            record = _team_record((await _final_or_current(handle, execution))["snapshot"])
            raise BadInput(f"run {run_id} is already {record.status}; nothing to cancel")
        await handle.cancel()
        try:
            result = await asyncio.wait_for(handle.result(), CANCEL_WAIT)
        except TimeoutError:
            raise OperationFailed(f"run {run_id}: cancel requested, but no worker finished it within "
                                  f"{CANCEL_WAIT:.0f}s; it stops when a worker of task queue {execution.task_queue} "
                                  "picks it up (is `asrctl worker` running?)") from None
        record = _team_record(result["snapshot"])
        return record, test_vms_up(record)

    return run_sync(main)


def active_message(active: RunSummary) -> str:
    return (f"plan {active.plan} on stack {active.stack} already has an active run {active.run_id} ({active.status}); "
            f"resume it with `asrctl runs resume {active.run_id}{ENGINE_HINT}` or cancel it with "
            f"`asrctl runs cancel {active.run_id}{ENGINE_HINT}`")


# ---------------------------------------------------------------------------------------------------------------
# Starting and following


def _run_following(main: Callable[[], Any]) -> Any:
    """Run ``main``; Ctrl-C while following a started run stops following only."""
    _FOLLOWING.clear()
    try:
        return run_sync(main)
    except KeyboardInterrupt:
        run_id = _FOLLOWING.get("run_id")
        if run_id is None:
            raise
        raise RunInterrupted(f"run {run_id} stopped being followed; it goes on on the workers: `asrctl runs show "
                             f"{run_id}{ENGINE_HINT}`, cancel it with `asrctl runs cancel {run_id}{ENGINE_HINT}`",
                             exit_code=130) from None


_FOLLOWING: dict[str, str] = {}  # the run being followed (for the Ctrl-C message)


def run_sync(main: Callable[[], Any]) -> Any:
    """``asyncio.run(main())``, then collect the garbage: an error's traceback holds the Temporal client in a reference
    cycle, and a client freed by the interpreter's final collection crashes its Rust runtime at exit."""
    try:
        return asyncio.run(main())
    finally:
        gc.collect()


async def _start(client: Any, settings: TeamSettings, run: wire.RunInput) -> Any:
    from temporalio.common import WorkflowIDConflictPolicy
    from temporalio.exceptions import WorkflowAlreadyStartedError

    wid = wire.workflow_id(run.stack, run.plan["name"])
    try:
        return await client.start_workflow(
            wire.RUN_WORKFLOW, run, id=wid, task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            memo={"summary": pending_summary(run).model_dump(mode="json")},
            static_summary=f"asrctl {run.spec['command']} of plan {run.plan['name']} on stack {run.stack} "
                           f"({run.run_id})",
        )
    except WorkflowAlreadyStartedError:
        # Another operator started the plan between our check and our start: Temporal let exactly one through.
        active = await _open_summary(client, wid)
        if active is None:
            raise BadInput(f"plan {run.plan['name']}: another run just finished; try again") from None
        raise BadInput(active_message(active)) from None


async def _follow(client: Any, handle: Any, run_id: str, on_event: Events,
                  approval: wire.ApprovalRequest | None = None) -> RunRecord:
    """Print the run's progress until it ends (its record) or pauses (RunPaused, exit 3)."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    _FOLLOWING["run_id"] = run_id
    seen = 0
    waiting_since = time.monotonic()
    noted = False
    while True:
        try:
            progress = await handle.query("progress", seen, rpc_timeout=QUERY_TIMEOUT)
        except (WorkflowQueryFailedError, RPCError) as exc:
            if not await _running(handle):
                break
            if not noted and time.monotonic() - waiting_since > NO_WORKER_NOTE_AFTER:
                desc = await handle.describe()
                sys.stderr.write(f"note: run {run_id} waits for a worker on task queue {desc.task_queue} "
                                 f"(start one with `asrctl worker`): {getattr(exc, 'message', exc)}\n")
                noted = True
            await asyncio.sleep(FOLLOW_INTERVAL)
            continue
        waiting_since = time.monotonic()
        for event in progress["events"]:
            if on_event is not None:
                on_event(event)
        seen = progress["next"]
        if progress["status"] == "paused":
            if approval is not None:
                await _approve(handle, run_id, approval)
                approval = None
                continue
            desc = await handle.describe()
            record = _team_record((await _query(handle, run_id, desc.task_queue, "snapshot"))["snapshot"])
            raise _paused(record)
        if progress["status"] in FINAL_RUN_STATUSES:
            break
        await asyncio.sleep(FOLLOW_INTERVAL)
    result = await handle.result()
    return _conclude(result)


async def _approve(handle: Any, run_id: str, approval: wire.ApprovalRequest) -> None:
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    try:
        await handle.execute_update("approve", approval, rpc_timeout=QUERY_TIMEOUT)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = getattr(cause, "message", None) or str(cause)
        raise BadInput(message if message.startswith(("run ", "--by")) else f"run {run_id}: {message}") from None
    except RPCError as exc:
        raise BadInput(f"run {run_id}: the approval could not be delivered ({exc.message}); is a worker running? "
                       "(`asrctl worker`)") from None


def _conclude(result: dict[str, Any]) -> RunRecord:
    """A finished run as the local runner concludes one: the drill's report here, exit 2 for a bad-input stop."""
    from asrctl.recovery.runner import write_drill_report

    record = _team_record(result["snapshot"])
    if record.status == "paused":  # ended while paused (an ASR job suspended past a day): redrive asks again
        raise _paused(record)
    if record.command == "drill" and record.status in ("succeeded", "failed"):
        record.report_path = str(write_drill_report(record))
    if result.get("exit_code") == 2 and record.status == "failed":
        raise BadInput(f"run {record.run_id} stopped: {record.error}")
    return record


def _paused(record: RunRecord) -> RunPaused:
    step = record.paused_step
    what = step.name if step else "a manual action"
    if step is not None and step.kind == "machine":
        what = f"the ASR job of {what} is suspended waiting for a manual action (WaitingForManualAction)"
    return RunPaused(
        f"run {record.run_id} is paused for a manual action in group {step.group if step else '?'}: {what} — when "
        f"done: asrctl runs resume {record.run_id} --approve --by NAME --comment TEXT{ENGINE_HINT}", record)


def _team_record(snapshot: dict[str, Any]) -> RunRecord:
    record = record_from_snapshot(snapshot)
    if record.resume_command:
        record.resume_command += ENGINE_HINT
    if record.paused_step is not None and record.paused_step.resume:
        record.paused_step.resume += ENGINE_HINT
    return record


def _pending_record(run: wire.RunInput) -> RunRecord:
    from asrctl.recovery.temporal.store import MemoryStore

    row = {"run_id": run.run_id, "plan": run.plan["name"], "stack": run.stack,
           "operation": pending_summary(run).operation, "provider": run.provider, "engine": "temporal",
           "status": "pending", "created_at": "1970-01-01T00:00:00.000Z", "plan_path": run.plan_path,
           "plan_sha256": run.plan_sha256, "spec": run.spec, "readiness": run.readiness, "clock": run.clock,
           "targets": run.targets}
    return MemoryStore(row).record()


# ---------------------------------------------------------------------------------------------------------------
# Finding runs


async def _open_summary(client: Any, wid: str) -> RunSummary | None:
    """The summary of the plan's open run, if its workflow is running."""
    from temporalio.client import WorkflowExecutionStatus

    desc = await _describe(client, wid)
    if desc is None or desc.status != WorkflowExecutionStatus.RUNNING:
        return None
    summary = (await desc.memo()).get("summary")
    return RunSummary.model_validate(summary) if summary else None


async def _find(run_id: str) -> tuple[Any, Any, Any, TeamSettings]:
    """(client, handle of the run's newest execution, that execution, the settings it was found with, its task
    queue) — BadInput when no connection knows the run.

    First the plan's workflow on each stack (a run id starts with its plan; ``describe`` is consistent at once, so a
    run started a moment ago is found), then the visibility listing (older runs of a plan that ran again since)."""
    from asrctl.project import known_stacks

    match = RUN_ID_RE.fullmatch(run_id)
    for settings in project_settings():
        client = await connect(settings)
        if match is not None:
            for stack in known_stacks():
                found = await _describe(client, wire.workflow_id(stack, match["plan"]))
                if found is not None and (await found.memo()).get("summary", {}).get("run_id") == run_id:
                    return _found(client, found, settings)
        async for execution in client.list_workflows(f"WorkflowType = '{wire.RUN_WORKFLOW}'"):
            summary = (await execution.memo()).get("summary")
            if summary and summary.get("run_id") == run_id:
                return _found(client, execution, settings)
    where = ", ".join(s.describe() for s in project_settings())
    raise BadInput(f"run {run_id!r}: no such run on {where}; list runs with `asrctl runs list{ENGINE_HINT}`")


def _found(client: Any, execution: Any, settings: TeamSettings) -> tuple[Any, Any, Any, TeamSettings]:
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    return client, handle, execution, settings.with_task_queue(execution.task_queue)


async def _describe(client: Any, wid: str) -> Any:
    """The newest execution of a workflow id (a ``WorkflowExecutionDescription``), or None."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        return await client.get_workflow_handle(wid).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def _running(handle: Any) -> bool:
    from temporalio.client import WorkflowExecutionStatus

    return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def _final_or_current(handle: Any, execution: Any) -> dict[str, Any]:
    """A finished workflow's result (no worker needed); a running one's ``snapshot`` query."""
    from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

    summary = (await execution.memo()).get("summary", {})
    run_id = summary.get("run_id", execution.id)
    if execution.status == WorkflowExecutionStatus.RUNNING:
        try:
            return await _query(handle, run_id, execution.task_queue, "snapshot")
        except OperationFailed:
            if await _running(handle):
                raise
            # it ended while we asked (its worker let go of it): its result has the same snapshot, no worker needed
    try:
        return await handle.result(follow_runs=False)
    except WorkflowFailureError:
        try:
            return await handle.query("snapshot", rpc_timeout=QUERY_TIMEOUT)
        except Exception:  # noqa: BLE001 - said in one line below
            raise BadInput(f"run {execution.id}: its workflow ended {execution.status.name.lower()} without a run "
                           "record (terminated?); see it in the Temporal UI") from None



async def _query(handle: Any, run_id: str, task_queue: str, name: str, *args: Any, running: bool = True) -> Any:
    """A query of a run's workflow, which only a worker can answer (``running=False``: a finished run, which the
    worker replays first, so it gets :data:`REPLAY_QUERY_TIMEOUT`): none answering (all stopped, just restarting,
    or too busy) is one line saying so, never a traceback."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    timeout = QUERY_TIMEOUT if running else REPLAY_QUERY_TIMEOUT
    try:
        return await handle.query(name, *args, rpc_timeout=timeout)
    except RPCError as exc:
        state = "is running" if running else "has ended (a worker replays its history to answer)"
        raise OperationFailed(f"run {run_id} {state}, but no worker answered within {timeout.total_seconds():.0f}s "
                              f"({exc.message or exc}); start `asrctl worker` for task queue {task_queue}, or wait "
                              "for one to pick the run up, and try again") from None
    except WorkflowQueryFailedError as exc:
        raise OperationFailed(f"run {run_id}: its workflow could not answer ({exc.message}); see the worker's log "
                              f"(task queue {task_queue})") from None

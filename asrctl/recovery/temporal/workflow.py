"""The recovery run as a Temporal workflow: the local engine's interpreter, driven with a workflow runtime.

``RecoveryRunWorkflow`` holds one run. Its workflow id is :func:`~asrctl.recovery.temporal.messages.workflow_id`
(stack and plan), so Temporal itself refuses a second run of a plan while one is open — for every operator at once.
Its input is everything the interpreter needs (:class:`~asrctl.recovery.temporal.messages.RunInput`); its state is a
:class:`~asrctl.recovery.temporal.store.MemoryStore`; its result is the final snapshot of that store.

Handlers (the team's view of the run):

* query ``progress(since)`` — the progress events after ``since`` and the status (what a follower prints);
* query ``snapshot`` — the run row and steps (``runs show``, ``report``: ``RunRecord.from_journal`` of them);
* query ``journal`` — the run's audit events (intent, result, reconciled, approved, …), like the local journal's;
* update ``approve`` — approver and comment for the manual action the run is paused at (validated: refused, and not
  recorded, when the run is not paused);
* a Temporal **cancellation request** — ``asrctl runs cancel``: the interpreter stops before its next side effect.

The interpreter runs in a child task so that cancellation reaches it as a request, not as an exception thrown
into whatever it awaits: an activity already sent is awaited and its result recorded.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from asrctl.config import StackConfig
    from asrctl.plans import Plan
    from asrctl.recovery.clock import iso
    from asrctl.recovery.engine import Engine
    from asrctl.recovery.pacing import Pacing, RateLimiter
    from asrctl.recovery.records import RunSpec
    from asrctl.recovery.temporal import messages as wire
    from asrctl.recovery.temporal.activity_backend import ActivityBackend, provider_error
    from asrctl.recovery.temporal.store import MemoryStore
    from asrctl.recovery.temporal.workflow_runtime import WorkflowRuntime


@workflow.defn(name=wire.RUN_WORKFLOW)
class RecoveryRunWorkflow:
    @workflow.init
    def __init__(self, run: wire.RunInput) -> None:
        self.input = run
        spec = RunSpec.model_validate(run.previous["run"]["spec"] if run.previous else run.spec)
        if run.previous is not None:
            row, steps = dict(run.previous["run"]), run.previous["steps"]
        else:
            row, steps = self._new_row(run, spec), []
        # The store's event times are the run's clock, which the runtime keeps.
        self.store = MemoryStore(row, steps, clock=lambda: self.runtime.now(), on_status=self._publish)
        self.runtime = WorkflowRuntime(self.store, run.run_id, clock=run.clock, speed=run.speed,
                                       auto_approve=spec.auto_approve)
        self.exit_code: int | None = None

    @staticmethod
    def _new_row(run: wire.RunInput, spec: RunSpec) -> dict[str, Any]:
        return {
            "run_id": run.run_id, "plan": run.plan["name"], "stack": run.stack, "operation": spec.main_operation,
            "command": spec.command, "provider": run.provider, "engine": "temporal", "status": "pending",
            "created_at": iso(workflow.now().timestamp()), "plan_path": run.plan_path,
            "plan_sha256": run.plan_sha256, "spec": run.spec, "readiness": run.readiness, "clock": run.clock,
            "targets": run.targets, "api_reads": 0, "api_writes": 0, "cancel_requested": False,
        }

    def _publish(self, store: MemoryStore) -> None:
        """Every status change goes to the memo: ``runs list`` reads every run's summary in one visibility call."""
        if not workflow.in_workflow():  # the interpreter unwinding while a worker evicts the workflow: no commands
            return
        workflow.upsert_memo({"summary": store.summary().model_dump(mode="json")})

    # -- the run ---------------------------------------------------------------------------------------------------
    @workflow.run
    async def run(self, run: wire.RunInput) -> dict[str, Any]:
        if run.readiness_error is not None:
            self.store.update_run(run.run_id, "readiness-failed", status="failed", error=run.readiness_error,
                                  finished_at=iso(workflow.now().timestamp()))
            return self._result()
        if run.previous is not None:
            self.store.update_run(run.run_id, "resumed", {"redrive": True, "by": run.created_by}, status="running",
                                  finished_at=None, cancel_requested=False)
        plan = Plan.model_validate({**run.plan, "path": run.plan_path, "sha256": run.plan_sha256})
        stack_cfg = StackConfig.model_validate({**run.stack_config, "declared_secrets": run.declared_secrets})
        capabilities = wire.capabilities_from_wire(run.capabilities)
        backend = ActivityBackend(self.runtime, provider=run.provider, stack=run.stack, stack_sha256=run.stack_sha256,
                                  run_id=run.run_id, capabilities=capabilities, timeout=run.activity_timeout)
        try:
            info = await workflow.execute_activity(
                "worker_info", wire.Target(run.provider, run.stack, run.stack_sha256, run.run_id),
                start_to_close_timeout=timedelta(seconds=run.activity_timeout),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as err:
            why = provider_error("worker_info", err, run.activity_timeout)
            self.store.update_run(run.run_id, "failed", status="failed", error=f"no worker could prepare the run: "
                                  f"{why}", finished_at=iso(workflow.now().timestamp()))
            self.exit_code = getattr(why, "exit_code", None)
            return self._result()
        self.runtime.start_clock(info.get("sim_time"), info.get("home", ""))
        pacing = Pacing(RateLimiter(capabilities, self.runtime.now()))
        engine = Engine(plan, stack_cfg, run.stack, run.run_id, self.runtime, backend, pacing,
                        concurrency=run.concurrency)
        task = asyncio.create_task(engine.run())
        while not task.done():
            try:
                await workflow.wait_condition(task.done)
            except asyncio.CancelledError:
                self.runtime.request_cancel("cancelled by `asrctl runs cancel` (a Temporal cancellation request)")
        try:
            task.result()
        except Exception:  # a bug: the interpreter recorded the run failed with it; the workflow ends normally
            workflow.logger.exception("run %s: the interpreter failed", run.run_id)
        self.exit_code = engine.exit_code
        if self.runtime.simulated:
            await self._save_clock(run)
        return self._result()

    async def _save_clock(self, run: wire.RunInput) -> None:
        target = wire.Target(run.provider, run.stack, run.stack_sha256, run.run_id, now=self.runtime.sim_now)
        try:
            await workflow.execute_local_activity("save_clock", target,
                                                  start_to_close_timeout=timedelta(seconds=run.activity_timeout),
                                                  retry_policy=RetryPolicy(maximum_attempts=3))
        except ActivityError:  # the next run starts from an earlier saved time: harmless, its jobs still order
            workflow.logger.warning("run %s: could not save the simulated clock", run.run_id)

    def _result(self) -> dict[str, Any]:
        return {"snapshot": self.store.snapshot(), "exit_code": self.exit_code}

    # -- what operators see and send -------------------------------------------------------------------------------
    @workflow.query
    def progress(self, since: int) -> dict[str, Any]:
        events, following = self.runtime.progress_since(since)
        run = self.store.get_run(self.input.run_id)
        return {"events": events, "next": following, "status": run.status, "paused_step": run.paused_step}

    @workflow.query
    def snapshot(self) -> dict[str, Any]:
        return self._result()

    @workflow.query
    def journal(self) -> list[dict[str, Any]]:
        return list(self.store.events)

    @workflow.update
    def approve(self, request: wire.ApprovalRequest) -> str:
        return self.runtime.approve(request.by, request.comment)

    @approve.validator
    def _check_approval(self, request: wire.ApprovalRequest) -> None:
        if self.runtime.waiting_step is None:
            status = self.store.get_run(self.input.run_id).status
            raise ValueError(f"run {self.input.run_id} is {status}, not waiting for an approval; drop --approve")
        if not request.by.strip():
            raise ValueError("--by: name who approves")

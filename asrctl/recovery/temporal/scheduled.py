"""A scheduled drill: what a Temporal Schedule starts (:mod:`.schedules` creates them).

No operator starts it, so a worker does the starter's part (``prepare_run``: the worker's checkout, the same
pre-flight). The drill itself is an ordinary run — a child ``RecoveryRunWorkflow`` with the plan's workflow id, so it
is one run per plan with everybody else's: if an operator's run of the plan is open, the drill is skipped (said in
the result). Afterwards the drill **always cleans up**: when its run ended with test VMs still up (a failed or
cancelled drill), a ``cleanup`` run of the plan follows. Then its report (HTML and JSON) is written to the
schedule's report directory by a worker (``write_report``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from asrctl.recovery.runner import test_vms_up
    from asrctl.recovery.temporal import messages as wire
    from asrctl.recovery.temporal.store import pending_summary, record_from_snapshot
    from asrctl.recovery.temporal.workflow import RecoveryRunWorkflow

PREPARE_ATTEMPTS = 3  # loading and pre-flight read only: safe to try again on another worker


@workflow.defn(name=wire.SCHEDULED_DRILL_WORKFLOW)
class ScheduledDrillWorkflow:
    @workflow.run
    async def run(self, drill: wire.ScheduledDrillInput) -> dict[str, Any]:
        outcome: dict[str, Any] = {"schedule": drill.schedule_id, "stack": drill.stack, "plan": drill.plan,
                                   "drill": None, "cleanup": None, "report": None}
        first = await self._run("drill", drill)
        outcome["drill"] = first
        if "snapshot" not in first:
            return outcome
        snapshot = first.pop("snapshot")
        if test_vms_up(record_from_snapshot(snapshot)):
            cleanup = await self._run("cleanup", drill)
            cleanup.pop("snapshot", None)
            outcome["cleanup"] = cleanup
        outcome["report"] = await workflow.execute_activity(
            "write_report", {"snapshot": snapshot, "report_dir": drill.report_dir,
                             "schedule": {"id": drill.schedule_id, "cleanup": outcome["cleanup"]}},
            start_to_close_timeout=timedelta(seconds=drill.activity_timeout),
            retry_policy=RetryPolicy(maximum_attempts=PREPARE_ATTEMPTS),
        )
        return outcome

    async def _run(self, command: str, drill: wire.ScheduledDrillInput) -> dict[str, Any]:
        request = wire.PrepareRequest(command=command, stack=drill.stack, plan=drill.plan, provider=drill.provider,
                                      auto_approve=drill.auto_approve, skip_readiness=drill.skip_readiness,
                                      activity_timeout=drill.activity_timeout,
                                      created_by=f"schedule {drill.schedule_id}")
        try:
            data = await workflow.execute_activity(
                "prepare_run", request, start_to_close_timeout=timedelta(seconds=drill.activity_timeout * 5),
                retry_policy=RetryPolicy(maximum_attempts=PREPARE_ATTEMPTS, non_retryable_error_types=["BadInput"]),
            )
        except ActivityError as err:
            cause = err.cause
            return {"refused": cause.message if isinstance(cause, ApplicationError) else str(cause or err)}
        run = wire.RunInput(**data)
        try:
            handle = await workflow.start_child_workflow(
                RecoveryRunWorkflow.run, run, id=wire.workflow_id(drill.stack, drill.plan),
                task_queue=workflow.info().task_queue, parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                memo={"summary": pending_summary(run).model_dump(mode="json")},
            )
        except WorkflowAlreadyStartedError:
            return {"skipped": f"plan {drill.plan} on stack {drill.stack} already has an active run; this "
                               f"scheduled {command} did not start"}
        result = await handle
        snapshot = result["snapshot"]
        return {"run_id": run.run_id, "status": snapshot["run"]["status"], "error": snapshot["run"].get("error"),
                "snapshot": snapshot}


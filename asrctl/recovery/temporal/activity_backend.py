"""The interpreter's :class:`~asrctl.recovery.runtime.Backend` inside a workflow: every provider call is an activity.

* **One attempt** (``maximum_attempts=1``): the interpreter is the one retry layer, as locally. A provider error
  comes back as the same exception class (:data:`asrctl.recovery.temporal.messages.PROVIDER_ERRORS`), so the engine
  decides exactly as it does locally: Throttled → send again later, AmbiguousResult → reconcile, …
* **A lost worker** (killed, partitioned, stuck) surfaces as the activity's start-to-close timeout, which this
  backend turns into a :class:`TransientError`: a read is retried with backoff, and a side effect is — by the
  engine's rule "a transient error on a write is ambiguous" — reconciled with ``find_job`` by its request id before
  anything is sent again. The request ids are the local engine's, so a provider dedupes and finds jobs the same way.
* Simulator activities carry the run's simulated clock (:class:`~asrctl.recovery.temporal.messages.Target`), so
  the world is evaluated at the workflow's time whatever worker answers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

from asrctl.recovery.providers.protocol import (
    Capabilities,
    EnvironmentStatus,
    JobRef,
    JobStatus,
    MachineStatus,
    OperationRequest,
    ProviderError,
    TransientError,
)
from asrctl.recovery.temporal import messages as wire
from asrctl.recovery.temporal.workflow_runtime import WorkflowRuntime

ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)


class ActivityBackend:
    def __init__(self, runtime: WorkflowRuntime, *, provider: str, stack: str, stack_sha256: str, run_id: str,
                 capabilities: Capabilities, timeout: float) -> None:
        self.runtime = runtime
        self.name = provider
        self.capabilities = capabilities
        self._target = wire.Target(provider=provider, stack=stack, stack_sha256=stack_sha256, run_id=run_id)
        self._timeout = timedelta(seconds=timeout)
        self._calls: Counter[str] = Counter()

    async def call(self, activity: str, *args: Any, write: bool = False) -> Any:
        """One provider call. Side effects are activities the server tracks (scheduled once; a lost worker shows as
        a timeout). Reads are local activities: no side effect, so a worker lost in the middle simply reads again
        when another worker replays — and they cost one history event and no server round trip each, which is
        what keeps a run's polling cheap (DESIGN note in :mod:`asrctl.recovery.temporal`)."""
        target = asdict(self._target)
        if self.runtime.simulated:
            target["now"] = self.runtime.sim_now
        self._calls[activity] += 1
        execute = workflow.execute_activity if write else workflow.execute_local_activity
        try:
            return await execute(activity, args=[target, *args], start_to_close_timeout=self._timeout,
                                 retry_policy=ONE_ATTEMPT)
        except ActivityError as err:
            raise provider_error(activity, err, self._timeout.total_seconds()) from None

    # -- the Backend protocol --------------------------------------------------------------------------------------
    async def identity(self) -> str:
        return await self.call("identity")

    async def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        data = await self.call("describe_machines", names)
        return {name: wire.machine_status_from_wire(value) for name, value in data.items()}

    async def describe_environment(self) -> EnvironmentStatus:
        return wire.environment_from_wire(await self.call("describe_environment"))

    async def get_job(self, job: JobRef) -> JobStatus:
        return wire.job_status_from_wire(await self.call("get_job", wire.job_ref_to_wire(job)))

    async def find_job(self, request: OperationRequest) -> JobRef | None:
        return wire.job_ref_from_wire(await self.call("find_job", wire.request_to_wire(request)))

    async def find_runbook_job(self, runbook: str, request_id: str) -> JobRef | None:
        return wire.job_ref_from_wire(await self.call("find_runbook_job", runbook, request_id))

    async def start_operation(self, request: OperationRequest) -> JobRef:
        job = wire.job_ref_from_wire(await self.call("start_operation", wire.request_to_wire(request),
                                                        write=True))
        assert job is not None
        return job

    async def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any],
                            request_id: str) -> JobRef:
        job = wire.job_ref_from_wire(await self.call("start_runbook", name, parameters, context, request_id,
                                                        write=True))
        assert job is not None
        return job

    async def resume_job(self, job: JobRef, comment: str, request_id: str) -> None:
        await self.call("resume_job", wire.job_ref_to_wire(job), comment, request_id, write=True)

    async def cancel_job(self, job: JobRef) -> None:
        await self.call("cancel_job", wire.job_ref_to_wire(job), write=True)

    async def service_endpoints(self, machines: list[str]) -> dict[str, str | None]:
        return await self.call("service_endpoints", machines)

    def api_calls(self) -> dict[str, int]:
        """Activities this run scheduled, by name (the provider's own counts live on the workers)."""
        return dict(self._calls)


def provider_error(activity: str, err: ActivityError, timeout: float) -> ProviderError:
    """The provider exception an activity failure stands for."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        return wire.error_from_wire(cause.type or "ProviderError", cause.message, details)
    if isinstance(cause, ActivityTimeout):
        return TransientError(f"{activity}: no worker answered within {timeout:g}s (the worker was lost or is stuck); "
                              "the engine reconciles before sending anything again", retry_after=1.0)
    return TransientError(f"{activity}: {cause or err}", retry_after=1.0)

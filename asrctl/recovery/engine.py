"""The interpreter: runs (or resumes) one recovery run — stages → groups → actions and machines — durably.

Lifecycle of a run: pending → running → paused | interrupted → … → succeeded | failed | cancelled.

* A run is a list of **stages** (:data:`asrctl.recovery.operations.COMMANDS`: a drill is test-failover then
  cleanup-test-failover; a failback is reprotect, failback, commit-failback, reenable). Each stage runs the plan's
  groups strictly in order.
* In a group: the ``before`` actions that run for the operation, then every machine's operation in parallel
  (bounded; a multi-VM group as one recovery-plan job), then — once all its machines are up — the ``after``
  actions (:mod:`asrctl.recovery.machines`, :mod:`asrctl.recovery.actions`).
* Every side effect is preceded by an ``intent`` and followed by a ``result`` in the run's store. On resume a step
  with an intent but no result is **reconciled** with the provider before anything is sent again, so no machine is
  failed over twice.
* The runtime (:mod:`asrctl.recovery.runtime`) makes it durable: this module never touches SQLite, threads,
  processes or wall-clock sleeps, so the same code runs locally and as a Temporal workflow.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from asrctl.config import StackConfig
from asrctl.plans import Group, Plan
from asrctl.recovery.clock import iso
from asrctl.recovery.operations import OPERATIONS
from asrctl.recovery.pacing import Pacing
from asrctl.recovery.providers.protocol import MachineStatus, ProviderError, TransientError, WorldChanged
from asrctl.recovery.records import DONE_STEP_STATUSES, RunSpec, StepId
from asrctl.recovery.retry import retry_wait
from asrctl.recovery.runtime import Backend, Runtime, StoreUnavailable

DEFAULT_CONCURRENCY = 25  # machines of one group in flight at once (ASR itself runs a group fully in parallel)
CANCEL_CHECK_INTERVAL = 0.2  # real seconds between looks at the store for `asrctl runs cancel`


class Stop(Exception):
    """Unwinds the interpreter when the run leaves the running state."""

    def __init__(self, status: str, message: str = "", step_id: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.step_id = step_id
        self.exit_code = exit_code


@dataclass
class Engine:
    """Runs (or resumes) one run recorded in ``runtime.store``. ``await run()`` returns the final status."""

    plan: Plan
    stack_cfg: StackConfig
    stack_name: str
    run_id: str
    runtime: Runtime
    backend: Backend
    pacing: Pacing
    concurrency: int = DEFAULT_CONCURRENCY
    exit_code: int | None = field(default=None, init=False)  # set when the run stopped for a bad-input reason

    def __post_init__(self) -> None:
        run = self.store.get_run(self.run_id)
        self.spec: RunSpec = run.spec
        self.stages: tuple[str, ...] = self.spec.stages
        self.poll_interval = self.backend.capabilities.poll_interval
        self.clock_kind = run.clock  # "wall" (Azure) or "simulated": how run-clock waits relate to real time
        self._base_calls = {"reads": run.api_reads, "writes": run.api_writes}
        self.calls = {"reads": 0, "writes": 0}
        self._last_cancel_check = -1.0

    @property
    def store(self):  # noqa: ANN201 - the runtime's RunStore
        return self.runtime.store

    # -- lifecycle -------------------------------------------------------------------------------------------------
    async def run(self) -> str:
        from asrctl.recovery.actions import ActionRunner
        from asrctl.recovery.machines import GroupDriver

        self.machines = GroupDriver(self)
        self.actions = ActionRunner(self)
        run = self.store.get_run(self.run_id)
        self.store.update_run(self.run_id, "run-started", {}, status="running",
                              started_at=run.started_at or iso(self.runtime.now()), paused_step=None,
                              finished_at=None, error=None)
        status, error, paused = "succeeded", None, None
        store_lost: BaseException | None = None
        try:
            await self.check_world()
            for si, operation in enumerate(self.stages):
                await self._stage(si, operation)
        except Stop as stop:
            status, error, paused, self.exit_code = stop.status, stop.message or None, stop.step_id, stop.exit_code
        except asyncio.CancelledError:
            status = self.runtime.stop_reason() or "interrupted"
            error = ("interrupted; nothing new was sent after the signal; resume with "
                     f"`asrctl runs resume {self.run_id}`" if status == "interrupted"
                     else "cancelled; no new side effects were sent after it")
        except StoreUnavailable as exc:
            # Nothing more can be recorded: the run stays as the store last saw it (resumable) and the reason is
            # the caller's error. Nothing was sent after the write that failed.
            store_lost = exc
            raise
        except Exception as exc:  # a bug or an unexpected provider error: record it, keep the traceback
            status, error = "failed", f"internal error: {exc!r}; resume with `asrctl runs resume {self.run_id}`"
            raise
        finally:
            if store_lost is None:
                self._record_end(status, error, paused)
        return status

    def _record_end(self, status: str, error: str | None, paused: str | None) -> None:
        from asrctl.recovery.clock import seconds_between

        main = self.store.step(self.run_id, str(StepId(self.spec.main_stage)))
        rto = seconds_between(main.started_at, main.finished_at) if main is not None and main.finished_at else None
        self.store.update_run(
            self.run_id, status, {"error": error},
            status=status, error=error, paused_step=paused,
            finished_at=iso(self.runtime.now()) if status in ("succeeded", "failed", "cancelled") else None,
            api_reads=self._base_calls["reads"] + self.calls["reads"],
            api_writes=self._base_calls["writes"] + self.calls["writes"],
            rto_seconds=rto,
        )
        self.emit("run-finished", status=status, error=error)

    def emit(self, event: str, **data: Any) -> None:
        self.runtime.emit({"event": event, "at": iso(self.runtime.now()), **data})

    def check_stop(self, force: bool = False) -> None:
        """Between side effects: honour ``asrctl runs cancel`` (looked up at most every CANCEL_CHECK_INTERVAL)."""
        wall = self.runtime.wall_now()
        if not force and wall - self._last_cancel_check < CANCEL_CHECK_INTERVAL:
            return
        self._last_cancel_check = wall
        if self.runtime.cancel_requested():
            raise Stop("cancelled", "cancelled by `asrctl runs cancel`; no new side effects were sent after it")

    async def check_world(self) -> None:
        """The backend must still be the one the run started on (a replaced simulator world, another vault)."""
        expected = self.spec.provider_identity
        try:
            actual = await self.backend.identity()
        except WorldChanged as exc:
            raise Stop("failed", str(exc), exit_code=exc.exit_code) from None
        if expected and actual != expected:
            raise Stop("failed", f"the {self.backend.name} backend changed under run {self.run_id} (it started on "
                                 f"{expected}, now it is {actual}); nothing more is sent: check the machines' state "
                                 "(asrctl sim show / the vault) and start a new run", exit_code=2)

    # -- provider calls, paced and with the one retry layer --------------------------------------------------------
    async def read(self, what: str, call: Any, *args: Any, deadline: float | None = None, paced: bool = True) -> Any:
        """A read: paced, retried on 429 after Retry-After and on other transient errors with backoff; never past
        ``deadline`` (run clock). ``paced=False``: the call paces and counts its backend reads itself (a shared
        poll: once per backend call, not per caller)."""
        attempt = 0
        while True:
            attempt += 1
            if paced:
                await self._pace("reads")
                self.calls["reads"] += 1
            try:
                return await call(*args)
            except WorldChanged as exc:
                raise Stop("failed", str(exc), exit_code=exc.exit_code) from None
            except TransientError as exc:
                wait = retry_wait(attempt, exc)
                if wait is None:
                    raise Stop("failed", f"{what} kept failing after {attempt} attempts: {exc}") from None
                if deadline is not None and self.runtime.now() + wait > deadline:
                    raise Stop("failed", f"{what}: still failing at the step's deadline ({exc})") from None
                await self.runtime.wait(wait)
            except ProviderError as exc:
                raise Stop("failed", f"{what}: {exc}", exit_code=getattr(exc, "exit_code", None)) from None

    async def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        """The machines' status through the status poll shared by every run on this backend in the process
        (:mod:`asrctl.recovery.polling`): what a read of ``names`` would return now, retried like any read."""
        return await self.read("describe_machines", self.pacing.polls.describe, names, self.backend, self.runtime,
                               self._count_read, paced=False)

    def _count_read(self) -> None:
        self.calls["reads"] += 1

    async def write(self, call: Any, *args: Any) -> Any:
        """A side effect, paced, sent once. The caller handles Throttled (re-send later) and AmbiguousResult
        (reconcile); a transient error on a write is ambiguous by definition."""
        from asrctl.recovery.providers.protocol import AmbiguousResult, OperationRejected, Throttled

        await self._pace("writes")
        self.calls["writes"] += 1
        try:
            return await call(*args)
        except (Throttled, OperationRejected, AmbiguousResult):
            raise
        except TransientError as exc:
            raise AmbiguousResult(str(exc)) from exc
        except ProviderError as exc:  # the backend certainly did not act (a vanished world, an unusable file)
            raise Stop("failed", str(exc), exit_code=getattr(exc, "exit_code", None)) from None

    async def _pace(self, kind: str) -> None:
        wait = self.pacing.limiter.reserve(kind, self.runtime.now())
        if wait > 0:
            await self.runtime.wait(wait)

    # -- stages and groups -----------------------------------------------------------------------------------------
    async def _stage(self, si: int, operation: str) -> None:
        sid = str(StepId(si))
        row = self.store.ensure_step(self.run_id, sid, stage=si, operation=operation, kind="stage", name=operation,
                                     phase=OPERATIONS[operation].direction)
        if row.status in DONE_STEP_STATUSES:
            return
        self.store.update_step(self.run_id, sid, "stage-started", status="running", error=None, finished_at=None,
                               started_at=row.started_at or iso(self.runtime.now()))
        self.emit("stage-started", operation=operation, title=OPERATIONS[operation].title)
        # A run-scoped operation (re-creating the recovery plans after a migration) is one request for the run.
        groups = self.plan.groups if OPERATIONS[operation].scope == "machine" else \
            (Group(name="all machines", machines=tuple(self.plan.machines)),)
        try:
            for gi, group in enumerate(groups):
                await self._group(si, operation, gi, group)
        except (Stop, asyncio.CancelledError) as stop:
            status = stop.status if isinstance(stop, Stop) else "running"
            self.store.update_step(self.run_id, sid, status=_step_status(status),
                                   error=(stop.message or None) if isinstance(stop, Stop) else None)
            raise
        self.store.update_step(self.run_id, sid, "stage-finished", status="succeeded",
                               finished_at=iso(self.runtime.now()))

    async def _group(self, si: int, operation: str, gi: int, group: Group) -> None:
        gid = str(StepId(si, gi))
        row = self.store.ensure_step(self.run_id, gid, stage=si, operation=operation, group_index=gi,
                                     group_name=group.name, kind="group", name=group.name)
        if row.status in DONE_STEP_STATUSES:
            return
        await self.check_world()
        self.store.update_step(self.run_id, gid, "group-started", status="running", error=None, finished_at=None,
                               started_at=row.started_at or iso(self.runtime.now()))
        self.emit("group-started", operation=operation, group=group.name)
        try:
            for ai, action in enumerate(group.before):
                if action.runs_for(operation):
                    await self.actions.run(si, operation, gi, group, "before", ai, action)
            await self.machines.drive(si, operation, gi, group)
            for ai, action in enumerate(group.after):
                if action.runs_for(operation):
                    await self.actions.run(si, operation, gi, group, "after", ai, action)
        except (Stop, asyncio.CancelledError) as stop:
            status = stop.status if isinstance(stop, Stop) else "running"
            final = status in ("failed", "cancelled")
            self.store.update_step(self.run_id, gid, status=_step_status(status),
                                   error=(stop.message or None) if isinstance(stop, Stop) else None,
                                   finished_at=iso(self.runtime.now()) if final else None)
            raise
        self.store.update_step(self.run_id, gid, "group-finished", status="succeeded",
                               finished_at=iso(self.runtime.now()))
        self.emit("group-finished", operation=operation, group=group.name)

    # -- what scripts and runbooks receive -------------------------------------------------------------------------
    def recovery_address(self, operation: str, name: str) -> str:
        machine = self.stack_cfg.machines_by_name[name]
        network = OPERATIONS[operation].network
        if operation == "cleanup-test-failover" or network == "test":
            return self.stack_cfg.test_failover_ip(machine)
        if network == "on-prem" or operation in ("commit-failback", "reenable", "cancel-failback"):
            return machine.ip if operation != "cancel-failback" else machine.recovery_ip
        return machine.recovery_ip

    async def context(self, operation: str, group: Group) -> dict[str, Any]:
        """The run context scripts and runbooks receive (ASR's RecoveryPlanContext, plus what scripts need)."""
        endpoints = await self.backend.service_endpoints(list(group.machines))
        return {
            "run_id": self.run_id,
            "plan": self.plan.name,
            "stack": self.stack_name,
            "operation": operation,
            "direction": OPERATIONS[operation].direction,
            "group": group.name,
            "provider": self.backend.name,
            "machines": [
                {
                    "name": name,
                    "recovery_name": name,
                    "recovery_ip": self.recovery_address(operation, name),
                    "subnet": self.stack_cfg.machines_by_name[name].target_subnet,
                    "endpoint": endpoints.get(name),
                }
                for name in group.machines
            ],
            # Which DNS backend switch_dns.py uses: the file zone under $ASRCTL_HOME when simulating.
            "dns": {"provider": "file" if self.backend.name == "simulator" else "azure",
                    "zone_dir": self.runtime.state_dir() + "/dns"},
        }


def _step_status(run_status: str) -> str:
    """The status a stage/group step keeps when the run stops inside it."""
    return {"paused": "running", "interrupted": "running", "running": "running"}.get(run_status, run_status)

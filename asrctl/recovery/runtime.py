"""The seam between the interpreter (:mod:`asrctl.recovery.engine`) and the runtime that makes it durable.

One interpreter, two runtimes (DESIGN: "The interpreter is the same code as the local engine"):

* **local** (:mod:`asrctl.recovery.local`): the run's state in the SQLite journal, provider calls made in-process,
  waits on the provider's clock, scripts as child processes, approvals from the terminal or ``runs resume
  --approve``, SIGINT/SIGTERM turned into an ``interrupted`` run.
* **temporal** (:mod:`asrctl.recovery.temporal`): the run is a workflow; its state lives in the workflow (queried by
  every operator), provider calls and scripts are activities, waits are durable timers, approvals are signals.

The interpreter sees only :class:`Runtime` (store, clock, waits, scripts, approvals, stop requests, progress) and
:class:`Backend` (the provider's calls, awaited). Everything it does that is not deterministic goes through these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from asrctl.errors import BadInput
from asrctl.recovery.providers.protocol import (
    Capabilities,
    EnvironmentStatus,
    JobRef,
    JobStatus,
    MachineStatus,
    OperationRequest,
)
from asrctl.recovery.records import RunRow, StepRecord


class StoreUnavailable(BadInput):
    """The run's store can no longer record anything (local: the journal is damaged, read-only or its disk full).
    The interpreter stops at once, sends nothing more and leaves the run as the store last saw it (resumable)."""


@dataclass(frozen=True)
class Approval:
    by: str
    comment: str = ""
    at: float = 0.0  # wall clock seconds: people approve in real time
    immediate: bool = False  # approved on the spot by a policy (--auto-approve): no one was waited for


@dataclass(frozen=True)
class ScriptCall:
    """An action script run client-side: ``python <path> <args>`` in the project directory, the run context as JSON
    on stdin and in ``ASRCTL_CONTEXT``, an environment without credentials."""

    path: str  # relative to the project directory (validated: inside runbooks/actions/)
    args: tuple[str, ...]
    context_json: str
    timeout: float  # seconds


@dataclass(frozen=True)
class ScriptResult:
    returncode: int | None  # None: killed at its timeout
    stdout: str = ""
    stderr: str = ""


class RunStore(Protocol):
    """Where the run's state lives (local: the journal; Temporal: the workflow's memory)."""

    def get_run(self, run_id: str) -> RunRow: ...

    def update_run(self, run_id: str, event: str | None = None, data: dict[str, Any] | None = None,
                   **fields: Any) -> None: ...

    def ensure_step(self, run_id: str, step_id: str, **identity: Any) -> StepRecord: ...

    def step(self, run_id: str, step_id: str) -> StepRecord | None: ...

    def update_step(self, run_id: str, step_id: str, event: str | None = None, data: dict[str, Any] | None = None,
                    **fields: Any) -> None: ...

    def intent(self, run_id: str, step_id: str, data: dict[str, Any], **fields: Any) -> None: ...

    def result(self, run_id: str, step_id: str, data: dict[str, Any], **fields: Any) -> None: ...


class Backend(Protocol):
    """The provider's calls as the interpreter awaits them (local: direct calls; Temporal: activities)."""

    name: str
    capabilities: Capabilities

    async def identity(self) -> str: ...

    async def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]: ...

    async def describe_environment(self) -> EnvironmentStatus: ...

    async def get_job(self, job: JobRef) -> JobStatus: ...

    async def find_job(self, request: OperationRequest) -> JobRef | None: ...

    async def find_runbook_job(self, runbook: str, request_id: str) -> JobRef | None: ...

    async def start_operation(self, request: OperationRequest) -> JobRef: ...

    async def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any],
                            request_id: str) -> JobRef: ...

    async def resume_job(self, job: JobRef, comment: str, request_id: str) -> None: ...

    async def cancel_job(self, job: JobRef) -> None: ...

    async def service_endpoints(self, machines: list[str]) -> dict[str, str | None]: ...

    def api_calls(self) -> dict[str, int]: ...


class Runtime(Protocol):
    store: RunStore

    def now(self) -> float:
        """The run's clock (the provider's): every timestamp of the run."""

    def wall_now(self) -> float:
        """Real time: manual-action timeouts and approval waits (people approve in real time)."""

    async def wait(self, seconds: float) -> None:
        """Let ``seconds`` of the run's clock pass (local: the provider clock; Temporal: a durable timer)."""

    def add_real_wait(self, seconds: float) -> None:
        """Count real time a person took (approval) on the run's clock."""

    async def run_script(self, call: ScriptCall) -> ScriptResult: ...

    async def request_approval(self, step_id: str, instruction: str, timeout_seconds: float) -> Approval | None:
        """An approval, or None: nobody approved here (local: the run pauses durably; Temporal: the timeout
        passed)."""

    def cancel_requested(self) -> bool:
        """``asrctl runs cancel`` asked this run to stop (checked between side effects)."""

    def stop_reason(self) -> str | None:
        """Why the interpreter's task was cancelled: ``interrupted`` (a signal, resumable) or ``cancelled``."""

    def emit(self, event: dict[str, Any]) -> None:
        """Progress for whoever follows the run."""

    def state_dir(self) -> str:
        """Where file-backed actions keep state (the simulated DNS zone)."""


@dataclass
class EventLog:
    """A Runtime.emit sink that keeps events (tests, the Temporal follower)."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)

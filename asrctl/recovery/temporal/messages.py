"""What crosses Temporal's wire between the starter, the workflow and the activities — one table for each.

Everything here is plain JSON (dicts, lists, strings, numbers): the default data converter carries it with no
custom codec, the Temporal UI shows it readably, and no pickled object can smuggle a secret or break on upgrade.

* :class:`RunInput` — what the starter hands the workflow: the validated plan and stack config (so the workflow is
  deterministic and never reads a file), the run's spec, the readiness result, the clock.
* :class:`Target` — the few fields every provider activity carries (which provider, which stack and which version
  of its file, and the run's clock when simulated). Kept small: it is in the history once per call.
* ``*_to_wire`` / ``*_from_wire`` — the provider protocol's records (:mod:`asrctl.recovery.providers.protocol`).
* :data:`PROVIDER_ERRORS` — how a provider's exception crosses an activity boundary and comes back as the same class
  (the engine decides what each means: Throttled → later, AmbiguousResult → reconcile, …).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from asrctl.recovery.providers.protocol import (
    AmbiguousResult,
    Capabilities,
    EnvironmentStatus,
    JobRef,
    JobStatus,
    MachineStatus,
    NotReady,
    OperationRejected,
    OperationRequest,
    ProviderError,
    Throttled,
    TransientError,
    WorldChanged,
)

RUN_WORKFLOW = "AsrctlRecoveryRun"
SCHEDULED_DRILL_WORKFLOW = "AsrctlScheduledDrill"


def workflow_id(stack: str, plan: str) -> str:
    """One run per plan across the team: Temporal lets one workflow with this id run at a time."""
    return f"asrctl:{stack}:{plan}"


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class RunInput:
    run_id: str
    stack: str
    stack_sha256: str  # the stack file the starter validated: workers refuse to act on another version
    stack_config: dict[str, Any]  # StackConfig.model_dump(mode="json")
    declared_secrets: list[str]
    plan: dict[str, Any]  # Plan.model_dump(mode="json", exclude_none=True)
    plan_path: str
    plan_sha256: str
    spec: dict[str, Any]  # RunSpec
    provider: str
    capabilities: dict[str, Any]  # the provider's Capabilities (poll interval, budgets)
    clock: str  # "simulated" | "wall"
    speed: float = 1.0  # simulated seconds per real second (simulator)
    readiness: list[dict[str, Any]] = field(default_factory=list)
    targets: dict[str, Any] = field(default_factory=dict)
    readiness_error: str | None = None  # readiness failed: the run is recorded failed, nothing is sent
    previous: dict[str, Any] | None = None  # a redrive: the last execution's snapshot of this run
    activity_timeout: float = 60.0
    concurrency: int = 25
    created_by: str = ""  # user@host of the starter (shown in the run's events)


@dataclass
class Target:
    provider: str
    stack: str
    stack_sha256: str
    run_id: str
    now: float | None = None  # the run's simulated clock (None: the provider's own wall clock)


@dataclass
class ApprovalRequest:
    by: str
    comment: str = ""


@dataclass
class ScheduledDrillInput:
    schedule_id: str
    stack: str
    plan: str
    provider: str = "simulator"
    auto_approve: bool = False
    skip_readiness: bool = False
    report_dir: str | None = None  # None: the stack's team.reportDir, else the worker's $ASRCTL_HOME/reports
    activity_timeout: float = 60.0


@dataclass
class PrepareRequest:
    """A worker prepares a run for a scheduled drill (no person started it): load, validate, pre-flight."""

    command: str  # drill | cleanup
    stack: str
    plan: str
    provider: str
    auto_approve: bool
    skip_readiness: bool
    activity_timeout: float
    created_by: str


# ---------------------------------------------------------------------------------------------------------------
# Provider records


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def job_ref_to_wire(job: JobRef) -> dict[str, Any]:
    return {"id": job.id, "operation": job.operation, "machines": list(job.machines), "token": job.token}


def job_ref_from_wire(data: dict[str, Any] | None) -> JobRef | None:
    if data is None:
        return None
    return JobRef(data["id"], data["operation"], tuple(data.get("machines") or ()), data.get("token"))


def job_status_to_wire(status: JobStatus) -> dict[str, Any]:
    return {"id": status.id, "state": status.state, "error": status.error, "output": status.output,
            "recovery_point_times": {m: t.timestamp() for m, t in status.recovery_point_times.items()},
            "started_at": _ts(status.started_at), "finished_at": _ts(status.finished_at)}


def job_status_from_wire(data: dict[str, Any]) -> JobStatus:
    return JobStatus(id=data["id"], state=data["state"], error=data.get("error"), output=data.get("output"),
                     recovery_point_times={m: _dt(t) for m, t in (data.get("recovery_point_times") or {}).items()},
                     started_at=_dt(data.get("started_at")), finished_at=_dt(data.get("finished_at")))


def machine_status_to_wire(status: MachineStatus) -> dict[str, Any]:
    return {"name": status.name, "state": status.state, "protection_state": status.protection_state,
            "replication_health": status.replication_health, "rpo_seconds": status.rpo_seconds,
            "last_heartbeat": _ts(status.last_heartbeat),
            "recovery_points": {k: v.timestamp() for k, v in status.recovery_points.items()},
            "allowed_operations": list(status.allowed_operations),
            "current_job": job_ref_to_wire(status.current_job) if status.current_job else None,
            "architecture": status.architecture}


def machine_status_from_wire(data: dict[str, Any]) -> MachineStatus:
    return MachineStatus(name=data["name"], state=data["state"], protection_state=data["protection_state"],
                         replication_health=data["replication_health"], rpo_seconds=data.get("rpo_seconds"),
                         last_heartbeat=_dt(data.get("last_heartbeat")),
                         recovery_points={k: _dt(v) for k, v in (data.get("recovery_points") or {}).items()},  # type: ignore[misc]
                         allowed_operations=tuple(data.get("allowed_operations") or ()),
                         current_job=job_ref_from_wire(data.get("current_job")),
                         architecture=data.get("architecture", "modernized"))


def environment_to_wire(status: EnvironmentStatus) -> dict[str, Any]:
    return {"test_network_present": status.test_network_present, "failback_ready": status.failback_ready,
            "problems": list(status.problems), "details": dict(status.details)}


def environment_from_wire(data: dict[str, Any]) -> EnvironmentStatus:
    return EnvironmentStatus(test_network_present=data["test_network_present"], failback_ready=data["failback_ready"],
                             problems=tuple(data.get("problems") or ()), details=dict(data.get("details") or {}))


def request_to_wire(request: OperationRequest) -> dict[str, Any]:
    return {**asdict(request), "machines": list(request.machines)}


def request_from_wire(data: dict[str, Any]) -> OperationRequest:
    return OperationRequest(**{**data, "machines": tuple(data["machines"])})


def capabilities_to_wire(capabilities: Capabilities) -> dict[str, Any]:
    return asdict(capabilities)


def capabilities_from_wire(data: dict[str, Any]) -> Capabilities:
    return Capabilities(**data)


# ---------------------------------------------------------------------------------------------------------------
# Provider errors across the activity boundary

# Most specific first: an error is sent as the first class it is an instance of. The engine's meaning of each is in
# asrctl.recovery.providers.protocol; a worker's BadInput (another stack file, an unknown stack) comes back as
# OperationRejected: bad input for this run, exit 2, never retried.
PROVIDER_ERRORS: tuple[type[ProviderError], ...] = (
    NotReady, Throttled, TransientError, AmbiguousResult, OperationRejected, WorldChanged, ProviderError,
)
_BY_NAME = {cls.__name__: cls for cls in PROVIDER_ERRORS}


def error_type(exc: ProviderError) -> str:
    return next(cls.__name__ for cls in PROVIDER_ERRORS if isinstance(exc, cls))


def error_details(exc: ProviderError) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if isinstance(exc, TransientError):
        details["retry_after"] = exc.retry_after
    return details


def error_from_wire(type_name: str, message: str, details: dict[str, Any] | None) -> ProviderError:
    cls = _BY_NAME.get(type_name)
    if cls is None:
        return ProviderError(f"worker error ({type_name}): {message}")
    if issubclass(cls, TransientError):
        return cls(message, retry_after=float((details or {}).get("retry_after", 5.0)))
    return cls(message)

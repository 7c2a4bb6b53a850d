"""The provider seam: everything the runbook engine, readiness and the runner may ask of Azure Site Recovery.

Implementations: :mod:`asrctl.recovery.providers.simulator` (embedded, stateful) and
:mod:`asrctl.recovery.providers.azure` (the real SDK). The engine only talks to :class:`RecoveryProvider`, so a
whole runbook is testable against the simulator, and a third provider is writable from this module alone.

Contract for implementers
-------------------------
* **Construction**: ``(stack_cfg, stack_name, *, state=None, on_job_started=None)`` through
  :func:`asrctl.recovery.providers.make_provider`. ``state`` is what :meth:`RecoveryProvider.export_state`
  returned when the run started (the engine journals it), so a resumed run skips discovery it already did.
  ``on_job_started(request_id, job)`` is called as soon as a side effect is known to have created a job, before
  ``start_operation`` returns, so the journal records the job even if the process dies right after.
* **Reads** (``describe_machines``, ``describe_environment``, ``get_job``, ``find_job``) have no side effects and
  are sent once: on 429 raise :class:`Throttled` (with ``Retry-After``), on 5xx / connection trouble
  :class:`TransientError`. The engine is the one retry layer (:mod:`asrctl.recovery.retry`); a provider never
  retries inside.
* **Side effects** (``start_operation``, ``start_runbook``, ``resume_job``, ``cancel_job``) are sent exactly once.
  Raise :class:`Throttled` only when the request was certainly not accepted (HTTP 429) and :class:`NotReady` when
  it was not sent because the backend must finish something first; raise :class:`AmbiguousResult` when it may have
  been accepted (timeout, 5xx, lost connection): the engine then reconciles with ``find_job`` and
  ``describe_machines`` before sending anything again. :class:`OperationRejected` when the backend forbids it.
* ``request_id`` is derived by the engine from run, step and attempt, stable across crashes of the run; a
  provider must make a re-send with the same id unable to create a second job, and ``find_job`` must find the job
  it created.
* Machine states use :data:`asrctl.recovery.operations.MACHINE_STATES`, whatever the backend calls them.
* ``clock`` is the backend's time source (simulated for the simulator): the engine times the run with it.
* ``api_calls`` counts calls as the backend sees them: ``"reads"`` and ``"writes"`` (for Azure: HTTP requests,
  pages included), and one key per method.
* :meth:`identity` names the backend instance (the simulator's world, the Azure vault): recorded with the run; a
  run refuses to continue on a different one. A backend that vanished under a run raises :class:`WorldChanged`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from asrctl.errors import EXIT_BAD_INPUT, AsrctlError
from asrctl.recovery.clock import Clock

JobState = Literal["NotStarted", "InProgress", "Succeeded", "Failed", "Cancelled", "Suspended"]
TERMINAL_JOB_STATES: tuple[str, ...] = ("Succeeded", "Failed", "Cancelled")
ReplicationHealth = Literal["Normal", "Warning", "Critical"]


# ---------------------------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class JobRef:
    """A long-running backend job: one machine's operation, a multi-VM group's recovery-plan job, or a runbook."""

    id: str
    operation: str  # an operation name, or "runbook:<name>"
    machines: tuple[str, ...] = ()  # the machines it works on (several for a recovery-plan job)
    token: str | None = None  # backend continuation data worth journaling (Azure: the LRO continuation token)

    @property
    def machine(self) -> str | None:
        return self.machines[0] if len(self.machines) == 1 else None


@dataclass(frozen=True)
class JobStatus:
    id: str
    state: str  # one of JobState
    error: str | None = None
    recovery_point_times: dict[str, datetime] = field(default_factory=dict)  # machine → the point it came up from
    started_at: datetime | None = None
    finished_at: datetime | None = None
    output: str | None = None  # runbooks: their output stream (short); suspended jobs: why

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_JOB_STATES


@dataclass(frozen=True)
class MachineStatus:
    name: str
    state: str  # one of MACHINE_STATES
    protection_state: str  # the backend's own words, shown to users (e.g. "Protected", "UnplannedFailoverCommitted")
    replication_health: ReplicationHealth
    rpo_seconds: float | None  # current RPO of the replication (None when not replicating)
    last_heartbeat: datetime | None
    recovery_points: dict[str, datetime] = field(default_factory=dict)  # "crash-consistent"/"app-consistent" → latest
    allowed_operations: tuple[str, ...] = ()  # asrctl operation names the backend would accept now
    current_job: JobRef | None = None  # a job still running on the machine
    architecture: str = "modernized"  # which replication the item uses ("modernized": InMageRcm*, "classic")
    agent_version: str | None = None  # the Mobility agent's version as the backend reports it (None: unknown)
    agent_latest_version: str | None = None  # the newest agent its appliance / configuration server offers


HealthLevel = Literal["Normal", "Warning", "Critical", "Missing"]


@dataclass(frozen=True)
class ApplianceStatus:
    """One modernized replication appliance as the vault's InMageRcm fabric reports it (REFERENCE-modernized §2.4):
    each of its components (process server, RCM proxy, push installer, replication agent, reprotect agent, MARS
    agent, DRA) with its health and version, and the datastores its reprotect agent reaches."""

    name: str
    registered: bool  # the fabric lists components under this appliance's name
    role: str = "replication"  # replication | failback (the stack's replicationAppliances[].role)
    components: dict[str, HealthLevel] = field(default_factory=dict)  # component kind → health
    versions: dict[str, str] = field(default_factory=dict)  # component kind → version
    reprotect_agent: bool = False  # a reprotect agent is registered (needed to reprotect to on-premises)
    datastores: tuple[str, ...] = ()  # the reprotect agent's accessibleDatastores

    @property
    def health(self) -> HealthLevel:
        """The worst component health (Missing when not registered)."""
        if not self.registered:
            return "Missing"
        order = ("Normal", "Warning", "Critical", "Missing")
        return max(self.components.values(), key=order.index, default="Missing")


@dataclass(frozen=True)
class EnvironmentStatus:
    test_network_present: bool
    failback_ready: bool  # the failback path is registered (classic: Azure process server + master target;
    #                       modernized: a reprotect agent on a healthy appliance)
    problems: tuple[str, ...] = ()  # what is missing for failback or the test network, one sentence each
    details: dict[str, Any] = field(default_factory=dict)
    appliances: tuple[ApplianceStatus, ...] = ()  # modernized: the stack's appliances (empty for classic)
    failback_datastore: str | None = None  # modernized: the datastore a reprotect to on-premises writes to


@dataclass(frozen=True)
class OperationRequest:
    """One side effect the engine asks for: ``operation`` on one machine, or on the members of a multi-VM group
    together through the ASR recovery plan ``recovery_plan`` (which holds exactly those machines)."""

    operation: str
    machines: tuple[str, ...]
    request_id: str
    recovery_point: str = "latest"  # one of RECOVERY_POINT_TYPES (failovers that choose a point)
    recovery_plan: str | None = None
    multi_vm_sync_point: bool = False  # fail a multi-VM group over to its common consistent point


@dataclass(frozen=True)
class Capabilities:
    """What the engine must know about a backend to drive it well."""

    poll_interval: float  # seconds of the provider's clock between status polls
    jobs_can_suspend: bool  # recovery-plan jobs may stop Suspended on a manual action (ASR); resume_job resumes
    group_jobs: bool  # multi-VM groups can fail over through one recovery-plan job
    reads_per_second: float = 25.0  # the backend's sustained read budget per principal (ARM: 25/s, burst 250)
    read_burst: float = 250.0
    writes_per_second: float = 10.0  # ARM: 10/s, burst 200
    write_burst: float = 200.0


# ---------------------------------------------------------------------------------------------------------------
# Errors (the engine decides what each one means for the run)


class ProviderError(AsrctlError):
    """The backend refused or failed in a way retrying will not fix (exit 1 if it reaches the user)."""


class TransientError(ProviderError):
    """5xx / connection trouble on a read: safe to retry after ``retry_after`` seconds (provider clock)."""

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(TransientError):
    """HTTP 429: the request was NOT accepted; send it again no earlier than ``retry_after`` seconds."""


class NotReady(Throttled):
    """The request was NOT sent: the backend must finish something first. Re-sending later is no duplicate."""


class AmbiguousResult(ProviderError):
    """The response was lost: the side effect may or may not have happened. Reconcile before re-sending."""


class OperationRejected(ProviderError):
    """The backend forbids the transition (e.g. commit before failover): bad input, exit 2."""

    exit_code = EXIT_BAD_INPUT


class WorldChanged(ProviderError):
    """The backend instance a run started on is gone or was replaced (a deleted simulator world, another vault):
    continuing could fail machines over twice. Exit 2."""

    exit_code = EXIT_BAD_INPUT


JobStartedCallback = Callable[[str, JobRef], None]


# ---------------------------------------------------------------------------------------------------------------
# The protocol


@runtime_checkable
class RecoveryProvider(Protocol):
    name: str  # "simulator" | "azure"
    clock: Clock
    capabilities: Capabilities
    api_calls: dict[str, int]

    def identity(self) -> str:
        """Which backend instance this is (simulator world id, vault ARM id), recorded with each run."""

    def export_state(self) -> dict[str, Any]:
        """What to journal with a run so a resumed run's provider (``state=``) need not rediscover it."""

    # -- reads ---------------------------------------------------------------------------------------------------
    def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        """Status of each named protected machine (one batched read). Unknown names are left out."""

    def describe_environment(self) -> EnvironmentStatus:
        """Test network and failback path presence."""

    def get_job(self, job: JobRef) -> JobStatus:
        """Current status of a job."""

    def find_job(self, request: OperationRequest) -> JobRef | None:
        """The job an earlier send of ``request`` (same request id) created, if any."""

    def find_runbook_job(self, runbook: str, request_id: str) -> JobRef | None:
        """The job an earlier ``start_runbook`` with this request id created, if any."""

    # -- side effects (never retried blindly) ------------------------------------------------------------------
    def start_operation(self, request: OperationRequest) -> JobRef:
        """Start ``request.operation`` on its machine(s); OperationRejected on a transition the backend forbids."""

    def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any], request_id: str) -> JobRef:
        """Start an Azure Automation runbook with ASR's RecoveryPlanContext-like ``context``."""

    def resume_job(self, job: JobRef, comment: str, request_id: str) -> None:
        """Resume a job Suspended on a manual action, with the approver's comment."""

    def cancel_job(self, job: JobRef) -> None:
        """Ask the backend to cancel a job (used when a step passes its deadline)."""

    # -- recovered VMs -------------------------------------------------------------------------------------------
    def service_endpoint(self, machine: str) -> str | None:
        """``host:port`` standing in for every TCP port of the machine's recovered VM, or None for "use its IP".

        Azure returns None. The simulator returns a local listener that accepts connections only while the
        simulated VM is up on the recovery side, so action scripts probe something real.
        """

    def close(self) -> None:
        """Release resources (database handles, listeners, HTTP sessions)."""

"""The provider seam: everything the runbook engine (and readiness) may ask of Azure Site Recovery.

Two implementations: :mod:`asrctl.recovery.simulator` (embedded, stateful) and
``asrctl.recovery.azure_provider.AzureProvider`` (the real SDK). The engine only talks to this protocol, so a
whole runbook is testable against the simulator with a fast clock.

Contract for implementers
-------------------------
* **Reads** (``describe_machines``, ``describe_environment``, ``get_job``, ``find_job``) have no side effects and may
  raise :class:`TransientError` / :class:`Throttled`; the engine retries them with backoff.
* **Side effects** (``start_operation``, ``start_runbook``, ``cancel_job``) must NOT be retried inside the provider
  (disable azure-core's retry policy on them). Raise :class:`Throttled` only when the request was certainly not
  accepted (HTTP 429); raise :class:`AmbiguousResult` when the request may have been accepted (timeout, 5xx, lost
  connection): the engine then reconciles with ``find_job`` / ``describe_machines`` before sending anything again.
* ``request_id`` is derived by the engine from run, stage, machine and attempt, so it is stable across crashes.
  ``find_job(machine, operation, request_id)`` must find a job started with that request id (the simulator stores
  it; the Azure provider can match the job's client request id / correlation, or fall back to the machine's
  current or latest job of that operation started after ``since``).
* Machine states use the vocabulary below (:data:`MACHINE_STATES`), whatever the backend calls them; the Azure
  provider maps ``protection_state`` / ``active_location`` onto it.
* ``clock`` is the time source of the backend (simulated for the simulator): the engine measures step timeouts
  and timestamps the run with it.
* ``api_calls`` counts calls by kind (``"reads"``, ``"writes"`` and one key per method name).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from asrctl.errors import EXIT_BAD_INPUT, AsrctlError

# ---------------------------------------------------------------------------------------------------------------
# Vocabulary

MachineState = Literal[
    "protected",  # running on-prem, replicating to Azure: ready for test failover and failover
    "test-failed-over",  # a test VM runs in the isolated test network; needs cleanup-test-failover
    "failed-over",  # running in Azure, failover not committed yet
    "committed",  # running in Azure, failover committed; not protected until reprotect
    "reprotected",  # running in Azure, replicating Azure → on-prem through the failback process server
    "failed-back",  # running on-prem again (failback committed); not protected to Azure until reenable
]
MACHINE_STATES: tuple[str, ...] = MachineState.__args__  # type: ignore[attr-defined]

# Which state each operation needs and which it leads to (ASR's allowed transitions, classic VMware → Azure).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "test-failover": (("protected",), "test-failed-over"),
    "cleanup-test-failover": (("test-failed-over",), "protected"),
    "planned-failover": (("protected",), "failed-over"),
    "unplanned-failover": (("protected",), "failed-over"),
    "commit": (("failed-over",), "committed"),
    "reprotect": (("committed",), "reprotected"),
    "failback": (("reprotected",), "failed-back"),
    "reenable": (("failed-back",), "protected"),
}
# Operations that need the failback infrastructure (temporary Azure process server, VPN/ER, master target).
FAILBACK_OPERATIONS: tuple[str, ...] = ("reprotect", "failback")

JobState = Literal["NotStarted", "InProgress", "Succeeded", "Failed", "Cancelled", "Suspended"]
TERMINAL_JOB_STATES: tuple[str, ...] = ("Succeeded", "Failed", "Cancelled")

RecoveryPointType = Literal["latest", "latest-processed", "latest-app-consistent", "latest-crash-consistent"]
RECOVERY_POINT_TYPES: tuple[str, ...] = RecoveryPointType.__args__  # type: ignore[attr-defined]

Direction = Literal["primary-to-recovery", "recovery-to-primary"]


def direction_of(operation: str) -> str:
    """Failback and its re-protection run from Azure back to on-prem (ASR: RecoveryToPrimary)."""
    return "recovery-to-primary" if operation in ("reprotect", "failback") else "primary-to-recovery"


# ---------------------------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class JobRef:
    """A long-running ASR job (per machine operation or Automation runbook)."""

    id: str
    operation: str
    machine: str | None = None


@dataclass(frozen=True)
class JobStatus:
    id: str
    state: str  # one of JobState
    error: str | None = None
    recovery_point_time: datetime | None = None  # failovers: the point the VM was recovered from
    started_at: datetime | None = None
    finished_at: datetime | None = None
    output: str | None = None  # runbooks: their output stream (short)

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_JOB_STATES


@dataclass(frozen=True)
class MachineStatus:
    name: str
    state: str  # one of MACHINE_STATES
    protection_state: str  # backend's own words, shown to users (e.g. "Protected", "UnplannedFailoverCommitted")
    replication_health: Literal["Normal", "Warning", "Critical"]
    rpo_seconds: float | None  # current RPO of the replication (None when not replicating)
    last_heartbeat: datetime | None
    recovery_points: dict[str, datetime] = field(default_factory=dict)  # "crash-consistent"/"app-consistent" → latest
    allowed_operations: tuple[str, ...] = ()
    current_job: JobRef | None = None  # a job still running on the machine


@dataclass(frozen=True)
class EnvironmentStatus:
    test_network_present: bool
    failback_infrastructure: bool  # temporary Azure process server + VPN/ER + master target registered
    details: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# Errors (the engine decides what each one means for the run)


class ProviderError(AsrctlError):
    """The backend refused or failed in a way retrying will not fix (exit 1 if it reaches the user)."""


class TransientError(ProviderError):
    """5xx / connection trouble on a read: safe to retry after ``retry_after`` seconds (backend clock)."""

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(TransientError):
    """HTTP 429: the request was NOT accepted; send it again no earlier than ``retry_after`` seconds."""


class NotReady(Throttled):
    """The operation was NOT sent: the backend must finish something first (e.g. ASR committing a failback before
    replication can be re-enabled). Like a 429, sending it again after ``retry_after`` seconds is not a duplicate."""


class AmbiguousResult(ProviderError):
    """The response was lost: the side effect may or may not have happened. Reconcile before re-sending."""


class OperationRejected(ProviderError):
    """The backend forbids the transition (e.g. commit before failover): bad input, exit 2."""

    exit_code = EXIT_BAD_INPUT


def check_transition(machine: str, state: str, operation: str, failback: bool, stack: str) -> None:
    """Raise OperationRejected naming why ``operation`` is not allowed from ``state`` (ASR's rules)."""
    sources, _ = TRANSITIONS[operation]
    if operation in FAILBACK_OPERATIONS and not failback:
        raise OperationRejected(
            f"{machine}: {operation} needs the failback infrastructure (temporary Azure process server, VPN or "
            f"ExpressRoute, master target), which stack {stack} does not have; set failback.enabled and deploy it"
        )
    if state in sources:
        return
    if state == "test-failed-over":
        reason = "a test failover is not cleaned up; run `asrctl cleanup PLAN --stack STACK` first"
    elif operation == "commit":
        reason = "commit needs a completed failover"
    elif operation == "reprotect":
        reason = "reprotect needs a committed failover"
    elif operation == "failback":
        reason = "failback needs the machine reprotected to on-premises first (asrctl reprotect)"
    elif operation == "reenable":
        reason = "re-enabling replication needs a completed failback"
    elif operation == "cleanup-test-failover":
        reason = "there is no test failover to clean up"
    else:
        reason = f"{operation} needs the machine protected (replicating to Azure)"
    raise OperationRejected(f"{machine} is {state}: {reason}")


# ---------------------------------------------------------------------------------------------------------------
# Clock


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch on this clock."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class WallClock:
    """Real time (the Azure provider)."""

    kind = "wall"

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def iso(ts: float | datetime | None) -> str | None:
    """ISO-8601 UTC with a Z, the one timestamp format of journals and run dicts."""
    if ts is None:
        return None
    if isinstance(ts, datetime):
        dt = ts.astimezone(UTC)
    else:
        dt = datetime.fromtimestamp(ts, UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_iso(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------------------------------------------
# The protocol


@runtime_checkable
class RecoveryProvider(Protocol):
    name: str  # "simulator" | "azure"
    clock: Clock
    api_calls: dict[str, int]

    # -- reads ---------------------------------------------------------------------------------------------------
    def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        """Status of each named protected machine (one batched read). Unknown names are left out."""

    def describe_environment(self) -> EnvironmentStatus:
        """Test network and failback infrastructure presence."""

    def get_job(self, job: JobRef) -> JobStatus:
        """Current status of a job."""

    def find_job(self, machine: str | None, operation: str, request_id: str) -> JobRef | None:
        """The job a previous ``start_operation``/``start_runbook`` with this request id created, if any."""

    # -- side effects (never retried blindly) ------------------------------------------------------------------
    def start_operation(
        self,
        machine: str,
        operation: str,
        *,
        request_id: str,
        recovery_point_type: str = "latest",
        direction: str = "primary-to-recovery",
        network: Literal["recovery", "test"] = "recovery",
    ) -> JobRef:
        """Start ``operation`` on one protected machine; raises OperationRejected on a forbidden transition."""

    def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any], request_id: str) -> JobRef:
        """Start an Azure Automation runbook with ASR's RecoveryPlanContext-like ``context``."""

    def cancel_job(self, job: JobRef) -> None:
        """Ask the backend to cancel a job (best effort; used when a step times out)."""

    # -- simulation/test support ---------------------------------------------------------------------------------
    def service_endpoint(self, machine: str) -> str | None:
        """``host:port`` standing in for every TCP port of the machine's recovered VM, or None for "use its IP".

        The real provider returns None. The simulator returns a local listener that accepts connections only
        while the simulated VM is running on the recovery side, so action scripts probe something real.
        """

    def close(self) -> None:
        """Release resources (database handles, listeners)."""

"""The embedded ASR simulator: a stateful stand-in for a Recovery Services vault, one world per stack.

The world lives in ``$ASRCTL_HOME/simulator/<stack>.db`` (SQLite), so separate commands continue from the same
world (drill → failover → commit → reprotect → failback), and so does a run resumed after a crash. It

* enforces ASR's allowed transitions (:data:`asrctl.recovery.provider.TRANSITIONS`) and raises
  ``OperationRejected`` with the reason (no commit before failover, no failover while a test failover is not
  cleaned up, reprotect only after commit, no failback without failback infrastructure, one job per machine);
* keeps recovery points: crash-consistent every 5 minutes, app-consistent at the stack's policy frequency, each
  machine with its own seeded phase; reports RPO;
* runs jobs for a seeded, jittered simulated duration; time runs at ``ASRCTL_SIM_SPEED`` simulated seconds per
  real second (default 600, so a whole drill takes seconds); the clock never goes backwards across commands;
* counts API calls by kind (in memory for the run, and in the world for ``asrctl sim show``);
* injects faults from the YAML file named by ``ASRCTL_SIM_FAULTS`` (see :func:`load_faults`).
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import sqlite3
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.project import state_home
from asrctl.recovery.provider import (
    FAILBACK_OPERATIONS,
    TRANSITIONS,
    AmbiguousResult,
    EnvironmentStatus,
    JobRef,
    JobStatus,
    MachineStatus,
    OperationRejected,
    Throttled,
    check_transition,
)

DEFAULT_SPEED = 600.0
# Simulated durations (seconds) of each job before jitter: in the range ASR shows for a single VM.
BASE_DURATIONS = {
    "test-failover": 480,
    "cleanup-test-failover": 180,
    "planned-failover": 600,
    "unplanned-failover": 480,
    "commit": 60,
    "reprotect": 1200,
    "failback": 600,
    "reenable": 900,
    "runbook": 60,
}
JITTER = (0.8, 1.2)
CRASH_CONSISTENT_INTERVAL = 300
THROTTLE_RETRY_AFTER = 20.0
FAULT_EFFECTS = ("fail", "hang", "throttle", "lose-response")
# ASR's words for our states, shown as protection_state (what the portal would say).
_ASR_WORDS = {
    "protected": "Protected",
    "test-failed-over": "TestFailoverCompleted",
    "failed-over": "UnplannedFailoverCompleted",
    "committed": "FailoverCommitted",
    "reprotected": "Protected (RecoveryToPrimary)",
    "failed-back": "FailbackCommitted",
}


def sim_speed() -> float:
    raw = os.environ.get("ASRCTL_SIM_SPEED")
    if not raw:
        return DEFAULT_SPEED
    try:
        speed = float(raw)
    except ValueError:
        raise BadInput(f"ASRCTL_SIM_SPEED={raw!r}: not a number; set simulated seconds per real second, e.g. 600") from None
    if speed <= 0:
        raise BadInput(f"ASRCTL_SIM_SPEED={raw!r}: must be greater than 0")
    return speed


class ScaledClock:
    """Simulated time: ``speed`` simulated seconds pass per real second, starting at ``start``."""

    kind = "simulated"

    def __init__(self, speed: float, start: float | None = None) -> None:
        self.speed = speed
        self._start = time.time() if start is None else start
        self._mono = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._mono) * self.speed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)


# ---------------------------------------------------------------------------------------------------------------
# Faults


@dataclass(frozen=True)
class Fault:
    index: int
    machine: str | None  # None: any machine (or a runbook)
    operation: str  # an operation or a runbook name
    effect: str
    times: int | None  # None: every time

    @property
    def key(self) -> str:
        return f"{self.index}:{self.machine}:{self.operation}:{self.effect}"


def load_faults(path: str | None = None, machines: set[str] | None = None, stack_name: str = "") -> list[Fault]:
    """Faults from ``ASRCTL_SIM_FAULTS``: ``faults: [{machine, operation, effect, times}]``; errors name file:line.

    With ``machines`` (the stack's), a fault naming an unknown machine, or a machine fault whose operation is not an
    ASR operation, is refused: it could never fire, and a drill "proving" a fault effect would silently prove nothing.
    """
    from asrctl.plans import OPERATIONS
    from asrctl.yamlfile import load_yaml

    from_env = path is None
    path = path if path is not None else os.environ.get("ASRCTL_SIM_FAULTS")
    if not path:
        return []
    try:
        doc = load_yaml(Path(path))
    except BadInput as exc:
        raise BadInput(f"ASRCTL_SIM_FAULTS: {exc}" if from_env else str(exc)) from None
    items = doc.data.get("faults") if isinstance(doc.data, dict) else None
    if not isinstance(items, list):
        raise BadInput(f"{doc.where(())}: a faults file is a mapping with a `faults:` list")
    faults: list[Fault] = []
    for i, item in enumerate(items):
        where = doc.where(("faults", i))
        if not isinstance(item, dict):
            raise BadInput(f"{where}: each fault is a mapping with machine, operation, effect and optionally times")
        unknown = set(item) - {"machine", "operation", "effect", "times"}
        if unknown:
            raise BadInput(f"{doc.where(('faults', i, sorted(unknown)[0]))}: {sorted(unknown)[0]!r} is not a known key")
        if item.get("effect") not in FAULT_EFFECTS:
            raise BadInput(
                f"{doc.where(('faults', i, 'effect'))}: effect {item.get('effect')!r} must be one of "
                f"{', '.join(FAULT_EFFECTS)}"
            )
        if not isinstance(item.get("operation"), str):
            raise BadInput(f"{doc.where(('faults', i, 'operation'))}: operation (or runbook name) is required")
        machine = item.get("machine")
        if machine is not None:
            if not isinstance(machine, str):
                raise BadInput(f"{doc.where(('faults', i, 'machine'))}: machine must be a machine name (or left out)")
            if item["operation"] not in OPERATIONS:
                raise BadInput(
                    f"{doc.where(('faults', i, 'operation'))}: operation {item['operation']!r} is not an ASR operation "
                    f"({', '.join(OPERATIONS)}); a runbook fault names the runbook and no machine"
                )
            if machines is not None and machine not in machines:
                raise BadInput(f"{doc.where(('faults', i, 'machine'))}: machine {machine!r} is not in stack {stack_name}")
        times = item.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise BadInput(f"{doc.where(('faults', i, 'times'))}: times must be a positive integer (or left out)")
        faults.append(Fault(i, item.get("machine"), item["operation"], item["effect"], times))
    return faults


# ---------------------------------------------------------------------------------------------------------------
# The world

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS machines (name TEXT PRIMARY KEY, state TEXT NOT NULL, phase REAL NOT NULL,"
    " lag REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, machine TEXT, operation TEXT NOT NULL,"
    " request_id TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL, due_at REAL NOT NULL,"
    " finished_at REAL, effect TEXT, error TEXT, recovery_point_time REAL, output TEXT)",
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_request ON jobs(request_id)",
    "CREATE INDEX IF NOT EXISTS jobs_by_machine ON jobs(machine, state)",
    "CREATE TABLE IF NOT EXISTS api_calls (kind TEXT PRIMARY KEY, count INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS faults_used (key TEXT PRIMARY KEY, count INTEGER NOT NULL)",
)

READ_CALLS = ("describe_machines", "describe_environment", "get_job", "find_job")


def world_path(stack_name: str) -> Path:
    return state_home() / "simulator" / f"{stack_name}.db"


def _seeded(*parts: Any) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class SimulatorProvider:
    """:class:`asrctl.recovery.provider.RecoveryProvider` against the simulated world of one stack."""

    name = "simulator"
    # Simulated seconds between the engine's batched status polls: cheap here, and it keeps RTO measurements tight.
    poll_interval = 2.0

    def __init__(
        self,
        stack_cfg: StackConfig,
        stack_name: str,
        *,
        speed: float | None = None,
        faults: list[Fault] | None = None,
        path: Path | None = None,
        record_calls: bool = False,
    ) -> None:
        self.stack_cfg = stack_cfg
        self.stack_name = stack_name
        self.path = path or world_path(stack_name)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.faults = (load_faults(machines={m.name for m in stack_cfg.machines}, stack_name=stack_name)
                       if faults is None else faults)
        self.api_calls: Counter[str] = Counter()
        self._unsaved: Counter[str] = Counter()
        self.call_log: list[tuple[float, str]] | None = [] if record_calls else None
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._app_interval = stack_cfg.replication.app_consistent_frequency_minutes * 60
        with self._tx() as db:
            meta = {r["key"]: r["value"] for r in db.execute("SELECT key, value FROM meta")}
            if "seed" not in meta:
                db.execute("INSERT INTO meta VALUES ('seed', ?)", (os.environ.get("ASRCTL_SIM_SEED", "42"),))
                meta["seed"] = os.environ.get("ASRCTL_SIM_SEED", "42")
            self.seed = meta["seed"]
            last = float(meta.get("sim_time", 0))
            known = {r["name"] for r in db.execute("SELECT name FROM machines")}
            for m in stack_cfg.machines:
                if m.name not in known:
                    rng = _seeded(self.seed, "machine", m.name)
                    # Replication lag grows with churn: a busy SQL server trails more than a web server.
                    lag = 20 + min(m.churn_gb_per_day, 200) * 0.5 + rng.uniform(0, 30)
                    db.execute(
                        "INSERT INTO machines VALUES (?, 'protected', ?, ?)",
                        (m.name, rng.uniform(0, CRASH_CONSISTENT_INTERVAL), lag),
                    )
        # Simulated time never runs backwards across commands, and catches up with real time when idle.
        self.clock = ScaledClock(speed or sim_speed(), max(last, time.time()))
        self._listeners: dict[str, socket.socket] = {}
        self._closed_ports: dict[str, int] = {}

    # -- plumbing --------------------------------------------------------------------------------------------------
    @contextmanager
    def _tx(self):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _count(self, db: sqlite3.Connection, call: str, now: float) -> None:
        kind = "reads" if call in READ_CALLS else "writes"
        self.api_calls[call] += 1
        self.api_calls[kind] += 1
        if self.call_log is not None:
            self.call_log.append((now, kind))
        self._unsaved[call] += 1
        # Reads are counted in memory and saved with the next write (or on close): at simulator speed the engine
        # polls hundreds of times per real second, and a disk write per poll would distort simulated time.
        if kind == "writes":
            self._save_counts(db, now)

    def _save_counts(self, db: sqlite3.Connection, now: float) -> None:
        for call, count in self._unsaved.items():
            db.execute("INSERT INTO api_calls VALUES (?, ?) ON CONFLICT(kind) DO UPDATE SET count = count + ?",
                       (call, count, count))
        self._unsaved.clear()
        db.execute("INSERT INTO meta VALUES ('sim_time', ?) ON CONFLICT(key) DO UPDATE SET value = "
                   "CASE WHEN CAST(value AS REAL) < CAST(excluded.value AS REAL) THEN excluded.value ELSE value END",
                   (str(now),))

    def _settle(self, db: sqlite3.Connection, now: float, where: str = "", params: tuple = ()) -> None:
        """Finish every due job (lazily, on the next call that looks): apply its transition or its fault."""
        due = db.execute(
            f"SELECT * FROM jobs WHERE state='InProgress' AND due_at <= ? AND (effect IS NULL OR effect != 'hang')"
            f"{where}", (now, *params),
        ).fetchall()
        for job in due:
            if job["effect"] == "fail":
                db.execute(
                    "UPDATE jobs SET state='Failed', finished_at=due_at, error=? WHERE id=?",
                    (f"simulated fault: {job['operation']} of {job['machine']} failed (ASRCTL_SIM_FAULTS)"
                     if job["machine"] else f"simulated fault: runbook {job['operation']} failed (ASRCTL_SIM_FAULTS)",
                     job["id"]),
                )
                continue
            db.execute("UPDATE jobs SET state='Succeeded', finished_at=due_at WHERE id=?", (job["id"],))
            if job["kind"] == "machine":
                db.execute("UPDATE machines SET state=? WHERE name=?", (TRANSITIONS[job["operation"]][1], job["machine"]))

    def _take_fault(self, db: sqlite3.Connection, machine: str | None, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.operation != operation or (fault.machine is not None and fault.machine != machine):
                continue
            used = db.execute("SELECT count FROM faults_used WHERE key=?", (fault.key,)).fetchone()
            count = used["count"] if used else 0
            if fault.times is not None and count >= fault.times:
                continue
            db.execute(
                "INSERT INTO faults_used VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET count = count + 1", (fault.key,)
            )
            return fault
        return None

    def _recovery_points(self, row: sqlite3.Row, now: float) -> dict[str, float]:
        crash = (now - row["lag"] - row["phase"]) // CRASH_CONSISTENT_INTERVAL * CRASH_CONSISTENT_INTERVAL + row["phase"]
        app = (now - row["lag"] - row["phase"]) // self._app_interval * self._app_interval + row["phase"]
        return {"crash-consistent": crash, "app-consistent": app}

    # -- reads -----------------------------------------------------------------------------------------------------
    def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        now = self.clock.now()
        result: dict[str, MachineStatus] = {}
        with self._tx() as db:
            self._count(db, "describe_machines", now)
            marks = ",".join("?" for _ in names)
            self._settle(db, now, f" AND machine IN ({marks})", tuple(names))
            rows = db.execute(f"SELECT * FROM machines WHERE name IN ({marks})", tuple(names)).fetchall()
            running = {
                r["machine"]: r for r in db.execute(
                    f"SELECT * FROM jobs WHERE state='InProgress' AND machine IN ({marks})", tuple(names)
                )
            }
        failback = self.stack_cfg.failback.enabled
        for row in rows:
            state = row["state"]
            job = running.get(row["name"])
            replicating = state in ("protected", "reprotected")
            points = self._recovery_points(row, now) if state == "protected" else {}
            allowed: tuple[str, ...] = ()
            if job is None:
                allowed = tuple(
                    op for op, (sources, _) in TRANSITIONS.items()
                    if state in sources and (failback or op not in FAILBACK_OPERATIONS)
                )
            result[row["name"]] = MachineStatus(
                name=row["name"],
                state=state,
                protection_state=_ASR_WORDS[state],
                replication_health="Normal" if replicating else "Warning",
                rpo_seconds=round(row["lag"], 1) if replicating else None,
                last_heartbeat=datetime.fromtimestamp(now - 30, UTC) if replicating else None,
                recovery_points={k: datetime.fromtimestamp(v, UTC) for k, v in points.items()},
                allowed_operations=allowed,
                current_job=JobRef(job["id"], job["operation"], job["machine"]) if job is not None else None,
            )
        return result

    def describe_environment(self) -> EnvironmentStatus:
        now = self.clock.now()
        with self._tx() as db:
            self._count(db, "describe_environment", now)
        return EnvironmentStatus(
            test_network_present=True,
            failback_infrastructure=self.stack_cfg.failback.enabled,
            details={"simulated": True, "test_network": self.stack_cfg.network.test_failover.address_space},
        )

    def get_job(self, job: JobRef) -> JobStatus:
        now = self.clock.now()
        with self._tx() as db:
            self._count(db, "get_job", now)
            self._settle(db, now, " AND id = ?", (job.id,))
            row = db.execute("SELECT * FROM jobs WHERE id=?", (job.id,)).fetchone()
        if row is None:
            raise BadInput(f"simulator: no job {job.id}")
        return _job_status(row)

    def find_job(self, machine: str | None, operation: str, request_id: str) -> JobRef | None:
        now = self.clock.now()
        with self._tx() as db:
            self._count(db, "find_job", now)
            row = db.execute("SELECT * FROM jobs WHERE request_id=?", (request_id,)).fetchone()
        return JobRef(row["id"], row["operation"], row["machine"]) if row else None

    # -- side effects ----------------------------------------------------------------------------------------------
    def start_operation(
        self,
        machine: str,
        operation: str,
        *,
        request_id: str,
        recovery_point_type: str = "latest",
        direction: str = "primary-to-recovery",
        network: str = "recovery",
    ) -> JobRef:
        if operation not in TRANSITIONS:
            raise OperationRejected(f"{machine}: {operation!r} is not an ASR operation")
        now = self.clock.now()
        lost = False
        with self._tx() as db:
            self._count(db, "start_operation", now)
            existing = db.execute("SELECT * FROM jobs WHERE request_id=?", (request_id,)).fetchone()
            if existing is not None:  # the same request again: ASR-style idempotency on the client request id
                return JobRef(existing["id"], existing["operation"], existing["machine"])
            self._settle(db, now, " AND machine = ?", (machine,))
            row = db.execute("SELECT * FROM machines WHERE name=?", (machine,)).fetchone()
            if row is None:
                raise OperationRejected(f"{machine}: not a protected item in stack {self.stack_name}'s vault")
            busy = db.execute("SELECT * FROM jobs WHERE machine=? AND state='InProgress'", (machine,)).fetchone()
            if busy is not None:
                raise OperationRejected(
                    f"{machine}: a {busy['operation']} job ({busy['id']}) is still in progress; wait for it or cancel it"
                )
            check_transition(machine, row["state"], operation, self.stack_cfg.failback.enabled, self.stack_name)
            fault = self._take_fault(db, machine, operation)
            throttled = fault is not None and fault.effect == "throttle"
            if not throttled:
                rng = _seeded(self.seed, machine, operation, request_id)
                duration = BASE_DURATIONS[operation] * rng.uniform(*JITTER)
                point = self._recovery_point_for(row, operation, recovery_point_type, now)
                job_id = f"job-{hashlib.sha256(request_id.encode()).hexdigest()[:12]}"
                db.execute(
                    "INSERT INTO jobs (id, kind, machine, operation, request_id, state, created_at, due_at, effect,"
                    " recovery_point_time) VALUES (?, 'machine', ?, ?, ?, 'InProgress', ?, ?, ?, ?)",
                    (job_id, machine, operation, request_id, now, now + duration, fault.effect if fault else None,
                     point),
                )
                lost = fault is not None and fault.effect == "lose-response"
        if throttled:  # raised after the commit, so the fault's use counts
            raise Throttled(f"{machine}: 429 Too Many Requests (simulated)", retry_after=THROTTLE_RETRY_AFTER)
        if lost:
            raise AmbiguousResult(f"{machine}: connection reset before the {operation} response arrived (simulated)")
        return JobRef(job_id, operation, machine)

    def _recovery_point_for(self, row: sqlite3.Row, operation: str, point_type: str, now: float) -> float | None:
        if operation == "planned-failover":
            return now  # the source is shut down and synchronised first: no data loss
        if operation in ("test-failover", "unplanned-failover"):
            points = self._recovery_points(row, now)
            if point_type == "latest":
                return now - row["lag"]  # ASR processes all pending data first
            if point_type == "latest-app-consistent":
                return points["app-consistent"]
            return points["crash-consistent"]  # latest-processed / latest-crash-consistent
        if operation == "failback":
            return now - 30  # replication from Azure to on-prem trails by seconds
        return None

    def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any], request_id: str) -> JobRef:
        now = self.clock.now()
        lost = False
        with self._tx() as db:
            self._count(db, "start_runbook", now)
            existing = db.execute("SELECT * FROM jobs WHERE request_id=?", (request_id,)).fetchone()
            if existing is not None:
                return JobRef(existing["id"], existing["operation"], None)
            fault = self._take_fault(db, None, name)
            throttled = fault is not None and fault.effect == "throttle"
            if not throttled:
                duration = BASE_DURATIONS["runbook"] * _seeded(self.seed, name, request_id).uniform(*JITTER)
                machines = ", ".join(m["name"] for m in context.get("machines", []))
                output = f"{name}({', '.join(f'{k}={v}' for k, v in parameters.items())}) for {machines}"
                job_id = f"rb-{hashlib.sha256(request_id.encode()).hexdigest()[:12]}"
                db.execute(
                    "INSERT INTO jobs (id, kind, machine, operation, request_id, state, created_at, due_at, effect,"
                    " output) VALUES (?, 'runbook', NULL, ?, ?, 'InProgress', ?, ?, ?, ?)",
                    (job_id, name, request_id, now, now + duration, fault.effect if fault else None, output),
                )
                lost = fault is not None and fault.effect == "lose-response"
        if throttled:
            raise Throttled(f"runbook {name}: 429 Too Many Requests (simulated)", retry_after=THROTTLE_RETRY_AFTER)
        if lost:
            raise AmbiguousResult(f"runbook {name}: connection reset before the response arrived (simulated)")
        return JobRef(job_id, name, None)

    def cancel_job(self, job: JobRef) -> None:
        now = self.clock.now()
        with self._tx() as db:
            self._count(db, "cancel_job", now)
            db.execute(
                "UPDATE jobs SET state='Cancelled', finished_at=?, error='cancelled by the client' "
                "WHERE id=? AND state='InProgress'", (now, job.id),
            )

    # -- simulation support ----------------------------------------------------------------------------------------
    def service_endpoint(self, machine: str) -> str | None:
        """A local listener while the machine's VM is up (no job running on it), else a closed port."""
        with self._lock:
            row = self._db.execute("SELECT state FROM machines WHERE name=?", (machine,)).fetchone()
            busy = self._db.execute(
                "SELECT 1 FROM jobs WHERE machine=? AND state='InProgress'", (machine,)
            ).fetchone()
            up = row is not None and busy is None
            if up:
                if machine not in self._listeners:
                    self._listeners[machine] = _listener()
                return f"127.0.0.1:{self._listeners[machine].getsockname()[1]}"
            if machine in self._listeners:
                self._listeners.pop(machine).close()
            if machine not in self._closed_ports:
                probe = socket.socket()
                probe.bind(("127.0.0.1", 0))
                self._closed_ports[machine] = probe.getsockname()[1]
                probe.close()
            return f"127.0.0.1:{self._closed_ports[machine]}"

    def close(self) -> None:
        with self._lock:
            # Remember how far simulated time got, so the next command continues from here.
            with self._tx() as db:
                self._save_counts(db, self.clock.now())
            for sock in self._listeners.values():
                sock.close()
            self._listeners.clear()
            self._db.close()

    # -- `asrctl sim show` -----------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The world as ``asrctl sim show --json`` prints it (does not count as an API call)."""
        from asrctl.recovery.provider import iso

        now = self.clock.now()
        with self._tx() as db:
            self._settle(db, now)
            machines = db.execute("SELECT * FROM machines ORDER BY name").fetchall()
            jobs = db.execute("SELECT * FROM jobs ORDER BY created_at, id").fetchall()
            self._save_counts(db, now)
            calls = {r["kind"]: r["count"] for r in db.execute("SELECT * FROM api_calls")}
        by_machine: dict[str, list[dict[str, Any]]] = {}
        runbooks = []
        for job in jobs:
            entry = {"name": job["operation"], "time": iso(job["created_at"]), "job_id": job["id"],
                     "status": job["state"], "finished_at": iso(job["finished_at"]), "error": job["error"]}
            if job["kind"] == "machine":
                by_machine.setdefault(job["machine"], []).append(entry)
            else:
                runbooks.append({**entry, "output": job["output"]})
        reads = sum(v for k, v in calls.items() if k in READ_CALLS)
        return {
            "stack": self.stack_name,
            "simulated_time": iso(now),
            "speed": getattr(self.clock, "speed", None),  # None: a discrete-event clock (benchmarks)
            "machines": [
                {"name": m["name"], "state": m["state"], "protection_state": _ASR_WORDS[m["state"]],
                 "operations": by_machine.get(m["name"], [])}
                for m in machines
            ],
            "runbooks": runbooks,
            "api_calls": {"reads": reads, "writes": sum(calls.values()) - reads, "by_call": calls},
        }


def _job_status(row: sqlite3.Row) -> JobStatus:
    def dt(v: float | None) -> datetime | None:
        return None if v is None else datetime.fromtimestamp(v, UTC)

    return JobStatus(
        id=row["id"],
        state=row["state"],
        error=row["error"],
        recovery_point_time=dt(row["recovery_point_time"]) if row["state"] == "Succeeded" else None,
        started_at=dt(row["created_at"]),
        finished_at=dt(row["finished_at"]),
        output=row["output"],
    )


def _listener() -> socket.socket:
    """A socket that completes TCP handshakes (the kernel does that for a listening socket) — enough for probes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock

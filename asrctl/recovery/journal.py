"""The durable write-ahead journal of recovery runs: ``$ASRCTL_HOME/journal.db`` (SQLite, WAL mode).

Three tables:

* ``runs``   one row per run: plan, stack, operation, options, status, the plan file's sha256, the owning pid.
* ``steps``  the materialised state of every step (stage, group, machine operation, action) of a run.
* ``events`` append-only: an ``intent`` row is committed BEFORE every side effect (provider call, script,
  runbook) and a ``result`` row after it, in the same transaction as the step update. After a crash the engine
  reads the last intent without a result and reconciles with the provider before sending anything again.

One active run per (plan, stack) is enforced by a partial unique index, so two processes cannot both start it.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asrctl.errors import BadInput
from asrctl.project import state_home

ACTIVE_STATUSES = ("pending", "running", "paused")
TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    plan TEXT NOT NULL,
    stack TEXT NOT NULL,
    operation TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    plan_path TEXT NOT NULL,
    plan_sha256 TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    skip_readiness INTEGER NOT NULL DEFAULT 0,
    readiness TEXT NOT NULL DEFAULT '[]',
    clock TEXT NOT NULL DEFAULT 'wall',
    api_reads INTEGER NOT NULL DEFAULT 0,
    api_writes INTEGER NOT NULL DEFAULT 0,
    targets TEXT NOT NULL DEFAULT '{}',
    owner_pid INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    paused_step TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_run_per_plan ON runs(plan, stack)
    WHERE status IN ('pending', 'running', 'paused');
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    stage INTEGER NOT NULL,
    operation TEXT NOT NULL,
    group_index INTEGER,
    group_name TEXT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    phase TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    job_id TEXT,
    request_id TEXT,
    error TEXT,
    recovery_point_time TEXT,
    rpo_seconds REAL,
    approved_by TEXT,
    approved_at TEXT,
    comment TEXT,
    output TEXT,
    recovery_name TEXT,
    recovery_ip TEXT,
    wall_started REAL,
    PRIMARY KEY (run_id, step_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    step_id TEXT,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_by_run ON events(run_id, seq);
"""

_RUN_JSON = ("options", "readiness", "targets")
STEP_FIELDS = (
    "status", "attempts", "started_at", "finished_at", "job_id", "request_id", "error", "recovery_point_time",
    "rpo_seconds", "approved_by", "approved_at", "comment", "output", "recovery_name", "recovery_ip", "wall_started",
)


def journal_path() -> Path:
    return state_home() / "journal.db"


def new_run_id(plan: str) -> str:
    return f"{plan}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"


def _test_crash(boundary: str) -> None:
    """Test seam for the crash-safety tests: ``ASRCTL_TEST_CRASH_AT=<boundary>[#n]`` kills the process (as kill -9
    would) at the n-th time (default first) the journal reaches that boundary: ``intent`` (committed, call not
    sent), ``sent`` (call returned, result not yet written) or ``result``. Does nothing unless set."""
    spec = os.environ.get("ASRCTL_TEST_CRASH_AT")
    if not spec:
        return
    name, _, nth = spec.partition("#")
    if name != boundary:
        return
    counter = _CRASH_COUNTS[boundary] = _CRASH_COUNTS.get(boundary, 0) + 1
    if counter == int(nth or 1):
        os._exit(137)


_CRASH_COUNTS: dict[str, int] = {}


class Journal:
    """Thread-safe access to the journal database (one connection, one lock: writes are tiny)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or journal_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed intent must survive power loss, not only a process kill.
        self._db.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- runs ------------------------------------------------------------------------------------------------------
    def create_run(self, **fields: Any) -> str:
        """Insert a run as ``running``; refuses (BadInput) when the plan already has an active run on the stack."""
        fields = dict(fields)
        run_id = fields.setdefault("run_id", new_run_id(fields["plan"]))
        fields.setdefault("status", "running")
        fields.setdefault("created_at", _now_iso())
        fields.setdefault("owner_pid", os.getpid())
        for key in _RUN_JSON:
            if key in fields:
                fields[key] = json.dumps(fields[key], default=str)
        columns = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        try:
            with self._tx() as db:
                db.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(fields.values()))
                self._event(db, run_id, None, "created", {"operation": fields["operation"]})
        except sqlite3.IntegrityError:
            active = self.active_run(fields["plan"], fields["stack"])
            if active is None:  # finished between the insert and the lookup: tell the user to retry
                raise BadInput(f"plan {fields['plan']}: another run just finished; try again") from None
            raise BadInput(
                f"plan {fields['plan']} on stack {fields['stack']} already has an active run {active['run_id']} "
                f"({active['status']}); resume it with `asrctl runs resume {active['run_id']}` or cancel it with "
                f"`asrctl runs cancel {active['run_id']}`"
            ) from None
        return run_id

    def active_run(self, plan: str, stack: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM runs WHERE plan=? AND stack=? AND status IN ('pending','running','paused')", (plan, stack)
            ).fetchone()
        return self._run_dict(row) if row else None

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise BadInput(f"run {run_id!r}: no such run in {self.path}; list runs with `asrctl runs list`")
        return self._run_dict(row)

    def list_runs(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM runs ORDER BY created_at, run_id").fetchall()
        return [self._run_dict(r) for r in rows]

    def update_run(self, run_id: str, event: str | None = None, data: dict[str, Any] | None = None, **fields: Any) -> None:
        for key in _RUN_JSON:
            if key in fields:
                fields[key] = json.dumps(fields[key], default=str)
        with self._tx() as db:
            if fields:
                sets = ", ".join(f"{k}=?" for k in fields)
                db.execute(f"UPDATE runs SET {sets} WHERE run_id=?", (*fields.values(), run_id))
            if event:
                self._event(db, run_id, None, event, data or {k: v for k, v in fields.items() if k != "options"})

    def claim(self, run_id: str, pid: int) -> None:
        """Make ``pid`` the owner of a run (resume): the run's status becomes running."""
        self.update_run(run_id, "resumed", {"pid": pid}, owner_pid=pid, status="running", finished_at=None)

    @staticmethod
    def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
        run = dict(row)
        for key in _RUN_JSON:
            run[key] = json.loads(run[key]) if run[key] else ({} if key != "readiness" else [])
        run["skip_readiness"] = bool(run["skip_readiness"])
        run["cancel_requested"] = bool(run["cancel_requested"])
        return run

    # -- steps -----------------------------------------------------------------------------------------------------
    def ensure_step(self, run_id: str, step_id: str, **identity: Any) -> dict[str, Any]:
        """Create the step row the first time a run reaches it; return its current state."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM steps WHERE run_id=? AND step_id=?", (run_id, step_id)).fetchone()
            if row is None:
                seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id=?", (run_id,)).fetchone()[0]
                fields = {"run_id": run_id, "step_id": step_id, "seq": seq, **identity}
                db.execute(
                    f"INSERT INTO steps ({', '.join(fields)}) VALUES ({', '.join('?' for _ in fields)})",
                    tuple(fields.values()),
                )
                row = db.execute("SELECT * FROM steps WHERE run_id=? AND step_id=?", (run_id, step_id)).fetchone()
        return dict(row)

    def step(self, run_id: str, step_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM steps WHERE run_id=? AND step_id=?", (run_id, step_id)).fetchone()
        return dict(row) if row else None

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM steps WHERE run_id=? ORDER BY seq", (run_id,)).fetchall()
        return [dict(r) for r in rows]

    def update_step(
        self, run_id: str, step_id: str, event: str | None = None, data: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        unknown = set(fields) - set(STEP_FIELDS)
        if unknown:
            raise ValueError(f"unknown step fields {sorted(unknown)}")
        with self._tx() as db:
            if fields:
                sets = ", ".join(f"{k}=?" for k in fields)
                db.execute(f"UPDATE steps SET {sets} WHERE run_id=? AND step_id=?", (*fields.values(), run_id, step_id))
            if event:
                self._event(db, run_id, step_id, event, data if data is not None else fields)

    def intent(self, run_id: str, step_id: str, data: dict[str, Any], **fields: Any) -> None:
        """Commit the intent of a side effect (before sending it)."""
        self.update_step(run_id, step_id, "intent", data, **fields)
        _test_crash("intent")

    def result(self, run_id: str, step_id: str, data: dict[str, Any], **fields: Any) -> None:
        """Commit what a side effect returned (after it returned)."""
        _test_crash("sent")
        self.update_step(run_id, step_id, "result", data, **fields)
        _test_crash("result")

    def events(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM events WHERE run_id=? ORDER BY seq", (run_id,)).fetchall()
        return [{**dict(r), "data": json.loads(r["data"])} for r in rows]

    @staticmethod
    def _event(db: sqlite3.Connection, run_id: str, step_id: str | None, kind: str, data: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO events (run_id, step_id, type, at, data) VALUES (?, ?, ?, ?, ?)",
            (run_id, step_id, kind, _now_iso(), json.dumps(data, default=str)),
        )


def _now_iso() -> str:
    return datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

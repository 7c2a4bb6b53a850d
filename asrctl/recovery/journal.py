"""The local runtime's durable write-ahead journal of recovery runs: ``$ASRCTL_HOME/journal.db`` (SQLite, WAL).

Tables:

* ``meta``   the journal's identity (also written to ``journal.id`` beside it, so a journal that lost its runs —
  emptied, truncated to zero, replaced — is reported as such instead of as "no runs yet").
* ``runs``   one row per run: plan, stack, main operation, the :class:`~asrctl.recovery.records.RunSpec`, status.
* ``steps``  the materialised state of every step (stage, group, machine operation, action) of a run.
* ``events`` append-only: an ``intent`` row is committed BEFORE every side effect (provider call, script, runbook)
  and a ``result`` row after it, in the same transaction as the step update. After a crash the engine reads the
  last intent without a result and reconciles with the provider before sending anything again.

One active run per (plan, stack) is enforced by a partial unique index. Which process drives a run is not kept
here but by an exclusive claim (:mod:`asrctl.recovery.claim`), which the operating system releases when the process
dies. Every SQLite or file-system problem becomes one line naming the file and the fix (:class:`BadInput`, exit 2).
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
from asrctl.recovery.records import (
    ACTIVE_RUN_STATUSES,
    STEP_FIELDS,
    RunRow,
    RunSpec,
    RunSummary,
    StepRecord,
)
from asrctl.recovery.runtime import StoreUnavailable

SCHEMA_VERSION = 2

_ACTIVE_SQL = ", ".join(f"'{s}'" for s in ACTIVE_RUN_STATUSES)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    plan TEXT NOT NULL,
    stack TEXT NOT NULL,
    operation TEXT NOT NULL,
    command TEXT NOT NULL,
    provider TEXT NOT NULL,
    engine TEXT NOT NULL DEFAULT 'local',
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    plan_path TEXT NOT NULL,
    plan_sha256 TEXT NOT NULL,
    spec TEXT NOT NULL,
    error TEXT,
    readiness TEXT NOT NULL DEFAULT '[]',
    clock TEXT NOT NULL DEFAULT 'wall',
    api_reads INTEGER NOT NULL DEFAULT 0,
    api_writes INTEGER NOT NULL DEFAULT 0,
    targets TEXT NOT NULL DEFAULT '{{}}',
    rto_seconds REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    paused_step TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_run_per_plan ON runs(plan, stack) WHERE status IN ({_ACTIVE_SQL});
CREATE INDEX IF NOT EXISTS runs_by_created ON runs(created_at, run_id);
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
    job_token TEXT,
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
    wait_seconds REAL,
    PRIMARY KEY (run_id, step_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    step_id TEXT,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS events_by_run ON events(run_id, seq);
"""

_RUN_JSON = ("spec", "readiness", "targets")


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


def usable_state_home() -> Path:
    """``$ASRCTL_HOME``, created if missing; BadInput (one line) when it cannot hold asrctl's state."""
    home = state_home()
    where = f"ASRCTL_HOME={home}" if os.environ.get("ASRCTL_HOME") else f"the state directory {home}"
    if home.exists() and not home.is_dir():
        raise BadInput(f"{where} is a file, not a directory; point ASRCTL_HOME at a directory (or remove the file)")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{where} cannot be created ({exc.strerror or exc}); point ASRCTL_HOME at a writable "
                       f"directory") from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise BadInput(f"{where} is not writable; fix its permissions or point ASRCTL_HOME at a writable directory")
    return home


class JournalUnusable(StoreUnavailable):
    """The journal cannot be read or written (damaged, read-only, disk full): exit 2, nothing more is recorded."""


def _db_problem(path: Path, exc: BaseException) -> JournalUnusable:
    from asrctl.recovery.sqlite_state import sqlite_problem

    return JournalUnusable(sqlite_problem(path, exc, f"restore it from a backup, or move it aside (mv {path} "
                                                     f"{path}.damaged) to start a new journal; runs recorded in it "
                                                     "cannot be resumed without it"))


class Journal:
    """Thread-safe access to the journal database (one connection, one lock: writes are tiny)."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            usable_state_home()
        self.path = path or journal_path()
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.is_dir():
                raise JournalUnusable(f"{self.path}: is a directory, not a journal file; move it aside")
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed intent must survive power loss, not only a process kill.
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except BadInput:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise _db_problem(self.path, exc) from None

    def _migrate(self) -> None:
        """Create or check the schema and the journal's identity in one exclusive transaction, so processes opening a
        new journal at the same moment see either nothing or all of it (never tables without a version)."""
        marker = self.path.with_name(self.path.stem + ".id")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "runs" in tables and version < SCHEMA_VERSION:
                raise JournalUnusable(
                    f"{self.path}: written by an older asrctl (journal schema {version}, this one reads "
                    f"{SCHEMA_VERSION}); move it aside (mv {self.path} {self.path}.v{version}) to start a new journal"
                )
            if version > SCHEMA_VERSION:
                raise JournalUnusable(f"{self.path}: written by a newer asrctl (journal schema {version}); upgrade "
                                      "asrctl")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            row = self._db.execute("SELECT value FROM meta WHERE key='journal_id'").fetchone()
            if row is None:
                if marker.is_file():
                    raise JournalUnusable(
                        f"{self.path}: lost its runs (it was emptied, truncated or replaced; {marker.name} names "
                        f"journal {marker.read_text().strip()}): restore it from a backup, or remove {marker} to "
                        "start a new journal knowingly"
                    )
                journal_id = secrets.token_hex(8)
                self._db.execute("INSERT INTO meta VALUES ('journal_id', ?)", (journal_id,))
            else:
                journal_id = row[0]
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        if not marker.is_file():  # after the commit: a crash before it leaves no marker naming an unborn journal
            marker.write_text(journal_id + "\n", encoding="utf-8")

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError:
                raise
            except (sqlite3.Error, OSError) as exc:
                raise _db_problem(self.path, exc) from None

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except (sqlite3.Error, OSError) as exc:
                raise _db_problem(self.path, exc) from None

    # -- runs ------------------------------------------------------------------------------------------------------
    def create_run(self, *, run_id: str, plan: str, stack: str, spec: RunSpec, provider: str, plan_path: str,
                   plan_sha256: str, clock: str, targets: dict[str, Any], readiness: list[dict[str, Any]],
                   status: str = "pending") -> str:
        """Insert a run; refuses (BadInput) when the plan already has an active run on the stack."""
        fields = {
            "run_id": run_id, "plan": plan, "stack": stack, "operation": spec.main_operation,
            "command": spec.command, "provider": provider, "engine": spec.engine, "status": status,
            "created_at": _now_iso(), "plan_path": plan_path, "plan_sha256": plan_sha256,
            "spec": spec.model_dump_json(), "clock": clock, "targets": json.dumps(targets),
            "readiness": json.dumps(readiness, default=str),
        }
        columns = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        try:
            with self._tx() as db:
                db.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(fields.values()))
                self._event(db, run_id, None, "created", {"command": spec.command, "operation": spec.main_operation})
        except sqlite3.IntegrityError:
            active = self.active_run(plan, stack)
            if active is None:  # finished between the insert and the lookup: tell the user to retry
                raise BadInput(f"plan {plan}: another run just finished; try again") from None
            raise BadInput(active_run_message(active)) from None
        return run_id

    def active_run(self, plan: str, stack: str) -> RunRow | None:
        rows = self._query(f"SELECT * FROM runs WHERE plan=? AND stack=? AND status IN ({_ACTIVE_SQL})", (plan, stack))
        return self._run(rows[0]) if rows else None

    def get_run(self, run_id: str) -> RunRow:
        rows = self._query("SELECT * FROM runs WHERE run_id=?", (run_id,))
        if not rows:
            raise BadInput(f"run {run_id!r}: no such run in {self.path}; list runs with `asrctl runs list`")
        return self._run(rows[0])

    def cancel_requested(self, run_id: str) -> bool:
        """``asrctl runs cancel`` asked this run to stop (one column: the engine asks before every side effect)."""
        rows = self._query("SELECT cancel_requested FROM runs WHERE run_id=?", (run_id,))
        if not rows:
            raise BadInput(f"run {run_id!r}: no such run in {self.path}; list runs with `asrctl runs list`")
        return bool(rows[0][0])

    def summaries(self, *, limit: int | None = None, plan: str | None = None,
                  status: str | None = None) -> list[RunSummary]:
        """Newest last, without reading any step: what ``asrctl runs list`` prints."""
        where, params = [], []
        if plan:
            where.append("plan=?")
            params.append(plan)
        if status:
            where.append("status=?")
            params.append(status)
        sql = ("SELECT run_id, plan, stack, command, operation, provider, engine, status, started_at, finished_at, "
               "rto_seconds, error FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY created_at DESC, run_id DESC")
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = self._query(sql, tuple(params))
        return [RunSummary(**dict(r)) for r in reversed(rows)]

    def run_ids(self) -> list[str]:
        return [r[0] for r in self._query("SELECT run_id FROM runs ORDER BY created_at, run_id")]

    def update_run(self, run_id: str, event: str | None = None, data: dict[str, Any] | None = None,
                   **fields: Any) -> None:
        for key in _RUN_JSON:
            if key in fields and not isinstance(fields[key], str):
                value = fields[key]
                fields[key] = value.model_dump_json() if isinstance(value, RunSpec) else json.dumps(value, default=str)
        with self._tx() as db:
            if fields:
                sets = ", ".join(f"{k}=?" for k in fields)
                db.execute(f"UPDATE runs SET {sets} WHERE run_id=?", (*fields.values(), run_id))
            if event:
                self._event(db, run_id, None, event, data if data is not None else
                            {k: v for k, v in fields.items() if k not in _RUN_JSON})

    @staticmethod
    def _run(row: sqlite3.Row) -> RunRow:
        run = dict(row)
        run["spec"] = RunSpec.model_validate_json(run["spec"])
        run["readiness"] = json.loads(run["readiness"] or "[]")
        run["targets"] = json.loads(run["targets"] or "{}")
        run["cancel_requested"] = bool(run["cancel_requested"])
        return RunRow.model_validate(run)

    # -- steps -----------------------------------------------------------------------------------------------------
    def ensure_step(self, run_id: str, step_id: str, **identity: Any) -> StepRecord:
        """Create the step row the first time a run reaches it; return its current state."""
        existing = self.step(run_id, step_id)  # a resumed run finds most of its steps: no write, no fsync
        if existing is not None:
            return existing
        fields = {"run_id": run_id, "step_id": step_id, **identity}
        with self._tx() as db:
            # The next seq and the row in one statement; DO NOTHING if another thread created it meanwhile.
            row = db.execute(
                f"INSERT INTO steps (seq, {', '.join(fields)}) SELECT COALESCE(MAX(seq), 0) + 1, "
                f"{', '.join('?' for _ in fields)} FROM steps WHERE run_id=? ON CONFLICT DO NOTHING RETURNING *",
                (*fields.values(), run_id),
            ).fetchone()
            if row is None:
                row = db.execute("SELECT * FROM steps WHERE run_id=? AND step_id=?", (run_id, step_id)).fetchone()
        return StepRecord.model_validate(dict(row))

    def step(self, run_id: str, step_id: str) -> StepRecord | None:
        rows = self._query("SELECT * FROM steps WHERE run_id=? AND step_id=?", (run_id, step_id))
        return StepRecord.model_validate(dict(rows[0])) if rows else None

    def steps(self, run_id: str) -> list[StepRecord]:
        return [StepRecord.model_validate(dict(r))
                for r in self._query("SELECT * FROM steps WHERE run_id=? ORDER BY seq", (run_id,))]

    def update_step(self, run_id: str, step_id: str, event: str | None = None, data: dict[str, Any] | None = None,
                    **fields: Any) -> None:
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

    def record_job(self, run_id: str, request_id: str, job_id: str, token: str | None) -> None:
        """A provider reported the job a request created (before the call returned): keep it with its steps."""
        with self._tx() as db:
            db.execute("UPDATE steps SET job_id=?, job_token=? WHERE run_id=? AND request_id=? AND job_id IS NULL",
                       (job_id, token, run_id, request_id))
            self._event(db, run_id, None, "job-started", {"request_id": request_id, "job_id": job_id})
        _test_crash("job")

    def events(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT * FROM events WHERE run_id=? ORDER BY seq", (run_id,))
        return [{**dict(r), "data": json.loads(r["data"])} for r in rows]

    @staticmethod
    def _event(db: sqlite3.Connection, run_id: str, step_id: str | None, kind: str, data: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO events (run_id, step_id, type, at, data) VALUES (?, ?, ?, ?, ?)",
            (run_id, step_id, kind, _now_iso(), json.dumps(data, default=str)),
        )


def active_run_message(active: RunRow) -> str:
    return (
        f"plan {active.plan} on stack {active.stack} already has an active run {active.run_id} ({active.status}); "
        f"resume it with `asrctl runs resume {active.run_id}` or cancel it with `asrctl runs cancel {active.run_id}`"
    )


def _now_iso() -> str:
    return datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""The simulator's persistent world: ``$ASRCTL_HOME/simulator/<stack>.db`` (SQLite), one per stack.

Separate commands continue from the same world (drill → failover → commit → reprotect → failback), and so does a run
resumed after a crash. The world has an identity (``world_id``, made when it is created) that every run records: a
world deleted or replaced under a run is detected (:class:`WorldChanged`) instead of silently failing the same plan
over a second time. Its clock is simulated: it moves only when a run waits (see :mod:`asrctl.recovery.clock`) and
is saved here, so time never runs backwards across commands.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from asrctl.errors import BadInput
from asrctl.project import state_home
from asrctl.recovery.providers.protocol import ProviderError, WorldChanged
from asrctl.recovery.sqlite_state import sqlite_problem


class WorldUnusable(ProviderError):
    """The world's file cannot be read or written (damaged, read-only, disk full): exit 2."""

    exit_code = 2


def _problem(path: Path, stack_name: str, exc: BaseException) -> WorldUnusable:
    return WorldUnusable(sqlite_problem(path, exc, f"`asrctl sim reset --stack {stack_name}` starts a new world"))

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS machines (name TEXT PRIMARY KEY, state TEXT NOT NULL, architecture TEXT NOT NULL,"
    " phase REAL NOT NULL, lag REAL NOT NULL, recovery_plan TEXT)",
    "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, machines TEXT NOT NULL,"
    " operation TEXT NOT NULL, request_id TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL,"
    " due_at REAL NOT NULL, finished_at REAL, effect TEXT, error TEXT, recovery_points TEXT, output TEXT,"
    " recovery_plan TEXT)",
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_request ON jobs(request_id)",
    "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state)",
    "CREATE TABLE IF NOT EXISTS job_machines (job_id TEXT NOT NULL, machine TEXT NOT NULL, state TEXT NOT NULL,"
    " PRIMARY KEY (job_id, machine))",
    "CREATE INDEX IF NOT EXISTS running_by_machine ON job_machines(machine, state)",
    "CREATE TABLE IF NOT EXISTS api_calls (kind TEXT PRIMARY KEY, count INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS faults_used (key TEXT PRIMARY KEY, count INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS recovery_plans (name TEXT PRIMARY KEY, groups TEXT NOT NULL, created_at REAL NOT NULL)",
)
WORLD_SCHEMA = "2"


def world_path(stack_name: str) -> Path:
    return state_home() / "simulator" / f"{stack_name}.db"


class World:
    """The database of one stack's simulated vault, with its identity and saved simulated time."""

    def __init__(self, stack_name: str, path: Path | None = None) -> None:
        self.stack_name = stack_name
        self.path = path or world_path(stack_name)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._inode = os.stat(self.path).st_ino
        except (sqlite3.Error, OSError) as exc:
            raise _problem(self.path, stack_name, exc) from None
        with self.tx() as db:
            meta = {r["key"]: r["value"] for r in db.execute("SELECT key, value FROM meta")}
            if meta.get("schema", WORLD_SCHEMA) != WORLD_SCHEMA:
                raise BadInput(f"{self.path}: written by another asrctl version; `asrctl sim reset --stack "
                               f"{stack_name}` starts a new world")
            defaults = {"schema": WORLD_SCHEMA, "world_id": uuid.uuid4().hex[:12],
                        "seed": os.environ.get("ASRCTL_SIM_SEED", "42"), "sim_time": repr(time.time())}
            for key, value in defaults.items():
                if key not in meta:
                    db.execute("INSERT INTO meta VALUES (?, ?)", (key, value))
                    meta[key] = value
        self.world_id = meta["world_id"]
        self.seed = meta["seed"]
        self.saved_time = float(meta["sim_time"])

    @property
    def identity(self) -> str:
        return f"simulator:{self.stack_name}:{self.world_id}"

    def check(self) -> None:
        """The file is still the one this world opened (not deleted, not replaced)."""
        try:
            same = os.stat(self.path).st_ino == self._inode
        except FileNotFoundError:
            same = False
        if not same:
            raise WorldChanged(
                f"{self.path}: the simulator world of stack {self.stack_name} was deleted or replaced while in use "
                f"(world {self.world_id}); nothing more was sent. Start over with `asrctl sim reset --stack "
                f"{self.stack_name}` and a new run"
            )

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.check()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
                if isinstance(exc, sqlite3.IntegrityError):
                    raise
                raise _problem(self.path, self.stack_name, exc) from None

    def save_time(self, db: sqlite3.Connection, now: float) -> None:
        db.execute("UPDATE meta SET value = ? WHERE key = 'sim_time' AND CAST(value AS REAL) < ?", (repr(now), now))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def reset_world(stack_name: str) -> list[Path]:
    """Delete the stack's world (and its WAL files); returns what was removed."""
    path = world_path(stack_name)
    removed = []
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            candidate.unlink()
            removed.append(candidate)
    return removed

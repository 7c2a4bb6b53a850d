"""The embedded ASR simulator: a stateful stand-in for a Recovery Services vault of either architecture.

* Enforces ASR's allowed transitions from :data:`asrctl.recovery.operations.OPERATIONS` per architecture, and what
  ASR refuses: no commit before failover, no failover while a test failover is not cleaned up, one job per item,
  no per-item failover of a multi-VM group member (its recovery plan fails it over), no reprotect without the
  failback path, no cancel of a classic failback.
* Keeps recovery points: crash-consistent every 5 minutes, app-consistent at the stack's policy frequency, each
  machine with its own seeded phase; reports RPO.
* Runs jobs for a seeded, jittered simulated duration that depends only on (seed, machine, operation): the same
  plan, stack and seed give the same RTO. Time is a :class:`~asrctl.recovery.clock.SimClock`: it moves only when the
  engine waits (paced at ``ASRCTL_SIM_SPEED`` simulated seconds per real second), never with CPU load.
* Counts API calls by kind; injects faults from ``ASRCTL_SIM_FAULTS`` (:mod:`.faults`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.recovery.clock import Clock, SimClock, iso
from asrctl.recovery.operations import OPERATIONS
from asrctl.recovery.providers.protocol import (
    AmbiguousResult,
    ApplianceStatus,
    Capabilities,
    EnvironmentStatus,
    JobRef,
    JobStartedCallback,
    JobStatus,
    MachineStatus,
    OperationRejected,
    OperationRequest,
    Throttled,
)
from asrctl.recovery.providers.simulator.faults import Fault, load_faults
from asrctl.recovery.providers.simulator.world import World

DEFAULT_SPEED = 600.0
RUNBOOK_DURATION = 60.0
PLAN_JOB_OVERHEAD = 30.0  # a recovery-plan job prepares and finishes the group around its items' work
JITTER = (0.8, 1.2)
CRASH_CONSISTENT_INTERVAL = 300
THROTTLE_RETRY_AFTER = 20.0
# ASR's words for our states (protectionState as the portal shows it), per architecture; [U] where the references
# have no recording (REFERENCE-modernized §4.1).
ASR_WORDS: dict[str, dict[str, str]] = {
    "modernized": {
        "protected": "Protected", "test-failed-over": "Protected (test failover active)",
        "failed-over": "UnplannedFailoverCommitPendingStatesBegin", "committed": "UnplannedFailoverCommitted",
        "reprotected": "Protected (InMageRcmFailback)", "failback-pending": "CommitPendingStatesBegin",
        "failed-back": "PlannedFailoverCommitted",
    },
    "classic": {
        "protected": "Protected", "test-failed-over": "Protected (test failover active)",
        "failed-over": "UnplannedFailoverCompleted", "committed": "FailoverCommitted",
        "reprotected": "Protected (InMage)", "failback-pending": "UnplannedFailoverCompleted (InMage)",
        "failed-back": "FailoverCommitted (InMage)",
    },
}
# What a simulated appliance (REFERENCE-modernized §2.4) and its Mobility agents run.
SIMULATED_COMPONENTS = ("process-server", "rcm-proxy", "push-installer", "replication-agent", "reprotect-agent",
                        "mars-agent", "dra")
SIMULATED_AGENT_VERSION = "9.62.7096.1"
READ_CALLS = ("describe_machines", "describe_environment", "get_job", "find_job", "find_runbook_job", "identity")


def sim_speed() -> float:
    raw = os.environ.get("ASRCTL_SIM_SPEED")
    if not raw:
        return DEFAULT_SPEED
    try:
        speed = float(raw)
    except ValueError:
        raise BadInput(f"ASRCTL_SIM_SPEED={raw!r}: not a number; set simulated seconds per real second, e.g. 600") from None
    if not 0 < speed < float("inf"):
        raise BadInput(f"ASRCTL_SIM_SPEED={raw!r}: must be a finite number greater than 0, e.g. 600")
    return speed


def _seeded(*parts: Any) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class SimulatorProvider:
    """:class:`asrctl.recovery.providers.protocol.RecoveryProvider` against the simulated vault of one stack."""

    name = "simulator"
    # Simulated seconds between the engine's status polls: cheap here, and it keeps RTO measurements tight.
    capabilities = Capabilities(poll_interval=2.0, jobs_can_suspend=False, group_jobs=True)

    def __init__(
        self,
        stack_cfg: StackConfig,
        stack_name: str,
        *,
        state: dict[str, Any] | None = None,
        on_job_started: JobStartedCallback | None = None,
        multi_vm_groups: dict[str, str] | None = None,
        speed: float | None = None,
        clock: Clock | None = None,
        faults: list[Fault] | None = None,
        path: Path | None = None,
        record_calls: bool = False,
        migration_target: tuple[StackConfig, str] | None = None,
    ) -> None:
        self.stack_cfg = stack_cfg
        self.stack_name = stack_name
        self.architecture = stack_cfg.architecture
        # `asrctl migrate`: the modernized stack the machines move to (its world gets them and the recovery plans).
        self.migration_target = migration_target
        self.on_job_started = on_job_started
        self.faults = (load_faults(machines={m.name for m in stack_cfg.machines}, stack_name=stack_name)
                       if faults is None else faults)
        self.api_calls: Counter[str] = Counter()
        self._unsaved: Counter[str] = Counter()
        self.call_log: list[tuple[float, str]] | None = [] if record_calls else None
        self._lock = threading.RLock()
        self.world = World(stack_name, path)
        self.path = self.world.path
        self._app_interval = max(1, stack_cfg.replication.app_consistent_frequency_minutes) * 60
        if multi_vm_groups is None:
            # ASR learns each item's multi-VM group at enable time (phase 2 renders them from the plans).
            from asrctl.plans import load_plans_for_stack
            from asrctl.plans import multi_vm_groups as groups_of

            multi_vm_groups = groups_of(load_plans_for_stack(stack_cfg, stack_name), stack_cfg)
        groups = multi_vm_groups
        with self.world.tx() as db:
            known = {r["name"] for r in db.execute("SELECT name FROM machines")}
            for m in stack_cfg.machines:
                if m.name in known:
                    db.execute("UPDATE machines SET recovery_plan=? WHERE name=?", (groups.get(m.name), m.name))
                    continue
                rng = _seeded(self.world.seed, "machine", m.name)
                # Replication lag grows with churn: a busy SQL server trails more than a web server.
                lag = 20 + min(m.churn_gb_per_day, 200) * 0.5 + rng.uniform(0, 30)
                db.execute("INSERT INTO machines VALUES (?, 'protected', ?, ?, ?, ?)",
                           (m.name, self.architecture, rng.uniform(0, CRASH_CONSISTENT_INTERVAL), lag,
                            groups.get(m.name)))
        self.clock: Clock = clock or SimClock(self.world.saved_time, speed or sim_speed())
        self._listeners: dict[str, socket.socket] = {}
        self._closed_ports: dict[str, int] = {}

    # -- identity and state ----------------------------------------------------------------------------------------
    def identity(self) -> str:
        self.world.check()
        return self.world.identity

    def export_state(self) -> dict[str, Any]:
        return {}

    # -- plumbing --------------------------------------------------------------------------------------------------
    def _count(self, db: sqlite3.Connection, call: str, now: float) -> None:
        kind = "reads" if call in READ_CALLS else "writes"
        self.api_calls[call] += 1
        self.api_calls[kind] += 1
        if self.call_log is not None:
            self.call_log.append((now, kind))
        self._unsaved[call] += 1
        # Reads are counted in memory and saved with the next write (or on close): the engine polls often.
        if kind == "writes":
            self._save(db, now)

    def _save(self, db: sqlite3.Connection, now: float) -> None:
        for call, count in self._unsaved.items():
            db.execute("INSERT INTO api_calls VALUES (?, ?) ON CONFLICT(kind) DO UPDATE SET count = count + ?",
                       (call, count, count))
        self._unsaved.clear()
        self.world.save_time(db, now)

    def _settle(self, db: sqlite3.Connection, now: float) -> None:
        """Finish every due job (lazily, on the next call that looks): apply its transition or its fault."""
        due = db.execute(
            "SELECT * FROM jobs WHERE state='InProgress' AND due_at <= ? AND (effect IS NULL OR effect != 'hang')",
            (now,),
        ).fetchall()
        for job in due:
            machines = json.loads(job["machines"])
            if job["effect"] == "fail":
                what = (f"{job['operation']} of {', '.join(machines)}" if machines else f"runbook {job['operation']}")
                db.execute("UPDATE jobs SET state='Failed', finished_at=due_at, error=? WHERE id=?",
                           (f"simulated fault: {what} failed (ASRCTL_SIM_FAULTS)", job["id"]))
                db.execute("UPDATE job_machines SET state='Failed' WHERE job_id=?", (job["id"],))
                continue
            db.execute("UPDATE jobs SET state='Succeeded', finished_at=due_at WHERE id=?", (job["id"],))
            db.execute("UPDATE job_machines SET state='Succeeded' WHERE job_id=?", (job["id"],))
            if job["kind"] == "machine":
                target = OPERATIONS[job["operation"]].target
                if job["operation"] == "switch-provider":
                    db.executemany("UPDATE machines SET architecture='modernized' WHERE name=?",
                                   [(m,) for m in machines])
                    self._in_target_world(machines)
                if job["operation"] == "recreate-recovery-plans":
                    self._recreate_plans_in_target(job["due_at"])
                db.executemany("UPDATE machines SET state=? WHERE name=?", [(target, m) for m in machines])

    def _target_world(self) -> World:
        if self.migration_target is None:
            raise OperationRejected(f"stack {self.stack_name}: no migration target (asrctl migrate --to-stack)")
        return World(self.migration_target[1])

    def _in_target_world(self, machines: list[str]) -> None:
        """The moved items replicate in the modernized vault now: protected there, on the InMageRcm provider."""
        world = self._target_world()
        try:
            with world.tx() as db:
                for name in machines:
                    rng = _seeded(world.seed, "machine", name)
                    db.execute("INSERT INTO machines VALUES (?, 'protected', 'modernized', ?, ?, NULL) ON CONFLICT(name)"
                               " DO UPDATE SET state='protected', architecture='modernized'",
                               (name, rng.uniform(0, CRASH_CONSISTENT_INTERVAL), 20 + rng.uniform(0, 30)))
        finally:
            world.close()

    def _recreate_plans_in_target(self, at: float) -> None:
        """ASR does not migrate recovery plans: create the target stack's plans there (idempotent, by name)."""
        from asrctl.plans import load_plans_for_stack

        assert self.migration_target is not None
        cfg, name = self.migration_target
        world = self._target_world()
        try:
            with world.tx() as db:
                for plan in load_plans_for_stack(cfg, name):
                    groups = json.dumps([{"name": g.name, "machines": list(g.machines)} for g in plan.groups])
                    db.execute("INSERT INTO recovery_plans VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                               "groups=excluded.groups", (plan.name, groups, at))
        finally:
            world.close()

    def _take_fault(self, db: sqlite3.Connection, machine: str | None, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.operation != operation or (fault.machine is not None and fault.machine != machine):
                continue
            used = db.execute("SELECT count FROM faults_used WHERE key=?", (fault.key,)).fetchone()
            if fault.times is not None and used is not None and used["count"] >= fault.times:
                continue
            db.execute("INSERT INTO faults_used VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET count = count + 1",
                       (fault.key,))
            return fault
        return None

    def _recovery_points(self, row: sqlite3.Row, now: float) -> dict[str, float]:
        base = now - row["lag"] - row["phase"]
        crash = base // CRASH_CONSISTENT_INTERVAL * CRASH_CONSISTENT_INTERVAL + row["phase"]
        app = base // self._app_interval * self._app_interval + row["phase"]
        return {"crash-consistent": crash, "app-consistent": app}

    def _failback_ready(self) -> bool:
        """Classic: the failback infrastructure (failback.enabled). Modernized: a reprotect agent on the appliance(s)
        failback goes through — every simulated appliance has one unless the stack's registration names the
        appliance without a reprotectAgentId."""
        if not self.stack_cfg.failback.enabled:
            return False  # modernized: no InMageRcmFailback policy/mapping provisioned; classic: no process server
        if self.architecture == "modernized":
            appliances = self._appliances()
            failback = [a for a in appliances if a.role == "failback"] or appliances
            return bool(failback) and all(a.reprotect_agent for a in failback)
        return True

    def _appliances(self) -> list[ApplianceStatus]:
        """The stack's replication appliances as the simulated vault registered them, all components Normal."""
        from asrctl.config import ModernizedRegistration

        cfg = self.stack_cfg
        reg = cfg.registration if isinstance(cfg.registration, ModernizedRegistration) else None
        out = []
        for appliance in cfg.replication_appliances.appliances if cfg.replication_appliances else []:
            ids = reg.appliances.get(appliance.name) if reg is not None else None
            agent = reg is None or (ids is not None and ids.reprotect_agent_id is not None)
            components = {k: "Normal" for k in SIMULATED_COMPONENTS if k != "reprotect-agent" or agent}
            datastores = (cfg.vcenter.datastore,) + ((reg.failback_datastore,) if reg and reg.failback_datastore
                                                     else ())  # fmt: skip
            out.append(ApplianceStatus(name=appliance.name, registered=True, role=appliance.role,
                                       components=components,  # type: ignore[arg-type]
                                       versions={k: SIMULATED_AGENT_VERSION for k in components},
                                       reprotect_agent=agent, datastores=datastores if agent else ()))
        return out

    # -- reads -----------------------------------------------------------------------------------------------------
    def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        now = self.clock.now()
        with self.world.tx() as db:
            self._count(db, "describe_machines", now)
            self._settle(db, now)
            marks = ",".join("?" for _ in names)
            rows = db.execute(f"SELECT * FROM machines WHERE name IN ({marks})", tuple(names)).fetchall()
            running = {
                r["machine"]: r for r in db.execute(
                    f"SELECT jm.machine, j.id, j.operation, j.machines FROM job_machines jm JOIN jobs j ON "
                    f"j.id = jm.job_id WHERE jm.state='InProgress' AND jm.machine IN ({marks})", tuple(names))
            }
        failback = self._failback_ready()
        result: dict[str, MachineStatus] = {}
        for row in rows:
            state, arch = row["state"], row["architecture"]
            job = running.get(row["name"])
            replicating = state in ("protected", "reprotected")
            points = self._recovery_points(row, now) if state == "protected" else {}
            allowed: tuple[str, ...] = ()
            if job is None:
                allowed = tuple(
                    name for name, op in OPERATIONS.items()
                    if op.exists_in(arch) and state in op.allowed_from(arch) and (failback or not op.needs_failback)
                )
            result[row["name"]] = MachineStatus(
                name=row["name"], state=state, protection_state=ASR_WORDS[arch][state],
                replication_health="Normal" if replicating else "Warning",
                rpo_seconds=round(row["lag"], 1) if replicating else None,
                last_heartbeat=datetime.fromtimestamp(now - 30, UTC) if replicating else None,
                recovery_points={k: datetime.fromtimestamp(v, UTC) for k, v in points.items()},
                allowed_operations=allowed,
                current_job=JobRef(job["id"], job["operation"], tuple(json.loads(job["machines"])))
                if job is not None else None,
                architecture=arch, agent_version=SIMULATED_AGENT_VERSION, agent_latest_version=SIMULATED_AGENT_VERSION,
            )
        return result

    def describe_environment(self) -> EnvironmentStatus:
        now = self.clock.now()
        with self.world.tx() as db:
            self._count(db, "describe_environment", now)
        appliances = tuple(self._appliances()) if self.architecture == "modernized" else ()
        if self._failback_ready():
            problems: tuple[str, ...] = ()
        elif self.architecture == "modernized" and self.stack_cfg.failback.enabled:
            problems = tuple(f"appliance {a.name} has no reprotect agent registered" for a in appliances
                             if not a.reprotect_agent)
        else:
            problems = (f"stack {self.stack_name} does not enable failback (failback.enabled: false)",)
        reg = self.stack_cfg.registration
        return EnvironmentStatus(
            test_network_present=True, failback_ready=self._failback_ready(), problems=problems,
            details={"simulated": True, "architecture": self.architecture,
                     "test_network": self.stack_cfg.network.test_failover.address_space,
                     # what the classic → modernized move checks (readiness.MIGRATION_COMPONENTS): the simulated
                     # configuration server and target appliance are current
                     "component_versions": {"configuration-server": "9.60", "process-server": "9.60",
                                            "rcm-proxy": "1.35.8419.34591", "mars-agent": "2.0.9249.0",
                                            "replication-agent": "1.35.8433.24227"}},
            appliances=appliances, failback_datastore=getattr(reg, "failback_datastore", None),
        )

    def get_job(self, job: JobRef) -> JobStatus:
        now = self.clock.now()
        with self.world.tx() as db:
            self._count(db, "get_job", now)
            self._settle(db, now)
            row = db.execute("SELECT * FROM jobs WHERE id=?", (job.id,)).fetchone()
        if row is None:
            raise OperationRejected(f"simulator: no job {job.id} in the world of stack {self.stack_name}")
        return _job_status(row)

    def find_job(self, request: OperationRequest) -> JobRef | None:
        now = self.clock.now()
        with self.world.tx() as db:
            self._count(db, "find_job", now)
            row = db.execute("SELECT * FROM jobs WHERE request_id=?", (request.request_id,)).fetchone()
        return _job_ref(row) if row else None

    def find_runbook_job(self, runbook: str, request_id: str) -> JobRef | None:
        now = self.clock.now()
        with self.world.tx() as db:
            self._count(db, "find_runbook_job", now)
            row = db.execute("SELECT * FROM jobs WHERE request_id=?", (request_id,)).fetchone()
        return _job_ref(row) if row else None

    # -- side effects ----------------------------------------------------------------------------------------------
    def start_operation(self, request: OperationRequest) -> JobRef:
        from asrctl.recovery.readiness import transition_problem

        operation = request.operation
        op = OPERATIONS.get(operation)
        if op is None:
            raise OperationRejected(f"{operation!r} is not an ASR operation")
        if not request.machines:
            raise OperationRejected(f"{operation}: no machine named")
        now = self.clock.now()
        lost = throttled = False
        with self.world.tx() as db:
            self._count(db, "start_operation", now)
            existing = db.execute("SELECT * FROM jobs WHERE request_id=?", (request.request_id,)).fetchone()
            if existing is not None:  # the same request again: ASR-style idempotency on the client request id
                return _job_ref(existing)
            self._settle(db, now)
            rows = []
            for machine in request.machines:
                row = db.execute("SELECT * FROM machines WHERE name=?", (machine,)).fetchone()
                if row is None:
                    raise OperationRejected(f"{machine}: not a protected item in stack {self.stack_name}'s vault")
                busy = db.execute("SELECT j.id, j.operation FROM job_machines jm JOIN jobs j ON j.id = jm.job_id "
                                  "WHERE jm.machine=? AND jm.state='InProgress'", (machine,)).fetchone()
                if busy is not None:
                    raise OperationRejected(f"{machine}: a {busy['operation']} job ({busy['id']}) is still in "
                                            "progress; wait for it or cancel it")
                arch = row["architecture"]
                if not op.exists_in(arch):
                    raise OperationRejected(f"{machine}: {operation} does not exist for {arch} replication")
                if row["state"] not in op.allowed_from(arch):
                    raise OperationRejected(transition_problem(machine, row["state"], operation, arch, "PLAN",
                                                               self.stack_name))
                if op.needs_failback and not self._failback_ready():
                    raise OperationRejected(f"{machine}: {operation} needs the failback path, which stack "
                                            f"{self.stack_name} does not have; set failback.enabled and deploy it")
                member_of = row["recovery_plan"]
                if op.scope == "run":
                    pass  # one request for the whole run: not an item operation, no multi-VM rule
                elif op.group_job and member_of and request.recovery_plan is None:
                    # PowerShell and ASR refuse per-item failover of multi-VM group members (REFERENCE §5).
                    raise OperationRejected(f"{machine}: is in multi-VM group {member_of}; ASR fails it over only "
                                            f"with its group, through recovery plan {member_of}")
                elif request.recovery_plan is not None and member_of != request.recovery_plan:
                    raise OperationRejected(f"{machine}: is not in recovery plan {request.recovery_plan}")
                if operation == "switch-provider" and self.migration_target is None:
                    raise OperationRejected(f"{machine}: switch-provider needs the modernized vault to move to "
                                            "(asrctl migrate --to-stack)")
                rows.append(row)
            fault = next((f for f in (self._take_fault(db, r["name"], operation) for r in rows) if f), None)
            throttled = fault is not None and fault.effect == "throttle"
            if not throttled:
                durations = [op.duration * _seeded(self.world.seed, r["name"], operation).uniform(*JITTER)
                             for r in rows]
                duration = max(durations) + (PLAN_JOB_OVERHEAD if request.recovery_plan else 0.0)
                points = {r["name"]: self._recovery_point_for(r, operation, request.recovery_point, now) for r in rows}
                job_id = f"job-{hashlib.sha256(request.request_id.encode()).hexdigest()[:12]}"
                machines = [r["name"] for r in rows]
                db.execute(
                    "INSERT INTO jobs (id, kind, machines, operation, request_id, state, created_at, due_at, effect,"
                    " recovery_points, recovery_plan) VALUES (?, 'machine', ?, ?, ?, 'InProgress', ?, ?, ?, ?, ?)",
                    (job_id, json.dumps(machines), operation, request.request_id, now, now + duration,
                     fault.effect if fault else None, json.dumps(points), request.recovery_plan),
                )
                db.executemany("INSERT INTO job_machines VALUES (?, ?, 'InProgress')",
                               [(job_id, m) for m in machines])
                lost = fault is not None and fault.effect == "lose-response"
        if throttled:  # raised after the commit, so the fault's use counts
            raise Throttled(f"{', '.join(request.machines)}: 429 Too Many Requests (simulated)",
                            retry_after=THROTTLE_RETRY_AFTER)
        ref = JobRef(job_id, operation, tuple(machines))
        if self.on_job_started is not None:
            self.on_job_started(request.request_id, ref)
        if lost:
            raise AmbiguousResult(f"{', '.join(machines)}: connection reset before the {operation} response arrived "
                                  "(simulated)")
        return ref

    def _recovery_point_for(self, row: sqlite3.Row, operation: str, point_type: str, now: float) -> float | None:
        if operation == "planned-failover":
            return now  # the source is shut down and synchronised first: no data loss
        if operation in ("test-failover", "unplanned-failover"):
            if point_type == "latest":
                return now - row["lag"]  # ASR processes all pending data first
            points = self._recovery_points(row, now)
            return points["app-consistent" if point_type == "latest-app-consistent" else "crash-consistent"]
        if operation == "failback":
            return now - 30  # replication from Azure to on-prem trails by seconds
        return None

    def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any], request_id: str) -> JobRef:
        now = self.clock.now()
        lost = throttled = False
        with self.world.tx() as db:
            self._count(db, "start_runbook", now)
            existing = db.execute("SELECT * FROM jobs WHERE request_id=?", (request_id,)).fetchone()
            if existing is not None:
                return _job_ref(existing)
            fault = self._take_fault(db, None, name)
            throttled = fault is not None and fault.effect == "throttle"
            if not throttled:
                duration = RUNBOOK_DURATION * _seeded(self.world.seed, "runbook", name).uniform(*JITTER)
                machines = ", ".join(m["name"] for m in context.get("machines", []))
                output = f"{name}({', '.join(f'{k}={v}' for k, v in parameters.items())}) for {machines}"
                job_id = f"rb-{hashlib.sha256(request_id.encode()).hexdigest()[:12]}"
                db.execute(
                    "INSERT INTO jobs (id, kind, machines, operation, request_id, state, created_at, due_at, effect,"
                    " output) VALUES (?, 'runbook', '[]', ?, ?, 'InProgress', ?, ?, ?, ?)",
                    (job_id, name, request_id, now, now + duration, fault.effect if fault else None, output),
                )
                lost = fault is not None and fault.effect == "lose-response"
        if throttled:
            raise Throttled(f"runbook {name}: 429 Too Many Requests (simulated)", retry_after=THROTTLE_RETRY_AFTER)
        ref = JobRef(job_id, f"runbook:{name}")
        if self.on_job_started is not None:
            self.on_job_started(request_id, ref)
        if lost:
            raise AmbiguousResult(f"runbook {name}: connection reset before the response arrived (simulated)")
        return ref

    def resume_job(self, job: JobRef, comment: str, request_id: str) -> None:
        raise OperationRejected(f"simulator: job {job.id} is not suspended (simulated jobs never wait for a manual "
                                "action)")

    def cancel_job(self, job: JobRef) -> None:
        now = self.clock.now()
        with self.world.tx() as db:
            self._count(db, "cancel_job", now)
            db.execute("UPDATE jobs SET state='Cancelled', finished_at=?, error='cancelled by the client' "
                       "WHERE id=? AND state='InProgress'", (now, job.id))
            db.execute("UPDATE job_machines SET state='Cancelled' WHERE job_id=? AND state='InProgress'", (job.id,))

    # -- recovered VMs ---------------------------------------------------------------------------------------------
    def service_endpoint(self, machine: str) -> str | None:
        """A local listener while the machine's VM is up (no job running on it), else a closed port."""
        with self._lock:
            with self.world.tx() as db:
                row = db.execute("SELECT state FROM machines WHERE name=?", (machine,)).fetchone()
                busy = db.execute("SELECT 1 FROM job_machines WHERE machine=? AND state='InProgress'",
                                  (machine,)).fetchone()
            if row is not None and busy is None:
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
            try:
                with self.world.tx() as db:  # remember how far simulated time got, for the next command
                    self._save(db, self.clock.now())
            except Exception:  # noqa: BLE001 - a vanished world has nothing left to save
                pass
            for sock in self._listeners.values():
                sock.close()
            self._listeners.clear()
            self.world.close()

    # -- `asrctl sim show` -----------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The world as ``asrctl sim show --json`` prints it (does not count as an API call)."""
        now = self.clock.now()
        with self.world.tx() as db:
            self._settle(db, now)
            machines = db.execute("SELECT * FROM machines ORDER BY name").fetchall()
            jobs = db.execute("SELECT * FROM jobs ORDER BY created_at, id").fetchall()
            plans = db.execute("SELECT * FROM recovery_plans ORDER BY name").fetchall()
            self._save(db, now)
            calls = {r["kind"]: r["count"] for r in db.execute("SELECT * FROM api_calls")}
        by_machine: dict[str, list[dict[str, Any]]] = {}
        runbooks = []
        for job in jobs:
            entry = {"name": job["operation"], "time": iso(job["created_at"]), "job_id": job["id"],
                     "status": job["state"], "finished_at": iso(job["finished_at"]), "error": job["error"],
                     "recovery_plan": job["recovery_plan"]}
            if job["kind"] == "machine":
                for m in json.loads(job["machines"]):
                    by_machine.setdefault(m, []).append(entry)
            else:
                runbooks.append({**entry, "output": job["output"]})
        reads = sum(v for k, v in calls.items() if k in READ_CALLS)
        return {
            "stack": self.stack_name,
            "world_id": self.world.world_id,
            "architecture": self.architecture,
            "simulated_time": iso(now),
            "speed": getattr(self.clock, "speed", None),
            "machines": [
                {"name": m["name"], "state": m["state"], "architecture": m["architecture"],
                 "protection_state": ASR_WORDS[m["architecture"]][m["state"]], "multi_vm_group": m["recovery_plan"],
                 "operations": by_machine.get(m["name"], [])}
                for m in machines
            ],
            "runbooks": runbooks,
            "recovery_plans": [{"name": p["name"], "groups": json.loads(p["groups"])} for p in plans],
            "api_calls": {"reads": reads, "writes": sum(calls.values()) - reads, "by_call": calls},
        }


def _job_ref(row: sqlite3.Row) -> JobRef:
    operation = row["operation"] if row["kind"] == "machine" else f"runbook:{row['operation']}"
    return JobRef(row["id"], operation, tuple(json.loads(row["machines"])))


def _job_status(row: sqlite3.Row) -> JobStatus:
    def dt(v: float | None) -> datetime | None:
        return None if v is None else datetime.fromtimestamp(v, UTC)

    points = json.loads(row["recovery_points"] or "{}") if row["state"] == "Succeeded" else {}
    return JobStatus(
        id=row["id"], state=row["state"], error=row["error"],
        recovery_point_times={m: dt(t) for m, t in points.items() if t is not None},  # type: ignore[misc]
        started_at=dt(row["created_at"]), finished_at=dt(row["finished_at"]), output=row["output"],
    )


def _listener() -> socket.socket:
    """A socket that completes TCP handshakes (the kernel does that for a listening socket) — enough for probes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock

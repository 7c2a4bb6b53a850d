"""Pre-flight readiness checks for a recovery plan operation, through the provider protocol's reads only.

The same checks run against the simulator and against Azure (``AzureProvider``): ``drill`` and ``failover`` call
:func:`run_readiness` first (``--skip-readiness`` overrides) and ``asrctl readiness`` prints the report.

What is checked, and why
------------------------
Per machine of the plan:

* ``protected-item`` — the machine is a replicated item the backend knows (fail otherwise).
* ``state`` — its state allows the operation (ASR's transitions, :data:`provider.TRANSITIONS`).
* ``test-failover-cleaned`` — no test failover is left uncleaned: ASR refuses a failover while a test VM exists,
  and a forgotten drill VM in the isolated network costs money.
* ``no-running-job`` — no other job is running on the item (ASR would reject the operation).
* ``replication-health`` / ``rpo`` / ``heartbeat`` / ``recovery-point`` — only for operations that recover from
  replicated data (test failover, planned and unplanned failover, failback). RPO is compared with the stack's
  replication policy threshold (``replication.rpoThresholdMinutes``) and, as a warning, with the plan's
  ``targets.rpo``. The Mobility agent heartbeat must be younger than :data:`HEARTBEAT_MAX_AGE_SECONDS`.
  For an **unplanned** failover the source site may be down, so stale RPO/heartbeat only warn: the disaster
  decides, not the check.
* ``recovery-point-type`` — a failover to ``--recovery-point latest-app-consistent`` / ``latest-crash-consistent``
  needs a point of that kind on **every** machine (ASR's per-item failover names one; without it the machine would be
  refused mid-run, after earlier groups had already failed over). An app-consistent point is then also held to the
  age rule below for every machine.
* ``app-consistent-point`` — required for machines in a *database group* (group name ``db``/``database``/``sql``
  or containing one of these as a dash-separated word): databases need a VSS/application-consistent point to
  recover without crash recovery. "Recent" means younger than twice the policy's app-consistent frequency (one
  missed snapshot tolerated).

Plan-wide:

* ``test-network`` (test failover) — the isolated test VNet exists.
* ``failback-infrastructure`` (reprotect, failback) — the stack enables failback and the backend sees the
  temporary Azure process server and the master target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.plans import OPERATIONS, Plan
from asrctl.recovery.provider import (
    FAILBACK_OPERATIONS,
    RECOVERY_POINT_TYPES,
    TRANSITIONS,
    MachineStatus,
    RecoveryProvider,
)

CheckStatus = Literal["pass", "warn", "fail"]

# ASR raises its "no heartbeat from the Mobility service" health error after about 15 minutes of silence.
HEARTBEAT_MAX_AGE_SECONDS = 15 * 60
# Operations that recover a VM from replicated data: their outcome depends on replication health and RPO.
RECOVERING_OPERATIONS = ("test-failover", "planned-failover", "unplanned-failover", "failback")
DATABASE_GROUP_RE = re.compile(r"(^|-)(db|database|databases|sql)(-|$)")


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    status: CheckStatus
    reason: str
    machine: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason, "machine": self.machine}


@dataclass
class ReadinessReport:
    plan: str
    stack: str
    operation: str
    provider: str
    checks: list[ReadinessCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    @property
    def failures(self) -> list[ReadinessCheck]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[ReadinessCheck]:
        return [c for c in self.checks if c.status == "warn"]

    def summary(self) -> str:
        """One line for logs and error messages, e.g. ``2 failed, 1 warning: erp-sql01 rpo: ...``."""
        if self.ok and not self.warnings:
            return f"all {len(self.checks)} readiness checks passed"
        first = (self.failures or self.warnings)[0]
        who = f"{first.machine} " if first.machine else ""
        return f"{len(self.failures)} failed, {len(self.warnings)} warning(s); first: {who}{first.name}: {first.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "stack": self.stack,
            "operation": self.operation,
            "provider": self.provider,
            "ok": self.ok,
            "counts": {s: sum(c.status == s for c in self.checks) for s in ("pass", "warn", "fail")},
            "checks": [c.to_dict() for c in self.checks],
        }


def is_database_group(group_name: str) -> bool:
    return bool(DATABASE_GROUP_RE.search(group_name.lower()))


def machines_needing_app_consistency(plan: Plan) -> set[str]:
    return {m for g in plan.groups if is_database_group(g.name) for m in g.machines}


def _age_seconds(now: float, when: datetime) -> float:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return now - when.timestamp()


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


# The recovery point kind (MachineStatus.recovery_points key) each --recovery-point choice fails over to.
POINT_KIND_REQUIRED = {"latest-app-consistent": "app-consistent", "latest-crash-consistent": "crash-consistent"}


def run_readiness(
    plan: Plan,
    stack_cfg: StackConfig,
    stack_name: str,
    provider: RecoveryProvider,
    operation: str,
    recovery_point: str = "latest",
) -> ReadinessReport:
    """Check that ``operation`` (to ``recovery_point``) can run on every machine of ``plan`` now; reads only."""
    if operation not in OPERATIONS:
        raise BadInput(f"operation {operation!r} is not one of {', '.join(OPERATIONS)}")
    if recovery_point not in RECOVERY_POINT_TYPES:
        raise BadInput(f"--recovery-point {recovery_point!r}: choose one of {', '.join(RECOVERY_POINT_TYPES)}")
    if operation not in ("test-failover", "planned-failover", "unplanned-failover"):
        recovery_point = "latest"  # only these operations choose a point
    report = ReadinessReport(plan=plan.name, stack=stack_name, operation=operation, provider=provider.name)
    add = report.checks.append
    now = provider.clock.now()
    unplanned = operation == "unplanned-failover"
    soft: CheckStatus = "warn" if unplanned else "fail"

    statuses = provider.describe_machines(list(plan.machines))
    needs_app = machines_needing_app_consistency(plan)
    if recovery_point == "latest-app-consistent":
        needs_app = set(plan.machines)
    threshold_s = stack_cfg.replication.rpo_threshold_minutes * 60
    app_max_age_s = 2 * stack_cfg.replication.app_consistent_frequency_minutes * 60
    allowed_states = TRANSITIONS[operation][0]

    for name in plan.machines:
        status = statuses.get(name)
        if status is None:
            add(
                ReadinessCheck(
                    "protected-item",
                    "fail",
                    f"not a replicated item of the {provider.name} backend; enable replication for it first",
                    name,
                )
            )
            continue
        add(ReadinessCheck("protected-item", "pass", f"found ({status.protection_state})", name))
        _machine_checks(
            report,
            status,
            operation,
            allowed_states,
            now,
            soft,
            threshold_s,
            plan,
            stack_cfg,
            needs_app=name in needs_app,
            app_max_age_s=app_max_age_s,
            recovery_point=recovery_point,
        )

    env = provider.describe_environment()
    if operation == "test-failover":
        if env.test_network_present:
            add(ReadinessCheck("test-network", "pass", "the isolated test-failover network exists"))
        else:
            add(
                ReadinessCheck(
                    "test-network",
                    "fail",
                    "the isolated test-failover network is missing; run `pulumi up` for this stack to create it",
                )
            )
    if operation in FAILBACK_OPERATIONS:
        reason = _failback_problem(stack_cfg, stack_name, env.failback_infrastructure)
        add(
            ReadinessCheck(
                "failback-infrastructure",
                "fail" if reason else "pass",
                reason or "temporary Azure process server, connectivity and master target are registered",
            )
        )
    return report


def _failback_problem(cfg: StackConfig, stack_name: str, present: bool) -> str | None:
    if not cfg.failback.enabled:
        return (
            f"stack {stack_name} does not enable failback (vmware-azure-dr:failback.enabled: false); enable it "
            "and run `pulumi up` to build the temporary process server and VPN/ExpressRoute"
        )
    if cfg.registration is None or not cfg.registration.failback_process_server_id:
        return (
            "the failback process server is not registered: set vmware-azure-dr:registration."
            "failbackProcessServerId once it has registered with the configuration server"
        )
    if not present:
        return "the backend does not see the failback process server and master target; check they are registered"
    return None


def _machine_checks(
    report: ReadinessReport,
    st: MachineStatus,
    operation: str,
    allowed_states: tuple[str, ...],
    now: float,
    soft: CheckStatus,
    threshold_s: float,
    plan: Plan,
    cfg: StackConfig,
    *,
    needs_app: bool,
    app_max_age_s: float,
    recovery_point: str = "latest",
) -> None:
    add = report.checks.append
    m = st.name
    if operation != "cleanup-test-failover":
        if st.state == "test-failed-over":
            add(
                ReadinessCheck(
                    "test-failover-cleaned",
                    "fail",
                    f"a test failover was not cleaned up; run `asrctl cleanup {plan.name} --stack {report.stack}` "
                    "before anything else",
                    m,
                )
            )
        else:
            add(ReadinessCheck("test-failover-cleaned", "pass", "no test failover pending cleanup", m))
    if st.state in allowed_states:
        add(ReadinessCheck("state", "pass", f"{st.state} allows {operation}", m))
    elif st.state != "test-failed-over" or operation == "cleanup-test-failover":
        add(
            ReadinessCheck(
                "state",
                "fail",
                f"{st.state} does not allow {operation} (needs {' or '.join(allowed_states)})",
                m,
            )
        )
    if st.current_job is not None:
        add(
            ReadinessCheck(
                "no-running-job",
                "fail",
                f"job {st.current_job.id} ({st.current_job.operation}) is still running",
                m,
            )
        )

    if operation not in RECOVERING_OPERATIONS or st.state not in allowed_states:
        return  # replication is not what this operation depends on (or the state check already failed)

    health = st.replication_health
    add(
        ReadinessCheck(
            "replication-health",
            {"Normal": "pass", "Warning": "warn"}.get(health, soft if health == "Critical" else "warn"),  # type: ignore[arg-type]
            f"replication health is {health}",
            m,
        )
    )

    if st.rpo_seconds is None:
        add(ReadinessCheck("rpo", "warn", "the backend reports no current RPO", m))
    elif st.rpo_seconds > threshold_s:
        add(
            ReadinessCheck(
                "rpo",
                soft,
                f"current RPO {_minutes(st.rpo_seconds)} exceeds the policy threshold {_minutes(threshold_s)}",
                m,
            )
        )
    else:
        add(
            ReadinessCheck(
                "rpo",
                "pass",
                f"current RPO {_minutes(st.rpo_seconds)} within the threshold {_minutes(threshold_s)}",
                m,
            )
        )
    if plan.targets.rpo is not None and st.rpo_seconds is not None and st.rpo_seconds > plan.targets.rpo:
        add(
            ReadinessCheck(
                "rpo-target",
                "warn",
                f"current RPO {_minutes(st.rpo_seconds)} misses the plan's target {_minutes(plan.targets.rpo)}",
                m,
            )
        )

    if st.last_heartbeat is None:
        add(ReadinessCheck("heartbeat", soft, "no Mobility agent heartbeat reported", m))
    else:
        age = _age_seconds(now, st.last_heartbeat)
        ok = age <= HEARTBEAT_MAX_AGE_SECONDS
        add(
            ReadinessCheck(
                "heartbeat",
                "pass" if ok else soft,
                f"last agent heartbeat {_minutes(max(age, 0))} ago"
                + ("" if ok else f" (more than {_minutes(HEARTBEAT_MAX_AGE_SECONDS)})"),
                m,
            )
        )

    if not st.recovery_points:
        add(ReadinessCheck("recovery-point", "fail", "no recovery point yet (initial replication not finished?)", m))
    else:
        youngest = min(_age_seconds(now, d) for d in st.recovery_points.values())
        add(ReadinessCheck("recovery-point", "pass", f"latest recovery point {_minutes(max(youngest, 0))} old", m))

    kind = POINT_KIND_REQUIRED.get(recovery_point)
    if kind is not None:
        if kind in st.recovery_points:
            add(ReadinessCheck("recovery-point-type", "pass", f"has a {kind} point for --recovery-point {recovery_point}",
                               m))  # fmt: skip
        else:
            # Not soft even for an unplanned failover: the backend refuses the machine, whatever the disaster.
            add(ReadinessCheck("recovery-point-type", "fail", f"no {kind} recovery point, which --recovery-point "
                               f"{recovery_point} needs; choose another --recovery-point", m))  # fmt: skip

    if needs_app:
        point = st.recovery_points.get("app-consistent")
        freq = cfg.replication.app_consistent_frequency_minutes
        if point is None:
            add(
                ReadinessCheck(
                    "app-consistent-point",
                    soft,
                    "database group machine has no app-consistent recovery point",
                    m,
                )
            )
        else:
            age = _age_seconds(now, point)
            ok = age <= app_max_age_s
            add(
                ReadinessCheck(
                    "app-consistent-point",
                    "pass" if ok else soft,
                    f"latest app-consistent point {_minutes(max(age, 0))} old"
                    + ("" if ok else f", older than twice the {freq}-minute app-consistent frequency"),
                    m,
                )
            )

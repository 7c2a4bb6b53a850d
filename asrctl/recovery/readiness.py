"""Readiness: the one pre-flight of every recovery command, through the provider protocol's reads only.

Two kinds of checks, reported together (``asrctl readiness``; every recovery command runs them first):

* **State checks** — would ASR accept the command at all? Every machine is a replicated item the backend knows,
  has no job running, and is in a state one of the command's stages starts from
  (:data:`asrctl.recovery.operations.COMMANDS`, :data:`~asrctl.recovery.operations.OPERATIONS`); the failback path
  exists for stages that need it; the test network exists for a test failover. A command whose state checks fail is
  refused with exit 2 **before a run is recorded** (:func:`refusal`): nothing is sent, no failed run is left.
  A single-stage command finds machines already where it leads (``commit`` twice): those are skipped by the run,
  and when every machine is already there the command is refused as having nothing to do.
* **Replication checks** — only for operations that recover from replicated data (test failover, failovers,
  failback): replication health, RPO against the policy threshold and the plan's target, Mobility agent heartbeat,
  recovery points (of the kind ``--recovery-point`` asks for on every machine), a recent app-consistent point for
  database groups. For an **unplanned** failover the source site may be down, so stale RPO/heartbeat only warn.
  These fail a run (exit 1) with the reasons recorded, unless ``--skip-readiness``.

Check names: ``protected-item``, ``no-running-job``, ``state``, ``test-failover-cleaned``, ``test-network``,
``failback-infrastructure``, ``replication-health``, ``rpo``, ``rpo-target``, ``heartbeat``, ``recovery-point``,
``recovery-point-type``, ``app-consistent-point``.

Modernized stacks add, from the InMageRcm fabric the provider reads (:class:`~asrctl.recovery.providers.protocol.
ApplianceStatus`): ``appliance-health`` (every component of each appliance: process server, RCM proxy, push
installer, replication agent, reprotect agent, MARS agent, DRA; unhealthy fails the stages that need the on-premises
side — planned failover, reprotect, failback, re-enable — and only warns for drills and unplanned failovers, which run
from Azure), ``reprotect-agent`` (failback reprotects through an appliance's reprotect agent) and
``failback-datastore`` (the datastore a reprotect writes to is among that agent's accessible datastores) in place of
``failback-infrastructure``; and ``agent-version`` (a Mobility agent older than what its appliance or configuration
server offers: a warning).

``asrctl migrate`` adds :func:`migration_checks`: ``component-version`` (:data:`MIGRATION_COMPONENTS` and each moving
machine's Mobility agent; a state check), ``target-appliance`` (a state check), ``replication-health`` (critical
machines cannot move) and ``tenant`` (always a warning).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.plans import Plan
from asrctl.recovery.operations import COMMANDS, OPERATIONS, RECOVERY_POINT_TYPES, Command
from asrctl.recovery.providers.protocol import EnvironmentStatus, MachineStatus, RecoveryProvider
from asrctl.recovery.retry import read_with_retries

CheckStatus = Literal["pass", "warn", "fail"]
STATE_CHECKS = ("protected-item", "no-running-job", "state", "test-failover-cleaned", "test-network",
                "failback-infrastructure", "reprotect-agent", "failback-datastore", "component-version",
                "target-appliance")
# Stages that need the on-premises side (the appliance) working: a planned failover shuts the source down and syncs
# through it; reprotect, failback and re-enable replicate through it. Drills and unplanned failovers run from Azure.
NEEDS_ON_PREM = ("planned-failover", "reprotect", "failback", "reenable")

# ASR raises its "no heartbeat from the Mobility service" health error after about 15 minutes of silence.
HEARTBEAT_MAX_AGE_SECONDS = 15 * 60
DATABASE_GROUP_RE = re.compile(r"(^|-)(db|database|databases|sql)(-|$)")
# The recovery point kind (MachineStatus.recovery_points key) each --recovery-point choice fails over to.
POINT_KIND_REQUIRED = {"latest-app-consistent": "app-consistent", "latest-crash-consistent": "crash-consistent"}


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    status: CheckStatus
    reason: str
    machine: str | None = None
    advice: str | None = None  # what to do about a failure (the same for every machine failing it this way)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason, "machine": self.machine}


@dataclass
class ReadinessReport:
    plan: str
    stack: str
    operation: str
    provider: str
    command: str = ""
    checks: list[ReadinessCheck] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)  # machines already where a single-stage command leads

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[ReadinessCheck]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[ReadinessCheck]:
        return [c for c in self.checks if c.status == "warn"]

    @property
    def state_failures(self) -> list[ReadinessCheck]:
        return [c for c in self.failures if c.name in STATE_CHECKS]

    def grouped(self, checks: list[ReadinessCheck]) -> list[tuple[str, str, list[str], str | None]]:
        """(check, reason, machines, advice): each distinct problem once, its machines listed once."""
        groups: OrderedDict[tuple[str, str, str | None], list[str]] = OrderedDict()
        for c in checks:
            key = (c.name, _generic(c.reason, c.machine), c.advice)
            groups.setdefault(key, [])
            if c.machine:
                groups[key].append(c.machine)
        return [(name, reason, machines, advice) for (name, reason, advice), machines in groups.items()]

    def summary(self, checks: list[ReadinessCheck] | None = None) -> str:
        """One line: each problem once, with its machines and the advice that matches its cause."""
        chosen = checks if checks is not None else (self.failures or self.warnings)
        if not chosen:
            return f"all {len(self.checks)} readiness checks passed"
        parts = []
        for name, reason, machines, advice in self.grouped(chosen):
            who = ", ".join(machines) if machines else name
            parts.append(f"{who}: {reason}" + (f" — {advice}" if advice else ""))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan, "stack": self.stack, "operation": self.operation, "command": self.command,
            "provider": self.provider, "ok": self.ok,
            "counts": {s: sum(c.status == s for c in self.checks) for s in ("pass", "warn", "fail")},
            "checks": [c.to_dict() for c in self.checks],
            "problems": [{"check": name, "reason": reason, "machines": machines, "advice": advice}
                         for name, reason, machines, advice in self.grouped(self.failures)],
            "already_done": self.already_done,
        }


def _generic(reason: str, machine: str | None) -> str:
    return reason.replace(machine, "the machine") if machine else reason


def is_database_group(group_name: str) -> bool:
    return bool(DATABASE_GROUP_RE.search(group_name.lower()))


def machines_needing_app_consistency(plan: Plan) -> set[str]:
    return {m for g in plan.groups if is_database_group(g.name) for m in g.machines}


def command_for_operation(operation: str) -> Command:
    """``asrctl readiness --operation OP`` checks the single-stage command of that operation."""
    return Command(operation, (operation,), readiness=OPERATIONS[operation].recovers_data)


def transition_problem(machine: str, state: str, operation: str, architecture: str, plan: str, stack: str,
                       changed: bool = False) -> str:
    """Why ``operation`` cannot start from ``state``, and what to do (ASR's rules, operations table)."""
    op = OPERATIONS[operation]
    needs = " or ".join(op.allowed_from(architecture)) or "a state it does not have"  # type: ignore[arg-type]
    hint = {
        "test-failed-over": f"a test failover is still up (not cleaned up); run `asrctl cleanup {plan} --stack "
                            f"{stack}` first",
    }.get(state)
    if hint is None:
        hint = {
            "cleanup-test-failover": "there is no test failover to clean up",
            "commit": "commit needs a completed failover (asrctl failover)",
            "reprotect": "reprotect needs the failover committed (asrctl commit)" if architecture == "classic"
            else "reprotect needs a completed failover (asrctl failover)",
            "failback": "failback needs the machine reprotected to on-premises first (asrctl reprotect)",
            "commit-failback": "there is no failback waiting to be committed",
            "cancel-failback": "there is no failback waiting to be committed or cancelled",
            "reenable": "re-enabling replication needs a committed failback",
            "switch-provider": "only machines replicating on the classic architecture can be moved",
        }.get(operation, f"{operation} needs the machine protected (replicating to Azure)")
    text = f"{machine} is {state}, and {op.title.lower()} needs {needs}: {hint}"
    if changed:
        text += " (its state changed outside this run; check it in the vault or `asrctl sim show`)"
    return text


def run_readiness(plan: Plan, stack_cfg: StackConfig, stack_name: str, provider: RecoveryProvider,
                  operation: str | None = None, recovery_point: str = "latest", *,
                  command: Command | None = None, replication_checks: bool = True) -> ReadinessReport:
    """Check that ``command`` (or the single ``operation``) can run on every machine of ``plan`` now; reads only."""
    if command is None:
        if operation not in OPERATIONS:
            raise BadInput(f"operation {operation!r} is not one of {', '.join(OPERATIONS)}")
        command = command_for_operation(operation)
    if recovery_point not in RECOVERY_POINT_TYPES:
        raise BadInput(f"--recovery-point {recovery_point!r}: choose one of {', '.join(RECOVERY_POINT_TYPES)}")
    first = command.stages[0]
    report = ReadinessReport(plan=plan.name, stack=stack_name, operation=command.main_operation,
                             provider=provider.name, command=command.name)
    add = report.checks.append
    clock = provider.clock
    statuses = read_with_retries(lambda: provider.describe_machines(list(plan.machines)), clock, "describe_machines")
    env = read_with_retries(provider.describe_environment, clock, "describe_environment")
    arch_default = stack_cfg.architecture
    final_target = OPERATIONS[command.stages[-1]].target
    starts: dict[str, str] = {}  # machine → the stage operation it will start with
    for name in plan.machines:
        st = statuses.get(name)
        if st is None:
            add(ReadinessCheck("protected-item", "fail", f"not a replicated item of the {provider.name} backend",
                               name, advice="enable replication for it first (phase 2 of the stack)"))
            continue
        add(ReadinessCheck("protected-item", "pass", f"found ({st.protection_state})", name))
        if st.current_job is not None:
            add(ReadinessCheck("no-running-job", "fail", f"a {st.current_job.operation} job is still running on it",
                               name, advice="wait for it to finish (or `asrctl runs resume` the run that started it)"))
            continue
        arch = st.architecture or arch_default
        stage = next((s for s in command.stages if st.state in OPERATIONS[s].allowed_from(arch)), None)  # type: ignore[arg-type]
        if stage is not None:
            starts[name] = stage
            if stage == first:
                add(ReadinessCheck("state", "pass", f"{st.state} allows {OPERATIONS[first].title.lower()}", name))
            else:
                add(ReadinessCheck("state", "pass", f"{st.state}: joins at {OPERATIONS[stage].title.lower()}", name))
        elif len(command.stages) == 1 and st.state == final_target:
            report.already_done.append(name)
            add(ReadinessCheck("state", "pass", f"already {st.state}; the run skips it", name))
        elif st.state == "test-failed-over":
            add(ReadinessCheck("test-failover-cleaned", "fail", "a test failover is not cleaned up", name,
                               advice=f"run `asrctl cleanup {plan.name} --stack {stack_name}` first"))
        else:
            add(ReadinessCheck("state", "fail", _state_reason(st.state, command, arch), name,
                               advice=_state_advice(st.state, command, plan.name, stack_name)))
    if plan.machines and len(report.already_done) == len(plan.machines):
        add(ReadinessCheck("state", "fail", f"every machine is already {final_target}: there is nothing to "
                           f"{command.name.split('-')[0]}", advice="nothing to do; `asrctl runs list` shows the run "
                           "that did it"))
    earliest = min((command.stages.index(s) for s in starts.values()), default=0)
    ahead = command.stages[earliest:]
    appliance_path = stack_cfg.modernized and bool(env.appliances)
    if appliance_path:
        _appliance_checks(report, env, ahead, stack_name, health=replication_checks)
    # A modernized stack fails back through the appliances' reprotect agents (checked above) and the InMageRcmFailback
    # policy and mapping that failback.enabled provisions: without them the failback infrastructure is missing.
    if any(OPERATIONS[s].needs_failback for s in ahead) and (not appliance_path or not stack_cfg.failback.enabled):
        reason = _failback_problem(stack_cfg, stack_name, env.failback_ready, env.problems)
        add(ReadinessCheck("failback-infrastructure", "fail" if reason else "pass",
                           reason or "the failback path is registered", advice=_failback_advice(stack_cfg, stack_name)
                           if reason else None))
    if "test-failover" in command.stages:
        if env.test_network_present:
            add(ReadinessCheck("test-network", "pass", "the isolated test-failover network exists"))
        else:
            add(ReadinessCheck("test-network", "fail", "the isolated test-failover network is missing",
                               advice=f"run `pulumi up --stack {stack_name}` to create it"))
    if replication_checks and command.readiness:
        _agent_checks(report, statuses, starts)
        _replication_checks(report, plan, stack_cfg, provider, statuses, starts, command, recovery_point)
    return report


def _state_reason(state: str, command: Command, arch: str) -> str:
    needs = sorted({s for stage in command.stages for s in OPERATIONS[stage].allowed_from(arch)})  # type: ignore[arg-type]
    return f"{state}, and {command.name.split('-')[0]} needs {' or '.join(needs)}"


def _state_advice(state: str, command: Command, plan: str, stack: str) -> str:
    first = command.stages[0]
    if state == "protected":
        if command.name.startswith("failback"):
            return "it runs on-premises (never failed over, or already failed back): there is nothing to fail back"
        if first in ("commit", "reprotect"):
            return f"it has not failed over; fail over first (`asrctl failover {plan} --stack {stack} --planned`)"
        if first == "cleanup-test-failover":
            return "there is no test failover to clean up"
    if state in ("failed-over", "committed", "reprotected", "failback-pending", "failed-back"):
        step = {"failed-over": f"commit it (`asrctl commit {plan} --stack {stack}`)",
                "committed": f"reprotect it (`asrctl reprotect {plan} --stack {stack}`) or fail back",
                "reprotected": f"fail it back (`asrctl failback {plan} --stack {stack}`)",
                "failback-pending": f"finish the failback (`asrctl failback {plan} --stack {stack}`) or cancel it "
                                    f"(`asrctl failback {plan} --stack {stack} --cancel`)",
                "failed-back": f"re-enable replication (`asrctl failback {plan} --stack {stack}`)"}[state]
        return f"it is on the other side already; next step: {step}"
    return f"check the machines with `asrctl readiness {plan} --stack {stack}`"


def _appliance_checks(report: ReadinessReport, env: EnvironmentStatus, stages: tuple[str, ...],
                      stack_name: str, *, health: bool) -> None:
    """Modernized: each appliance's components (a health check: ``--skip-readiness`` skips it like replication
    health), and the reprotect agent and datastore failback goes through (what ASR refuses without: always)."""
    add = report.checks.append
    hard = any(s in NEEDS_ON_PREM for s in stages)
    for appliance in env.appliances if health else ():
        health = appliance.health
        if health == "Normal":
            add(ReadinessCheck("appliance-health", "pass", f"appliance {appliance.name}: every component Normal"))
            continue
        if not appliance.registered:
            reason = f"appliance {appliance.name} is not registered with the vault"
        else:
            bad = ", ".join(f"{k} {v}" for k, v in sorted(appliance.components.items()) if v != "Normal")
            reason = f"appliance {appliance.name}: {bad}"
        status: CheckStatus = "warn" if health == "Warning" or not hard else "fail"
        add(ReadinessCheck("appliance-health", status, reason,
                           advice="check the appliance's components in the vault (Site Recovery infrastructure → "
                                  "replication appliances) and its services"))
    if not any(OPERATIONS[s].needs_failback for s in stages):
        return
    failback = [a for a in env.appliances if a.role == "failback"] or list(env.appliances)
    for appliance in failback:
        if not appliance.reprotect_agent or appliance.components.get("reprotect-agent") == "Critical":
            what = "has no reprotect agent registered" if not appliance.reprotect_agent else "has a Critical " \
                "reprotect agent"
            add(ReadinessCheck("reprotect-agent", "fail", f"appliance {appliance.name} {what}",
                               advice="failback reprotects through the appliance's reprotect agent: check the "
                                      "appliance, then `asrctl discover --stack " + stack_name + "`"))
        else:
            add(ReadinessCheck("reprotect-agent", "pass", f"appliance {appliance.name} has a reprotect agent"))
        datastore = env.failback_datastore
        if datastore is None:
            continue
        if datastore in appliance.datastores:
            add(ReadinessCheck("failback-datastore", "pass",
                               f"datastore {datastore} is reachable by the reprotect agent of {appliance.name}"))
        else:
            add(ReadinessCheck("failback-datastore", "fail",
                               f"datastore {datastore} is not reachable by the reprotect agent of {appliance.name} "
                               f"(it reaches {', '.join(appliance.datastores) or 'none'})",
                               advice="set registration.failbackDatastore to a datastore the appliance reaches"))


def _version(text: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in (text or "").split(".")) if text else None
    except ValueError:
        return None


def _agent_checks(report: ReadinessReport, statuses: dict[str, MachineStatus], starts: dict[str, str]) -> None:
    """A Mobility agent older than the appliance's (or configuration server's) version: a warning — it still
    replicates, and updates itself unless auto-update is off."""
    for name in starts:
        st = statuses[name]
        have, offered = _version(st.agent_version), _version(st.agent_latest_version)
        if have is None or offered is None:
            continue
        if have < offered:
            report.checks.append(ReadinessCheck(
                "agent-version", "warn", f"Mobility agent {st.agent_version} is older than {st.agent_latest_version}",
                name, advice="let the agent auto-update, or upgrade it (`asrctl mobility deploy`)"))
        else:
            report.checks.append(ReadinessCheck("agent-version", "pass", f"Mobility agent {st.agent_version}", name))


def _failback_problem(cfg: StackConfig, stack_name: str, ready: bool, problems: tuple[str, ...]) -> str | None:
    if not cfg.failback.enabled:
        return f"stack {stack_name} does not enable failback (vmware-azure-dr:failback.enabled: false)"
    if cfg.modernized:
        # The failback path is the appliance's reprotect agent and the InMageRcmFailback policy.
        return None if ready else ("; ".join(problems) or "the backend does not see a reprotect agent registered")
    if not ready:
        return "; ".join(problems) or "the backend does not see the failback path registered"
    return None


def _failback_advice(cfg: StackConfig, stack_name: str) -> str:
    if cfg.modernized and not cfg.failback.enabled:
        return (f"enable failback in stacks/Pulumi.{stack_name}.yaml and run `pulumi up` (the InMageRcmFailback "
                "policy and its container mapping)")
    if cfg.modernized:
        return ("register a replication appliance with a reprotect agent (its reprotectAgentId in registration."
                f"appliances: `asrctl discover --stack {stack_name}` prints it)")
    return (f"enable failback in stacks/Pulumi.{stack_name}.yaml and run `pulumi up` to build the temporary process "
            "server and VPN/ExpressRoute, then set registration.failbackProcessServerId once it registered")


def refusal(report: ReadinessReport) -> BadInput | None:
    """The exit-2 refusal of a command whose state checks fail (nothing is recorded or sent), else None."""
    failures = report.state_failures
    if not failures:
        return None
    return BadInput(f"plan {report.plan} on stack {report.stack}: {report.command.split('-')[0]} refused, nothing "
                    f"was sent: {report.summary(failures)}")


def _age_seconds(now: float, when: datetime) -> float:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return now - when.timestamp()


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _replication_checks(report: ReadinessReport, plan: Plan, cfg: StackConfig, provider: RecoveryProvider,
                        statuses: dict[str, MachineStatus], starts: dict[str, str], command: Command,
                        recovery_point: str) -> None:
    add = report.checks.append
    now = provider.clock.now()
    threshold_s = cfg.replication.rpo_threshold_minutes * 60
    app_max_age_s = 2 * cfg.replication.app_consistent_frequency_minutes * 60
    needs_app = machines_needing_app_consistency(plan)
    if recovery_point == "latest-app-consistent":
        needs_app = set(plan.machines)
    for name, stage in starts.items():
        op = OPERATIONS[stage]
        recovering = next((s for s in command.stages[command.stages.index(stage):] if OPERATIONS[s].recovers_data),
                          None)
        if recovering is None or recovering != stage:
            continue  # its replication is not what this stage depends on
        st = statuses[name]
        soft: CheckStatus = "warn" if stage == "unplanned-failover" else "fail"
        point = recovery_point if op.chooses_point else "latest"
        health = st.replication_health
        add(ReadinessCheck("replication-health", {"Normal": "pass", "Warning": "warn"}.get(health, soft),  # type: ignore[arg-type]
                           f"replication health is {health}", name,
                           advice="fix the replication errors shown for the item in the vault"))
        if st.rpo_seconds is None:
            add(ReadinessCheck("rpo", "warn", "the backend reports no current RPO", name))
        elif st.rpo_seconds > threshold_s:
            add(ReadinessCheck("rpo", soft, f"current RPO {_minutes(st.rpo_seconds)} exceeds the policy threshold "
                               f"{_minutes(threshold_s)}", name,
                               advice="wait for replication to catch up, or check the appliance/process server"))
        else:
            add(ReadinessCheck("rpo", "pass", f"current RPO {_minutes(st.rpo_seconds)} within the threshold "
                               f"{_minutes(threshold_s)}", name))
        if plan.targets.rpo is not None and st.rpo_seconds is not None and st.rpo_seconds > plan.targets.rpo:
            add(ReadinessCheck("rpo-target", "warn", f"current RPO {_minutes(st.rpo_seconds)} misses the plan's "
                               f"target {_minutes(plan.targets.rpo)}", name))
        if st.last_heartbeat is None:
            add(ReadinessCheck("heartbeat", soft, "no Mobility agent heartbeat reported", name,
                               advice="check the Mobility service on the VM (asrctl mobility deploy --check)"))
        else:
            age = _age_seconds(now, st.last_heartbeat)
            ok = age <= HEARTBEAT_MAX_AGE_SECONDS
            add(ReadinessCheck("heartbeat", "pass" if ok else soft, f"last agent heartbeat {_minutes(max(age, 0))} ago"
                               + ("" if ok else f" (more than {_minutes(HEARTBEAT_MAX_AGE_SECONDS)})"), name,
                               advice=None if ok else "check the Mobility service on the VM"))
        if not st.recovery_points and stage != "failback":
            add(ReadinessCheck("recovery-point", "fail", "no recovery point yet", name,
                               advice="wait for initial replication to finish"))
        elif st.recovery_points:
            youngest = min(_age_seconds(now, d) for d in st.recovery_points.values())
            add(ReadinessCheck("recovery-point", "pass", f"latest recovery point {_minutes(max(youngest, 0))} old",
                               name))
        kind = POINT_KIND_REQUIRED.get(point)
        if kind is not None:
            if kind in st.recovery_points:
                add(ReadinessCheck("recovery-point-type", "pass", f"has a {kind} point for --recovery-point {point}",
                                   name))
            else:
                # Not soft even for an unplanned failover: the backend refuses the machine, whatever the disaster.
                add(ReadinessCheck("recovery-point-type", "fail", f"no {kind} recovery point, which --recovery-point "
                                   f"{point} needs", name, advice="choose another --recovery-point"))
        if name in needs_app and stage != "failback":
            app = st.recovery_points.get("app-consistent")
            freq = cfg.replication.app_consistent_frequency_minutes
            if app is None:
                add(ReadinessCheck("app-consistent-point", soft, "database group machine has no app-consistent "
                                   "recovery point", name, advice="check VSS/app-consistent snapshots on the VM"))
            else:
                age = _age_seconds(now, app)
                ok = age <= app_max_age_s
                add(ReadinessCheck("app-consistent-point", "pass" if ok else soft,
                                   f"latest app-consistent point {_minutes(max(age, 0))} old"
                                   + ("" if ok else f", older than twice the {freq}-minute app-consistent frequency"),
                                   name, advice=None if ok else "check VSS/app-consistent snapshots on the VM"))


def command_of(name: str) -> Command:
    return COMMANDS[name]


@dataclass(frozen=True)
class ComponentMinimum:
    """A component the classic → modernized move needs at a minimum version, and where it runs."""

    key: str  # EnvironmentStatus.details["component_versions"] key
    title: str
    minimum: str
    side: str  # classic (the configuration server) | appliance (the modernized stack's replication appliance)


# AD move-from-classic-to-modernized-vmware-disaster-recovery.md, "Architecture": the configuration server and its
# components at 9.50 or later; the replication appliance's components at exactly-listed minimums ("Process server:
# 9.50, Proxy server: 1.35.8419.34591, Recovery services agent: 2.0.9249.0, Replication service: 1.35.8433.24227").
# Those four are the *appliance's* (MARS and the RCM proxy/replication agent exist only there), not the classic
# side's; the Mobility agent of every moving machine needs 9.50 too (MOBILITY_MINIMUM).
MIGRATION_COMPONENTS: tuple[ComponentMinimum, ...] = (
    ComponentMinimum("configuration-server", "the configuration server (and its process servers)", "9.50", "classic"),
    ComponentMinimum("process-server", "the appliance's process server", "9.50", "appliance"),
    ComponentMinimum("rcm-proxy", "the appliance's proxy server", "1.35.8419.34591", "appliance"),
    ComponentMinimum("mars-agent", "the appliance's recovery services agent", "2.0.9249.0", "appliance"),
    ComponentMinimum("replication-agent", "the appliance's replication service", "1.35.8433.24227", "appliance"),
)
MOBILITY_MINIMUM = "9.50"


def _version_digits(text: str) -> tuple[int, ...]:
    """A component version as ASR reports it (it may carry a build suffix): its numbers, in order."""
    return tuple(int(p) for p in re.findall(r"\d+", text))


def migration_checks(report: ReadinessReport, source: StackConfig, target: StackConfig, target_name: str,
                     provider: RecoveryProvider) -> None:
    """The classic → modernized move's own checks (REFERENCE-modernized "Classic→modernized migration", AD
    move-from-classic-to-modernized-vmware-disaster-recovery.md): the configuration server, the target appliance and
    every moving machine's Mobility agent at their minimum versions, machines not in critical health, the target
    appliance registered; the tenant cannot be read from the stack files. A version the backend does not report
    warns (it cannot be checked); one below its minimum refuses the move (exit 2)."""
    add = report.checks.append
    env = read_with_retries(provider.describe_environment, provider.clock, "describe_environment")
    versions = env.details.get("component_versions", {})
    for component in MIGRATION_COMPONENTS:
        found = versions.get(component.key)
        fix = f"stack {target_name}'s appliance" if component.side == "appliance" else f"stack {report.stack}"
        if found is None:
            add(ReadinessCheck("component-version", "warn", f"the version of {component.title} is not reported; "
                               f"it must be {component.minimum} or later"))
        elif _version_digits(found) < _version_digits(component.minimum):
            add(ReadinessCheck("component-version", "fail", f"{component.title} is {found}, below "
                               f"{component.minimum}", advice=f"upgrade it on {fix} to {component.minimum} or later"))
        else:
            add(ReadinessCheck("component-version", "pass", f"{component.title} {found}"))
    statuses = read_with_retries(lambda: provider.describe_machines([m.name for m in source.machines]),
                                 provider.clock, "describe_machines")
    for name, st in statuses.items():
        if st.replication_health == "Critical":
            add(ReadinessCheck("replication-health", "fail", "replication health is Critical", name,
                               advice="fix its replication first: critical machines cannot move"))
        if st.architecture != "classic":
            continue  # moved already: its agent reports to the appliance now
        if st.agent_version is None:
            add(ReadinessCheck("component-version", "warn", "the Mobility agent's version is not reported; it must be "
                               f"{MOBILITY_MINIMUM} or later", name))
        elif _version_digits(st.agent_version) < _version_digits(MOBILITY_MINIMUM):
            add(ReadinessCheck("component-version", "fail", f"Mobility agent {st.agent_version} is below "
                               f"{MOBILITY_MINIMUM}", name, advice=f"upgrade the Mobility agent to {MOBILITY_MINIMUM} "
                               "or later (classic: from the configuration server)"))
    if provider.name != "simulator" and target.registration is None:
        add(ReadinessCheck("target-appliance", "fail", f"stack {target_name} has no registered appliance",
                           advice=f"register the appliance and run `asrctl discover --stack {target_name}`"))
    elif target.replication_appliances is None:
        add(ReadinessCheck("target-appliance", "fail", f"stack {target_name} declares no replication appliance",
                           advice="add replicationAppliances to the target stack"))
    else:
        add(ReadinessCheck("target-appliance", "pass", f"stack {target_name}'s appliance(s) registered"))
    # A move keeps the vaults' network access mode: public → public, private endpoint → private endpoint only
    # (AD: move-from-classic-to-modernized-vmware-disaster-recovery.md, FAQ). The Pulumi program gives every vault
    # public network access and no private endpoint (asrctl/infra/vault.py), and no stack key changes that.
    add(ReadinessCheck("network-access", "pass", "both vaults use public endpoints (the same access mode, as a move "
                       "requires)"))
    add(ReadinessCheck("tenant", "warn", "both vaults must be in one Microsoft Entra tenant; the stack files do not "
                       "say which tenant a subscription is in"))

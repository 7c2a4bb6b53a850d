"""What the recovery commands share: pre-flight, start / resume / cancel a run, conclude it (report, exit code).

The CLI modules (``asrctl/cli/recovery.py``, ``asrctl/cli/runs.py``) only parse options and call these. The
engine is chosen here: ``local`` (this process, the journal) or ``temporal`` (:mod:`asrctl.recovery.temporal`).

Order of a start, so that a refused command leaves nothing behind and no two processes drive one run:
load and validate → readiness (state checks refuse with exit 2 before anything is recorded) → claim the new run id
→ record the run → replication checks (exit 1, recorded) → drive it.
"""

from __future__ import annotations

import getpass
import signal
from pathlib import Path
from typing import Any

from asrctl.config import StackConfig, load_stack
from asrctl.errors import BadInput, RunInterrupted, RunPaused
from asrctl.plans import Plan, load_plan, migration_plan
from asrctl.project import state_home
from asrctl.recovery.approval import Approver, PreApproved, default_approver
from asrctl.recovery.claim import claim, holder
from asrctl.recovery.clock import iso
from asrctl.recovery.engine import Engine
from asrctl.recovery.journal import Journal, active_run_message, new_run_id
from asrctl.recovery.local import LocalBackend, LocalRuntime, drive
from asrctl.recovery.operations import COMMANDS
from asrctl.recovery.pacing import pacing_for
from asrctl.recovery.providers import make_provider
from asrctl.recovery.providers.protocol import JobRef, RecoveryProvider
from asrctl.recovery.readiness import ReadinessReport, refusal, run_readiness
from asrctl.recovery.records import RunRecord, RunSpec
from asrctl.yamlfile import display_path


def command_key(command: str, *, cleanup: bool = True, planned: bool | None = None, cancel: bool = False) -> str:
    if command == "drill" and not cleanup:
        return "drill-no-cleanup"
    if command == "failover":
        return "failover-planned" if planned else "failover-unplanned"
    if command == "failback" and cancel:
        return "failback-cancel"
    return command


def _job_recorder(journal: Journal, run_id: str):  # noqa: ANN202 - a JobStartedCallback
    def record(request_id: str, job: JobRef) -> None:
        if request_id.startswith(run_id + "/"):
            journal.record_job(run_id, request_id, job.id, job.token)

    return record


def preflight(plan: Plan, stack_cfg: StackConfig, stack_name: str, provider: RecoveryProvider, key: str,
              recovery_point: str, skip_readiness: bool) -> ReadinessReport:
    """The one pre-flight of every recovery command: refuses (exit 2) what ASR would refuse for the machines' state,
    before anything is recorded; returns the report (replication checks included unless skipped)."""
    command = COMMANDS[key]
    report = run_readiness(plan, stack_cfg, stack_name, provider, recovery_point=recovery_point, command=command,
                           replication_checks=not skip_readiness)
    problem = refusal(report)
    if problem is not None:
        raise problem
    return report


def start(command: str, plan_name: str, stack_name: str, provider_name: str, *, planned: bool | None = None,
          recovery_point: str = "latest", cleanup: bool = True, auto_approve: bool = False,
          skip_readiness: bool = False, cancel: bool = False, approver: Approver | None = None,
          on_event: Any = None, provider_options: dict[str, Any] | None = None) -> RunRecord:
    """Start a run of ``command`` and drive it to an end or a pause. Returns the run record; raises RunPaused (3),
    RunInterrupted (130/143), BadInput (2) for a refused command. A failed run is returned (status failed)."""
    stack_cfg = load_stack(stack_name)
    plan = load_plan(plan_name, stack_cfg, stack_name)
    key = command_key(command, cleanup=cleanup, planned=planned, cancel=cancel)
    return _start(command, key, plan, stack_cfg, stack_name, provider_name, planned=planned,
                  recovery_point=recovery_point, cleanup=cleanup, auto_approve=auto_approve,
                  skip_readiness=skip_readiness, approver=approver, on_event=on_event,
                  provider_options=provider_options)


def _start(command: str, key: str, plan: Plan, stack_cfg: StackConfig, stack_name: str, provider_name: str, *,
           planned: bool | None = None, recovery_point: str = "latest", cleanup: bool = True,
           auto_approve: bool = False, skip_readiness: bool = False, approver: Approver | None = None,
           on_event: Any = None, provider_options: dict[str, Any] | None = None, to_stack: str | None = None,
           extra_checks: Any = None) -> RunRecord:
    cmd = COMMANDS[key]
    journal = Journal()
    run_id = new_run_id(plan.name)
    provider = None
    try:
        active = journal.active_run(plan.name, stack_name)
        if active is not None:  # say so before anything else: the other run is why the world looks odd
            raise BadInput(active_run_message(active))
        provider = make_provider(provider_name, stack_cfg, stack_name, on_job_started=_job_recorder(journal, run_id),
                                 **(provider_options or {}))
        report = preflight(plan, stack_cfg, stack_name, provider, key, recovery_point, skip_readiness)
        if extra_checks is not None:
            extra_checks(report, provider)
            problem = refusal(report)
            if problem is not None:
                raise problem
        with claim(run_id):
            spec = RunSpec(
                command=command, command_key=key, stages=cmd.stages, main_stage=cmd.main_stage,
                recovery_point=recovery_point, cleanup=cleanup, auto_approve=auto_approve, planned=planned,
                skip_readiness=skip_readiness, architecture=stack_cfg.architecture,
                provider_identity=provider.identity(), provider_state=provider.export_state(), to_stack=to_stack,
            )
            journal.create_run(
                run_id=run_id, plan=plan.name, stack=stack_name, spec=spec, provider=provider.name,
                plan_path=display_path(plan.path), plan_sha256=plan.sha256, clock=provider.clock.kind,
                targets={"rto_seconds": plan.targets.rto, "rpo_seconds": plan.targets.rpo},
                readiness=[c.to_dict() for c in report.checks],
            )
            if not report.ok:
                reason = report.summary(report.failures)
                journal.update_run(run_id, "readiness-failed", status="failed",
                                   error=f"readiness failed: {reason}; nothing was sent (after fixing it, or to go "
                                         "ahead anyway, rerun with --skip-readiness: recorded in the run)",
                                   finished_at=iso(provider.clock.now()))
                record = _conclude(journal, run_id)
                return record
            return _drive(journal, run_id, plan, stack_cfg, stack_name, provider,
                          approver or default_approver(auto_approve), on_event)
    finally:
        if provider is not None:
            provider.close()
        journal.close()


def _drive(journal: Journal, run_id: str, plan: Plan, stack_cfg: StackConfig, stack_name: str,
           provider: RecoveryProvider, approver: Approver, on_event: Any) -> RunRecord:
    runtime = LocalRuntime(journal, run_id, provider, approver, on_event)
    backend = LocalBackend(provider)
    pacing = pacing_for(provider.identity(), provider.capabilities, provider.clock.now())
    engine = Engine(plan, stack_cfg, stack_name, run_id, runtime, backend, pacing)
    try:
        drive(engine, runtime)
    except KeyboardInterrupt:  # Ctrl-C before the event loop took over the signal: nothing was sent yet
        journal.update_run(run_id, "interrupted", status="interrupted",
                           error="interrupted before anything was sent; resume with `asrctl runs resume "
                                 f"{run_id}`")
        runtime.request_stop("interrupted", signal.SIGINT)
    record = _conclude(journal, run_id)
    if record.status == "interrupted":
        code = 143 if runtime.signal == signal.SIGTERM else 130
        raise RunInterrupted(f"run {run_id} interrupted; nothing new was sent after the signal; resume with "
                             f"`asrctl runs resume {run_id}`", exit_code=code, record=record)
    if engine.exit_code == 2 and record.status == "failed":
        raise BadInput(f"run {run_id} stopped: {record.error}")
    return record


def resume(run_id: str, *, approve: bool = False, by: str | None = None, comment: str | None = None,
           approver: Approver | None = None, on_event: Any = None,
           provider_options: dict[str, Any] | None = None) -> RunRecord:
    """Resume a paused, interrupted or failed run (a failed run is redriven: only what did not succeed runs)."""
    journal = Journal()
    provider = None
    try:
        run = journal.get_run(run_id)
        if run.status in ("succeeded", "cancelled"):
            raise BadInput(f"run {run_id} is {run.status}; there is nothing to resume (start a new run instead)")
        with claim(run_id, "resume"):
            run = journal.get_run(run_id)  # what the previous holder left, now that nobody else can change it
            if run.status in ("succeeded", "cancelled"):
                raise BadInput(f"run {run_id} is {run.status}; there is nothing to resume (start a new run instead)")
            if approve and run.status != "paused":
                raise BadInput(f"run {run_id} is {run.status}, not waiting for an approval; drop --approve")
            active = journal.active_run(run.plan, run.stack)
            if active is not None and active.run_id != run_id:
                raise BadInput(f"plan {run.plan} on stack {run.stack} already has an active run {active.run_id}; "
                               f"finish or cancel it before resuming {run_id}")
            stack_cfg = load_stack(run.stack)
            spec = run.spec
            options = dict(provider_options or {})
            if spec.to_stack:  # a migration: its plan is the stack's machines in batches, not a file
                plan = migration_plan(stack_cfg, run.stack, spec.to_stack)
                options["migration_target"] = (load_stack(spec.to_stack), spec.to_stack)
            else:
                plan = load_plan(run.plan_path if Path(run.plan_path).is_file() else run.plan, stack_cfg, run.stack)
            if plan.sha256 != run.plan_sha256 and spec.to_stack:
                raise BadInput(f"stack {run.stack}: its machines changed since migration run {run_id} started; a "
                               f"run only resumes what it started with: restore the stack file, or cancel the run "
                               f"(`asrctl runs cancel {run_id}`) and start a new migration")
            if plan.sha256 != run.plan_sha256:
                raise BadInput(
                    f"{display_path(plan.path)}: changed since run {run_id} started (sha256 {run.plan_sha256[:12]}… → "
                    f"{plan.sha256[:12]}…); a run only resumes the plan it started with: restore the file, or cancel "
                    f"the run (`asrctl runs cancel {run_id}`) and start a new one"
                )
            provider = make_provider(run.provider, stack_cfg, run.stack, state=spec.provider_state,
                                     on_job_started=_job_recorder(journal, run_id), **options)
            identity = provider.identity()
            if spec.provider_identity and identity != spec.provider_identity:
                raise BadInput(
                    f"run {run_id} started on {spec.provider_identity}, but the {run.provider} backend is now "
                    f"{identity} (the simulator world was reset or replaced, or another vault): resuming could fail "
                    f"machines over twice; cancel it (`asrctl runs cancel {run_id}`) and start a new run"
                )
            fallback = approver or default_approver(spec.auto_approve)
            if approve:
                fallback = PreApproved(run.paused_step or "", by or getpass.getuser(), comment or "", fallback=fallback)
            journal.update_run(run_id, "resumed", {"approve": approve}, status="running", finished_at=None)
            return _drive(journal, run_id, plan, stack_cfg, run.stack, provider, fallback, on_event)
    finally:
        if provider is not None:
            provider.close()
        journal.close()


def migrate(stack_name: str, to_stack: str, provider_name: str, *, auto_approve: bool = False,
            approver: Approver | None = None, on_event: Any = None,
            provider_options: dict[str, Any] | None = None) -> RunRecord:
    """``asrctl migrate``: move a classic stack's replicating machines to a modernized stack's vault, in batches,
    then re-create the recovery plans there — a journaled, resumable run like any other (its plan is generated)."""
    from asrctl.recovery.readiness import migration_checks

    source = load_stack(stack_name)
    target = load_stack(to_stack)
    problems = migration_problems(source, stack_name, target, to_stack)
    if problems:
        raise BadInput(f"migrate --stack {stack_name} --to-stack {to_stack}: {'; '.join(problems)}")
    plan = migration_plan(source, stack_name, to_stack)
    return _start("migrate", "migrate", plan, source, stack_name, provider_name, auto_approve=auto_approve,
                  approver=approver, on_event=on_event,
                  provider_options={**(provider_options or {}), "migration_target": (target, to_stack)},
                  to_stack=to_stack,
                  extra_checks=lambda report, provider: migration_checks(report, source, target, to_stack,
                                                                         provider))


def migration_problems(source: StackConfig, source_name: str, target: StackConfig, target_name: str) -> list[str]:
    """What makes a classic → modernized move impossible from the stack files alone (REFERENCE-modernized §5)."""
    problems = []
    if source.architecture != "classic":
        problems.append(f"stack {source_name} is {source.architecture}; only a classic stack moves to modernized")
    if target.architecture != "modernized":
        problems.append(f"stack {target_name} is {target.architecture}; the target must be a modernized stack")
    if source.location != target.location:
        problems.append(f"the vaults must be in one region ({source_name}: {source.location}, {target_name}: "
                        f"{target.location})")
    missing = [m.name for m in source.machines if m.name not in target.machines_by_name]
    if missing:
        problems.append(f"stack {target_name} must describe every machine that moves; missing: {', '.join(missing)}")
    return problems


def cancel(run_id: str, wait_seconds: float = 30.0) -> tuple[RunRecord, list[str]]:
    """Stop a run's new side effects. A run driven by a live process stops at its next step; otherwise it is
    marked cancelled here. Returns the record and the machines still test-failed-over (their test VMs are up)."""
    import time

    journal = Journal()
    try:
        run = journal.get_run(run_id)
        if run.status in ("succeeded", "failed", "cancelled"):
            raise BadInput(f"run {run_id} is already {run.status}; nothing to cancel")
        journal.update_run(run_id, "cancel-requested", cancel_requested=1)
        if holder(run_id) is not None:
            deadline = time.monotonic() + wait_seconds
            while time.monotonic() < deadline and holder(run_id) is not None:
                time.sleep(0.1)
        with claim(run_id, "cancel"):
            if journal.get_run(run_id).status not in ("succeeded", "failed", "cancelled"):
                journal.update_run(run_id, "cancelled", status="cancelled", error="cancelled by `asrctl runs cancel`",
                                   finished_at=_finish_time(journal, run_id), paused_step=None)
        record = _conclude(journal, run_id, report=False)
        return record, test_vms_up(record)
    finally:
        journal.close()


def _finish_time(journal: Journal, run_id: str) -> str | None:
    """The cancel time on the run's own clock: the last time recorded in the run (no second clock in one run)."""
    stamps = [s for step in journal.steps(run_id) for s in (step.finished_at, step.started_at, step.approved_at) if s]
    run = journal.get_run(run_id)
    stamps += [s for s in (run.started_at,) if s]
    return max(stamps) if stamps else None


def test_vms_up(record: RunRecord) -> list[str]:
    """Machines whose test failover succeeded in this run and whose cleanup did not: their test VMs are running."""
    up: list[str] = []
    for i, stage in enumerate(record.stages):
        if stage.operation != "test-failover":
            continue
        cleaned = {m.name for s in record.stages[i + 1:] if s.operation == "cleanup-test-failover"
                   for g in s.groups for m in g.machines if m.status in ("succeeded", "skipped")}
        up += [m.name for g in stage.groups for m in g.machines if m.status == "succeeded" and m.name not in cleaned]
    return up


def _conclude(journal: Journal, run_id: str, report: bool = True) -> RunRecord:
    from asrctl.recovery.records import RunRecord

    record = RunRecord.from_journal(journal.get_run(run_id), journal.steps(run_id))
    path = None
    if report and record.command == "drill" and record.status in ("succeeded", "failed"):
        path = write_drill_report(record)
    if record.status == "paused":
        step = record.paused_step
        what = step.name if step else "a manual action"
        if step is not None and step.kind == "machine":  # an ASR job stopped on a manual action (Suspended)
            what = f"the ASR job of {what} is suspended waiting for a manual action (WaitingForManualAction)"
        raise RunPaused(
            f"run {run_id} is paused for a manual action in group {step.group if step else '?'}: {what} — when done: "
            f"asrctl runs resume {run_id} --approve --by NAME --comment TEXT",
            record,
        )
    if path is not None:
        record.report_path = str(path)
    return record


def write_drill_report(record: RunRecord) -> Path:
    """``$ASRCTL_HOME/reports/<run_id>.html``."""
    from asrctl.reporting import write_report

    return write_report(record.document(), "html", state_home() / "reports" / f"{record.run_id}.html")


def load_run(run_id: str) -> RunRecord:
    journal = Journal()
    try:
        return RunRecord.from_journal(journal.get_run(run_id), journal.steps(run_id))
    finally:
        journal.close()

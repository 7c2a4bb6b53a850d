"""What the recovery commands share: pick the provider, pre-flight, readiness, start/resume/cancel a run, report.

The CLI modules (``asrctl/cli/recovery.py``, ``asrctl/cli/runs.py``) only parse options and call these.
"""

from __future__ import annotations

import getpass
import os
import sys
import time
from pathlib import Path
from typing import Any

from asrctl.config import StackConfig, load_stack
from asrctl.errors import BadInput, OperationFailed, RunPaused
from asrctl.plans import Plan, load_plan
from asrctl.project import stack_file, state_home
from asrctl.recovery.approval import Approver, PreApproved, default_approver
from asrctl.recovery.engine import COMMAND_STAGES, Engine
from asrctl.recovery.journal import Journal, pid_alive
from asrctl.recovery.provider import (
    FAILBACK_OPERATIONS,
    TRANSITIONS,
    OperationRejected,
    RecoveryProvider,
    check_transition,
    iso,
)
from asrctl.recovery.runrecord import load_run
from asrctl.yamlfile import display_path

PROVIDERS = ("simulator", "azure")
READINESS_COMMANDS = ("drill", "failover")


def make_provider(name: str, stack_cfg: StackConfig, stack_name: str,
                  item_map: dict[str, dict[str, str]] | None = None) -> RecoveryProvider:
    """The provider by name; ``item_map`` (Azure: machine → fabric/container/item, from a run's journal) skips the
    vault discovery a resumed run already did."""
    if name == "simulator":
        from asrctl.recovery.simulator import SimulatorProvider

        return SimulatorProvider(stack_cfg, stack_name)
    if name == "azure":
        try:
            from asrctl.recovery.azure_provider import AzureProvider
        except ImportError as exc:
            raise BadInput(f"--provider azure: the Azure provider is not available here ({exc})") from None
        return AzureProvider(stack_cfg, stack_name, item_map=item_map)
    raise BadInput(f"--provider {name!r}: choose one of {', '.join(PROVIDERS)}")


def preflight(plan: Plan, stages: tuple[str, ...], provider: RecoveryProvider, stack_cfg: StackConfig,
              stack_name: str) -> None:
    """Refuse (exit 2) before any side effect what ASR would refuse: nothing half-done."""
    if any(op in FAILBACK_OPERATIONS for op in stages):
        if not stack_cfg.failback.enabled:
            raise BadInput(
                f"{display_path(stack_file(stack_name))}: failback.enabled is false: stack {stack_name} has no failback "
                f"infrastructure (temporary Azure process server, VPN/ExpressRoute, master target), which reprotect "
                f"and failback need; enable it and run `pulumi up --stack {stack_name}` first"
            )
        if not provider.describe_environment().failback_infrastructure:
            raise BadInput(f"stack {stack_name}: the failback infrastructure is not deployed or not registered yet; "
                           f"deploy it (pulumi up) and wait for the process server to register")
    statuses = provider.describe_machines(plan.machines)
    first = stages[0]
    reachable = {s for op in stages for s in (*TRANSITIONS[op][0], TRANSITIONS[op][1])}
    for name in plan.machines:
        ms = statuses.get(name)
        if ms is None:
            raise BadInput(f"{name}: not a protected item of stack {stack_name}'s vault; enable replication first")
        if ms.current_job is not None:
            raise OperationRejected(f"{name}: a {ms.current_job.operation} job ({ms.current_job.id}) is still running; "
                                    f"wait for it to finish")
        if ms.state not in reachable:
            check_transition(name, ms.state, first, True, stack_name)


def journal_provider_jobs(provider: RecoveryProvider, journal: Journal, run_id: str) -> None:
    """Have a provider that reports the jobs it starts (Azure: ASR job id + LRO continuation token) write them to the
    step that started them. The engine's request ids are ``<run_id>/<step_id>#<attempt>``."""
    if not hasattr(provider, "on_job_started"):
        return

    def record(request_id: str, job: Any) -> None:
        if not request_id.startswith(run_id + "/"):
            return
        step_id = request_id[len(run_id) + 1:].rsplit("#", 1)[0]
        if journal.step(run_id, step_id) is None:
            return
        journal.update_step(run_id, step_id, "job-started", {
            "request_id": request_id, "job_id": job.id, "continuation_token": getattr(job, "continuation_token", None),
        })

    provider.on_job_started = record  # type: ignore[attr-defined]


def run_readiness_checks(plan: Plan, stack_cfg: StackConfig, stack_name: str, provider: RecoveryProvider,
                         operation: str, recovery_point: str = "latest") -> tuple[bool, list[dict[str, Any]]]:
    try:
        from asrctl.recovery.readiness import run_readiness
    except ImportError:
        return True, [{"name": "readiness", "status": "warn", "machine": None,
                       "reason": "readiness checks are not installed (asrctl.recovery.readiness); none were run"}]
    report = run_readiness(plan, stack_cfg, stack_name, provider, operation, recovery_point)
    return bool(report.ok), [_check_dict(c) for c in report.checks]


def _check_dict(check: Any) -> dict[str, Any]:
    if isinstance(check, dict):
        return {k: check.get(k) for k in ("name", "status", "reason", "machine")}
    if isinstance(check, tuple | list):
        name, status, reason, machine = (list(check) + [None] * 4)[:4]
        return {"name": name, "status": status, "reason": reason, "machine": machine}
    return {k: getattr(check, k, None) for k in ("name", "status", "reason", "machine")}


def start(command: str, plan_name: str, stack_name: str, provider_name: str, *, planned: bool | None = None,
          recovery_point: str = "latest", cleanup: bool = True, auto_approve: bool = False,
          skip_readiness: bool = False, approver: Approver | None = None, on_event: Any = None) -> dict[str, Any]:
    """Start a run of ``command`` (drill, cleanup, failover, commit, reprotect, failback) and drive it to an end
    or a pause. Returns the run dict; raises RunPaused / OperationFailed for exit 3 / 1."""
    stack_cfg = load_stack(stack_name)
    plan = load_plan(plan_name, stack_cfg, stack_name)
    key = command
    if command == "drill" and not cleanup:
        key = "drill-no-cleanup"
    elif command == "failover":
        key = "failover-planned" if planned else "failover-unplanned"
    stages, main_stage = COMMAND_STAGES[key]
    provider = make_provider(provider_name, stack_cfg, stack_name)
    journal = Journal()
    try:
        active = journal.active_run(plan.name, stack_name)
        if active is not None:  # say so before anything else: the other run is why the world looks odd
            raise BadInput(
                f"plan {plan.name} on stack {stack_name} already has an active run {active['run_id']} "
                f"({active['status']}); resume it with `asrctl runs resume {active['run_id']}` or cancel it with "
                f"`asrctl runs cancel {active['run_id']}`"
            )
        preflight(plan, stages, provider, stack_cfg, stack_name)
        readiness: list[dict[str, Any]] = []
        ready = True
        if command in READINESS_COMMANDS and not skip_readiness:
            ready, readiness = run_readiness_checks(plan, stack_cfg, stack_name, provider, stages[0], recovery_point)
        options = {
            "command": command, "stages": list(stages), "main_stage": main_stage, "recovery_point": recovery_point,
            "cleanup": cleanup, "auto_approve": auto_approve, "planned": planned,
        }
        if hasattr(provider, "item_map"):  # discovered once (preflight read it); a resumed run reuses it
            options["item_map"] = provider.item_map
        run_id = journal.create_run(
            plan=plan.name, stack=stack_name, operation=stages[main_stage], provider=provider.name,
            plan_path=display_path(plan.path), plan_sha256=plan.sha256, options=options,
            skip_readiness=int(skip_readiness), readiness=readiness, clock=getattr(provider.clock, "kind", "wall"),
            targets={"rto_seconds": plan.targets.rto, "rpo_seconds": plan.targets.rpo},
        )
        if not ready:
            failing = [c for c in readiness if c["status"] == "fail"]
            reason = "; ".join(f"{c['name']}{' (' + c['machine'] + ')' if c['machine'] else ''}: {c['reason']}"
                               for c in failing)
            journal.update_run(run_id, "readiness-failed", status="failed", error=f"readiness failed: {reason}",
                               finished_at=iso(provider.clock.now()))
            raise OperationFailed(f"run {run_id}: readiness failed: {reason}; fix these or rerun with --skip-readiness")
        journal_provider_jobs(provider, journal, run_id)
        engine = Engine(plan, stack_cfg, stack_name, provider, journal, run_id,
                        approver=approver or default_approver(auto_approve), on_event=on_event)
        status = engine.run()
        return _conclude(journal, run_id, status)
    finally:
        provider.close()
        journal.close()


def resume(run_id: str, *, approve: bool = False, by: str | None = None, comment: str | None = None,
           approver: Approver | None = None, on_event: Any = None) -> dict[str, Any]:
    """Resume a paused, interrupted or failed run (a failed run is redriven: only what did not succeed runs)."""
    journal = Journal()
    provider = None
    try:
        run = journal.get_run(run_id)
        if run["status"] in ("succeeded", "cancelled"):
            raise BadInput(f"run {run_id} is {run['status']}; there is nothing to resume (start a new run instead)")
        if run["status"] == "running" and run["owner_pid"] != os.getpid() and pid_alive(run["owner_pid"]):
            raise BadInput(f"run {run_id} is still running in process {run['owner_pid']}; wait for it or "
                           f"`asrctl runs cancel {run_id}`")
        if approve and run["status"] != "paused":
            raise BadInput(f"run {run_id} is {run['status']}, not waiting for an approval; drop --approve")
        stack_cfg = load_stack(run["stack"])
        plan = load_plan(run["plan_path"] if Path(run["plan_path"]).is_file() else run["plan"], stack_cfg, run["stack"])
        if plan.sha256 != run["plan_sha256"]:
            raise BadInput(
                f"{display_path(plan.path)}: changed since run {run_id} started (sha256 {run['plan_sha256'][:12]}… → "
                f"{plan.sha256[:12]}…); a run only resumes the plan it started with: restore the file, or cancel the "
                f"run (`asrctl runs cancel {run_id}`) and start a new one"
            )
        options = run["options"]
        provider = make_provider(run["provider"], stack_cfg, run["stack"], item_map=options.get("item_map"))
        if approve:
            approver = PreApproved(run["paused_step"], by or getpass.getuser(), comment or "",
                                   fallback=default_approver(bool(options.get("auto_approve"))))
        approver = approver or default_approver(bool(options.get("auto_approve")))
        active = journal.active_run(run["plan"], run["stack"])
        if active is not None and active["run_id"] != run_id:
            raise BadInput(f"plan {run['plan']} on stack {run['stack']} already has an active run {active['run_id']}; "
                           f"finish or cancel it before resuming {run_id}")
        journal.claim(run_id, os.getpid())
        journal_provider_jobs(provider, journal, run_id)
        engine = Engine(plan, stack_cfg, run["stack"], provider, journal, run_id, approver=approver, on_event=on_event)
        status = engine.run()
        return _conclude(journal, run_id, status)
    finally:
        if provider is not None:
            provider.close()
        journal.close()


def cancel(run_id: str, wait_seconds: float = 30.0) -> dict[str, Any]:
    """Stop a run's new side effects. A run driven by a live process stops at its next step; otherwise it is
    marked cancelled here. Jobs already sent to ASR keep running there (the run dict shows them running)."""
    journal = Journal()
    try:
        run = journal.get_run(run_id)
        if run["status"] in ("succeeded", "failed", "cancelled"):
            raise BadInput(f"run {run_id} is already {run['status']}; nothing to cancel")
        journal.update_run(run_id, "cancel-requested", cancel_requested=1)
        owner_alive = run["status"] == "running" and run["owner_pid"] != os.getpid() and pid_alive(run["owner_pid"])
        if owner_alive:
            deadline = time.monotonic() + wait_seconds
            while time.monotonic() < deadline and journal.get_run(run_id)["status"] == "running":
                time.sleep(0.1)
        if journal.get_run(run_id)["status"] in ("running", "paused"):
            journal.update_run(run_id, "cancelled", status="cancelled", error="cancelled by `asrctl runs cancel`",
                               finished_at=iso(time.time()), paused_step=None)
        return load_run(run_id, journal)
    finally:
        journal.close()


def _conclude(journal: Journal, run_id: str, status: str) -> dict[str, Any]:
    run = load_run(run_id, journal)
    if run["command"] == "drill" and status in ("succeeded", "failed"):
        run["report_path"] = str(write_drill_report(run))
    if status == "paused":
        step = run["paused_step"] or {}
        what = step.get("name")
        if step.get("kind") == "machine":  # an ASR job stopped on a manual action (Suspended)
            what = f"the ASR job of {what} is suspended waiting for a manual action (WaitingForManualAction)"
        raise RunPaused(
            f"run {run_id} is paused for a manual action in group {step.get('group')}: {what} — when done: "
            f"asrctl runs resume {run_id} --approve --by NAME --comment TEXT"
        )
    return run


def write_drill_report(run: dict[str, Any]) -> Path:
    """``$ASRCTL_HOME/reports/<run_id>.html`` via the reports module."""
    try:
        from asrctl.reporting import render_report
    except ImportError:
        raise OperationFailed(
            f"run {run['run_id']} finished {run['status']}, but the HTML report cannot be written: asrctl.reporting "
            f"is not installed; see `asrctl runs show {run['run_id']}`"
        ) from None
    path = state_home() / "reports" / f"{run['run_id']}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(run, "html"), encoding="utf-8")
    return path


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()

"""What happens before a team run's workflow starts: load and validate, pre-flight, and the workflow's input.

The same order as a local start (:mod:`asrctl.recovery.runner`): load the stack and the plan (file:line errors,
exit 2) → readiness with :func:`asrctl.recovery.runner.preflight` (state checks refuse with exit 2 before anything
is recorded) → the run's spec. Everything the interpreter needs is in the :class:`RunInput`, so the workflow never
reads a file and replays identically on any worker. The CLI starter (:mod:`.client`) and a scheduled drill (the
``prepare_run`` activity on a worker, :mod:`.activities`) both call :func:`prepare`.
"""

from __future__ import annotations

import getpass
import socket
from typing import Any

from asrctl.config import load_stack
from asrctl.errors import BadInput
from asrctl.plans import load_plan
from asrctl.project import stack_file
from asrctl.recovery.clock import SimClock
from asrctl.recovery.engine import DEFAULT_CONCURRENCY
from asrctl.recovery.journal import new_run_id
from asrctl.recovery.operations import COMMANDS
from asrctl.recovery.providers import make_provider
from asrctl.recovery.records import RunSpec
from asrctl.recovery.runner import command_key, preflight
from asrctl.recovery.temporal.messages import RunInput, capabilities_to_wire, file_sha256
from asrctl.yamlfile import display_path


def starter_identity() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def prepare(command: str, plan_name: str, stack_name: str, provider_name: str, *, planned: bool | None = None,
            recovery_point: str = "latest", cleanup: bool = True, auto_approve: bool = False,
            skip_readiness: bool = False, cancel: bool = False, activity_timeout: float = 60.0,
            run_id: str | None = None, previous: dict[str, Any] | None = None,
            created_by: str | None = None) -> RunInput:
    """The input of a new run's workflow (or, with ``previous`` and ``run_id``, of a redrive of that run)."""
    stack_cfg = load_stack(stack_name)
    plan = load_plan(plan_name, stack_cfg, stack_name)
    if previous is not None and plan.sha256 != previous["run"]["plan_sha256"]:
        old = previous["run"]["plan_sha256"]
        raise BadInput(
            f"{display_path(plan.path)}: changed since run {run_id} started (sha256 {old[:12]}… → {plan.sha256[:12]}…); "
            f"a run only resumes the plan it started with: restore the file, or start a new run"
        )
    key = command_key(command, cleanup=cleanup, planned=planned, cancel=cancel)
    cmd = COMMANDS[key]
    provider = make_provider(provider_name, stack_cfg, stack_name)
    try:
        readiness_error = None
        readiness: list[dict[str, Any]] = []
        if previous is None:
            report = preflight(plan, stack_cfg, stack_name, provider, key, recovery_point, skip_readiness)
            readiness = [c.to_dict() for c in report.checks]
            if not report.ok:
                readiness_error = (f"readiness failed: {report.summary(report.failures)}; nothing was sent (after "
                                   "fixing it, or to go ahead anyway, rerun with --skip-readiness: recorded in the run)")
        spec = RunSpec(
            command=command, command_key=key, stages=cmd.stages, main_stage=cmd.main_stage,
            recovery_point=recovery_point, cleanup=cleanup, auto_approve=auto_approve, planned=planned,
            skip_readiness=skip_readiness, architecture=stack_cfg.architecture, engine="temporal",
            provider_identity=provider.identity(), provider_state=provider.export_state(),
        )
        clock = provider.clock
        speed = clock.speed if isinstance(clock, SimClock) else 1.0
        return RunInput(
            run_id=run_id or new_run_id(plan.name), stack=stack_name,
            stack_sha256=file_sha256(stack_file(stack_name).read_bytes()),
            stack_config=stack_cfg.model_dump(mode="json"), declared_secrets=sorted(stack_cfg.declared_secrets),
            plan=plan.model_dump(mode="json", exclude_none=True), plan_path=display_path(plan.path),
            plan_sha256=plan.sha256, spec=(previous["run"]["spec"] if previous else spec.model_dump(mode="json")),
            provider=provider.name, capabilities=capabilities_to_wire(provider.capabilities), clock=clock.kind,
            speed=speed, readiness=readiness,
            targets={"rto_seconds": plan.targets.rto, "rpo_seconds": plan.targets.rpo},
            readiness_error=readiness_error, previous=previous, activity_timeout=activity_timeout,
            concurrency=DEFAULT_CONCURRENCY, created_by=created_by or starter_identity(),
        )
    finally:
        provider.close()

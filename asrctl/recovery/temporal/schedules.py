"""Scheduled drills: ``asrctl schedule create drill PLAN --stack NAME --cron EXPR | --every DURATION``,
``schedule list [--json]``, ``schedule delete ID``.

Each is a Temporal Schedule whose action starts a :class:`~asrctl.recovery.temporal.scheduled.ScheduledDrillWorkflow`
on the stack's task queue, with the overlap policy **skip**: while a drill of the schedule still runs, the next
firing is skipped (and a plan with an operator's open run skips the drill, see :mod:`.scheduled`). What asrctl needs
to show a schedule (stack, plan, cron text, report directory) is kept in the schedule's memo.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from asrctl.errors import BadInput
from asrctl.recovery.temporal import messages as wire
from asrctl.recovery.temporal.client import run_sync
from asrctl.recovery.temporal.settings import TeamSettings, connect, project_settings

SCHEDULE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# Temporal's own schedules fire at most once a second; an interval below that is a mistake.
MIN_INTERVAL = 1.0


@dataclass(frozen=True)
class ScheduleRow:
    id: str
    stack: str
    plan: str
    when: str  # the cron expression or "every <duration>" as given
    auto_approve: bool
    report_dir: str | None
    paused: bool
    next_runs: list[str]
    recent: list[dict[str, str]]  # {"started": ISO time, "workflow_id": …} of the latest drills


def create(kind: str, plan_name: str, stack: str, *, cron: str | None, every: str | None, provider: str,
           auto_approve: bool, skip_readiness: bool, report_dir: str | None, schedule_id: str | None) -> ScheduleRow:
    from asrctl.config import load_stack
    from asrctl.plans import load_plan, parse_duration

    if kind != "drill":
        raise BadInput(f"schedule create {kind!r}: only drills are scheduled (`asrctl schedule create drill PLAN`)")
    if (cron is None) == (every is None):
        raise BadInput("schedule create: give exactly one of --cron EXPR (e.g. '0 3 * * 6') or --every DURATION")
    stack_cfg = load_stack(stack)
    plan = load_plan(plan_name, stack_cfg, stack)
    interval = None
    if every is not None:
        try:
            interval = float(parse_duration(every))
        except (ValueError, BadInput) as exc:
            raise BadInput(f"--every: {exc}") from None
        if interval < MIN_INTERVAL:
            raise BadInput(f"--every {every!r}: at least {MIN_INTERVAL:g}s")
    sid = schedule_id or f"drill-{stack}-{plan.name}"
    if not SCHEDULE_ID_RE.fullmatch(sid):
        raise BadInput(f"--id {sid!r}: letters, digits, '.', '_' and '-' (at most 100)")
    settings = TeamSettings.resolve(stack_cfg)
    drill = wire.ScheduledDrillInput(schedule_id=sid, stack=stack, plan=plan.name, provider=provider,
                                     auto_approve=auto_approve, skip_readiness=skip_readiness,
                                     report_dir=report_dir, activity_timeout=settings.activity_timeout)
    when = cron if cron is not None else f"every {every}"
    memo = {"asrctl": {"stack": stack, "plan": plan.name, "when": when, "auto_approve": auto_approve,
                       "report_dir": report_dir, "provider": provider}}

    async def main() -> ScheduleRow:
        from temporalio.client import (
            Schedule,
            ScheduleActionStartWorkflow,
            ScheduleAlreadyRunningError,
            ScheduleIntervalSpec,
            ScheduleOverlapPolicy,
            SchedulePolicy,
            ScheduleSpec,
        )
        from temporalio.service import RPCError

        client = await connect(settings)
        spec = ScheduleSpec(cron_expressions=[cron]) if cron is not None else \
            ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=interval or 0))])
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(wire.SCHEDULED_DRILL_WORKFLOW, drill,
                                               id=f"asrctl-drill:{stack}:{plan.name}", task_queue=settings.task_queue),
            spec=spec, policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        )
        try:
            handle = await client.create_schedule(sid, schedule, memo=memo)
        except ScheduleAlreadyRunningError:
            raise BadInput(f"schedule {sid} already exists; delete it first (`asrctl schedule delete {sid}`) or "
                           "give another --id") from None
        except RPCError as exc:
            what = f"--cron {cron!r}" if cron is not None else f"--every {every!r}"
            raise BadInput(f"{what}: Temporal refused the schedule: {exc.message}") from None
        return await _row(await handle.describe(), sid)

    return run_sync(main)


def list_all() -> list[ScheduleRow]:
    async def main() -> list[ScheduleRow]:
        rows: list[ScheduleRow] = []
        for settings in project_settings():
            client = await connect(settings)
            async for listed in await client.list_schedules():
                schedule = listed.schedule
                if schedule is None or getattr(schedule.action, "workflow", None) != wire.SCHEDULED_DRILL_WORKFLOW:
                    continue
                rows.append(await _row(await client.get_schedule_handle(listed.id).describe(), listed.id))
        return sorted(rows, key=lambda r: r.id)

    return run_sync(main)


def delete(schedule_id: str) -> None:
    async def main() -> None:
        from temporalio.service import RPCError, RPCStatusCode

        for settings in project_settings():
            client = await connect(settings)
            try:
                await client.get_schedule_handle(schedule_id).delete()
                return
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise BadInput(f"schedule {schedule_id}: {exc.message}") from None
        raise BadInput(f"schedule {schedule_id!r}: no such schedule; list them with `asrctl schedule list`")

    run_sync(main)


async def _row(description: Any, sid: str) -> ScheduleRow:
    from asrctl.recovery.clock import iso

    meta = (await description.memo()).get("asrctl", {})
    info = description.info
    recent = [{"started": iso(a.started_at), "workflow_id": getattr(a.action, "workflow_id", "")}
              for a in info.recent_actions]
    return ScheduleRow(id=sid, stack=meta.get("stack", "?"), plan=meta.get("plan", "?"), when=meta.get("when", "?"),
                       auto_approve=bool(meta.get("auto_approve")), report_dir=meta.get("report_dir"),
                       paused=description.schedule.state.paused,
                       next_runs=[iso(t) for t in info.next_action_times[:3]], recent=recent[-5:])


def row_document(row: ScheduleRow) -> dict[str, Any]:
    return asdict(row)

"""Typed records of a recovery run: what was asked (:class:`RunSpec`), every step's state (:class:`StepRecord`,
addressed by :class:`StepId`), and the run document everything shows (:class:`RunRecord`: ``asrctl runs show
--json``, ``asrctl report``, every recovery command's ``--json``). The status vocabularies are declared here once.

The run document's shape is a contract (DESIGN.md, README "JSON output"): timestamps are ISO-8601 UTC strings ending
in ``Z`` (or null), all on the run's one clock; durations in seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from asrctl.recovery.clock import seconds_between


def _iso_timestamp(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 UTC timestamp (e.g. 2025-03-14T09:00:00Z)") from None
    return value


def _seconds(value: float | None) -> float | None:
    if value is not None and (value < 0 or value != value or value in (float("inf"), float("-inf"))):
        raise ValueError(f"must be a number of seconds >= 0, got {value}")
    return value


Timestamp = Annotated[str | None, AfterValidator(_iso_timestamp)]
Seconds = Annotated[float | None, AfterValidator(_seconds)]

# ---------------------------------------------------------------------------------------------------------------
# Vocabularies

RunStatus = Literal["pending", "running", "paused", "interrupted", "succeeded", "failed", "cancelled"]
RUN_STATUSES: tuple[str, ...] = RunStatus.__args__  # type: ignore[attr-defined]
# A plan has at most one run in these (the journal's partial unique index); each can be resumed.
ACTIVE_RUN_STATUSES: tuple[str, ...] = ("pending", "running", "paused", "interrupted")
FINAL_RUN_STATUSES: tuple[str, ...] = ("succeeded", "failed", "cancelled")

StepStatus = Literal["pending", "running", "waiting-approval", "succeeded", "failed", "skipped", "cancelled"]
STEP_STATUSES: tuple[str, ...] = StepStatus.__args__  # type: ignore[attr-defined]
DONE_STEP_STATUSES: tuple[str, ...] = ("succeeded", "skipped")

StepKind = Literal["stage", "group", "machine", "manual", "script", "runbook"]
ACTION_KINDS: tuple[str, ...] = ("manual", "script", "runbook")
Phase = Literal["before", "after"]

Engine = Literal["local", "temporal"]
ENGINES: tuple[str, ...] = Engine.__args__  # type: ignore[attr-defined]

Verdict = Literal["pass", "fail", "incomplete"]


# ---------------------------------------------------------------------------------------------------------------
# Step ids


_STEP_ID_RE = re.compile(
    r"^s(?P<stage>\d+)(?:/g(?P<group>\d+)(?:/m/(?P<machine>[a-z0-9-]+)|/(?P<phase>before|after)/(?P<index>\d+))?)?$"
)


@dataclass(frozen=True)
class StepId:
    """Where a step sits in a run: ``s0`` (stage), ``s0/g1`` (group), ``s0/g1/m/erp-sql01`` (a machine's operation),
    ``s0/g1/after/2`` (an action). Stable across resumes: it is part of every request id."""

    stage: int
    group: int | None = None
    machine: str | None = None
    phase: str | None = None
    index: int | None = None

    def __str__(self) -> str:
        text = f"s{self.stage}"
        if self.group is not None:
            text += f"/g{self.group}"
            if self.machine is not None:
                text += f"/m/{self.machine}"
            elif self.phase is not None:
                text += f"/{self.phase}/{self.index}"
        return text

    @classmethod
    def parse(cls, text: str) -> StepId:
        match = _STEP_ID_RE.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a step id")
        g = match.groupdict()
        return cls(
            stage=int(g["stage"]),
            group=int(g["group"]) if g["group"] is not None else None,
            machine=g["machine"],
            phase=g["phase"],
            index=int(g["index"]) if g["index"] is not None else None,
        )

    @classmethod
    def of_machine(cls, stage: int, group: int, machine: str) -> StepId:
        return cls(stage, group, machine=machine)

    @classmethod
    def of_action(cls, stage: int, group: int, phase: str, index: int) -> StepId:
        return cls(stage, group, phase=phase, index=index)


def request_id(run_id: str, step: StepId | str, attempt: int, suffix: str = "") -> str:
    """Stable across crashes of this run, unique across runs: providers dedupe and find jobs by it."""
    return f"{run_id}/{step}#{attempt}{suffix}"


# ---------------------------------------------------------------------------------------------------------------
# What was asked


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunSpec(_Frozen):
    """The options a run was started with (journaled; a resume continues with exactly these)."""

    command: str  # the CLI command: drill, cleanup, failover, commit, reprotect, failback, migrate
    command_key: str  # the asrctl.recovery.operations.COMMANDS row
    stages: tuple[str, ...]
    main_stage: int = 0
    recovery_point: str = "latest"
    cleanup: bool = True
    auto_approve: bool = False
    planned: bool | None = None
    skip_readiness: bool = False
    architecture: str = "modernized"
    engine: Engine = "local"
    provider_identity: str = ""  # RecoveryProvider.identity() at start: the run refuses another backend
    provider_state: dict[str, Any] = Field(default_factory=dict)  # RecoveryProvider.export_state() at start
    to_stack: str | None = None  # asrctl migrate: the modernized stack the machines move to

    @property
    def main_operation(self) -> str:
        return self.stages[self.main_stage]


# ---------------------------------------------------------------------------------------------------------------
# Journal rows


class StepRecord(BaseModel):
    """One step's materialised state, as the journal keeps it."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    step_id: str
    seq: int
    stage: int
    operation: str
    group_index: int | None = None
    group_name: str | None = None
    kind: StepKind
    name: str
    phase: str | None = None  # actions: before|after; stages: their direction
    status: StepStatus = "pending"
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    job_id: str | None = None
    job_token: str | None = None
    request_id: str | None = None
    error: str | None = None
    recovery_point_time: str | None = None
    rpo_seconds: float | None = None
    approved_by: str | None = None
    approved_at: str | None = None
    comment: str | None = None
    output: str | None = None
    recovery_name: str | None = None
    recovery_ip: str | None = None
    wall_started: float | None = None  # manual actions: wall-clock time the approval was asked (timeouts)
    wait_seconds: float | None = None  # manual actions: real time spent waiting for the person


STEP_FIELDS: tuple[str, ...] = tuple(
    f for f in StepRecord.model_fields if f not in ("run_id", "step_id", "seq", "stage", "operation", "group_index",
                                                      "group_name", "kind", "name", "phase")
)


class RunRow(BaseModel):
    """The journal's row of a run."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    plan: str
    stack: str
    operation: str
    provider: str
    engine: Engine = "local"
    status: RunStatus
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    plan_path: str
    plan_sha256: str
    spec: RunSpec
    error: str | None = None
    readiness: list[ReadinessEntry] = Field(default_factory=list)
    clock: str = "wall"
    api_reads: int = 0
    api_writes: int = 0
    targets: Targets = Field(default_factory=lambda: Targets())
    cancel_requested: bool = False
    paused_step: str | None = None


# ---------------------------------------------------------------------------------------------------------------
# The run document


class _Document(BaseModel):
    """A part of the run document. Archived and partial documents name absent values ``null``: a null where the model
    has a default means that default (an unstarted group's status is ``pending``)."""

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k not in cls.model_fields
                    or cls.model_fields[k].default is None}
        return data


class Targets(_Document):
    model_config = ConfigDict(frozen=True)

    rto_seconds: Seconds = None
    rpo_seconds: Seconds = None


class ReadinessEntry(_Document):
    model_config = ConfigDict(frozen=True)

    name: str
    status: Literal["pass", "warn", "fail"]
    reason: str | None = None
    machine: str | None = None


class MachineRecord(_Document):
    name: str
    status: StepStatus = "pending"
    started_at: Timestamp = None
    finished_at: Timestamp = None
    recovery_point_time: Timestamp = None
    rpo_seconds: Seconds = None
    attempts: int = 0
    error: str | None = None
    recovery_name: str | None = None
    recovery_ip: str | None = None
    job_id: str | None = None


class ActionRecord(_Document):
    kind: Literal["manual", "script", "runbook"]
    name: str
    phase: Phase
    status: StepStatus = "pending"
    started_at: Timestamp = None
    finished_at: Timestamp = None
    approved_by: str | None = None
    approved_at: Timestamp = None
    comment: str | None = None
    wait_seconds: Seconds = None
    error: str | None = None
    output: str | None = None


class GroupRecord(_Document):
    name: str
    status: StepStatus = "pending"
    started_at: Timestamp = None
    finished_at: Timestamp = None
    machines: list[MachineRecord] = Field(default_factory=list)
    actions: list[ActionRecord] = Field(default_factory=list)


class StageRecord(_Document):
    operation: str
    direction: str | None = None
    status: StepStatus = "pending"
    started_at: Timestamp = None
    finished_at: Timestamp = None
    groups: list[GroupRecord] = Field(default_factory=list)


class PausedStep(_Document):
    group: str | None = None
    name: str
    phase: str | None = None
    kind: str = "manual"
    resume: str = ""


class ApiCalls(_Document):
    reads: Annotated[int, Field(ge=0)] = 0
    writes: Annotated[int, Field(ge=0)] = 0


class RunRecord(_Document):
    """The run document (DESIGN.md contract, plus what reports and operators need)."""

    run_id: str
    plan: str
    stack: str = ""
    operation: str  # the run's main operation
    command: str = ""
    provider: str = ""
    engine: Engine = "local"
    status: RunStatus
    started_at: Timestamp = None
    finished_at: Timestamp = None
    rto_seconds: Seconds = None  # main stage: first group started → last group finished
    approval_wait_seconds: float = 0.0  # real time people took to approve, inside the RTO
    targets: Targets = Field(default_factory=Targets)
    verdict: Verdict = "incomplete"
    verdict_reasons: list[str] = Field(default_factory=list)
    plan_sha256: str = ""
    plan_path: str = ""
    error: str | None = None
    skip_readiness: bool = False
    readiness: list[ReadinessEntry] = Field(default_factory=list)
    clock: str = "wall"
    api_calls: ApiCalls = Field(default_factory=ApiCalls)
    options: dict[str, Any] = Field(default_factory=dict)
    paused_step: PausedStep | None = None
    resume_command: str | None = None  # how to continue an interrupted/paused/failed run
    report_path: str | None = None  # drills: the HTML report written when the run ended
    groups: list[GroupRecord]  # the main stage's groups, in plan order
    stages: list[StageRecord] = Field(default_factory=list)  # every stage the run executes, in order

    def document(self) -> dict[str, Any]:
        """The JSON document (insertion order kept: groups stay in plan order)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_journal(cls, run: RunRow, steps: list[StepRecord]) -> RunRecord:
        spec = run.spec
        stages: list[StageRecord] = []
        by_stage: dict[int, list[StepRecord]] = {}
        for s in steps:
            by_stage.setdefault(s.stage, []).append(s)
        for si, op in enumerate(spec.stages):
            rows = by_stage.get(si, [])
            stage_row = next((s for s in rows if s.kind == "stage"), None)
            groups: list[GroupRecord] = []
            for g in (s for s in rows if s.kind == "group"):
                members = [s for s in rows if s.group_index == g.group_index]
                groups.append(GroupRecord(
                    name=g.name, status=g.status, started_at=g.started_at, finished_at=g.finished_at,
                    machines=[
                        MachineRecord(name=m.name, status=m.status, started_at=m.started_at, finished_at=m.finished_at,
                                      recovery_point_time=m.recovery_point_time, rpo_seconds=m.rpo_seconds,
                                      attempts=m.attempts, error=m.error, recovery_name=m.recovery_name,
                                      recovery_ip=m.recovery_ip, job_id=m.job_id)
                        for m in members if m.kind == "machine"
                    ],
                    actions=[
                        ActionRecord(kind=a.kind, name=a.name, phase=a.phase or "after", status=a.status,  # type: ignore[arg-type]
                                     started_at=a.started_at, finished_at=a.finished_at, approved_by=a.approved_by,
                                     approved_at=a.approved_at, comment=a.comment, wait_seconds=a.wait_seconds,
                                     error=a.error, output=a.output)
                        for a in members if a.kind in ACTION_KINDS
                    ],
                ))
            stages.append(StageRecord(
                operation=op,
                direction=stage_row.phase if stage_row else None,
                status=stage_row.status if stage_row else "pending",
                started_at=stage_row.started_at if stage_row else None,
                finished_at=stage_row.finished_at if stage_row else None,
                groups=groups,
            ))
        main = stages[spec.main_stage] if spec.main_stage < len(stages) else StageRecord(operation=spec.main_operation)
        paused = None
        if run.status == "paused" and run.paused_step:
            step = next((s for s in steps if s.step_id == run.paused_step), None)
            if step is not None:
                paused = PausedStep(group=step.group_name, name=step.name, phase=step.phase, kind=step.kind,
                                    resume=f"asrctl runs resume {run.run_id} --approve --by NAME --comment TEXT")
        resume = None
        if run.status == "paused":
            resume = f"asrctl runs resume {run.run_id} --approve --by NAME --comment TEXT"
        elif run.status in ("interrupted", "failed", "running"):
            resume = f"asrctl runs resume {run.run_id}"
        wait = sum(a.wait_seconds or 0.0 for g in main.groups for a in g.actions)
        options = spec.model_dump(mode="json", exclude={"stages", "main_stage", "provider_state", "command_key"})
        record = cls(
            run_id=run.run_id, plan=run.plan, stack=run.stack, operation=run.operation, command=spec.command,
            provider=run.provider, engine=run.engine, status=run.status, started_at=run.started_at,
            finished_at=run.finished_at,
            rto_seconds=seconds_between(main.started_at, main.finished_at) if main.finished_at else None,
            approval_wait_seconds=round(wait, 3), targets=run.targets, plan_sha256=run.plan_sha256,
            plan_path=run.plan_path, error=run.error, skip_readiness=spec.skip_readiness, readiness=run.readiness,
            clock=run.clock, api_calls=ApiCalls(reads=run.api_reads, writes=run.api_writes), options=options,
            paused_step=paused, resume_command=resume, groups=main.groups, stages=stages,
        )
        return record

    @model_validator(mode="after")
    def _judge(self) -> RunRecord:
        """The verdict is derived, never stored: whatever the record says, it is judged by its own figures."""
        from asrctl.recovery.verdict import evaluate

        evaluation = evaluate(self)
        object.__setattr__(self, "verdict", evaluation.verdict)
        object.__setattr__(self, "verdict_reasons", evaluation.reasons)
        return self


class RunSummary(BaseModel):
    """One line of ``asrctl runs list``: what a person scanning runs needs, nothing per step."""

    run_id: str
    plan: str
    stack: str
    command: str
    operation: str
    provider: str
    engine: str
    status: str
    started_at: str | None
    finished_at: str | None
    rto_seconds: float | None
    error: str | None


RunRow.model_rebuild()

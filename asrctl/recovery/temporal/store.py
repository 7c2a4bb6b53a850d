"""The run's state inside its workflow: a :class:`~asrctl.recovery.runtime.RunStore` in memory.

The same methods, rows and event records as the local journal (:class:`asrctl.recovery.journal.Journal`), so the
interpreter cannot tell them apart and ``RunRecord.from_journal`` builds the same run document from either. It is
durable because the workflow is: after a worker dies, Temporal replays the workflow's history on another worker,
the interpreter makes the same calls again and the store ends up in exactly the same state. Queries read it
(every operator sees the same run); the workflow's result is its final :meth:`snapshot`, which also seeds a redrive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asrctl.recovery.clock import iso
from asrctl.recovery.records import STEP_FIELDS, RunRecord, RunRow, RunSpec, RunSummary, StepRecord

# Audit events kept in memory (the workflow history has them all anyway): enough for every step of a large plan.
EVENTS_KEPT = 20_000
_RUN_FIELDS = set(RunRow.model_fields) | {"rto_seconds", "command"}


class MemoryStore:
    def __init__(self, run: dict[str, Any], steps: list[dict[str, Any]] | None = None,
                 clock: Callable[[], float] | None = None,
                 on_status: Callable[[MemoryStore], None] | None = None) -> None:
        self._run = dict(run)
        self._steps: dict[str, dict[str, Any]] = {s["step_id"]: dict(s) for s in steps or ()}
        self._clock = clock or (lambda: 0.0)
        self._on_status = on_status
        self.events: list[dict[str, Any]] = []
        self._event_seq = 0

    # -- runs ------------------------------------------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self._run["run_id"]

    def _check(self, run_id: str) -> None:
        if run_id != self.run_id:
            raise KeyError(f"this workflow holds run {self.run_id}, not {run_id}")

    def get_run(self, run_id: str) -> RunRow:
        self._check(run_id)
        return RunRow.model_validate(self._run)

    def update_run(self, run_id: str, event: str | None = None, data: dict[str, Any] | None = None,
                   **fields: Any) -> None:
        self._check(run_id)
        unknown = set(fields) - _RUN_FIELDS
        if unknown:
            raise ValueError(f"unknown run fields {sorted(unknown)}")
        before = self._run.get("status")
        for key, value in fields.items():
            self._run[key] = value.model_dump(mode="json") if isinstance(value, RunSpec) else value
        if event:
            self._event(None, event, data if data is not None else {k: v for k, v in fields.items() if k != "spec"})
        if self._on_status is not None and ("status" in fields and fields["status"] != before):
            self._on_status(self)

    # -- steps -----------------------------------------------------------------------------------------------------
    def ensure_step(self, run_id: str, step_id: str, **identity: Any) -> StepRecord:
        self._check(run_id)
        row = self._steps.get(step_id)
        if row is None:
            row = self._steps[step_id] = {"run_id": run_id, "step_id": step_id, "seq": len(self._steps) + 1,
                                          **identity}
        return StepRecord.model_validate(row)

    def step(self, run_id: str, step_id: str) -> StepRecord | None:
        self._check(run_id)
        row = self._steps.get(step_id)
        return StepRecord.model_validate(row) if row is not None else None

    def steps(self, run_id: str) -> list[StepRecord]:
        self._check(run_id)
        return [StepRecord.model_validate(r) for r in sorted(self._steps.values(), key=lambda r: r["seq"])]

    def update_step(self, run_id: str, step_id: str, event: str | None = None, data: dict[str, Any] | None = None,
                    **fields: Any) -> None:
        self._check(run_id)
        unknown = set(fields) - set(STEP_FIELDS)
        if unknown:
            raise ValueError(f"unknown step fields {sorted(unknown)}")
        row = self._steps.get(step_id)
        if row is not None:  # like the journal's UPDATE: a step never ensured is not created by an update
            row.update(fields)
        if event:
            self._event(step_id, event, data if data is not None else fields)

    def intent(self, run_id: str, step_id: str, data: dict[str, Any], **fields: Any) -> None:
        """The intent of a side effect, before it is sent. (Durable with the workflow: the activity that sends it is
        scheduled by the same workflow task, so no history holds the send without the intent.)"""
        self.update_step(run_id, step_id, "intent", data, **fields)

    def result(self, run_id: str, step_id: str, data: dict[str, Any], **fields: Any) -> None:
        self.update_step(run_id, step_id, "result", data, **fields)

    # -- what operators read ---------------------------------------------------------------------------------------
    def _event(self, step_id: str | None, kind: str, data: dict[str, Any]) -> None:
        self._event_seq += 1
        self.events.append({"seq": self._event_seq, "run_id": self.run_id, "step_id": step_id, "type": kind,
                            "at": iso(self._clock()), "data": _plain(data)})
        if len(self.events) > EVENTS_KEPT:
            del self.events[: len(self.events) - EVENTS_KEPT]

    def snapshot(self) -> dict[str, Any]:
        """The run row and every step, as plain JSON (the workflow's result, and a redrive's starting point)."""
        return {"run": dict(self._run), "steps": [dict(s) for s in sorted(self._steps.values(),
                                                                          key=lambda r: r["seq"])]}

    def record(self) -> RunRecord:
        return RunRecord.from_journal(self.get_run(self.run_id), self.steps(self.run_id))

    def summary(self) -> RunSummary:
        run = self._run
        return RunSummary(run_id=run["run_id"], plan=run["plan"], stack=run["stack"],
                          command=run.get("command") or run["spec"]["command"], operation=run["operation"],
                          provider=run["provider"], engine=run.get("engine", "temporal"), status=run["status"],
                          started_at=run.get("started_at"), finished_at=run.get("finished_at"),
                          rto_seconds=run.get("rto_seconds"), error=run.get("error"))


def pending_summary(run: Any) -> RunSummary:
    """The memo a run's workflow starts with (a :class:`~asrctl.recovery.temporal.messages.RunInput`), before its
    first status change replaces it."""
    spec = RunSpec.model_validate(run.spec)
    return RunSummary(run_id=run.run_id, plan=run.plan["name"], stack=run.stack, command=spec.command,
                      operation=spec.main_operation, provider=run.provider, engine="temporal", status="pending",
                      started_at=None, finished_at=None, rto_seconds=None, error=None)


def record_from_snapshot(snapshot: dict[str, Any]) -> RunRecord:
    run = RunRow.model_validate(snapshot["run"])
    steps = [StepRecord.model_validate(s) for s in snapshot["steps"]]
    return RunRecord.from_journal(run, steps)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Event data as JSON values (the journal stores json.dumps(default=str))."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = value if value is None or isinstance(value, str | int | float | bool | list | dict) else str(value)
    return out

"""Drill and failover reports: the evidence an auditor asks for after a recovery-plan run.

``render_report(run, fmt)`` turns a run record (the dict ``asrctl.recovery.runrecord.load_run`` returns; its shape
is the contract in DESIGN.md) into JSON, Markdown or a self-contained HTML page. Every format carries the same
evaluation: achieved RTO against the plan's target (and against ASR's 2 h per-instance RTO SLA, as context), each
machine's RPO against the target, approvals with who/when/comment, failures with their reasons, readiness results,
API call counts, and which clock the times are on.

The run dict is validated first, so a malformed record gives one line naming the key path instead of a KeyError,
and secrets are redacted before anything is rendered.
"""

from __future__ import annotations

import json
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asrctl.errors import BadInput
from asrctl.plans import FAILOVER_OPERATIONS, OPERATIONS

FORMATS: tuple[str, ...] = ("html", "md", "json")
_EXTENSIONS = {"html": "html", "md": "md", "json": "json"}

# REFERENCE.md §1: ASR publishes an RTO SLA of 2 hours per protected instance and no RPO SLA. The plan's own
# targets decide the verdict; the SLA is shown beside them so an auditor can see how the drill compares.
ASR_RTO_SLA_SECONDS = 2 * 3600

RUN_STATUSES = ("running", "paused", "succeeded", "failed", "cancelled")
READINESS_STATUSES = ("pass", "warn", "fail")
CLOCKS = ("simulated", "wall")
# Nested statuses are rendered even when unknown (a newer engine may add one): an auditor still gets a report,
# just without a colour for that status. Run-level status and operation drive the verdict, so those are strict.
MACHINE_STATUSES = ("pending", "running", "succeeded", "failed", "skipped", "cancelled")
ACTION_STATUSES = ("pending", "running", "waiting", "waiting-approval", "succeeded", "failed", "skipped", "cancelled")
# A manual action that has started but has no approval yet is what a paused run waits on.
_WAITING = ("waiting", "waiting-approval", "running")

# Environment variables that may hold secrets (DESIGN.md "Secrets"); their values are scrubbed from every string.
_SECRET_ENV = ("ASRCTL_CS_PASSPHRASE", "ASRCTL_ARM_TOKEN", "ASRCTL_VCENTER_PASSWORD", "ASRCTL_VPN_SHARED_KEY",
               "ASRCTL_FAILBACK_ADMIN_PASSWORD")
_SECRET_KEY_RE = re.compile(r"pass(word|phrase)|secret|token|shared_?key|credential|api_?key", re.IGNORECASE)
# Free text (script output, error messages) sometimes echoes "password=..." or "Authorization: Bearer ...".
_SECRET_TEXT_RE = re.compile(
    r"(?i)\b(pass(?:word|phrase)?|secret|token|shared_?key|api_?key)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
    r"|\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"
)
REDACTED = "***"

# Timeline geometry (SVG user units). The chart scales with the page width; only proportions matter.
_LABEL_WIDTH = 250
_CHART_WIDTH = 700
_ROW_HEIGHT = 22
_AXIS_HEIGHT = 28


# ----------------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------------


def render_report(run: dict[str, Any], fmt: str, *, now: datetime | None = None) -> str:
    """Render ``run`` as ``json``, ``md`` or ``html``.

    ``now`` (default: the current time) is only used to stamp the report and, for an unfinished run on the wall
    clock, to draw how long it has been waiting. Raises ``BadInput`` for an unknown format or a malformed run.
    """
    if fmt not in FORMATS:
        raise BadInput(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}")
    now = now or datetime.now(UTC)
    run = redact(run)
    parsed = _validate(run)
    evaluation = _evaluate(run, parsed)
    if fmt == "json":
        # The contract fields unchanged (minus any earlier evaluation), plus the evaluation under one key.
        document = {k: v for k, v in run.items() if k != "report"}
        document["report"] = evaluation
        return json.dumps(document, indent=2, default=str) + "\n"
    view = _view(_with_defaults(run), parsed, evaluation, now)
    return _render_template(f"report.{fmt}.j2", view, html=(fmt == "html"))


def write_report(run: dict[str, Any], fmt: str, path: str | os.PathLike[str]) -> Path:
    """Render and write the report atomically (a reader never sees half a file); returns the path written."""
    text = render_report(run, fmt)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        raise BadInput(f"{target}: cannot write the report ({exc.strerror or exc}); choose another -o path") from exc
    return target


def default_report_path(run_id: str, fmt: str) -> Path:
    """Where a report is kept when no path is given: ``$ASRCTL_HOME/reports/<run_id>.<ext>``."""
    from asrctl.project import state_home

    return state_home() / "reports" / f"{run_id}.{_EXTENSIONS[fmt]}"


def format_for_path(path: str | os.PathLike[str]) -> str | None:
    """The format a file name implies (``.html``/``.htm``, ``.md``/``.markdown``, ``.json``), else None."""
    suffix = Path(path).suffix.lower()
    return {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}.get(suffix)


def redact(value: Any, key: str = "") -> Any:
    """A deep copy of ``value`` with secret-looking keys masked and secret values scrubbed from strings."""
    secrets = [v for v in (os.environ.get(name, "") for name in _SECRET_ENV) if len(v) >= 4]
    return _redact(value, key, secrets)


def _redact(value: Any, key: str, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _redact(v, str(k), secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key, secrets) for v in value]
    if isinstance(value, str):
        if key and _SECRET_KEY_RE.search(key) and value:
            return REDACTED
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return _SECRET_TEXT_RE.sub(_mask_match, value)
    return value


def _mask_match(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    return f"Bearer {REDACTED}"


# ----------------------------------------------------------------------------------------------------------------
# Validation: a clear one-line error naming the key path, never a KeyError deep inside a template
# ----------------------------------------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


def _validate(run: Any) -> dict[str, Any]:
    """Check the run dict and return its timestamps parsed, keyed by key path (``groups[0].started_at``)."""
    if not isinstance(run, dict):
        raise BadInput(f"run record must be a JSON object, got {type(run).__name__}")
    label = run.get("run_id") if isinstance(run.get("run_id"), str) else "record"
    times: dict[str, datetime | None] = {}
    try:
        for key in ("run_id", "plan", "operation", "status"):
            _need(run, key, key, str)
        _enum(run, "operation", "operation", OPERATIONS)
        _enum(run, "status", "status", RUN_STATUSES)
        for key in ("stack", "provider", "plan_sha256", "error"):
            _opt(run, key, key, str)
        _opt(run, "clock", "clock", str)
        if run.get("clock") is not None:
            _enum(run, "clock", "clock", CLOCKS)
        _opt(run, "skip_readiness", "skip_readiness", bool)
        for key in ("started_at", "finished_at"):
            times[key] = _time(run, key, key)
        _seconds(run, "rto_seconds", "rto_seconds")
        targets = _opt(run, "targets", "targets", dict) or {}
        for key in ("rto_seconds", "rpo_seconds"):
            _seconds(targets, key, f"targets.{key}")
        calls = _opt(run, "api_calls", "api_calls", dict) or {}
        for key in ("reads", "writes"):
            _seconds(calls, key, f"api_calls.{key}")
        for i, check in enumerate(_opt(run, "readiness", "readiness", list) or []):
            path = f"readiness[{i}]"
            _obj(check, path)
            _need(check, "name", f"{path}.name", str)
            _need(check, "status", f"{path}.status", str)
            _enum(check, "status", f"{path}.status", READINESS_STATUSES)
            _opt(check, "reason", f"{path}.reason", str)
            _opt(check, "machine", f"{path}.machine", str)
        # Every stage the run executed (a drill: test failover, then its cleanup); groups[] is the main stage's.
        for i, stage in enumerate(_opt(run, "stages", "stages", list) or []):
            spath = f"stages[{i}]"
            _obj(stage, spath)
            _need(stage, "operation", f"{spath}.operation", str)
            for key in ("status", "direction"):
                _opt(stage, key, f"{spath}.{key}", str)
            for key in ("started_at", "finished_at"):
                times[f"{spath}.{key}"] = _time(stage, key, f"{spath}.{key}")
        _opt(run, "options", "options", dict)
        for g, group in enumerate(_need(run, "groups", "groups", list)):
            gpath = f"groups[{g}]"
            _obj(group, gpath)
            _need(group, "name", f"{gpath}.name", str)
            _opt(group, "status", f"{gpath}.status", str)
            for key in ("started_at", "finished_at"):
                times[f"{gpath}.{key}"] = _time(group, key, f"{gpath}.{key}")
            for m, machine in enumerate(_opt(group, "machines", f"{gpath}.machines", list) or []):
                mpath = f"{gpath}.machines[{m}]"
                _obj(machine, mpath)
                _need(machine, "name", f"{mpath}.name", str)
                for key in ("status", "error", "recovery_name", "recovery_ip"):
                    _opt(machine, key, f"{mpath}.{key}", str)
                for key in ("started_at", "finished_at", "recovery_point_time"):
                    times[f"{mpath}.{key}"] = _time(machine, key, f"{mpath}.{key}")
                _seconds(machine, "rpo_seconds", f"{mpath}.rpo_seconds")
                _seconds(machine, "attempts", f"{mpath}.attempts")
            for a, action in enumerate(_opt(group, "actions", f"{gpath}.actions", list) or []):
                apath = f"{gpath}.actions[{a}]"
                _obj(action, apath)
                for key in ("kind", "name"):
                    _need(action, key, f"{apath}.{key}", str)
                for key in ("phase", "status", "approved_by", "comment", "error", "output"):
                    _opt(action, key, f"{apath}.{key}", str)
                for key in ("started_at", "finished_at", "approved_at"):
                    times[f"{apath}.{key}"] = _time(action, key, f"{apath}.{key}")
    except _Invalid as exc:
        raise BadInput(f"run {label}: {exc}") from None
    return times


def _obj(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise _Invalid(path, f"must be an object, got {type(value).__name__}")


def _need(obj: dict[str, Any], key: str, path: str, kind: type) -> Any:
    if obj.get(key) is None:
        raise _Invalid(path, "is missing; the run record is incomplete (re-export it with `asrctl runs show --json`)")
    return _typed(obj[key], path, kind)


def _opt(obj: dict[str, Any], key: str, path: str, kind: type) -> Any:
    value = obj.get(key)
    return None if value is None else _typed(value, path, kind)


def _typed(value: Any, path: str, kind: type) -> Any:
    # bool is an int in Python; a count or duration of True is a bug in the record, not a number.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise _Invalid(path, f"must be {_KIND_NAMES.get(kind, kind.__name__)}, got {json.dumps(value, default=str)}")
    return value


_KIND_NAMES = {str: "a string", dict: "an object", list: "a list", bool: "true or false"}


def _enum(obj: dict[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> None:
    if obj[key] not in allowed:
        raise _Invalid(path, f"{obj[key]!r} is not one of {', '.join(allowed)}")


def _seconds(obj: dict[str, Any], key: str, path: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or not math.isfinite(value):
        raise _Invalid(path, f"must be a number of seconds >= 0, got {json.dumps(value, default=str)}")
    return value


def _time(obj: dict[str, Any], key: str, path: str) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(path, f"must be an ISO-8601 UTC timestamp string, got {json.dumps(value, default=str)}")
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid(path, f"{value!r} is not an ISO-8601 timestamp (e.g. 2025-03-14T09:00:00Z)") from None
    # The contract says UTC; a naive stamp is read as UTC rather than as the auditor's local time.
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


_RUN_KEYS = (
    "stack", "provider", "started_at", "finished_at", "rto_seconds", "targets", "plan_sha256", "error",
    "skip_readiness", "readiness", "clock", "api_calls", "command", "options", "stages",
)  # fmt: skip
_GROUP_KEYS = ("status", "started_at", "finished_at", "machines", "actions")
_MACHINE_KEYS = (
    "status", "started_at", "finished_at", "recovery_point_time", "rpo_seconds", "attempts", "error",
    "recovery_name", "recovery_ip", "job_id",
)  # fmt: skip
_ACTION_KEYS = (
    "phase",
    "status",
    "started_at",
    "finished_at",
    "approved_by",
    "comment",
    "approved_at",
    "error",
    "output",
)
_CHECK_KEYS = ("reason", "machine")


def _with_defaults(run: dict[str, Any]) -> dict[str, Any]:
    """A copy with every optional contract key present (null when absent), so templates never meet a missing key."""

    def fill(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        return {**dict.fromkeys(keys), **item}

    out = fill(run, _RUN_KEYS)
    out["readiness"] = [fill(c, _CHECK_KEYS) for c in out["readiness"] or []]
    groups = []
    for group in run["groups"]:
        group = fill(group, _GROUP_KEYS)
        group["machines"] = [fill(m, _MACHINE_KEYS) for m in group["machines"] or []]
        group["actions"] = [fill(a, _ACTION_KEYS) for a in group["actions"] or []]
        groups.append(group)
    out["groups"] = groups
    return out


# ----------------------------------------------------------------------------------------------------------------
# Evaluation: the verdicts, shared by every format (JSON carries it under "report")
# ----------------------------------------------------------------------------------------------------------------


def _evaluate(run: dict[str, Any], times: dict[str, datetime | None]) -> dict[str, Any]:
    targets = run.get("targets") or {}
    rto_target = targets.get("rto_seconds")
    rpo_target = targets.get("rpo_seconds")
    is_failover = run["operation"] in FAILOVER_OPERATIONS
    status = run["status"]

    machines = []
    for g, group in enumerate(run["groups"]):
        for m, machine in enumerate(group.get("machines") or []):
            path = f"groups[{g}].machines[{m}]"
            started, finished = times[f"{path}.started_at"], times[f"{path}.finished_at"]
            point = times[f"{path}.recovery_point_time"]
            rpo = machine.get("rpo_seconds")
            # The engine's figure is authoritative; derive it (failover start minus recovery point) only if absent.
            if rpo is None and started and point:
                rpo = max(0.0, (started - point).total_seconds())
            duration = (finished - started).total_seconds() if started and finished else None
            machines.append(
                {
                    "group": group["name"],
                    "name": machine["name"],
                    "status": machine.get("status"),
                    "rpo_seconds": rpo,
                    "rpo_verdict": _limit_verdict(rpo, rpo_target) if is_failover else "not-applicable",
                    "failover_seconds": duration,
                    "sla_verdict": _sla_verdict(duration) if is_failover else "not-applicable",
                }
            )

    rto = run.get("rto_seconds")
    measured_rpo = [m for m in machines if m["rpo_seconds"] is not None]
    worst = max(measured_rpo, key=lambda m: m["rpo_seconds"], default=None)
    # Only a machine that came up has a recovery time; a failed one's duration is time-to-failure.
    timed = [m for m in machines if m["failover_seconds"] is not None and m["status"] == "succeeded"]
    slowest = max(timed, key=lambda m: m["failover_seconds"], default=None)
    if not is_failover:
        rpo_verdict = "not-applicable"
    elif any(m["rpo_verdict"] == "miss" for m in machines):
        rpo_verdict = "miss"
    elif rpo_target is None:
        rpo_verdict = "no-target"
    else:
        rpo_verdict = "met" if measured_rpo else "not-measured"

    readiness = run.get("readiness") or []
    counts = {s: sum(1 for c in readiness if c["status"] == s) for s in READINESS_STATUSES}
    readiness_verdict = (
        "skipped"
        if run.get("skip_readiness")
        else "fail"
        if counts["fail"]
        else "warn"
        if counts["warn"]
        else "pass"
        if readiness
        else "not-run"
    )

    approvals, waiting, unapproved, failures = [], [], [], []
    if run.get("error"):
        failures.append({"where": "run", "name": run["run_id"], "reason": run["error"]})
    for check in readiness:
        if check["status"] == "fail":
            where = f"readiness ({check['machine']})" if check.get("machine") else "readiness"
            failures.append({"where": where, "name": check["name"], "reason": check.get("reason") or "failed"})
    for g, group in enumerate(run["groups"]):
        for machine in group.get("machines") or []:
            if machine.get("status") == "failed":
                reason = machine.get("error") or "failed (no reason recorded)"
                failures.append({"where": f"group {group['name']}: machine", "name": machine["name"], "reason": reason})
        for a, action in enumerate(group.get("actions") or []):
            path = f"groups[{g}].actions[{a}]"
            if action["kind"] == "manual":
                entry = {
                    "group": group["name"],
                    "phase": action.get("phase"),
                    "name": action["name"],
                    "status": action.get("status"),
                    "approved_by": action.get("approved_by"),
                    "approved_at": _iso(times[f"{path}.approved_at"]),
                    "comment": action.get("comment"),
                    "waiting_since": _iso(times[f"{path}.started_at"]),
                }
                if action.get("approved_by") or action.get("approved_at"):
                    approvals.append(entry)
                elif action.get("status") in _WAITING and status in ("running", "paused"):
                    waiting.append(entry)
                elif action.get("status") in (*_WAITING, "failed", "cancelled"):
                    # Asked for and never approved (timed out, or the run ended first): auditors must see it.
                    unapproved.append({**entry, "reason": action.get("error") or f"the run {status} before approval"})
            if action.get("status") == "failed":
                reason = action.get("error") or "failed (no reason recorded)"
                failures.append(
                    {"where": f"group {group['name']}: {action['kind']}", "name": action["name"], "reason": reason}
                )

    reasons: list[str] = []
    if status in ("running", "paused"):
        verdict = "incomplete"
        reasons.append(f"the run is {status}; verdicts cover only what has happened so far")
        for entry in waiting:
            reasons.append(f"waiting for approval of '{entry['name']}' (group {entry['group']})")
    elif status in ("failed", "cancelled"):
        verdict = "fail"
        reasons.append(f"the run {status}" + (f": {run['error']}" if run.get("error") else ""))
    else:
        verdict = "pass"
        # A record that claims success while steps never finished is not evidence of a recovery: say so.
        unfinished = [
            item["name"]
            for group in run["groups"]
            for item in [*(group.get("machines") or []), *(group.get("actions") or [])]
            if item.get("status") in ("pending", "running", *_WAITING)
        ]
        if unfinished:
            verdict = "incomplete"
            reasons.append(
                f"the run is recorded as succeeded but {len(unfinished)} step(s) never finished: {', '.join(unfinished)}"
            )
    rto_verdict = "not-applicable" if not is_failover else _limit_verdict(rto, rto_target)
    if rto_verdict == "miss":
        verdict = "fail" if verdict == "pass" else verdict
        reasons.append(f"RTO {format_seconds(rto)} exceeds the target {format_seconds(rto_target)}")
    if rpo_verdict == "miss":
        verdict = "fail" if verdict == "pass" else verdict
        missed = [m for m in machines if m["rpo_verdict"] == "miss"]
        listed = ", ".join(f"{m['name']} {format_seconds(m['rpo_seconds'])}" for m in missed)
        reasons.append(f"RPO target {format_seconds(rpo_target)} missed by {len(missed)} machine(s): {listed}")
    if readiness_verdict == "fail":
        verdict = "fail" if verdict == "pass" else verdict
        reasons.append(f"{counts['fail']} readiness check(s) failed")

    notes: list[str] = []
    if run.get("skip_readiness"):
        notes.append("readiness checks were skipped for this run")
    if is_failover and rto_target is None and rpo_target is None:
        notes.append("the plan sets no RTO/RPO targets, so only the run's own status decides the verdict")

    clock = run.get("clock")
    return {
        "verdict": verdict,
        "reasons": reasons,
        "notes": notes,
        "clock": clock,
        "clock_statement": _clock_statement(clock),
        "rto": {
            "achieved_seconds": rto,
            "target_seconds": rto_target,
            "verdict": rto_verdict,
            "asr_sla_seconds": ASR_RTO_SLA_SECONDS,
            "slowest_machine": slowest["name"] if slowest else None,
            "slowest_machine_seconds": slowest["failover_seconds"] if slowest else None,
            "sla_verdict": _sla_verdict(slowest["failover_seconds"] if slowest else None)
            if is_failover
            else "not-applicable",
        },
        "rpo": {
            "target_seconds": rpo_target,
            "verdict": rpo_verdict,
            "worst_machine": worst["name"] if worst else None,
            "worst_seconds": worst["rpo_seconds"] if worst else None,
            "machines": machines,
        },
        "readiness": {"skipped": bool(run.get("skip_readiness")), "verdict": readiness_verdict, **counts},
        "approvals": approvals,
        "waiting_for_approval": waiting,
        "not_approved": unapproved,
        "failures": failures,
        "api_calls": {
            "reads": (run.get("api_calls") or {}).get("reads"),
            "writes": (run.get("api_calls") or {}).get("writes"),
        },
    }


def _limit_verdict(value: float | None, limit: float | None) -> str:
    if value is None:
        return "not-measured"
    if limit is None:
        return "no-target"
    return "met" if value <= limit else "miss"


def _sla_verdict(seconds: float | None) -> str:
    if seconds is None:
        return "not-measured"
    return "within" if seconds <= ASR_RTO_SLA_SECONDS else "beyond"


def _clock_statement(clock: str | None) -> str:
    if clock == "simulated":
        return (
            "Times are on the simulator's simulated clock (scaled by ASRCTL_SIM_SPEED): they show the order and "
            "relative durations of steps, not how long a real Azure failover takes."
        )
    if clock == "wall":
        return "Times are wall-clock UTC, as observed by asrctl while the run executed."
    return "The run record does not say which clock its times are on; treat durations with care."


# ----------------------------------------------------------------------------------------------------------------
# View: everything the templates print, pre-computed so templates stay free of arithmetic
# ----------------------------------------------------------------------------------------------------------------


def _view(
    run: dict[str, Any], times: dict[str, datetime | None], evaluation: dict[str, Any], now: datetime
) -> dict[str, Any]:
    from asrctl import __version__

    known = [t for t in times.values() if t is not None]
    origin = times["started_at"] or (min(known) if known else None)

    def offset(stamp: datetime | None) -> float | None:
        return None if stamp is None or origin is None else (stamp - origin).total_seconds()

    # _evaluate lists machines in the same group/machine order as this walk.
    machine_evaluations = iter(evaluation["rpo"]["machines"])
    groups = []
    for g, group in enumerate(run["groups"]):
        gpath = f"groups[{g}]"
        machines = []
        for m, machine in enumerate(group.get("machines") or []):
            mpath = f"{gpath}.machines[{m}]"
            started, finished = times[f"{mpath}.started_at"], times[f"{mpath}.finished_at"]
            machines.append(
                {
                    **machine,
                    "started_offset": offset(started),
                    "finished_offset": offset(finished),
                    "duration": (finished - started).total_seconds() if started and finished else None,
                    "evaluation": next(machine_evaluations),
                }
            )
        actions = []
        for a, action in enumerate(group.get("actions") or []):
            apath = f"{gpath}.actions[{a}]"
            started, finished = times[f"{apath}.started_at"], times[f"{apath}.finished_at"]
            actions.append(
                {
                    **action,
                    "started_offset": offset(started),
                    "finished_offset": offset(finished),
                    "duration": (finished - started).total_seconds() if started and finished else None,
                }
            )
        started, finished = times[f"{gpath}.started_at"], times[f"{gpath}.finished_at"]
        groups.append(
            {
                **group,
                "index": g + 1,
                "machines": machines,
                "before": [a for a in actions if a.get("phase") == "before"],
                "after": [a for a in actions if a.get("phase") != "before"],
                "actions": actions,
                "started_offset": offset(started),
                "finished_offset": offset(finished),
                "duration": (finished - started).total_seconds() if started and finished else None,
            }
        )

    stages = []
    for i, stage in enumerate(run.get("stages") or []):
        started, finished = times[f"stages[{i}].started_at"], times[f"stages[{i}].finished_at"]
        stages.append(
            {
                **stage,
                "started_offset": offset(started),
                "finished_offset": offset(finished),
                "duration": (finished - started).total_seconds() if started and finished else None,
            }
        )

    finished = times["finished_at"]
    run_duration = (finished - origin).total_seconds() if finished and origin else None
    return {
        "run": run,
        "report": evaluation,
        "groups": groups,
        "duration": run_duration,
        "stages": stages,
        "options": [
            f"{k}={v if isinstance(v, str) else json.dumps(v)}"
            for k, v in (run.get("options") or {}).items()
            if v is not None and k != "command"  # the command is shown on its own
        ],
        "timeline": _timeline(run, stages, groups, times, origin, now),
        "title": f"{_TITLES.get(run['operation'], run['operation'])} report: plan {run['plan']}",
        "generated_at": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "version": __version__,
        "sla": ASR_RTO_SLA_SECONDS,
    }


_TITLES = {
    "test-failover": "DR drill (test failover)",
    "cleanup-test-failover": "Test failover cleanup",
    "planned-failover": "Planned failover",
    "unplanned-failover": "Unplanned failover",
    "commit": "Commit",
    "reprotect": "Reprotect",
    "failback": "Failback",
    "reenable": "Re-enable replication",
}


def _timeline(
    run: dict[str, Any],
    stages: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    times: dict[str, datetime | None],
    origin: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """Rows of bars positioned by start/finish relative to the run start (x is linear in time)."""
    known = [t for t in times.values() if t is not None]
    if origin is None or not known:
        return {"rows": [], "ticks": [], "height": 0, "width": _LABEL_WIDTH + _CHART_WIDTH, "open_end": False}
    end = times["finished_at"] or max(known)
    open_end = times["finished_at"] is None
    # An unfinished run on the wall clock has been waiting until now; a simulated clock has no "now" to compare with.
    if open_end and run.get("clock") == "wall" and now > end:
        end = now
    elapsed = max((end - origin).total_seconds(), 1.0)
    # An unfinished run gets headroom to the right, so its unfinished steps show as open bars running past the
    # "as of" marker instead of slivers at the chart's edge.
    span = max(elapsed * 1.25, elapsed + 5.0) if open_end else elapsed
    scale = _CHART_WIDTH / span

    rows: list[dict[str, Any]] = []

    def add(level: str, label: str, item: dict[str, Any], kind: str) -> None:
        start, finish = item.get("started_offset"), item.get("finished_offset")
        row: dict[str, Any] = {
            "level": level,
            "label": label,
            "kind": kind,
            "status": item.get("status") or "pending",
            "y": _AXIS_HEIGHT + len(rows) * _ROW_HEIGHT,
            "bar": None,
        }
        if start is not None:
            open_bar = finish is None
            stop = span if open_bar else finish
            row["bar"] = {
                "x": round(_LABEL_WIDTH + start * scale, 2),
                # A zero-length step still gets a visible sliver; its data attributes keep the true times.
                "width": round(max((stop - start) * scale, 1.5), 2),
                "start": start,
                "finish": finish,
                "open": open_bar,
            }
        rows.append(row)

    # One stage is the groups themselves; several (drill: failover then cleanup) explain the time after the groups.
    if len(stages) > 1:
        for stage in stages:
            add("stage", f"stage: {stage['operation']}", stage, "stage")
    for group in groups:
        add("group", f"{group['index']}. {group['name']}", group, "group")
        for action in group["before"]:
            add("action", f"before: {action['name']}", action, action["kind"])
        for machine in group["machines"]:
            add("machine", machine["name"], machine, "machine")
        for action in group["after"]:
            add("action", f"after: {action['name']}", action, action["kind"])

    step = _tick_step(span)
    ticks = [
        {"x": round(_LABEL_WIDTH + t * scale, 2), "label": "0" if t == 0 else f"+{format_seconds(t)}"}
        for t in range(0, int(span) + 1, step)
        if t * scale <= _CHART_WIDTH - 20 or t == 0
    ]
    return {
        "rows": rows,
        "ticks": ticks,
        "label_width": _LABEL_WIDTH,
        "chart_width": _CHART_WIDTH,
        "width": _LABEL_WIDTH + _CHART_WIDTH + 10,
        "height": _AXIS_HEIGHT + len(rows) * _ROW_HEIGHT + 6,
        "row_height": _ROW_HEIGHT,
        "span": span,
        "open_end": open_end,
        "as_of_x": round(_LABEL_WIDTH + elapsed * scale, 2) if open_end else None,
        "as_of": end.strftime("%Y-%m-%d %H:%M:%SZ"),
        "scale": scale,
    }


def _tick_step(span: float) -> int:
    """A round tick interval giving at most about eight ticks across the chart."""
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400):
        if span / step <= 8:
            return step
    return int(math.ceil(span / 8 / 86400)) * 86400


# ----------------------------------------------------------------------------------------------------------------
# Formatting helpers (also Jinja filters)
# ----------------------------------------------------------------------------------------------------------------


def format_seconds(seconds: float | None) -> str:
    """``75`` → ``1m 15s``; ``3725`` → ``1h 02m 05s``; None → ``—``. Precise to the second, for evidence."""
    if seconds is None:
        return "—"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    # Trailing zero parts are dropped so targets read as written in the plan ("30m", "2h").
    if hours:
        return f"{hours}h" + (f" {minutes:02d}m" if minutes or secs else "") + (f" {secs:02d}s" if secs else "")
    if minutes:
        return f"{minutes}m" + (f" {secs:02d}s" if secs else "")
    return f"{secs}s"


def _iso(stamp: datetime | None) -> str | None:
    return None if stamp is None else stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _format_time(value: str | None) -> str:
    if not value:
        return "—"
    stamp = datetime.fromisoformat(value)
    stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%SZ")


def _format_offset(seconds: float | None) -> str:
    return "—" if seconds is None else f"+{format_seconds(seconds)}"


def _md_cell(value: Any) -> str:
    """Make any text safe inside a GitHub Markdown table cell: no raw HTML, no broken columns."""
    if value is None or value == "":
        return "—"
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("|", "\\|").replace("`", "\\`")
    return "<br>".join(line for line in text.strip().splitlines()) or "—"


_VERDICT_LABELS = {
    "pass": "PASS",
    "fail": "FAIL",
    "incomplete": "INCOMPLETE",
    "met": "met",
    "miss": "MISSED",
    "no-target": "no target",
    "not-measured": "not measured",
    "not-applicable": "n/a",
    "within": "within SLA",
    "beyond": "BEYOND SLA",
    "skipped": "SKIPPED",
    "not-run": "not run",
    "warn": "passed with warnings",
}


def _render_template(name: str, view: dict[str, Any], *, html: bool) -> str:
    import jinja2

    from asrctl.project import templates_dir

    directory = templates_dir()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        # Everything in a run (comments, errors, script output) is user- or machine-supplied text: escape it all.
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        dur=format_seconds,
        ts=_format_time,
        offset=_format_offset,
        md=_md_cell,
        verdict=lambda v: _VERDICT_LABELS.get(v, v),
    )
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound:
        raise BadInput(f"{directory / name}: report template not found; is ASRCTL_PROJECT_DIR right?") from None
    return template.render(**view)

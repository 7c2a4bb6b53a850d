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
from asrctl.recovery.verdict import ASR_RTO_SLA_SECONDS, _times, evaluate, format_seconds

FORMATS: tuple[str, ...] = ("html", "md", "json")
_EXTENSIONS = {"html": "html", "md": "md", "json": "json"}


# Environment variables that may hold secrets (DESIGN.md "Secrets"); their values are scrubbed from every string.
_SECRET_ENV = ("ASRCTL_CS_PASSPHRASE", "ASRCTL_ARM_TOKEN", "ASRCTL_VCENTER_PASSWORD", "ASRCTL_VPN_SHARED_KEY",
               "ASRCTL_FAILBACK_ADMIN_PASSWORD", "ASRCTL_TEMPORAL_API_KEY")
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
    run = redact(run)
    record = _validate(run)
    document = record.document()
    evaluation = evaluate(record).details
    evaluation["clock_statement"] = _clock_statement(record.clock)
    if fmt == "json":
        # The contract fields, plus the evaluation under one key.
        document["report"] = evaluation
        return json.dumps(document, indent=2, default=str) + "\n"
    # "generated" is on the run's clock (one clock per report): never before the run's own last timestamp.
    times = _times(document)
    known = [t for t in times.values() if t is not None]
    latest = max(known) if known else None
    if now is None:
        now = latest if record.clock == "simulated" and latest is not None else datetime.now(UTC)
    elif latest is not None and now < latest:
        now = latest
    view = _view(document, times, evaluation, now)
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


def _validate(run: Any) -> Any:
    """The run document as a typed record; a malformed one is one line naming the key path."""
    from pydantic import ValidationError

    from asrctl.recovery.records import RunRecord

    if not isinstance(run, dict):
        raise BadInput(f"run record must be a JSON object, got {type(run).__name__}")
    label = run.get("run_id") if isinstance(run.get("run_id"), str) else "record"
    try:
        return RunRecord.model_validate({k: v for k, v in run.items() if k != "report"})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        kind = err["type"]
        if kind == "missing":
            problem = "is missing; the run record is incomplete (re-export it with `asrctl runs show --json`)"
        elif kind == "literal_error":
            problem = f"{err['input']!r} is not one of {err['ctx']['expected']}"
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            problem = f"must be an object, got {json.dumps(err['input'], default=str)}"
        elif kind.startswith(("float", "int")) and str(err["loc"][-1]).endswith("seconds"):
            problem = f"must be a number of seconds >= 0, got {json.dumps(err['input'], default=str)}"
        else:
            problem = err["msg"].removeprefix("Value error, ")
            problem = problem[:1].lower() + problem[1:]
        raise BadInput(f"run {label}: {path}: {problem}") from None


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
    "commit-failback": "Commit failback",
    "cancel-failback": "Cancel failback",
    "reenable": "Re-enable replication",
    "switch-provider": "Migration to the modernized architecture",
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

"""The verdict of a run against its plan's targets: one evaluation, shared by the terminal's last line, the run
document (``verdict``) and every report format, so they can never disagree.

A run passes when it succeeded with every step finished, its RTO met the plan's ``targets.rto`` and every machine's
RPO met ``targets.rpo`` (failovers only), and readiness did not fail. Unfinished runs are ``incomplete``. ASR's 2 h
per-instance RTO SLA is reported beside the targets as context, never as the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asrctl.recovery.operations import FAILOVER_OPERATIONS

if TYPE_CHECKING:
    from asrctl.recovery.records import RunRecord

# REFERENCE.md §1: ASR publishes an RTO SLA of 2 hours per protected instance and no RPO SLA.
ASR_RTO_SLA_SECONDS = 2 * 3600
READINESS_STATUSES = ("pass", "warn", "fail")
# A manual action that has started but has no approval yet is what a paused run waits on.
_WAITING = ("waiting", "waiting-approval", "running")


@dataclass(frozen=True)
class Evaluation:
    verdict: str  # pass | fail | incomplete
    reasons: list[str]
    details: dict[str, Any] = field(default_factory=dict)  # what reports print (rto, rpo, approvals, failures, …)

    def line(self, record: RunRecord) -> str:
        """The terminal's last line: the verdict against the plan's targets."""
        rto = record.rto_seconds
        target = record.targets.rto_seconds
        parts = [f"Verdict: {self.verdict.upper()}"]
        if record.operation in FAILOVER_OPERATIONS:
            rto_text = f"RTO {format_seconds(rto)}" + (f" (target {format_seconds(target)})" if target else " (no target)")
            if record.approval_wait_seconds:
                rto_text += f", of which {format_seconds(record.approval_wait_seconds)} waiting for approval"
            parts.append(rto_text)
            worst = self.details.get("rpo", {}).get("worst_seconds")
            rpo_target = record.targets.rpo_seconds
            if worst is not None:
                parts.append(f"worst RPO {format_seconds(worst)}"
                             + (f" (target {format_seconds(rpo_target)})" if rpo_target else " (no target)"))
        if self.verdict != "pass" and self.reasons:
            parts.append(self.reasons[0])
        return " — ".join(parts)


def evaluate(record: RunRecord) -> Evaluation:
    doc = record.model_dump(mode="json")
    details = _evaluate(doc, _times(doc))
    return Evaluation(details["verdict"], details["reasons"], details)


def _parse(value: str | None) -> datetime | None:
    if value is None:
        return None
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _times(doc: dict[str, Any]) -> dict[str, datetime | None]:
    """Every timestamp of the document, parsed, by key path (``groups[0].machines[1].started_at``)."""
    times: dict[str, datetime | None] = {k: _parse(doc.get(k)) for k in ("started_at", "finished_at")}
    for i, stage in enumerate(doc.get("stages") or []):
        for key in ("started_at", "finished_at"):
            times[f"stages[{i}].{key}"] = _parse(stage.get(key))
    for g, group in enumerate(doc.get("groups") or []):
        for key in ("started_at", "finished_at"):
            times[f"groups[{g}].{key}"] = _parse(group.get(key))
        for m, machine in enumerate(group.get("machines") or []):
            for key in ("started_at", "finished_at", "recovery_point_time"):
                times[f"groups[{g}].machines[{m}].{key}"] = _parse(machine.get(key))
        for a, action in enumerate(group.get("actions") or []):
            for key in ("started_at", "finished_at", "approved_at"):
                times[f"groups[{g}].actions[{a}].{key}"] = _parse(action.get(key))
    return times


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
                elif action.get("status") in _WAITING and status in ("running", "paused", "interrupted"):
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
    if status in ("running", "paused", "interrupted", "pending"):
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
        "rto": {
            "achieved_seconds": rto,
            "approval_wait_seconds": run.get("approval_wait_seconds") or 0.0,
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



"""The run dict: THE contract between the engine's journal and everything that shows a run
(``asrctl runs show --json``, ``asrctl report``, :func:`asrctl.reporting.render_report`).

Shape (timestamps are ISO-8601 UTC strings ending in ``Z``, or null; durations in seconds)::

    {
      "run_id": "erp-20261125T191500-a1b2",
      "plan": "erp", "stack": "dev",
      "operation": "test-failover",          # the run's main operation: test-failover | planned-failover |
                                             # unplanned-failover | commit | reprotect | failback
      "command": "drill",                    # the CLI command that started it
      "provider": "simulator" | "azure",
      "status": "running" | "paused" | "succeeded" | "failed" | "cancelled",
      "started_at": ..., "finished_at": ...,
      "rto_seconds": 1234.5 | null,          # main stage: first group started → last group finished
      "targets": {"rto_seconds": 1800 | null, "rpo_seconds": 900 | null},
      "plan_sha256": "...", "plan_path": "runbooks/plans/erp.yaml",
      "error": null | "one line",
      "skip_readiness": false,
      "readiness": [{"name", "status": "pass"|"warn"|"fail", "reason", "machine"}],
      "clock": "simulated" | "wall",         # simulated: timestamps are the simulator's (sped-up) time
      "api_calls": {"reads": 12, "writes": 6},
      "options": {"recovery_point": "latest", "cleanup": true, ...},
      "paused_step": null | {"group", "name", "phase", "resume": "asrctl runs resume ..."},
      "groups": [                            # the main stage's groups, in plan order
        {"name", "status", "started_at", "finished_at",
         "machines": [{"name", "status", "started_at", "finished_at", "recovery_point_time", "rpo_seconds",
                       "attempts", "error", "recovery_name", "recovery_ip", "job_id"}],
         "actions": [{"kind": "manual"|"script"|"runbook", "name", "phase": "before"|"after", "status",
                      "started_at", "finished_at", "approved_by", "comment", "approved_at", "error", "output"}]}
      ],
      "stages": [                            # every stage the run executed, e.g. drill: test-failover then
        {"operation", "direction", "status", "started_at", "finished_at", "groups": [... as above ...]}
      ]                                      # cleanup-test-failover; failback: reprotect, failback, reenable
    }

Statuses: machines ``pending|running|succeeded|failed|skipped|cancelled`` (skipped = already in the target state,
reconciled); actions ``pending|running|waiting-approval|succeeded|failed|skipped|cancelled``.
"""

from __future__ import annotations

from typing import Any

from asrctl.recovery.journal import Journal
from asrctl.recovery.provider import from_iso

MACHINE_KEYS = (
    "status", "started_at", "finished_at", "recovery_point_time", "rpo_seconds", "attempts", "error",
    "recovery_name", "recovery_ip", "job_id",
)
ACTION_KEYS = ("status", "started_at", "finished_at", "approved_by", "comment", "approved_at", "error", "output")


def _seconds_between(start: str | None, end: str | None) -> float | None:
    a, b = from_iso(start), from_iso(end)
    return None if a is None or b is None else round((b - a).total_seconds(), 3)


def build_run(run: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Assemble the run dict from the journal's run row and step rows."""
    options = run["options"]
    stage_ops: list[str] = options.get("stages", [run["operation"]])
    main_stage = options.get("main_stage", 0)
    stages: list[dict[str, Any]] = []
    for si, op in enumerate(stage_ops):
        stage_row = next((s for s in steps if s["kind"] == "stage" and s["stage"] == si), None)
        groups: list[dict[str, Any]] = []
        for g in (s for s in steps if s["kind"] == "group" and s["stage"] == si):
            members = [s for s in steps if s["stage"] == si and s["group_index"] == g["group_index"]]
            groups.append({
                "name": g["name"], "status": g["status"], "started_at": g["started_at"], "finished_at": g["finished_at"],
                "machines": [
                    {"name": m["name"], **{k: m[k] for k in MACHINE_KEYS}} for m in members if m["kind"] == "machine"
                ],
                "actions": [
                    {"kind": a["kind"], "name": a["name"], "phase": a["phase"], **{k: a[k] for k in ACTION_KEYS}}
                    for a in members if a["kind"] in ("manual", "script", "runbook")
                ],
            })
        stages.append({
            "operation": op,
            "direction": stage_row["phase"] if stage_row else None,
            "status": stage_row["status"] if stage_row else "pending",
            "started_at": stage_row["started_at"] if stage_row else None,
            "finished_at": stage_row["finished_at"] if stage_row else None,
            "groups": groups,
        })
    main = stages[main_stage] if main_stage < len(stages) else {"groups": [], "started_at": None, "finished_at": None}
    targets = run["targets"] or {}
    paused = None
    if run["status"] == "paused" and run["paused_step"]:
        step = next((s for s in steps if s["step_id"] == run["paused_step"]), None)
        if step:
            paused = {
                "group": step["group_name"], "name": step["name"], "phase": step["phase"], "kind": step["kind"],
                "resume": f"asrctl runs resume {run['run_id']} --approve --by NAME --comment TEXT",
            }
    return {
        "run_id": run["run_id"],
        "plan": run["plan"],
        "stack": run["stack"],
        "operation": run["operation"],
        "command": options.get("command", run["operation"]),
        "provider": run["provider"],
        "status": run["status"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "rto_seconds": _seconds_between(main["started_at"], main["finished_at"]),
        "targets": {"rto_seconds": targets.get("rto_seconds"), "rpo_seconds": targets.get("rpo_seconds")},
        "plan_sha256": run["plan_sha256"],
        "plan_path": run["plan_path"],
        "error": run["error"],
        "skip_readiness": run["skip_readiness"],
        "readiness": run["readiness"],
        "clock": run["clock"],
        "api_calls": {"reads": run["api_reads"], "writes": run["api_writes"]},
        "options": {k: v for k, v in options.items() if k not in ("stages", "main_stage")},
        "paused_step": paused,
        "groups": main["groups"],
        "stages": stages,
    }


def load_run(run_id: str, journal: Journal | None = None) -> dict[str, Any]:
    """The run dict of ``run_id``; BadInput (exit 2) for an unknown run."""
    own = journal is None
    journal = journal or Journal()
    try:
        return build_run(journal.get_run(run_id), journal.steps(run_id))
    finally:
        if own:
            journal.close()


def list_runs(journal: Journal | None = None) -> list[dict[str, Any]]:
    """Every run, oldest first, as run dicts."""
    own = journal is None
    journal = journal or Journal()
    try:
        return [build_run(run, journal.steps(run["run_id"])) for run in journal.list_runs()]
    finally:
        if own:
            journal.close()

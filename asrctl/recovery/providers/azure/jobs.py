"""ASR jobs: which job a 202 started, how to find a job again, and what a job's state means to the engine.

* **The job of a 202** (REFERENCE §5, CLIrec): ``Location: <resource>/operationresults/<job>`` — PowerShell takes the
  job name from the segment after ``operationresults/`` — and ``Azure-AsyncOperation:
  …/replicationOperationStatus/<job>``; both URLs carry more query parameters after ``api-version``, so the name is
  read from the path. Failing both, the operation-status body names it (``"name": "<job>"``).
* **Finding a job again** (reconciliation after a lost response or a crash): the job ASR runs on the item or plan
  now (``currentScenario.jobId``), else a **filtered** job list (``StartTime`` since the run started,
  ``AffectedObjectTypes`` of the target), matched on the ``activityId`` where ASR records the
  ``x-ms-client-request-id`` the request was sent with. Never an unfiltered list of every job of the vault.
* **Several jobs as one** (:class:`PlanSaves`): re-creating the recovery plans after a migration is one engine step
  but one PUT — and so one ASR ``SaveRecoveryPlan`` job — per plan; the engine tracks them under one id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asrctl.recovery.providers.protocol import JobStatus

OPERATION_RESULTS_RE = re.compile(r"/operationresults/([^/?#]+)", re.IGNORECASE)
OPERATION_STATUS_RE = re.compile(r"/replicationOperationStatus/([^/?#]+)", re.IGNORECASE)
JOB_NAME_RE = re.compile(r"/replicationJobs/([^/?#]+)", re.IGNORECASE)
ASR_JOB_STATES = ("NotStarted", "InProgress", "Succeeded", "Failed", "Cancelled", "Suspended")
# AffectedObjectTypes of a job's target (JobProperties.targetInstanceType): one protected item, or a recovery plan.
ITEM_TARGET, PLAN_TARGET = "ProtectionEntity", "RecoveryPlan"


PLAN_SAVES_PREFIX = "plan-saves:"


@dataclass(frozen=True)
class PlanSaves:
    """The ASR jobs of saving several recovery plans in one vault, known to the engine as one job id."""

    vault_id: str
    jobs: tuple[str, ...]  # ASR job names, one per plan

    @property
    def ref_id(self) -> str:
        return f"{PLAN_SAVES_PREFIX}{self.vault_id}:{','.join(self.jobs)}"

    @classmethod
    def parse(cls, job_id: str) -> PlanSaves | None:
        if not job_id.startswith(PLAN_SAVES_PREFIX):
            return None
        vault_id, _, names = job_id[len(PLAN_SAVES_PREFIX):].rpartition(":")  # ARM ids hold no ':'
        return cls(vault_id, tuple(n for n in names.split(",") if n))

    def status(self, job_id: str, statuses: list[JobStatus]) -> JobStatus:
        """One status for all: failed if one failed (its reasons), running while one runs, else succeeded."""
        failed = [s for s in statuses if s.state in ("Failed", "Cancelled")]
        running = [s for s in statuses if not s.done]
        state = "Failed" if failed else ("InProgress" if running else "Succeeded")
        starts = [s.started_at for s in statuses if s.started_at is not None]
        ends = [s.finished_at for s in statuses if s.finished_at is not None]
        return JobStatus(id=job_id, state=state, error="; ".join(s.error or s.state for s in failed) or None,
                         started_at=min(starts, default=None),
                         finished_at=max(ends, default=None) if state != "InProgress" else None)


def job_name_from_headers(headers: Any) -> str | None:
    for header, pattern in (("Location", OPERATION_RESULTS_RE), ("Azure-AsyncOperation", OPERATION_STATUS_RE)):
        found = pattern.search(headers.get(header) or "")
        if found:
            return found.group(1)
    return None


def job_name(job_id: str) -> str | None:
    found = JOB_NAME_RE.search(job_id or "")
    return found.group(1) if found else None


def job_filter(since: datetime, target_type: str) -> str:
    """The OData filter PowerShell builds from a JobQueryParameter (StartTime, AffectedObjectTypes)."""
    start = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"StartTime eq '{start}' and AffectedObjectTypes eq '{target_type}'"


def carries_request(job: Any, client_request_id: str) -> bool:
    """ASR puts the caller's x-ms-client-request-id into the job's activityId (REST ReplicationJobs_Get.json)."""
    props = job.properties if job is not None else None
    return props is not None and client_request_id.lower() in (props.activity_id or "").lower()


def job_status(job_id: str, job: Any, item_machines: dict[str, str]) -> JobStatus:
    """The engine's view of an ASR job. ``item_machines``: protected item name / friendly name (lower) → machine, to
    name the recovery point each machine came up from (FailoverJobDetails.protectedItemDetails)."""
    p = job.properties
    state = p.state if p.state in ASR_JOB_STATES else "InProgress"
    error = None
    if state == "Failed":
        messages = []
        for e in p.errors or []:
            service = e.service_error_details or e.provider_error_details
            messages.append(getattr(service, "message", None) or getattr(service, "error_message", None)
                            or e.error_level or "error")  # fmt: skip
        error = "; ".join(str(x) for x in messages) or p.state_description or "the ASR job failed"
    points: dict[str, datetime] = {}
    for detail in getattr(p.custom_details, "protected_item_details", None) or []:
        if detail.recovery_point_time is None:
            continue
        machine = item_machines.get((detail.name or "").lower()) or item_machines.get(
            (detail.friendly_name or "").lower())
        if machine is not None:
            points[machine] = detail.recovery_point_time
    output = p.state_description
    if state == "Suspended":
        waiting = [t for t in p.tasks or [] if t.state == "InProgress" and "Manual" in (t.task_type or "")]
        if waiting:
            instructions = getattr(waiting[0].custom_details, "instructions", None)
            output = f"{p.state_description or 'WaitingForManualAction'}: {waiting[0].friendly_name}" + (
                f" ({instructions})" if instructions else "")
    return JobStatus(id=job_id, state=state, error=error, recovery_point_times=points, started_at=p.start_time,
                     finished_at=p.end_time, output=output)

"""Azure Automation runbook jobs for plan ``runbook:`` actions (the account the Pulumi program creates).

The job name is chosen by the client: it is derived from the engine's request id, so a re-send cannot start a second
job (ARM answers 409 for an existing name) and finding it after a lost response is one GET.
"""

from __future__ import annotations

import json
from typing import Any

from asrctl.recovery.providers.azure.asr import StackAzureIds, client_request_id, recovery_plan_context
from asrctl.recovery.providers.azure.transport import Transport
from asrctl.recovery.providers.protocol import JobRef, JobStatus, OperationRejected

AUTOMATION_JOB_STATES = {
    "New": "NotStarted",
    "Activating": "InProgress",
    "Running": "InProgress",
    "Resuming": "InProgress",
    "Completed": "Succeeded",
    "Failed": "Failed",
    "Stopped": "Cancelled",
    "Stopping": "InProgress",
    "Suspended": "Suspended",
    "Suspending": "InProgress",
    "Blocked": "InProgress",
    "Disconnected": "InProgress",
}


def is_runbook_job(job: JobRef) -> bool:
    return "/microsoft.automation/" in job.id.lower()


class Runbooks:
    def __init__(self, transport: Transport, ids: StackAzureIds) -> None:
        self.transport = transport
        self.ids = ids

    def job_id(self, name: str) -> str:
        return (
            f"/subscriptions/{self.ids.subscription_id}/resourceGroups/{self.ids.resource_group}/providers/"
            f"Microsoft.Automation/automationAccounts/{self.ids.automation_account}/jobs/{name}"
        )

    def start(self, name: str, parameters: dict[str, str], context: dict[str, Any], request_id: str) -> JobRef:
        from azure.core.exceptions import ResourceExistsError
        from azure.mgmt.automation import models as am

        automation = self.transport.automation()
        job_name = client_request_id(request_id)
        payload = dict(parameters)
        payload["RecoveryPlanContext"] = json.dumps(recovery_plan_context(context, self.ids))
        create = am.JobCreateParameters(runbook=am.RunbookAssociationProperty(name=name), parameters=payload)
        try:
            self.transport.write(
                f"runbook:{name}",
                lambda: automation.job.create(
                    self.ids.resource_group, self.ids.automation_account, job_name, create,
                    client_request_id=job_name, retry_total=0,
                    headers={"x-ms-client-request-id": job_name},
                ),
            )
        except OperationRejected as exc:
            if not isinstance(exc.__context__, ResourceExistsError) and "409" not in str(exc):
                raise
        return JobRef(id=self.job_id(job_name), operation=f"runbook:{name}")

    def find(self, runbook: str, request_id: str) -> JobRef | None:
        automation = self.transport.automation()
        rid = client_request_id(request_id)
        found = self.transport.read(
            "get_runbook_job",
            lambda: automation.job.get(self.ids.resource_group, self.ids.automation_account, rid),
            missing_ok=True,
        )
        if found is None:
            return None
        return JobRef(id=found.id or self.job_id(rid), operation=f"runbook:{runbook}")

    def get(self, job: JobRef) -> JobStatus:
        automation = self.transport.automation()
        name = job.id.rstrip("/").split("/")[-1]
        found = self.transport.read(
            "get_runbook_job", lambda: automation.job.get(self.ids.resource_group, self.ids.automation_account, name)
        )
        p = found.properties
        status = getattr(p, "status", None) or "New"
        state = AUTOMATION_JOB_STATES.get(status, "InProgress")
        return JobStatus(
            id=job.id,
            state=state,
            error=(getattr(p, "exception", None) or f"runbook job {status}") if state == "Failed" else None,
            started_at=getattr(p, "start_time", None),
            finished_at=getattr(p, "end_time", None),
            output=getattr(p, "status_details", None),
        )

    def cancel(self, job: JobRef) -> None:
        automation = self.transport.automation()
        name = job.id.rstrip("/").split("/")[-1]
        self.transport.write(
            "stop_runbook_job",
            lambda: automation.job.stop(self.ids.resource_group, self.ids.automation_account, name, retry_total=0),
        )

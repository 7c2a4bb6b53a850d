"""The real provider: Azure Site Recovery through azure-mgmt-recoveryservicessiterecovery 2.x, and Azure
Automation for runbook actions. Wire rules in :mod:`.transport`; request bodies and state mapping in :mod:`.asr`;
runbook jobs in :mod:`.automation`.

* Every side effect carries ``x-ms-client-request-id`` = a GUID derived from the engine's stable request id. ASR
  records it in the job's activity id, which is how :meth:`AzureProvider.find_job` reconciles after an ambiguous
  failure instead of re-sending.
* Long-running POSTs answer 202; the provider returns at once with the ASR job's id and the azure-core continuation
  token (reported through ``on_job_started`` before returning), so the engine polls ``get_job`` on its own schedule.
* Resources the vault discovers once (machine → fabric/container/item) are exported as provider state, journaled
  with the run, and handed back on resume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from asrctl.config import StackConfig
from asrctl.recovery.clock import Clock, WallClock
from asrctl.recovery.providers.azure.asr import (
    POINT_KIND,
    StackAzureIds,
    asr_names,
    client_request_id,
    machine_state,
    operation_of_scenario,
    operation_request,
    pick_recovery_point,
    stack_azure_ids,
)
from asrctl.recovery.providers.azure.automation import Runbooks, is_runbook_job
from asrctl.recovery.providers.azure.transport import Transport, safe_continuation_token, send_only_polling
from asrctl.recovery.providers.protocol import (
    AmbiguousResult,
    Capabilities,
    EnvironmentStatus,
    JobRef,
    JobStartedCallback,
    JobStatus,
    MachineStatus,
    OperationRejected,
    OperationRequest,
    ProviderError,
)

NETWORK_API_VERSION = "2023-09-01"
JOB_NAME_RE = re.compile(r"/replicationJobs/([^/?]+)", re.IGNORECASE)
ASR_JOB_STATES = {"NotStarted", "InProgress", "Succeeded", "Failed", "Cancelled", "Suspended"}
SDK_METHODS = {
    "testFailover": "begin_test_failover",
    "testFailoverCleanup": "begin_test_failover_cleanup",
    "unplannedFailover": "begin_unplanned_failover",
    "plannedFailover": "begin_planned_failover",
    "failoverCommit": "begin_failover_commit",
    "failoverCancel": "begin_failover_cancel",
    "reProtect": "begin_reprotect",
}


@dataclass(frozen=True)
class ItemRef:
    """Where a machine's replicated protected item lives in the vault (discovered once, journaled with a run)."""

    machine: str
    fabric: str
    container: str
    item: str
    id: str
    friendly_name: str

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


class AzureProvider:
    """The RecoveryProvider protocol against Azure Site Recovery."""

    name = "azure"
    # Seconds between the engine's job polls: ASR jobs take minutes, and reads share ARM's per-principal bucket.
    capabilities = Capabilities(poll_interval=30.0, jobs_can_suspend=True, group_jobs=False)

    def __init__(
        self,
        stack_cfg: StackConfig,
        stack_name: str,
        *,
        state: dict[str, Any] | None = None,
        on_job_started: JobStartedCallback | None = None,
        endpoint: str | None = None,
        credential: Any = None,
        connection_verify: bool | str = True,
        clock: Clock | None = None,
        caller: str = "--provider azure",
    ) -> None:
        self.cfg = stack_cfg
        self.stack_name = stack_name
        self.clock: Clock = clock or WallClock()
        self.ids: StackAzureIds = stack_azure_ids(stack_cfg)
        self.transport = Transport(stack_cfg.subscription_id, endpoint=endpoint, credential=credential,
                                   connection_verify=connection_verify, caller=caller)
        self.runbooks = Runbooks(self.transport, self.ids)
        self.on_job_started = on_job_started
        item_map = (state or {}).get("item_map")
        self._items: dict[str, ItemRef] | None = (
            {k: ItemRef(**v) for k, v in item_map.items()} if item_map is not None else None
        )

    @property
    def api_calls(self) -> dict[str, int]:
        return {**self.transport.calls, "reads": self.transport.http_requests["reads"],
                "writes": self.transport.http_requests["writes"]}

    def identity(self) -> str:
        return f"azure:{self.ids.vault_id.lower()}"

    def export_state(self) -> dict[str, Any]:
        return {"item_map": {k: v.to_dict() for k, v in self._discover().items()}}

    def close(self) -> None:
        self.transport.close()

    def service_endpoint(self, machine: str) -> str | None:
        return None  # recovered VMs are reached at their own IPs

    # -- for other read-only callers (asrctl discover): the same connection ----------------------------------------
    def site_recovery_client(self) -> Any:
        return self.transport.site_recovery()

    def read(self, method: str, fn: Any, *, missing_ok: bool = False) -> Any:
        return self.transport.read(method, fn, missing_ok=missing_ok, where=f"vault {self.ids.vault}")

    @staticmethod
    def _once(request_id: str) -> dict[str, Any]:
        return {"retry_total": 0, "headers": {"x-ms-client-request-id": client_request_id(request_id)}}

    # -- discovery -----------------------------------------------------------------------------------------------
    def _list_items(self) -> list[Any]:
        client = self.site_recovery_client()
        return self.read(
            "list_protected_items",
            lambda: list(client.replication_protected_items.list(self.ids.resource_group, self.ids.vault)),
        )

    def _match(self, items: list[Any]) -> dict[str, tuple[ItemRef, Any]]:
        """machine → (ItemRef, item). Items discovered earlier in the run (or journaled by it) are matched by their
        ARM id, so a VM renamed in vCenter mid-run is still the same item; the rest by friendly name."""
        found: dict[str, tuple[ItemRef, Any]] = {}
        known = {ref.id.lower(): ref for ref in (self._items or {}).values()}
        for item in items:
            ref = known.get((item.id or "").lower())
            if ref is not None:
                found[ref.machine] = (ref, item)
        by_name: dict[str, str] = {}
        for machine in self.cfg.machines:
            by_name[machine.name.lower()] = machine.name
            by_name.setdefault(machine.vm_name.lower(), machine.name)
        for item in items:
            friendly = (item.properties.friendly_name if item.properties else None) or ""
            machine = by_name.get(friendly.lower())
            parts = (item.id or "").split("/")
            if (machine is None or machine in found or (item.id or "").lower() in known
                    or "replicationFabrics" not in parts):
                continue
            fabric = parts[parts.index("replicationFabrics") + 1]
            container = parts[parts.index("replicationProtectionContainers") + 1]
            ref = ItemRef(machine, fabric, container, item.name or parts[-1], item.id, friendly)
            found[machine] = (ref, item)
        return found

    def _discover(self) -> dict[str, ItemRef]:
        if self._items is None:
            self._items = {k: ref for k, (ref, _) in self._match(self._list_items()).items()}
        return self._items

    def _ref(self, machine: str) -> ItemRef:
        ref = self._discover().get(machine)
        if ref is None:
            raise OperationRejected(
                f"{machine} is not a replicated item in vault {self.ids.vault} (matched by friendly name against "
                "the machine name and vmName); enable replication for it first"
            )
        return ref

    def _recovery_points(self, ref: ItemRef) -> list[Any]:
        client = self.site_recovery_client()
        return self.read(
            "list_recovery_points",
            lambda: list(client.recovery_points.list_by_replication_protected_items(
                self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item)),
        )

    # -- reads ---------------------------------------------------------------------------------------------------
    def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        matched = self._match(self._list_items())
        if self._items is None:
            self._items = {k: ref for k, (ref, _) in matched.items()}
        result: dict[str, MachineStatus] = {}
        for name in names:
            if name not in matched:
                continue
            ref, item = matched[name]
            props = item.properties
            details = props.provider_specific_details
            instance = getattr(details, "instance_type", None) or "InMageAzureV2"
            architecture = "modernized" if instance.startswith("InMageRcm") else "classic"
            state = machine_state(props)
            points: dict[str, Any] = {}
            if state in ("protected", "reprotected"):
                for point in self._recovery_points(ref):
                    p = point.properties
                    if p is None or p.recovery_point_time is None:
                        continue
                    app = (p.recovery_point_type or "") == POINT_KIND["latest-app-consistent"]
                    key = "app-consistent" if app else "crash-consistent"
                    if key not in points or p.recovery_point_time > points[key]:
                        points[key] = p.recovery_point_time
            health = props.replication_health if props.replication_health in ("Normal", "Warning", "Critical") \
                else "Warning"
            scenario = props.current_scenario
            current = None
            if scenario is not None and scenario.job_id and (scenario.scenario_name or "None") != "None":
                current = JobRef(id=self._canonical_job_id(scenario.job_id),
                                 operation=operation_of_scenario(scenario.scenario_name, architecture),
                                 machines=(name,))
            result[name] = MachineStatus(
                name=name, state=state, protection_state=props.protection_state or "Unknown",
                replication_health=health, rpo_seconds=getattr(details, "rpo_in_seconds", None),
                last_heartbeat=getattr(details, "last_heartbeat", None), recovery_points=points,
                allowed_operations=tuple(props.allowed_operations or ()), current_job=current,
                architecture=architecture,
            )
        return result

    def describe_environment(self) -> EnvironmentStatus:
        from azure.core.rest import HttpRequest

        client = self.site_recovery_client()
        details: dict[str, Any] = {"test_network_id": self.ids.test_network_id}

        def get_vnet() -> bool:
            request = HttpRequest("GET", f"{self.transport.endpoint}{self.ids.test_network_id}",
                                  params={"api-version": NETWORK_API_VERSION})
            response = client.send_request(request)
            if response.status_code == 404:
                return False
            response.raise_for_status()
            return True

        test_network = self.read("get_virtual_network", get_vnet)
        failback = False
        problems: list[str] = []
        reg = self.cfg.registration
        fabric_name = getattr(reg, "fabric_name", None)
        failback_ps = getattr(reg, "failback_process_server_id", None)
        if reg is not None and failback_ps:
            fabric = self.read(
                "get_fabric",
                lambda: client.replication_fabrics.get(self.ids.resource_group, self.ids.vault, fabric_name),
                missing_ok=True,
            )
            custom = fabric.properties.custom_details if fabric is not None and fabric.properties else None
            servers = {(p.id or "").lower() for p in (getattr(custom, "process_servers", None) or [])}
            targets = {(t.id or "").lower() for t in (getattr(custom, "master_target_servers", None) or [])}
            details["failback_process_server_registered"] = failback_ps.lower() in servers
            details["master_target_registered"] = reg.master_target_id.lower() in targets  # type: ignore[union-attr]
            failback = details["failback_process_server_registered"] and details["master_target_registered"]
            if not details["failback_process_server_registered"]:
                problems.append("the failback process server is not registered with the configuration server")
            if not details["master_target_registered"]:
                problems.append("the master target is not registered")
        else:
            problems.append("the failback process server is not registered: set vmware-azure-dr:registration."
                            "failbackProcessServerId once it has registered with the configuration server")
        return EnvironmentStatus(test_network_present=test_network, failback_ready=failback,
                                 problems=tuple(problems), details=details)

    def get_job(self, job: JobRef) -> JobStatus:
        if is_runbook_job(job):
            return self.runbooks.get(job)
        match = JOB_NAME_RE.search(job.id)
        if match is None:
            raise ProviderError(f"{job.id!r} is not an ASR job id")
        client = self.site_recovery_client()
        asr_job = self.read(
            "get_job", lambda: client.replication_jobs.get(self.ids.resource_group, self.ids.vault, match.group(1))
        )
        p = asr_job.properties
        state = p.state if p.state in ASR_JOB_STATES else "InProgress"
        error = None
        if state == "Failed":
            messages = []
            for e in p.errors or []:
                service = getattr(e, "service_error_details", None) or getattr(e, "provider_error_details", None)
                messages.append(getattr(service, "message", None) or getattr(e, "error_level", None) or "error")
            error = "; ".join(str(x) for x in messages) or p.state_description or "the ASR job failed"
        # Failover and test failover jobs name the recovery point each VM came up from: the achieved RPO.
        recovered = getattr(p.custom_details, "protected_item_details", None) or []
        point_times = [d.recovery_point_time for d in recovered if d.recovery_point_time is not None]
        points = {m: min(point_times) for m in job.machines} if point_times else {}
        return JobStatus(id=job.id, state=state, error=error, recovery_point_times=points, started_at=p.start_time,
                         finished_at=p.end_time, output=p.state_description)

    def find_runbook_job(self, runbook: str, request_id: str) -> JobRef | None:
        return self.runbooks.find(runbook, request_id)

    def find_job(self, request: OperationRequest) -> JobRef | None:
        machine = request.machines[0]
        client = self.site_recovery_client()
        job = self._job_with_request_id(request.request_id)
        if job is not None:
            return JobRef(id=self._canonical_job_id(job.id or ""), operation=request.operation,
                          machines=request.machines)
        # Fallback: the item's current job, if it is this kind of operation (ASR runs one at a time per item).
        ref = self._ref(machine)
        item = self.read(
            "get_protected_item",
            lambda: client.replication_protected_items.get(self.ids.resource_group, self.ids.vault, ref.fabric,
                                                           ref.container, ref.item),
        )
        scenario = item.properties.current_scenario if item.properties else None
        if scenario is not None and scenario.job_id and scenario.scenario_name in asr_names(request.operation).scenarios:
            return JobRef(id=self._canonical_job_id(scenario.job_id), operation=request.operation,
                          machines=request.machines)
        return None

    def _job_with_request_id(self, request_id: str) -> Any:
        """The vault's job whose activity id carries this request's x-ms-client-request-id (ASR records it there)."""
        rid = client_request_id(request_id)
        client = self.site_recovery_client()
        jobs = self.read("list_jobs", lambda: list(client.replication_jobs.list(self.ids.resource_group,
                                                                                  self.ids.vault)))
        return next((j for j in jobs if j.properties is not None and rid in (j.properties.activity_id or "")), None)

    # -- side effects --------------------------------------------------------------------------------------------
    def start_operation(self, request: OperationRequest) -> JobRef:
        if request.recovery_plan is not None or len(request.machines) != 1:
            raise OperationRejected(f"{request.operation} of {', '.join(request.machines)}: recovery-plan jobs for "
                                    "multi-VM groups are not implemented by the Azure provider yet")
        machine, operation = request.machines[0], request.operation
        ref = self._ref(machine)
        point_id = None
        if operation in ("test-failover", "planned-failover", "unplanned-failover") and \
                request.recovery_point != "latest":
            point_id = pick_recovery_point(self._recovery_points(ref), request.recovery_point)
        from asrctl.recovery.operations import OPERATIONS

        action, body = operation_request(
            operation, self.cfg, self.ids, direction=OPERATIONS[operation].direction,
            recovery_point_type=request.recovery_point, recovery_point_id=point_id,
            comment=f"asrctl {operation} request {client_request_id(request.request_id)}",
        )
        client = self.site_recovery_client()
        begin = getattr(client.replication_protected_items, SDK_METHODS[action])
        args = [self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item]
        if body is not None:
            args.append(body)
        polling = send_only_polling()
        poller = self.transport.write(operation, lambda: begin(*args, polling=polling,
                                                               **self._once(request.request_id)))
        token = safe_continuation_token(poller)
        job_id = self._job_id_from(polling.initial_response)
        if job_id is None:
            found = self.find_job(request)
            if found is None:
                raise AmbiguousResult(f"{operation} on {machine}: accepted, but ASR named no job; reconcile")
            job_id = found.id
        job = JobRef(id=job_id, operation=operation, machines=(machine,), token=token)
        if self.on_job_started is not None:
            self.on_job_started(request.request_id, job)
        return job

    def _canonical_job_id(self, raw: str) -> str:
        """One spelling per job (ASR's own ids vary in case, e.g. /Subscriptions/), so ids compare equal."""
        match = JOB_NAME_RE.search(raw)
        return f"{self.ids.vault_id}/replicationJobs/{match.group(1)}" if match else raw

    def _job_id_from(self, pipeline_response: Any) -> str | None:
        if pipeline_response is None:
            return None
        headers = pipeline_response.http_response.headers
        for header in ("Azure-AsyncOperation", "Location"):
            if JOB_NAME_RE.search(headers.get(header) or ""):
                return self._canonical_job_id(headers[header])
        return None

    def resume_job(self, job: JobRef, comment: str, request_id: str) -> None:
        """Resume an ASR job Suspended on a manual action (WaitingForManualAction)."""
        from azure.mgmt.recoveryservicessiterecovery import models as m

        match = JOB_NAME_RE.search(job.id)
        if match is None:
            raise ProviderError(f"{job.id!r} is not an ASR job id")
        client = self.site_recovery_client()
        params = m.ResumeJobParams(properties=m.ResumeJobParamsProperties(comments=comment))
        self.transport.write(
            "resume_job",
            lambda: client.replication_jobs.begin_resume(
                self.ids.resource_group, self.ids.vault, match.group(1), params, polling=send_only_polling(),
                **self._once(request_id),
            ),
        )

    def cancel_job(self, job: JobRef) -> None:
        if is_runbook_job(job):
            self.runbooks.cancel(job)
            return
        match = JOB_NAME_RE.search(job.id)
        if match is None:
            return
        client = self.site_recovery_client()
        self.transport.write(
            "cancel_job",
            lambda: client.replication_jobs.begin_cancel(
                self.ids.resource_group, self.ids.vault, match.group(1), polling=send_only_polling(), retry_total=0
            ),
        )

    def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any], request_id: str) -> JobRef:
        job = self.runbooks.start(name, parameters, context, request_id)
        if self.on_job_started is not None:
            self.on_job_started(request_id, job)
        return job

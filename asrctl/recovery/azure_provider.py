"""The real provider: Azure Site Recovery (classic VMware → Azure) through azure-mgmt-recoveryservicessiterecovery 2.x,
and Azure Automation for runbook actions.

Wire behaviour (the reasons are in REFERENCE.md §3):

* **No SDK retries at all** (``RetryPolicy(retry_total=0)``): azure-core retries POST on 500/503/504, which could
  fail a machine over twice. Reads are retried here instead, honouring ``Retry-After`` on 429 and backing off on
  5xx/connection errors, on the provider's clock; side-effecting calls are sent exactly once.
* Every side effect carries ``x-ms-client-request-id`` = a GUID derived from the engine's stable request id. ASR
  records it in the job's activity id, which is how :meth:`AzureProvider.find_job` reconciles after an ambiguous
  failure (5xx or a lost response after the request was sent) instead of re-sending.
* Long-running POSTs answer 202 with ``Location``/``Azure-AsyncOperation``; the provider returns at once with a
  :class:`AzureJobRef` naming the ASR job (its ARM id) and the azure-core continuation token, so the engine polls
  ``get_job`` on its own schedule and a resumed run keeps polling the same job. A job ``Suspended`` with
  ``WaitingForManualAction`` is reported as state ``Suspended`` (the engine pauses); :meth:`resume_job` resumes it.
* A 401 with an ``invalid_token`` challenge (a token that expired or was revoked server-side) fetches a fresh
  token and re-sends once: ARM rejected the request before the resource provider saw it, so this is safe.

Configuration: subscription from the stack; resource group, vault, test VNet, policies and cache account named as
the Pulumi program names them (:func:`azure_inputs.stack_azure_ids`). ``ASRCTL_ARM_ENDPOINT`` overrides the
management endpoint (https only); ``ASRCTL_ARM_TOKEN`` is a static bearer token used instead of
``DefaultAzureCredential``. Tokens are never logged, journaled or put into errors.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.recovery.azure_inputs import (
    ACTIONS,
    POINT_KIND,
    StackAzureIds,
    client_request_id,
    machine_state,
    operation_request,
    pick_recovery_point,
    recovery_plan_context,
    stack_azure_ids,
)
from asrctl.recovery.provider import (
    AmbiguousResult,
    EnvironmentStatus,
    JobRef,
    JobStatus,
    MachineStatus,
    NotReady,
    OperationRejected,
    ProviderError,
    Throttled,
    TransientError,
    WallClock,
)

DEFAULT_ENDPOINT = "https://management.azure.com"
# Token audience per known ARM endpoint; anything else (a proxy, a test server) keeps the public cloud's audience.
ARM_SCOPES = {
    "management.azure.com": "https://management.azure.com/.default",
    "management.usgovcloudapi.net": "https://management.usgovcloudapi.net/.default",
    "management.chinacloudapi.cn": "https://management.chinacloudapi.cn/.default",
}
NETWORK_API_VERSION = "2023-09-01"
CREDENTIAL_SOURCES = (
    "ASRCTL_ARM_TOKEN, environment variables (AZURE_TENANT_ID/AZURE_CLIENT_ID with a secret or certificate), "
    "workload identity, managed identity, Azure CLI (az login), Azure PowerShell, Azure Developer CLI"
)
JOB_NAME_RE = re.compile(r"/replicationJobs/([^/?]+)", re.IGNORECASE)
ASR_JOB_STATES = {"NotStarted", "InProgress", "Succeeded", "Failed", "Cancelled", "Suspended"}
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
SDK_METHODS = {
    "testFailover": "begin_test_failover",
    "testFailoverCleanup": "begin_test_failover_cleanup",
    "unplannedFailover": "begin_unplanned_failover",
    "failoverCommit": "begin_failover_commit",
    "reProtect": "begin_reprotect",
}


@dataclass(frozen=True)
class AzureJobRef(JobRef):
    """A JobRef whose ``id`` is the ASR (or Automation) job's ARM id, plus the azure-core continuation token.

    The id alone lets a resumed run poll the same job; the token is kept for anyone who wants the SDK poller back.
    """

    continuation_token: str | None = None


@dataclass(frozen=True)
class ItemRef:
    """Where a machine's replicated protected item lives in the vault (discovered once, cacheable in a journal)."""

    machine: str
    fabric: str
    container: str
    item: str
    id: str
    friendly_name: str

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


class StaticTokenCredential:
    """``ASRCTL_ARM_TOKEN``: one bearer token for air-gapped tests and pipelines that mint their own."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        # The real expiry is unknown; an hour keeps azure-core from asking again. A 401 ends the run clearly.
        return AccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"


def _auth_policy(credential: Any, scope: str) -> Any:
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

    class RefreshOnInvalidToken(ARMChallengeAuthenticationPolicy):
        """Also answer ARM's ``error="invalid_token"`` challenge (expired/revoked token) with one fresh token."""

        def on_challenge(self, request: Any, response: Any) -> bool:
            if super().on_challenge(request, response):
                return True
            challenge = response.http_response.headers.get("WWW-Authenticate", "")
            if 'error="invalid_token"' in challenge and not request.context.get("asrctl_reauthorized"):
                request.context["asrctl_reauthorized"] = True
                self.authorize_request(request, *self._scopes)
                return True
            return False

    return RefreshOnInvalidToken(credential, scope)


def _send_only_polling() -> Any:
    """A polling method that keeps the 202 response and its continuation token but never polls: the engine polls
    the ASR job itself (and no background thread outlives a crash)."""
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    class SendOnly(ARMPolling):
        initial_response: Any = None

        def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
            self.initial_response = initial_response
            try:
                super().initialize(client, initial_response, deserialization_callback)
            except Exception:  # noqa: BLE001 - a 202 without polling headers still started a job; no token then
                self._initial_response = initial_response

        def finished(self) -> bool:
            return True

    return SendOnly(0)


def _safe_continuation_token(poller: Any) -> str | None:
    """The poller's continuation token, if it carries no credential (it is journaled).

    azure-core >= 1.41 builds it from the request URL and filtered headers; older releases pickled the whole request,
    Authorization header included. A token that decodes to anything mentioning Authorization is dropped: the job id
    alone is enough to keep polling.
    """
    import base64
    import binascii

    try:
        token = poller.continuation_token()
    except Exception:  # noqa: BLE001 - no polling headers: the job id still identifies the job
        return None
    try:
        decoded = base64.b64decode(token, validate=False)
    except (binascii.Error, ValueError):
        decoded = token.encode()
    if b"authorization" in decoded.lower() or b"bearer " in decoded.lower():
        return None
    return token


def _error_text(exc: Exception) -> str:
    """One line from an azure-core error: ARM's error code and message, never headers or tokens."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or getattr(exc, "reason", None) or type(exc).__name__
    status = getattr(exc, "status_code", None)
    text = " ".join(str(p) for p in (status, code, message) if p)
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _retry_after(exc: Exception, default: float) -> float:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


class AzureProvider:
    """The RecoveryProvider protocol against Azure Site Recovery. See the module docstring for wire behaviour."""

    name = "azure"
    # Seconds between the engine's job polls: ASR jobs take minutes, and reads share ARM's per-principal bucket.
    poll_interval = 30.0
    jobs_can_suspend = True  # ASR jobs stop in Suspended/WaitingForManualAction; the engine turns that into a pause

    def __init__(
        self,
        stack_cfg: StackConfig,
        stack_name: str,
        *,
        endpoint: str | None = None,
        credential: Any = None,
        connection_verify: bool | str = True,
        clock: Any = None,
        item_map: dict[str, dict[str, str]] | None = None,
        max_read_attempts: int = 5,
        caller: str = "--provider azure",
    ) -> None:
        self.cfg = stack_cfg
        self.caller = caller  # who needs Azure, for the credential error (e.g. "asrctl discover")
        self.stack_name = stack_name
        self.clock = clock or WallClock()
        self.api_calls: dict[str, int] = {"reads": 0, "writes": 0}
        self.ids: StackAzureIds = stack_azure_ids(stack_cfg)
        self.endpoint = (endpoint or os.environ.get("ASRCTL_ARM_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        if not self.endpoint.lower().startswith("https://"):
            raise BadInput(
                f"ASRCTL_ARM_ENDPOINT {self.endpoint!r} must be an https:// URL: bearer tokens are never sent over "
                "plain http"
            )
        host = self.endpoint.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0].lower()
        self.scope = ARM_SCOPES.get(host, ARM_SCOPES["management.azure.com"])
        self._credential = credential
        self._connection_verify = connection_verify
        self.max_read_attempts = max_read_attempts
        self._site_recovery: Any = None
        self._automation: Any = None
        # Set by the runner: called with (request_id, job) once a side effect has started a job, so the run's
        # journal keeps the job and its LRO continuation token next to the step that started it.
        self.on_job_started: Any = None
        self._items: dict[str, ItemRef] | None = (
            {k: ItemRef(**v) for k, v in item_map.items()} if item_map is not None else None
        )

    # -- connection ----------------------------------------------------------------------------------------------
    def _credential_or_default(self) -> Any:
        if self._credential is not None:
            return self._credential
        token = os.environ.get("ASRCTL_ARM_TOKEN")
        if token is not None:
            if not token.strip():
                raise BadInput("ASRCTL_ARM_TOKEN is set but empty; unset it to use DefaultAzureCredential")
            return StaticTokenCredential(token.strip())
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def _connect(self) -> Any:
        if self._site_recovery is not None:
            return self._site_recovery
        from azure.core.exceptions import ClientAuthenticationError
        from azure.core.pipeline.policies import RetryPolicy
        from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

        credential = self._credential_or_default()
        # azure-identity logs a multi-line WARNING per failed credential; our one-line error below says it all.
        identity_logger = logging.getLogger("azure.identity")
        level = identity_logger.level
        identity_logger.setLevel(logging.ERROR)
        try:
            credential.get_token(self.scope)  # fail here, once, with a message that says what was tried
        except ClientAuthenticationError as exc:  # CredentialUnavailableError is a subclass
            raise BadInput(
                f"{self.caller}: no usable Azure credential (tried {CREDENTIAL_SOURCES}); sign in with "
                f"`az login` or set ASRCTL_ARM_TOKEN ({type(exc).__name__})"
            ) from None
        finally:
            identity_logger.setLevel(level)
        common = {
            "base_url": self.endpoint,
            "credential_scopes": [self.scope],
            "authentication_policy": _auth_policy(credential, self.scope),
            "retry_policy": RetryPolicy(retry_total=0),
            "connection_verify": self._connection_verify,
            "connection_timeout": 30,
            "read_timeout": 120,
        }
        self._site_recovery = SiteRecoveryManagementClient(credential, self.cfg.subscription_id, **common)
        self._automation_args = (credential, common)
        return self._site_recovery

    def _automation_client(self) -> Any:
        if self._automation is None:
            from azure.mgmt.automation import AutomationClient

            self._connect()
            credential, common = self._automation_args
            self._automation = AutomationClient(credential, self.cfg.subscription_id, **common)
        return self._automation

    def close(self) -> None:
        for client in (self._site_recovery, self._automation):
            if client is not None:
                client.close()
        self._site_recovery = self._automation = None

    def service_endpoint(self, machine: str) -> str | None:
        return None  # recovered VMs are reached at their own IPs

    # -- call wrappers -------------------------------------------------------------------------------------------
    def _count(self, kind: str, method: str) -> None:
        self.api_calls[kind] = self.api_calls.get(kind, 0) + 1
        self.api_calls[method] = self.api_calls.get(method, 0) + 1

    def _read(self, method: str, fn: Any, *, missing_ok: bool = False) -> Any:
        """A read, retried: 429 after Retry-After, 5xx and connection errors with exponential backoff, one 401
        (the auth policy already dropped the rejected token). Exhausted → Throttled / TransientError."""
        from azure.core.exceptions import (
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        delay = 1.0
        last: Exception | None = None
        for attempt in range(self.max_read_attempts):
            self._count("reads", method)
            try:
                return fn()
            except ResourceNotFoundError as exc:
                if missing_ok:
                    return None
                raise ProviderError(f"{method}: not found in vault {self.ids.vault}: {_error_text(exc)}") from None
            except HttpResponseError as exc:
                last = exc
                status = exc.status_code or 0
                if status == 429:
                    wait = _retry_after(exc, delay)
                elif status >= 500:
                    wait = max(delay, _retry_after(exc, 0))
                elif status == 401 and attempt == 0:
                    wait = 0
                elif status == 401:
                    raise BadInput(f"Azure Resource Manager rejected the credential: {_error_text(exc)}") from None
                else:
                    raise ProviderError(f"{method}: {_error_text(exc)}") from None
            except (ServiceRequestError, ServiceResponseError) as exc:
                last, wait = exc, delay
            if attempt + 1 < self.max_read_attempts:
                self.clock.sleep(wait)
                delay = min(delay * 2, 60.0)
        assert last is not None
        if getattr(last, "status_code", None) == 429:
            raise Throttled(f"{method}: throttled by ARM ({_error_text(last)})", _retry_after(last, delay))
        raise TransientError(f"{method}: {_error_text(last)}", delay)

    def _write(self, method: str, fn: Any) -> Any:
        """A side effect, sent once. 429 → Throttled (not accepted); 400/409 → OperationRejected; anything that
        may have reached ASR (5xx, lost response) → AmbiguousResult, so the engine reconciles with find_job."""
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

        self._count("writes", method)
        try:
            return fn()
        except HttpResponseError as exc:
            status = exc.status_code or 0
            if status == 429:
                raise Throttled(f"{method}: throttled by ARM; not accepted", _retry_after(exc, 10.0)) from None
            if status in (400, 409, 412):
                raise OperationRejected(f"{method}: ASR refused it: {_error_text(exc)}") from None
            if status == 401:
                raise BadInput(f"Azure Resource Manager rejected the credential: {_error_text(exc)}") from None
            if status >= 500:
                raise AmbiguousResult(f"{method}: {_error_text(exc)}; it may have been accepted") from None
            raise ProviderError(f"{method}: {_error_text(exc)}") from None
        except ServiceRequestError as exc:
            # Connection failed; azure-core cannot always tell whether the request left, so assume it might have.
            raise AmbiguousResult(f"{method}: {_error_text(exc)}") from None
        except ServiceResponseError as exc:
            raise AmbiguousResult(f"{method}: response lost after sending ({_error_text(exc)})") from None

    # -- for other read-only callers (asrctl discover): same connection, same read retries ----------------------
    def site_recovery_client(self) -> Any:
        """The connected SDK client (credential checked once, no SDK retries)."""
        return self._connect()

    def read(self, method: str, fn: Any, *, missing_ok: bool = False) -> Any:
        """A read through :meth:`_read`: retried on 429/5xx, failures as one-line errors."""
        return self._read(method, fn, missing_ok=missing_ok)

    @staticmethod
    def _once(request_id: str) -> dict[str, Any]:
        return {"retry_total": 0, "headers": {"x-ms-client-request-id": client_request_id(request_id)}}

    # -- discovery -----------------------------------------------------------------------------------------------
    def _list_items(self) -> list[Any]:
        client = self._connect()
        return self._read(
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
            if (
                machine is None
                or machine in found
                or (item.id or "").lower() in known
                or "replicationFabrics" not in parts
            ):
                continue
            fabric = parts[parts.index("replicationFabrics") + 1]
            container = parts[parts.index("replicationProtectionContainers") + 1]
            ref = ItemRef(machine, fabric, container, item.name or parts[-1], item.id, friendly)
            found[machine] = (ref, item)
        return found

    @property
    def item_map(self) -> dict[str, dict[str, str]]:
        """machine → fabric/container/item, discovered once per provider; the engine may journal it and pass it
        back as ``item_map=`` on resume."""
        return {k: v.to_dict() for k, v in self._discover().items()}

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
        client = self._connect()
        return self._read(
            "list_recovery_points",
            lambda: list(
                client.recovery_points.list_by_replication_protected_items(
                    self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item
                )
            ),
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
            state = machine_state(props)
            points: dict[str, Any] = {}
            if state in ("protected", "reprotected"):
                for point in self._recovery_points(ref):
                    p = point.properties
                    if p is None or p.recovery_point_time is None:
                        continue
                    key = "app-consistent" if (p.recovery_point_type or "") == POINT_KIND[
                        "latest-app-consistent"] else "crash-consistent"  # fmt: skip
                    if key not in points or p.recovery_point_time > points[key]:
                        points[key] = p.recovery_point_time
            health = props.replication_health if props.replication_health in ("Normal", "Warning", "Critical") else (
                "Warning")  # fmt: skip
            scenario = props.current_scenario
            current = None
            if scenario is not None and scenario.job_id and (scenario.scenario_name or "None") != "None":
                current = AzureJobRef(
                    id=self._canonical_job_id(scenario.job_id),
                    operation=_operation_of(scenario.scenario_name),
                    machine=name,
                )
            result[name] = MachineStatus(
                name=name,
                state=state,
                protection_state=props.protection_state or "Unknown",
                replication_health=health,
                rpo_seconds=getattr(details, "rpo_in_seconds", None),
                last_heartbeat=getattr(details, "last_heartbeat", None),
                recovery_points=points,
                allowed_operations=tuple(props.allowed_operations or ()),
                current_job=current,
            )
        return result

    def describe_environment(self) -> EnvironmentStatus:
        from azure.core.rest import HttpRequest

        client = self._connect()
        details: dict[str, Any] = {"test_network_id": self.ids.test_network_id}

        def get_vnet() -> bool:
            request = HttpRequest("GET", f"{self.endpoint}{self.ids.test_network_id}",
                                  params={"api-version": NETWORK_API_VERSION})  # fmt: skip
            response = client.send_request(request)
            if response.status_code == 404:
                return False
            response.raise_for_status()
            return True

        test_network = self._read("get_virtual_network", get_vnet)
        failback = False
        reg = self.cfg.registration
        if reg is not None and reg.failback_process_server_id:
            fabric = self._read(
                "get_fabric",
                lambda: client.replication_fabrics.get(self.ids.resource_group, self.ids.vault, reg.fabric_name),
                missing_ok=True,
            )
            custom = fabric.properties.custom_details if fabric is not None and fabric.properties else None
            servers = {(p.id or "").lower() for p in (getattr(custom, "process_servers", None) or [])}
            targets = {(t.id or "").lower() for t in (getattr(custom, "master_target_servers", None) or [])}
            details["failback_process_server_registered"] = reg.failback_process_server_id.lower() in servers
            details["master_target_registered"] = reg.master_target_id.lower() in targets
            failback = details["failback_process_server_registered"] and details["master_target_registered"]
        return EnvironmentStatus(test_network_present=test_network, failback_infrastructure=failback, details=details)

    def get_job(self, job: JobRef) -> JobStatus:
        if "/microsoft.automation/" in job.id.lower():
            return self._get_runbook_job(job)
        match = JOB_NAME_RE.search(job.id)
        if match is None:
            raise ProviderError(f"{job.id!r} is not an ASR job id")
        client = self._connect()
        asr_job = self._read(
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
        return JobStatus(
            id=job.id,
            state=state,
            error=error,
            recovery_point_time=min(point_times) if point_times else None,
            started_at=p.start_time,
            finished_at=p.end_time,
            output=p.state_description,  # e.g. WaitingForManualAction while Suspended
        )

    def find_job(self, machine: str | None, operation: str, request_id: str) -> JobRef | None:

        rid = client_request_id(request_id)
        if machine is None:  # runbooks: the job name IS the derived request id
            automation = self._automation_client()
            found = self._read(
                "get_runbook_job",
                lambda: automation.job.get(self.ids.resource_group, self.ids.automation_account, rid),
                missing_ok=True,
            )
            if found is None:
                return None
            return AzureJobRef(id=found.id or self._runbook_job_id(rid), operation=operation, machine=None)
        client = self._connect()
        job = self._job_with_request_id(request_id)
        if job is not None:
            return AzureJobRef(id=self._canonical_job_id(job.id or ""), operation=operation, machine=machine)
        # Fallback: the item's current job, if it is this kind of operation (ASR runs one at a time per item).
        ref = self._ref(machine)
        item = self._read(
            "get_protected_item",
            lambda: client.replication_protected_items.get(
                self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item
            ),
        )
        scenario = item.properties.current_scenario if item.properties else None
        if scenario is not None and scenario.job_id and scenario.scenario_name in ACTIONS[operation][1]:
            return AzureJobRef(id=self._canonical_job_id(scenario.job_id), operation=operation, machine=machine)
        return None

    def _job_with_request_id(self, request_id: str) -> Any:
        """The vault's job whose activity id carries this request's x-ms-client-request-id (ASR records it there)."""
        rid = client_request_id(request_id)
        client = self._connect()
        jobs = self._read(
            "list_jobs", lambda: list(client.replication_jobs.list(self.ids.resource_group, self.ids.vault))
        )
        return next((j for j in jobs if j.properties is not None and rid in (j.properties.activity_id or "")), None)

    # -- side effects --------------------------------------------------------------------------------------------
    def start_operation(
        self,
        machine: str,
        operation: str,
        *,
        request_id: str,
        recovery_point_type: str = "latest",
        direction: str = "primary-to-recovery",
        network: Literal["recovery", "test"] = "recovery",
    ) -> JobRef:
        ref = self._ref(machine)
        if operation == "reenable":
            self._commit_failback_first(machine, ref, request_id)
        point_id = None
        if operation in ("test-failover", "planned-failover", "unplanned-failover") and recovery_point_type != "latest":
            point_id = pick_recovery_point(self._recovery_points(ref), recovery_point_type)
        action, body = operation_request(
            operation,
            self.cfg,
            self.ids,
            direction=direction,
            recovery_point_type=recovery_point_type,
            recovery_point_id=point_id,
            comment=f"asrctl {operation} request {client_request_id(request_id)}",
        )
        client = self._connect()
        begin = getattr(client.replication_protected_items, SDK_METHODS[action])
        args = [self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item]
        if body is not None:
            args.append(body)
        polling = _send_only_polling()
        poller = self._write(operation, lambda: begin(*args, polling=polling, **self._once(request_id)))
        token = _safe_continuation_token(poller)
        job_id = self._job_id_from(polling.initial_response)
        if job_id is None:
            found = self.find_job(machine, operation, request_id)
            if found is None:
                raise AmbiguousResult(f"{operation} on {machine}: accepted, but ASR named no job; reconcile")
            job_id = found.id
        job = AzureJobRef(id=job_id, operation=operation, machine=machine, continuation_token=token)
        if self.on_job_started is not None:
            self.on_job_started(request_id, job)
        return job

    def _commit_failback_first(self, machine: str, ref: ItemRef, request_id: str) -> None:
        """Classic ASR re-protects a failed-back VM only once the failback is committed. The engine's failback
        stage ends with the failover to VMware, so ``reenable`` finishes it: it sends the commit (once, under a
        request id derived from the reenable's own) and raises :class:`NotReady` until the commit job is done;
        the engine then sends the same reenable again. Nothing is sent while any job runs on the item, and a
        failed commit is reported instead of being retried."""
        client = self._connect()
        item = self._read(
            "get_protected_item",
            lambda: client.replication_protected_items.get(
                self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item
            ),
        )
        props = item.properties
        scenario = props.current_scenario if props is not None else None
        if scenario is not None and scenario.job_id and (scenario.scenario_name or "None") != "None":
            raise NotReady(f"{machine}: its {scenario.scenario_name} job must finish before replication to Azure "
                           "is re-enabled", self.poll_interval)  # fmt: skip
        if props is None or "commit" not in {a.lower() for a in (props.allowed_operations or [])}:
            return  # already committed: re-protect now
        commit_request = f"{request_id}/commit-failback"
        earlier = self._job_with_request_id(commit_request)
        if earlier is not None and earlier.properties.state in ("Failed", "Cancelled"):
            raise OperationRejected(
                f"{machine}: committing the failback failed (ASR job {earlier.name}, "
                f"{earlier.properties.state_description or earlier.properties.state}); fix it in the vault, commit, "
                "then resume the run"
            )
        if earlier is None:
            self._write(
                "commit_failback",
                lambda: client.replication_protected_items.begin_failover_commit(
                    self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item,
                    polling=_send_only_polling(), **self._once(commit_request),
                ),
            )  # fmt: skip
        raise NotReady(f"{machine}: committing the failback before re-enabling replication", self.poll_interval)

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

    def resume_job(self, job: JobRef, comment: str, *, request_id: str) -> None:
        """Resume an ASR job Suspended on a manual action (WaitingForManualAction)."""
        from azure.mgmt.recoveryservicessiterecovery import models as m

        match = JOB_NAME_RE.search(job.id)
        if match is None:
            raise ProviderError(f"{job.id!r} is not an ASR job id")
        client = self._connect()
        params = m.ResumeJobParams(properties=m.ResumeJobParamsProperties(comments=comment))
        self._write(
            "resume_job",
            lambda: client.replication_jobs.begin_resume(
                self.ids.resource_group, self.ids.vault, match.group(1), params, polling=_send_only_polling(),
                **self._once(request_id),
            ),
        )  # fmt: skip

    def cancel_job(self, job: JobRef) -> None:
        if "/microsoft.automation/" in job.id.lower():
            automation = self._automation_client()
            name = job.id.rstrip("/").split("/")[-1]
            self._write(
                "stop_runbook_job",
                lambda: automation.job.stop(self.ids.resource_group, self.ids.automation_account, name, retry_total=0),
            )
            return
        match = JOB_NAME_RE.search(job.id)
        if match is None:
            return
        client = self._connect()
        self._write(
            "cancel_job",
            lambda: client.replication_jobs.begin_cancel(
                self.ids.resource_group, self.ids.vault, match.group(1), polling=_send_only_polling(), retry_total=0
            ),
        )

    # -- Automation runbooks -------------------------------------------------------------------------------------
    def _runbook_job_id(self, name: str) -> str:
        return (
            f"/subscriptions/{self.ids.subscription_id}/resourceGroups/{self.ids.resource_group}/providers/"
            f"Microsoft.Automation/automationAccounts/{self.ids.automation_account}/jobs/{name}"
        )

    def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any], request_id: str) -> JobRef:
        from azure.core.exceptions import ResourceExistsError
        from azure.mgmt.automation import models as am

        automation = self._automation_client()
        # The job name is chosen by the client: deriving it from the request id makes a re-send unable to start a
        # second job (ARM answers 409 for an existing name), and find_job a single GET.
        job_name = client_request_id(request_id)
        payload = dict(parameters)
        payload["RecoveryPlanContext"] = json.dumps(recovery_plan_context(context, self.ids))
        create = am.JobCreateParameters(runbook=am.RunbookAssociationProperty(name=name), parameters=payload)
        try:
            self._write(
                f"runbook:{name}",
                lambda: automation.job.create(
                    self.ids.resource_group, self.ids.automation_account, job_name, create,
                    client_request_id=job_name, **self._once(request_id),
                ),
            )  # fmt: skip
        except OperationRejected as exc:
            if not isinstance(exc.__context__, ResourceExistsError) and "409" not in str(exc):
                raise
        return AzureJobRef(id=self._runbook_job_id(job_name), operation=f"runbook:{name}", machine=None)

    def _get_runbook_job(self, job: JobRef) -> JobStatus:
        automation = self._automation_client()
        name = job.id.rstrip("/").split("/")[-1]
        found = self._read(
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


def _operation_of(scenario_name: str | None) -> str:
    for operation, (_, scenarios) in ACTIONS.items():
        if scenario_name in scenarios:
            return operation
    return scenario_name or "unknown"

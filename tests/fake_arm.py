"""A local HTTPS fake of the ARM endpoints the Azure provider uses (ASR vault, Automation jobs, the test VNet) and
the registration reads of ``asrctl discover`` (fabrics, protection containers, protectable items).

Responses are built from the SDK's own models (``Model.as_dict()`` gives the REST shape), so the provider is
tested against the wire format it meets in Azure: 202 + Location/Azure-AsyncOperation + Retry-After for
long-running POSTs, ASR jobs that go InProgress → Succeeded (or Suspended on a manual action), paging with
``nextLink``, 401 challenges, 429 with Retry-After and injected 5xx after a request was accepted.

It serves TLS with a throw-away self-signed certificate for 127.0.0.1: azure-core refuses to send a bearer token
over plain http, and trusting a private CA (``connection_verify`` / ``REQUESTS_CA_BUNDLE``) is the supported way.
Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.mgmt.automation import models as am
from azure.mgmt.recoveryservicessiterecovery import models as m

VAULT_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.RecoveryServices/vaults/"
    r"(?P<vault>[^/]+)(?P<rest>/.*)?$",
    re.IGNORECASE,
)
ITEM_RE = re.compile(
    r"^/replicationFabrics/(?P<fabric>[^/]+)/replicationProtectionContainers/(?P<container>[^/]+)/"
    r"replicationProtectedItems/(?P<item>[^/]+)(?P<action>/[^/]+)?$"
)
AUTOMATION_JOB_RE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Automation/automationAccounts/"
    r"(?P<account>[^/]+)/jobs/(?P<job>[^/]+)$",
    re.IGNORECASE,
)
VNET_RE = re.compile(r"/providers/Microsoft\.Network/virtualNetworks/(?P<name>[^/]+)$", re.IGNORECASE)

# What each ASR action does to an item once its job succeeds (the fake's model of ASR's state machine).
ACTION_SCENARIO = {
    "testFailover": "TestFailover",
    "testFailoverCleanup": "TestFailoverCleanup",
    "unplannedFailover": "UnplannedFailover",
    "plannedFailover": "PlannedFailover",
    "failoverCommit": "Commit",
    "reProtect": "ReverseReplication",
}
ACTION_ALLOWED_BY = {
    "testFailover": "TestFailover",
    "testFailoverCleanup": "TestFailoverCleanup",
    "unplannedFailover": "UnplannedFailover",
    "plannedFailover": "PlannedFailover",
    "failoverCommit": "Commit",
    "reProtect": "ReverseReplicate",
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class FakeItem:
    machine: str  # friendly name as ASR shows it (the vSphere VM name)
    fabric: str
    container: str
    name: str
    protection_state: str = "Protected"
    active_location: str = "Primary"
    test_failover_state: str = "None"
    provider: str = "InMageAzureV2"  # replication provider: InMageAzureV2 to Azure, InMage back to on-prem
    allowed: list[str] = field(default_factory=lambda: ["TestFailover", "PlannedFailover", "UnplannedFailover"])
    health: str = "Normal"
    rpo_seconds: int = 120
    heartbeat_age_s: int = 60
    app_point_age_s: int | None = 1800
    crash_point_age_s: int | None = 120
    current_job: str | None = None


@dataclass
class FakeFabric:
    """A fabric as ASR creates it when a configuration server registers (classic VMware: ``VMware`` details).

    ``process_servers`` / ``master_targets`` / ``run_as_accounts`` hold keyword arguments of the SDK models
    (``ProcessServer``, ``MasterTargetServer`` with ``retention_volumes`` as a list of volume names, ``RunAsAccount``).
    """

    name: str
    friendly_name: str
    instance_type: str = "VMware"
    ip_address: str | None = None
    host_name: str | None = None
    process_servers: list[dict[str, Any]] = field(default_factory=list)
    master_targets: list[dict[str, Any]] = field(default_factory=list)
    run_as_accounts: list[dict[str, Any]] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)


@dataclass
class FakeProtectable:
    """A VM the configuration server discovered in vCenter: ASR names it with its own id, friendlyName = VM name."""

    fabric: str
    container: str
    vm_name: str
    name: str
    ip_address: str | None = None
    os_type: str = "Windows"
    powered_on: str = "ON"


@dataclass
class FakeJob:
    name: str
    scenario: str
    item: FakeItem | None
    action: str
    body: dict[str, Any]
    activity_id: str
    polls_left: int = 1
    state: str = "InProgress"
    suspend: bool = False  # stop in Suspended/WaitingForManualAction until resumed
    fail: bool = False
    start: dt.datetime = field(default_factory=now)
    end: dt.datetime | None = None
    recovery_point_time: dt.datetime | None = None


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method`` and ``path_re`` with ``status``.

    ``after_accept`` processes the request first (the side effect happens) and then answers ``status`` — the
    ambiguous failure that makes blind retries dangerous. ``status=0`` drops the connection without an answer.
    """

    method: str
    path_re: str
    status: int
    times: int = 1
    retry_after: int | None = None
    after_accept: bool = False


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class FakeArm:
    def __init__(self, tmp: Path, *, subscription: str, resource_group: str, vault: str) -> None:
        self.subscription = subscription
        self.resource_group = resource_group
        self.vault = vault
        self.items: dict[str, FakeItem] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.automation_jobs: dict[str, dict[str, Any]] = {}
        self.vnets: set[str] = set()
        self.process_servers: list[str] = []
        self.master_targets: list[str] = []
        self.fabrics: dict[str, FakeFabric] = {}
        self.protectable: list[FakeProtectable] = []
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.valid_tokens: set[str] = {"token-1"}
        self.page_size = 2
        self.job_polls = 1  # GETs a job answers InProgress before it completes
        self.suspend_scenarios: set[str] = set()
        self.fail_scenarios: set[str] = set()  # jobs of these scenarios end Failed (the item's state is unchanged)
        self.lock = threading.RLock()
        self.cert_path = tmp / "fake-arm-cert.pem"
        key_path = tmp / "fake-arm-key.pem"
        _self_signed(self.cert_path, key_path)
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_path, key_path)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> FakeArm:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    @property
    def vault_path(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{self.vault}"
        )

    # -- world ---------------------------------------------------------------------------------------------------
    def add_item(self, machine: str, fabric: str = "fabric-1", container: str = "cloud_1", **kw: Any) -> FakeItem:
        item = FakeItem(machine=machine, fabric=fabric, container=container, name=f"rpi-{uuid.uuid4().hex[:8]}", **kw)
        self.items[item.name] = item
        return item

    def add_fabric(self, name: str, **kw: Any) -> FakeFabric:
        kw.setdefault("friendly_name", name)
        kw.setdefault("containers", [f"cloud_{uuid.uuid4()}"])
        fabric = FakeFabric(name=name, **kw)
        self.fabrics[name] = fabric
        return fabric

    def add_protectable(self, fabric: str, container: str, vm_name: str, **kw: Any) -> FakeProtectable:
        kw.setdefault("name", str(uuid.uuid4()))
        item = FakeProtectable(fabric=fabric, container=container, vm_name=vm_name, **kw)
        self.protectable.append(item)
        return item

    def lists(self, suffix: str) -> list[Recorded]:
        """GETs of a collection (each page is one request)."""
        return [r for r in self.requests if r.method == "GET" and r.path.endswith(suffix)]

    def item_by_machine(self, machine: str) -> FakeItem:
        return next(i for i in self.items.values() if i.machine == machine)

    def posts(self, action: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/" + action)]

    def item_id(self, item: FakeItem) -> str:
        return (
            f"{self.vault_path}/replicationFabrics/{item.fabric}/replicationProtectionContainers/{item.container}"
            f"/replicationProtectedItems/{item.name}"
        )

    def job_id(self, name: str) -> str:
        return f"{self.vault_path}/replicationJobs/{name}"

    # -- models --------------------------------------------------------------------------------------------------
    def item_model(self, item: FakeItem) -> dict[str, Any]:
        t = now()
        if item.provider == "InMageAzureV2":
            details: Any = m.InMageAzureV2ReplicationDetails(
                rpo_in_seconds=item.rpo_seconds,
                last_heartbeat=t - dt.timedelta(seconds=item.heartbeat_age_s),
                last_rpo_calculated_time=t,
                process_server_id="ps-1",
                master_target_id="mt-1",
            )
        else:
            details = m.InMageReplicationDetails(
                rpo_in_seconds=item.rpo_seconds,
                last_heartbeat=t - dt.timedelta(seconds=item.heartbeat_age_s),
                process_server_id="ps-failback",
                master_target_id="mt-1",
            )
        current = None
        if item.current_job:
            # ASR jobs move on by themselves: any read of the item counts as one step of its job.
            self.advance(self.jobs[item.current_job])
        if item.current_job:
            job = self.jobs[item.current_job]
            current = m.CurrentScenarioDetails(
                # ASR spells its own ids with a capital S here; clients must not compare ids case-sensitively.
                scenario_name=job.scenario,
                job_id=self.job_id(job.name).replace("/subscriptions/", "/Subscriptions/"),
                start_time=job.start,
            )
        model = m.ReplicationProtectedItem(
            id=self.item_id(item),
            name=item.name,
            type="Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
            "replicationProtectedItems",
            properties=m.ReplicationProtectedItemProperties(
                friendly_name=item.machine,
                protected_item_type="InMageAzureV2" if item.provider == "InMageAzureV2" else "InMage",
                protection_state=item.protection_state,
                active_location=item.active_location,
                test_failover_state=item.test_failover_state,
                allowed_operations=list(item.allowed),
                replication_health=item.health,
                current_scenario=current,
                provider_specific_details=details,
            ),
        )
        return model.as_dict()

    def fabric_model(self, fabric: FakeFabric) -> dict[str, Any]:
        if fabric.instance_type == "VMware":
            details: Any = m.VMwareDetails(
                process_servers=[m.ProcessServer(os_type="Windows", **p) for p in fabric.process_servers],
                master_target_servers=[
                    m.MasterTargetServer(
                        **{k: v for k, v in t.items() if k != "retention_volumes"},
                        retention_volumes=[
                            m.RetentionVolume(volume_name=v, capacity_in_bytes=2**40)
                            for v in t.get("retention_volumes", [])
                        ],
                    )
                    for t in fabric.master_targets
                ],
                run_as_accounts=[m.RunAsAccount(**a) for a in fabric.run_as_accounts],
                ip_address=fabric.ip_address,
                host_name=fabric.host_name,
                process_server_count=str(len(fabric.process_servers)),
                cs_service_status="Running",
            )
        elif fabric.instance_type == "InMageRcm":
            details = m.InMageRcmFabricSpecificDetails()
        else:
            details = m.AzureFabricSpecificDetails(location="westeurope")
        return m.Fabric(
            id=f"{self.vault_path}/replicationFabrics/{fabric.name}",
            name=fabric.name,
            type="Microsoft.RecoveryServices/vaults/replicationFabrics",
            location="westeurope",
            properties=m.FabricProperties(
                friendly_name=fabric.friendly_name, custom_details=details, health="Normal", bcdr_state="Valid"
            ),
        ).as_dict()

    def container_model(self, fabric: FakeFabric, name: str) -> dict[str, Any]:
        return m.ProtectionContainer(
            id=f"{self.vault_path}/replicationFabrics/{fabric.name}/replicationProtectionContainers/{name}",
            name=name,
            type="Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers",
            location="westeurope",
            properties=m.ProtectionContainerProperties(
                fabric_friendly_name=fabric.friendly_name,
                friendly_name=fabric.friendly_name,
                fabric_type=fabric.instance_type,
                protected_item_count=0,
                pairing_status="Paired",
                role="Primary",
            ),
        ).as_dict()

    def protectable_model(self, item: FakeProtectable) -> dict[str, Any]:
        return m.ProtectableItem(
            id=(
                f"{self.vault_path}/replicationFabrics/{item.fabric}/replicationProtectionContainers/{item.container}"
                f"/replicationProtectableItems/{item.name}"
            ),
            name=item.name,
            type="Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
            "replicationProtectableItems",
            properties=m.ProtectableItemProperties(
                friendly_name=item.vm_name,
                protection_status="Unprotected",
                supported_replication_providers=["InMageAzureV2"],
                custom_details=m.VMwareVirtualMachineDetails(
                    agent_installed="No",
                    os_type=item.os_type,
                    ip_address=item.ip_address,
                    powered_on=item.powered_on,
                    discovery_type="vCenter",
                ),
            ),
        ).as_dict()

    def recovery_points(self, item: FakeItem) -> list[dict[str, Any]]:
        t = now()
        points = []
        for kind, age in (("ApplicationConsistent", item.app_point_age_s), ("CrashConsistent", item.crash_point_age_s)):
            if age is None:
                continue
            name = f"rp-{kind[:3].lower()}-{item.name}"
            points.append(
                m.RecoveryPoint(
                    id=f"{self.item_id(item)}/recoveryPoints/{name}",
                    name=name,
                    properties=m.RecoveryPointProperties(
                        recovery_point_time=t - dt.timedelta(seconds=age), recovery_point_type=kind
                    ),
                ).as_dict()
            )
        return points

    def job_model(self, job: FakeJob) -> dict[str, Any]:
        errors = [m.JobErrorDetails(error_level="Error")] if job.state == "Failed" else None
        custom = None
        if job.recovery_point_time is not None:
            recovered = [m.FailoverReplicationProtectedItemDetails(
                name=job.item.name if job.item else None, recovery_point_time=job.recovery_point_time)]  # fmt: skip
            custom = (
                m.TestFailoverJobDetails(protected_item_details=recovered)
                if job.action == "testFailover"
                else m.FailoverJobDetails(protected_item_details=recovered)
            )
        return m.Job(
            id=self.job_id(job.name),
            name=job.name,
            type="Microsoft.RecoveryServices/vaults/replicationJobs",
            properties=m.JobProperties(
                activity_id=job.activity_id,
                scenario_name=job.scenario,
                friendly_name=job.scenario,
                state=job.state,
                state_description="WaitingForManualAction" if job.state == "Suspended" else job.state,
                start_time=job.start,
                end_time=job.end,
                target_object_id=job.item.name if job.item else None,
                target_object_name=job.item.machine if job.item else None,
                allowed_actions=["Resume", "Cancel"] if job.state == "Suspended" else ["Cancel"],
                errors=errors,
                custom_details=custom,
            ),
        ).as_dict()

    # -- behaviour -----------------------------------------------------------------------------------------------
    def start_job(self, item: FakeItem, action: str, body: dict[str, Any], request_id: str) -> FakeJob:
        scenario = ACTION_SCENARIO[action]
        job = FakeJob(
            name=str(uuid.uuid4()),
            scenario=scenario,
            item=item,
            action=action,
            body=body,
            # ASR records the caller's x-ms-client-request-id in the job's activity id.
            activity_id=f"{request_id} ActivityId: {uuid.uuid4()}",
            polls_left=self.job_polls,
            suspend=scenario in self.suspend_scenarios,
            fail=scenario in self.fail_scenarios,
        )
        self.jobs[job.name] = job
        item.current_job = job.name
        return job

    def advance(self, job: FakeJob) -> None:
        """One poll of a job: InProgress for ``polls_left`` reads, then Suspended (if asked) or done."""
        if job.state not in ("InProgress", "NotStarted"):
            return
        if job.polls_left > 0:
            job.polls_left -= 1
            return
        if job.suspend:
            job.state = "Suspended"
            return
        job.state = "Failed" if job.fail else "Succeeded"
        job.end = now()
        if job.item is not None:
            job.item.current_job = None
            if job.state == "Succeeded" and job.action in ("testFailover", "unplannedFailover", "plannedFailover"):
                # ASR recovers from the newest crash-consistent point for "latest" (the fake's simplification).
                job.recovery_point_time = job.start - dt.timedelta(seconds=job.item.crash_point_age_s or 0)
            if job.state == "Succeeded":
                _apply(job.item, job.action, job.body)


def _apply(item: FakeItem, action: str, body: dict[str, Any]) -> None:
    direction = (body.get("properties") or {}).get("failoverDirection", "PrimaryToRecovery")
    if action == "testFailover":
        item.test_failover_state = "TestFailoverCompleted"
        item.allowed = ["TestFailoverCleanup"]
    elif action == "testFailoverCleanup":
        item.test_failover_state = "None"
        item.allowed = ["TestFailover", "PlannedFailover", "UnplannedFailover"]
    elif action in ("unplannedFailover", "plannedFailover"):
        item.protection_state = "UnplannedFailoverCompleted"
        item.active_location = "Recovery" if direction == "PrimaryToRecovery" else "Primary"
        item.allowed = ["Commit", "FailoverCancel"]
    elif action == "failoverCommit":
        item.protection_state = "UnplannedFailoverCommitted"
        item.allowed = ["ReverseReplicate"]
    elif action == "reProtect":
        item.protection_state = "Protected"
        if direction == "RecoveryToPrimary":
            item.provider = "InMage"
            item.allowed = ["UnplannedFailover"]
        else:
            item.provider = "InMageAzureV2"
            item.allowed = ["TestFailover", "PlannedFailover", "UnplannedFailover"]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeArm
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"code": code, "message": message}}, headers)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with fake.lock:
            fake.requests.append(Recorded(method, url.path, parse_qs(url.query), dict(self.headers.items()), body))
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ")
            if token not in fake.valid_tokens:
                # What ARM answers an expired token: a challenge, not a claims request.
                challenge = (
                    'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", '
                    'error_description="The access token has expired"'
                )
                self._error(401, "ExpiredAuthenticationToken", "token expired", {"WWW-Authenticate": challenge})
                return
            fault = next(
                (f for f in fake.faults if f.times > 0 and f.method == method and re.search(f.path_re, url.path)),
                None,
            )
            if fault is not None:
                fault.times -= 1
                if not fault.after_accept:
                    self._fault(fault)
                    return
            try:
                self._route(method, url.path, url.query, body, fault)
            except KeyError as exc:
                self._error(404, "NotFound", f"not found: {exc}")

    def _fault(self, fault: Fault) -> None:
        if fault.status == 0:
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)  # the response is lost: the client sees a transport error
            return
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        code = "TooManyRequests" if fault.status == 429 else "InternalServerError"
        self._error(fault.status, code, f"injected {fault.status}", headers)

    def _route(self, method: str, path: str, query: str, body: Any, fault: Fault | None) -> None:
        fake = self.fake
        match = AUTOMATION_JOB_RE.match(path)
        if match:
            self._automation_job(method, match["job"], body)
            return
        match = VNET_RE.search(path)
        if match and method == "GET":
            if match["name"] in fake.vnets:
                self._send(200, {"id": path, "name": match["name"], "properties": {"provisioningState": "Succeeded"}})
            else:
                self._error(404, "ResourceNotFound", f"virtual network {match['name']} not found")
            return
        match = VAULT_RE.match(path)
        if not match:
            self._error(404, "NotFound", path)
            return
        rest = match["rest"] or ""
        if method == "GET" and rest == "/replicationProtectedItems":
            self._list([fake.item_model(i) for i in fake.items.values()], path, query)
            return
        if method == "GET" and rest == "/replicationFabrics":
            self._list([fake.fabric_model(f) for f in fake.fabrics.values()], path, query)
            return
        match = re.match(r"^/replicationFabrics/(?P<fabric>[^/]+)/replicationProtectionContainers$", rest)
        if match and method == "GET":
            fab = fake.fabrics[match["fabric"]]
            self._list([fake.container_model(fab, c) for c in fab.containers], path, query)
            return
        match = re.match(
            r"^/replicationFabrics/(?P<fabric>[^/]+)/replicationProtectionContainers/(?P<container>[^/]+)"
            r"/replicationProtectableItems$",
            rest,
        )
        if match and method == "GET":
            if match["container"] not in fake.fabrics[match["fabric"]].containers:
                raise KeyError(match["container"])
            found = [p for p in fake.protectable if (p.fabric, p.container) == (match["fabric"], match["container"])]
            self._list([fake.protectable_model(p) for p in found], path, query)
            return
        if method == "GET" and rest.startswith("/replicationFabrics/") and rest.count("/") == 2:
            fabric = rest.split("/")[2]
            if fabric in fake.fabrics:
                self._send(200, fake.fabric_model(fake.fabrics[fabric]))
                return
            details = m.VMwareDetails(
                process_servers=[m.ProcessServer(id=p, friendly_name=p) for p in fake.process_servers],
                master_target_servers=[m.MasterTargetServer(id=t, name=t) for t in fake.master_targets],
            )
            model = m.Fabric(
                id=f"{fake.vault_path}/replicationFabrics/{fabric}",
                name=fabric,
                properties=m.FabricProperties(friendly_name=fabric, custom_details=details),
            )
            self._send(200, model.as_dict())
            return
        job_match = re.match(r"^/replicationJobs(?:/(?P<job>[^/]+)(?P<tail>/.*)?)?$", rest)
        if job_match:
            self._jobs(method, job_match["job"], job_match["tail"] or "", path, query, fault)
            return
        item_match = ITEM_RE.match(rest)
        if item_match:
            item = fake.items[item_match["item"]]
            action = (item_match["action"] or "").lstrip("/")
            if method == "GET" and not action:
                self._send(200, fake.item_model(item))
            elif method == "GET" and action == "recoveryPoints":
                self._list(fake.recovery_points(item), path, query)
            elif method == "POST" and action in ACTION_SCENARIO:
                self._item_action(item, action, body, fault)
            else:
                self._error(404, "NotFound", rest)
            return
        self._error(404, "NotFound", rest)

    def _list(self, values: list[dict[str, Any]], path: str, query: str) -> None:
        skip = int((parse_qs(query).get("$skiptoken") or ["0"])[0])
        page = values[skip : skip + self.fake.page_size]
        body: dict[str, Any] = {"value": page}
        if skip + self.fake.page_size < len(values):
            body["nextLink"] = f"{self.fake.endpoint}{path}?api-version=2025-08-01&$skiptoken={skip + len(page)}"
        self._send(200, body)

    def _item_action(self, item: FakeItem, action: str, body: Any, fault: Fault | None) -> None:
        fake = self.fake
        if item.current_job or ACTION_ALLOWED_BY[action] not in item.allowed:
            self._error(400, "OperationNotAllowed", f"{action} is not allowed in state {item.protection_state}")
            return
        job = fake.start_job(item, action, body or {}, self.headers.get("x-ms-client-request-id", ""))
        if fault is not None:  # accepted, then the answer fails
            self._fault(fault)
            return
        job_url = f"{fake.endpoint}{fake.job_id(job.name)}"
        self._send(
            202,
            None,
            {
                "Location": f"{job_url}/operationResults/{job.name}?api-version=2025-08-01",
                "Azure-AsyncOperation": f"{job_url}?api-version=2025-08-01",
                "Retry-After": "7",
            },
        )

    def _jobs(self, method: str, name: str | None, tail: str, path: str, query: str, fault: Fault | None) -> None:
        fake = self.fake
        if name is None and method == "GET":
            models = [fake.job_model(j) for j in fake.jobs.values()]
            self._list(models, path, query)
            return
        job = fake.jobs[name]  # type: ignore[index]
        if method == "GET" and not tail:
            fake.advance(job)
            self._send(200, fake.job_model(job))
        elif method == "GET" and tail.startswith("/operationResults"):
            fake.advance(job)
            if job.state in ("InProgress", "NotStarted", "Suspended"):
                self._send(202, None, {"Location": f"{fake.endpoint}{path}?api-version=2025-08-01", "Retry-After": "3"})
            else:
                self._send(200, fake.job_model(job))
        elif method == "POST" and tail == "/resume":
            if job.state != "Suspended":
                self._error(400, "JobNotSuspended", "the job is not waiting for a manual action")
                return
            job.suspend = False
            job.state = "InProgress"
            job.polls_left = 0
            self._send(202, None, {"Location": f"{fake.endpoint}{fake.job_id(job.name)}/operationResults/x"})
        elif method == "POST" and tail == "/cancel":
            job.state = "Cancelled"
            if job.item:
                job.item.current_job = None
            self._send(202, None, {"Location": f"{fake.endpoint}{fake.job_id(job.name)}/operationResults/x"})
        else:
            self._error(404, "NotFound", tail)

    def _automation_job(self, method: str, name: str, body: Any) -> None:
        fake = self.fake
        if method == "PUT":
            if name in fake.automation_jobs:
                self._error(409, "Conflict", f"job {name} already exists")
                return
            props = (body or {}).get("properties") or {}
            fake.automation_jobs[name] = {"body": body, "polls": fake.job_polls, "status": "New"}
            job = am.Job(name=name, properties=am.JobProperties(status="New", parameters=props.get("parameters")))
            self._send(201, job.as_dict())
            return
        record = fake.automation_jobs[name]
        if record["polls"] > 0:
            record["polls"] -= 1
            record["status"] = "Running"
        else:
            record["status"] = "Completed"
        job = am.Job(name=name, properties=am.JobProperties(status=record["status"]))
        self._send(200, job.as_dict())


def _self_signed(cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-arm.local")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - dt.timedelta(minutes=5))
        .not_valid_after(now() + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )

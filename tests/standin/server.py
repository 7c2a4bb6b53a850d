"""The HTTPS front door: ARM's checks (bearer token, api-version, known resource types), faults, paging, the
request log, and routing to :class:`standin.asr.Service` and the other providers (OffAzure, Automation, Network).

Only 127.0.0.1 is bound; the certificate is generated per stand-in (:mod:`standin.tls`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from azure.mgmt.automation import models as am

from . import errors, render, rules
from .asr import Service, check_body
from .dns import DNS_API_VERSIONS, DNS_RE
from .tls import self_signed
from .world import AutomationJob, World

VAULT_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.RecoveryServices/vaults/(?P<vault>[^/]+)(?P<rest>/.*)?$",
    re.IGNORECASE,
)
OFFAZURE_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.OffAzure/VMwareSites/(?P<site>[^/]+)"
    r"/(?P<kind>machines|runAsAccounts)(?:/(?P<name>[^/]+))?$",
    re.IGNORECASE,
)
AUTOMATION_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Automation/automationAccounts/(?P<account>[^/]+)"
    r"/jobs/(?P<job>[^/]+)(?P<tail>/stop)?$",
    re.IGNORECASE,
)
VNET_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/virtualNetworks/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method`` and ``path_re`` (a regex searched in the path) with
    ``status``. ``after_accept``: the request takes effect first, then the answer fails (the ambiguous failure that
    makes blind retries dangerous). ``status=0`` drops the connection without an answer (a lost response)."""

    method: str
    path_re: str
    status: int
    times: int = 1
    retry_after: int | None = None
    after_accept: bool = False


@dataclass
class Recorded:
    """One request as the stand-in received it, and what it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    client_request_id: str
    time: dt.datetime
    status: int = 0
    unknown_fields: list[str] = field(default_factory=list)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Standin:
    """ARM + ASR on ``https://127.0.0.1:<port>`` over a :class:`~standin.world.World` — or several (``other_vaults``:
    more vaults on the same clock, e.g. the modernized vault a classic one moves to), routed by subscription,
    resource group and vault name.

    >>> with Standin(world, tmp_path) as arm:
    ...     client = SiteRecoveryManagementClient(StaticToken(arm.token), world.subscription,
    ...                                           base_url=arm.endpoint, connection_verify=str(arm.cert_path))
    """

    def __init__(self, world: World, tmp: Path, *, token: str = "standin-token", page_size: int = 50, retry_after: int = 30,
                 other_vaults: Sequence[World] = ()) -> None:
        self.world = world  # the first vault: the one tests mostly talk about
        self.worlds = [world, *other_vaults]
        for w in self.worlds:
            if w.clock is not world.clock:
                raise ValueError(f"vault {w.vault} must share the stand-in's clock (World(clock=first_world.clock))")
            w.neighbours = [o for o in self.worlds if o is not w]
        self.services = [Service(w) for w in self.worlds]
        self.service = self.services[0]
        self.token = token
        self.valid_tokens = {token}
        self.page_size = page_size
        # Seconds in Retry-After of every 202 (the spec examples say 30). azure-core sleeps that long between polls,
        # so tests that poll through the SDK set 0.
        self.retry_after = retry_after
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.lock = threading.RLock()
        tmp.mkdir(parents=True, exist_ok=True)
        self.cert_path = tmp / "standin-cert.pem"
        key_path = tmp / "standin-key.pem"
        self_signed(self.cert_path, key_path)
        handler = type("Handler", (_Handler,), {"standin": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> Standin:
        self.thread.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Standin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    # -- time and faults ---------------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the world's clock; jobs whose time has come finish (their effects apply in order)."""
        with self.lock:
            self.world.clock.advance(seconds)
            self.settle()

    def settle(self) -> None:
        """Every vault's jobs up to the clock (a move's job in one vault creates the item in another)."""
        for service in self.services:
            service.settle()

    def fault(self, method: str, path_re: str, status: int, **kw: Any) -> Fault:
        fault = Fault(method, path_re, status, **kw)
        self.faults.append(fault)
        return fault

    def expire_token(self, token: str | None = None) -> None:
        """The next request with ``token`` (default: the current one) gets 401 ``invalid_token``."""
        self.valid_tokens.discard(token or self.token)

    # -- request log -------------------------------------------------------------------------------------------------
    def calls(self, method: str | None = None, path_re: str | None = None) -> list[Recorded]:
        with self.lock:
            return [
                r for r in self.requests
                if (method is None or r.method == method) and (path_re is None or re.search(path_re, r.path, re.IGNORECASE))
            ]  # fmt: skip

    def job_lists(self, *, filtered: bool | None = None) -> list[Recorded]:
        """GETs of the vault's job collection; ``filtered=False``: only those without ``$filter``."""
        found = self.calls("GET", r"/replicationJobs$")
        if filtered is None:
            return found
        return [r for r in found if bool(r.param("$filter")) == filtered]

    def posts(self, action: str) -> list[Recorded]:
        return self.calls("POST", rf"/{re.escape(action)}$")

    # -- dispatch ------------------------------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: Any, record: Recorded) -> tuple[Answer, Fault | None]:
        url = urlsplit(raw_path)
        path, query = url.path, parse_qs(url.query)
        request_id = record.client_request_id
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            # ARM's answer to an expired or revoked token: a challenge (not a claims request).
            challenge = ('Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", '
                         'error_description="The access token has expired"')  # fmt: skip
            raise errors.arm(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.",
                             {"WWW-Authenticate": challenge})  # fmt: skip
        fault = next((f for f in self.faults if f.times > 0 and f.method == method and re.search(f.path_re, path)), None)
        if fault is not None:
            fault.times -= 1
            if not fault.after_accept:
                return Answer(fault.status), fault
        self.settle()
        for service in self.services:
            service.unknown = []
        try:
            answer = self.route(method, path, query, body, request_id, record)
        finally:
            unknown = [u for service in self.services for u in service.unknown]
            record.unknown_fields = record.unknown_fields or unknown
        return answer, fault

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any, request_id: str, record: Recorded) -> Answer:
        version = (query.get("api-version") or [None])[0]
        world = self.world
        dns = DNS_RE.match(path)
        if dns is not None:  # zones may live in any resource group of the subscription
            _check_version(version, DNS_API_VERSIONS, "dnszones", "global")
            if dns["sub"].lower() != world.subscription.lower():
                raise errors.arm(404, "SubscriptionNotFound", f"The subscription '{dns['sub']}' could not be found.")
            status, answer, unknown = world.dns.route(method, dns, body, world.subscription)
            record.unknown_fields = unknown
            return Answer(status, answer)
        for regex, versions, kind in (
            (VAULT_RE, rules.ASR_API_VERSIONS, "vaults"),
            (OFFAZURE_RE, rules.OFFAZURE_API_VERSIONS, "VMwareSites"),
            (AUTOMATION_RE, rules.AUTOMATION_API_VERSIONS, "automationAccounts"),
            (VNET_RE, rules.NETWORK_API_VERSIONS, "virtualNetworks"),
        ):
            match = regex.match(path)
            if match is None:
                continue
            _check_version(version, versions, kind, world.location)
            here = [w for w in self.worlds if match["sub"].lower() == w.subscription.lower()
                    and match["rg"].lower() == w.resource_group.lower()]  # fmt: skip
            if not here:
                raise errors.arm(404, "ResourceGroupNotFound", f"Resource group '{match['rg']}' could not be found.")
            if regex is VAULT_RE:
                found = next((w for w in here if match["vault"].lower() == w.vault.lower()), None)
                if found is None:
                    raise errors.arm_not_found("Microsoft.RecoveryServices/vaults", match["vault"], match["rg"])
                service = self.services[self.worlds.index(found)]
                return VaultRoutes(self, found, service, version or "", request_id, record).route(
                    method, path, match["rest"] or "", query, body)
            if regex is OFFAZURE_RE:
                return self.offazure(method, match, here)
            if regex is AUTOMATION_RE:
                return self.automation(method, match, body, request_id, record, here)
            return self.network(method, match, here)
        if version is None:
            raise errors.arm(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        raise errors.arm(404, "InvalidResourceType", f"The resource type could not be found for '{path}'.")

    # -- other providers -------------------------------------------------------------------------------------------------
    def offazure(self, method: str, match: re.Match[str], worlds: list[World]) -> Answer:
        if method != "GET":
            raise errors.arm(405, "MethodNotAllowed", f"{method} is not supported on this resource.")
        found = next(((w, f) for w in worlds for f in w.fabrics.values() if f.site and f.site.lower() == match["site"].lower()), None)
        if found is None:
            raise errors.arm_not_found("Microsoft.OffAzure/VMwareSites", match["site"], match["rg"])
        world, fabric = found
        if match["kind"].lower() == "machines":
            values = [(m.offazure_name, render.offazure_machine(world, fabric, m)) for m in fabric.machines]
        else:
            values = [(a.id, render.run_as_account(world, fabric, a)) for a in fabric.run_as_accounts]
        if match["name"]:
            found = next((v for n, v in values if n.lower() == match["name"].lower()), None)
            if found is None:
                raise errors.arm_not_found(f"Microsoft.OffAzure/VMwareSites/{match['site']}/{match['kind']}", match["name"], match["rg"])
            return Answer(200, found)
        return Answer(200, {"value": [v for _, v in values], "nextLink": None})

    def network(self, method: str, match: re.Match[str], worlds: list[World]) -> Answer:
        if method != "GET":
            raise errors.arm(405, "MethodNotAllowed", f"{method} is not supported by the stand-in for virtual networks.")
        found = next(((w, v) for w in worlds for v in w.vnets.values() if v.name.lower() == match["name"].lower()
                      and v.resource_group.lower() == match["rg"].lower()), None)  # fmt: skip
        if found is None:
            raise errors.arm_not_found("Microsoft.Network/virtualNetworks", match["name"], match["rg"])
        return Answer(200, render.vnet(*found))

    def automation(self, method: str, match: re.Match[str], body: Any, request_id: str, record: Recorded,
                   worlds: list[World]) -> Answer:
        world = next((w for w in worlds if match["account"].lower() == w.automation_account.lower()), None)
        if world is None:
            raise errors.arm_not_found("Microsoft.Automation/automationAccounts", match["account"], match["rg"])
        name = match["job"]
        job = world.lookup(world.automation_jobs, name)
        if method == "PUT" and not match["tail"]:
            record.unknown_fields = check_body(am.JobCreateParameters, body)
            if job is not None:
                raise errors.arm(409, "Conflict", f"A job with name '{name}' already exists.")
            props = (body or {}).get("properties") or {}
            runbook = (props.get("runbook") or {}).get("name")
            if not runbook:
                raise errors.arm(400, "BadRequest", "properties.runbook.name is required.")
            job = AutomationJob(name, match["account"], runbook, dict(props.get("parameters") or {}), world.now(),
                                world.runbook_seconds.get(runbook, 60.0), request_id, fail=runbook in world.failing_runbooks)  # fmt: skip
            world.automation_jobs[name] = job
            return Answer(201, self._automation_job(world, job))
        if job is None:
            raise errors.arm_not_found(f"Microsoft.Automation/automationAccounts/{match['account']}/jobs", name, match["rg"])
        if method == "POST" and match["tail"]:
            job.stopped_at = job.stopped_at or world.now()
            return Answer(200)
        if method == "GET" and not match["tail"]:
            return Answer(200, self._automation_job(world, job))
        raise errors.arm(405, "MethodNotAllowed", f"{method} is not supported on this resource.")

    def _automation_job(self, world: World, job: AutomationJob) -> dict[str, Any]:
        now = world.now()
        end = job.created + dt.timedelta(seconds=job.seconds)
        if job.stopped_at is not None and job.stopped_at < end:
            status, finished = "Stopped", job.stopped_at
        elif now < job.created + dt.timedelta(seconds=1):
            status, finished = "New", None
        elif now < end:
            status, finished = "Running", None
        else:
            status, finished = ("Failed" if job.fail else "Completed"), end
        return am.Job(
            id=f"{world.rg_id()}/providers/Microsoft.Automation/automationAccounts/{job.account}/jobs/{job.name}",
            name=job.name,
            type="Microsoft.Automation/AutomationAccounts/Jobs",
            properties=am.JobProperties(
                runbook=am.RunbookAssociationProperty(name=job.runbook), job_id=str(uuid.uuid5(uuid.NAMESPACE_URL, job.name)),
                creation_time=job.created, status=status, start_time=job.created + dt.timedelta(seconds=1) if status != "New" else None,
                end_time=finished, exception="The runbook failed." if status == "Failed" else None, parameters=job.parameters,
                provisioning_state="Succeeded" if finished else "Processing",
            ),
        ).as_dict()  # fmt: skip

    # -- paging ----------------------------------------------------------------------------------------------------------
    def page(self, values: list[Any], path: str, query: dict[str, list[str]]) -> Answer:
        start = int((query.get("$skiptoken") or query.get("$skipToken") or ["0"])[0])
        chunk = values[start : start + self.page_size]
        body: dict[str, Any] = {"value": chunk}
        if start + self.page_size < len(values):
            params = {k: v[0] for k, v in query.items() if k.lower() != "$skiptoken"}
            params["$skiptoken"] = str(start + len(chunk))
            body["nextLink"] = f"{self.endpoint}{path}?{urlencode(params)}"
        else:
            body["nextLink"] = None
        return Answer(200, body)


def _check_version(version: str | None, supported: tuple[str, ...], kind: str, location: str) -> None:
    if version is None:
        raise errors.arm(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", version):
        raise errors.arm(400, "InvalidApiVersionParameter",
                         f"The api-version '{version}' is invalid. The supported versions are '{','.join(supported)}'.")  # fmt: skip
    if version not in supported:
        raise errors.arm(400, "NoRegisteredProviderFound",
                         f"No registered resource provider found for location '{location}' and API version '{version}' for type "
                         f"'{kind}'. The supported api-versions are '{', '.join(supported)}'. The supported locations are '{location}'.")  # fmt: skip


class VaultRoutes:
    """Microsoft.RecoveryServices/vaults/<vault>/… (ASR)."""

    def __init__(self, standin: Standin, world: World, service: Service, version: str, request_id: str, record: Recorded) -> None:
        self.standin = standin
        self.world = world
        self.service = service
        self.version = version
        self.request_id = request_id
        self.record = record

    def accepted(self, resource_path: str, job_name: str) -> Answer:
        """202 as CLIrec shows it: Azure-AsyncOperation → replicationOperationStatus/<op>, Location →
        <resource>/operationresults/<op> (PowerShell reads the job name there), Retry-After as the spec examples."""
        base = self.standin.endpoint
        # The recorded URLs carry more query parameters after api-version (t=<time>, c/s/h signatures); a client must
        # take the operation id from the path, not from "the end of the URL".
        stamp = quote(self.world.now().strftime("%Y-%m-%dT%H:%M:%S"), safe="")
        query = f"?api-version={self.version}&t={stamp}"
        return Answer(
            202,
            None,
            {
                "Azure-AsyncOperation": f"{base}{self.world.vault_id}/replicationOperationStatus/{job_name}{query}",
                "Location": f"{base}{resource_path}/operationresults/{job_name}{query}",
                "Retry-After": str(self.standin.retry_after),
            },
        )

    def route(self, method: str, full_path: str, rest: str, query: dict[str, list[str]], body: Any) -> Answer:
        world = self.world
        segs = [s for s in rest.split("/") if s]
        keys = [s.lower() for s in segs]
        n = len(segs)
        if n == 0:
            raise errors.arm(405, "MethodNotAllowed", "The stand-in does not model the vault resource itself.")
        head = keys[0]
        if head == "replicationfabrics":
            return self.fabrics(method, segs, keys, query, body, full_path)
        if head == "replicationprotecteditems" and n == 1 and method == "GET":
            items = [i for i in world.items.values() if not i.disabled]
            odata = (query.get("$filter") or [None])[0]
            if odata:
                found = re.fullmatch(r"\s*RecoveryPlanName\s+eq\s+'([^']+)'\s*", odata, re.IGNORECASE)
                if found is None:
                    raise errors.asr("InvalidFilter", f"Unsupported $filter '{odata}' on replicationProtectedItems.", "",
                                     "Filter with RecoveryPlanName eq '<plan>'.")  # fmt: skip
                plan = world.plan(found[1])
                names = set(plan.item_names()) if plan else set()
                items = [i for i in items if i.name in names]
            return self.standin.page([render.item(world, i) for i in items], full_path, query)
        if head == "replicationprotectioncontainermappings" and n == 1 and method == "GET":
            return self.standin.page([render.mapping(world, mp) for mp in world.mappings.values()], full_path, query)
        if head == "replicationpolicies":
            return self.policies(method, segs, query, body, full_path)
        if head == "replicationrecoveryplans":
            return self.plans(method, segs, keys, query, body, full_path)
        if head == "replicationjobs":
            return self.jobs(method, segs, keys, query, body, full_path)
        if head == "replicationoperationstatus" and n == 2 and method == "GET":
            job = world.job(segs[1])
            if job is None:
                raise errors.asr_not_found("Operation", segs[1])
            return Answer(200, render.operation_status(job))
        if head == "replicationappliances" and n == 1 and method == "GET":
            return self.standin.page(render.appliances(world), full_path, query)
        raise errors.arm(404, "InvalidResourceType", f"The resource type '{'/'.join(segs[::2])}' could not be found in Microsoft.RecoveryServices.")

    # -- operationresults ------------------------------------------------------------------------------------------------
    def result(self, op: str, resource: Any) -> Answer:
        job = self.world.job(op)
        if job is None:
            raise errors.asr_not_found("Operation", op)
        if not job.done:
            return Answer(202, None, {"Location": f"{self.standin.endpoint}{self.record.path}?api-version={self.version}",
                                      "Retry-After": str(self.standin.retry_after)})  # fmt: skip
        if job.state == "Failed":
            error = job.errors[0] if job.errors else {"code": "OperationFailed", "message": "The job failed."}
            raise errors.asr(error["code"], error["message"], error.get("causes", ""), error.get("action", ""))
        return Answer(200, resource() if callable(resource) else resource)

    # -- fabrics subtree -------------------------------------------------------------------------------------------------
    def fabrics(self, method: str, segs: list[str], keys: list[str], query: dict[str, list[str]], body: Any, full_path: str) -> Answer:
        world, service = self.world, self.service
        n = len(segs)
        if n == 1:
            self._only(method, "GET")
            return self.standin.page([render.fabric(world, f) for f in world.fabrics.values()], full_path, query)
        fabric = world.fabric(segs[1])
        if fabric is None:
            raise errors.asr_not_found("Fabric", segs[1])
        if n == 2:
            self._only(method, "GET")
            return Answer(200, render.fabric(world, fabric))
        if keys[2] == "replicationrecoveryservicesproviders" and n == 3:
            self._only(method, "GET")
            return self.standin.page([render.provider_entry(world, fabric, a) for a in fabric.appliances], full_path, query)
        if keys[2] != "replicationprotectioncontainers":
            raise errors.arm(404, "InvalidResourceType", f"'{segs[2]}' is not a fabric child the stand-in models.")
        if n == 3:
            self._only(method, "GET")
            return self.standin.page([render.container(world, fabric)], full_path, query)
        if segs[3].lower() != fabric.container.lower():
            raise errors.asr_not_found("ProtectionContainer", segs[3])
        container = fabric.container
        if n == 4:
            self._only(method, "GET")
            return Answer(200, render.container(world, fabric))
        kind = keys[4]
        if kind == "replicationprotectioncontainermappings":
            if n == 5:
                self._only(method, "GET")
                return self.standin.page([render.mapping(world, mp) for mp in world.mappings_of(fabric.name, container)], full_path, query)
            name = segs[5]
            found = world.lookup(world.mappings, name)
            if n == 6 and method == "PUT":
                mapping, job = service.create_mapping(fabric, container, name, body, self.request_id)
                return self.accepted(world.mapping_id(mapping), job.name)
            if found is None or found.container.lower() != container.lower():
                raise errors.asr_not_found("ProtectionContainerMapping", name)
            if n == 6:
                self._only(method, "GET")
                return Answer(200, render.mapping(world, found))
            if n == 8 and keys[6] == "operationresults":
                return self.result(segs[7], lambda: render.mapping(world, found))
        elif kind == "replicationprotectableitems":
            if n == 5:
                self._only(method, "GET")
                machines = fabric.machines if fabric.classic else []
                return self.standin.page([render.protectable(world, fabric, m) for m in machines], full_path, query)
            machine = next((m for m in fabric.machines if fabric.classic and m.protectable_name.lower() == segs[5].lower()), None)
            if machine is None or n != 6:
                raise errors.asr_not_found("ProtectableItem", segs[5])
            return Answer(200, render.protectable(world, fabric, machine))
        elif kind == "replicationprotecteditems":
            return self.items(method, fabric, segs, keys, query, body, full_path)
        raise errors.arm(404, "InvalidResourceType", f"'{segs[4]}' is not a container child the stand-in models.")

    def items(self, method: str, fabric: Any, segs: list[str], keys: list[str], query: dict[str, list[str]], body: Any, full_path: str) -> Answer:
        world, service = self.world, self.service
        n = len(segs)
        if n == 5:
            self._only(method, "GET")
            found = [i for i in world.items.values() if i.container.lower() == fabric.container.lower() and not i.disabled]
            return self.standin.page([render.item(world, i) for i in found], full_path, query)
        name = segs[5]
        item = world.find_item(name)
        if n == 6 and method == "PUT":
            created, job = service.enable(fabric, name, body, self.request_id)
            return self.accepted(world.item_id(created), job.name)
        if item is None or item.fabric.lower() != fabric.name.lower() or item.disabled:
            raise errors.asr_not_found("ReplicationProtectedItem", name)
        resource = world.item_id(item)
        if n == 6:
            if method == "GET":
                return Answer(200, render.item(world, item))
            if method == "PATCH":
                job = service.update(item, body, self.request_id)
                return self.accepted(resource, job.name)
            raise errors.arm(405, "MethodNotAllowed", f"{method} is not supported on a replicated item by the stand-in.")
        action = segs[6]
        if keys[6] == "recoverypoints":
            self._only(method, "GET")
            points = render.recovery_points(world, item)
            if n == 7:
                return self.standin.page([render.recovery_point(world, item, p) for p in points], full_path, query)
            point = next((p for p in points if p.name.lower() == segs[7].lower()), None)
            if point is None:
                raise errors.asr_not_found("RecoveryPoint", segs[7])
            return Answer(200, render.recovery_point(world, item, point))
        if keys[6] == "operationresults" and n == 8:
            self._only(method, "GET")
            return self.result(segs[7], lambda: render.item(world, item))
        if n == 7 and method == "POST":
            job = service.item_action(item, action, body, self.request_id)
            return self.accepted(resource, job.name)
        raise errors.arm(404, "InvalidResourceType", f"'{action}' is not a replicated-item operation the stand-in models.")

    # -- policies, plans, jobs -------------------------------------------------------------------------------------------
    def policies(self, method: str, segs: list[str], query: dict[str, list[str]], body: Any, full_path: str) -> Answer:
        world = self.world
        n = len(segs)
        if n == 1:
            self._only(method, "GET")
            return self.standin.page([render.policy(world, p) for p in world.policies.values()], full_path, query)
        if n == 2 and method == "PUT":
            policy, job = self.service.create_policy(segs[1], body, self.request_id)
            return self.accepted(world.policy_id(policy.name), job.name)
        policy = world.policy(segs[1])
        if policy is None:
            raise errors.asr_not_found("Policy", segs[1])
        if n == 2:
            self._only(method, "GET")
            return Answer(200, render.policy(world, policy))
        if n == 4 and segs[2].lower() == "operationresults":
            return self.result(segs[3], lambda: render.policy(world, policy))
        raise errors.arm(404, "InvalidResourceType", "Unknown policy child.")

    def plans(self, method: str, segs: list[str], keys: list[str], query: dict[str, list[str]], body: Any, full_path: str) -> Answer:
        world, service = self.world, self.service
        n = len(segs)
        if n == 1:
            self._only(method, "GET")
            return self.standin.page([render.plan(world, p) for p in world.plans.values()], full_path, query)
        if n == 2 and method == "PUT":
            plan, job = service.create_plan(segs[1], body, self.request_id)
            return self.accepted(world.plan_id(plan.name), job.name)
        plan = world.plan(segs[1])
        if plan is None:
            raise errors.asr_not_found("RecoveryPlan", segs[1])
        if n == 2:
            self._only(method, "GET")
            return Answer(200, render.plan(world, plan))
        if n == 4 and keys[2] == "operationresults":
            return self.result(segs[3], lambda: render.plan(world, plan))
        if n == 3 and method == "POST":
            job = service.plan_action(plan, segs[2], body, self.request_id)
            return self.accepted(world.plan_id(plan.name), job.name)
        raise errors.arm(404, "InvalidResourceType", f"'{segs[2]}' is not a recovery-plan operation.")

    def jobs(self, method: str, segs: list[str], keys: list[str], query: dict[str, list[str]], body: Any, full_path: str) -> Answer:
        world, service = self.world, self.service
        n = len(segs)
        if n == 1:
            self._only(method, "GET")
            jobs = service.list_jobs((query.get("$filter") or [None])[0])
            return self.standin.page([render.job(world, j) for j in jobs], full_path, query)
        job = world.job(segs[1])
        if job is None:
            raise errors.asr_not_found("Job", segs[1])
        if n == 2:
            self._only(method, "GET")
            return Answer(200, render.job(world, job))
        if n == 3 and method == "POST" and keys[2] in ("resume", "cancel", "restart"):
            if keys[2] == "resume":
                service.resume(job, body)
            elif keys[2] == "cancel":
                service.cancel(job)
            else:
                raise errors.asr("OperationNotSupported", "The stand-in does not model job restart.", "", "")
            return self.accepted(world.job_id(job.name), job.name)
        if n == 4 and keys[2] == "operationresults":
            return self.result(segs[3], lambda: render.job(world, job))
        raise errors.arm(404, "InvalidResourceType", f"'{segs[2]}' is not a job operation.")

    @staticmethod
    def _only(method: str, allowed: str) -> None:
        if method != allowed:
            raise errors.arm(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")


class _Handler(BaseHTTPRequestHandler):
    standin: Standin
    protocol_version = "HTTP/1.1"
    # One write per answer, no Nagle: headers and body in separate small TLS records would wait for the client's
    # delayed ACK (~40 ms a request on loopback).
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _send(self, answer: Answer) -> None:
        data = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        self.wfile.flush()
        self.connection.shutdown(2)  # the client sees a transport error: the response is lost

    def _handle(self, method: str) -> None:
        standin = self.standin
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        request_id = headers.get("x-ms-client-request-id", "")
        with standin.lock:
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = raw.decode(errors="replace")
            url = urlsplit(self.path)
            record = Recorded(method, url.path, parse_qs(url.query), headers, body, request_id, standin.world.now())
            standin.requests.append(record)
            fault = None
            try:
                if isinstance(body, str):
                    raise errors.asr("InvalidRequestBody", "The request body is not valid JSON.", "", "")
                answer, fault = standin.handle(method, self.path, headers, body, record)
            except errors.ServiceError as exc:
                answer = Answer(exc.status, exc.body(request_id), exc.headers)
            if fault is not None:
                if fault.status == 0:
                    record.status = 0
                    self._drop()
                    return
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                code = "TooManyRequests" if fault.status == 429 else "InternalServerError"
                error = errors.arm(fault.status, code, f"Injected {fault.status}.", extra)
                answer = Answer(fault.status, error.body(request_id), error.headers)
            record.status = answer.status
        self._send(answer)

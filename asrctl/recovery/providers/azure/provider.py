"""The real provider: Azure Site Recovery through azure-mgmt-recoveryservicessiterecovery 2.x, for both
architectures (modernized ``InMageRcm`` / ``InMageRcmFailback``, classic ``InMageAzureV2`` / ``InMage``), and Azure
Automation for runbook actions. Wire rules in :mod:`.transport`; state mapping in :mod:`.asr`; request bodies in
:mod:`.inputs`; the on-premises infrastructure in :mod:`.fabric`; jobs in :mod:`.jobs`; runbooks in
:mod:`.automation`.

* Every side effect carries ``x-ms-client-request-id`` = a GUID derived from the engine's stable request id. ASR
  records it in the job's ``activityId``, which is how :meth:`AzureProvider.find_job` reconciles after an ambiguous
  failure instead of re-sending — looking at the target's current job first, then at a job list filtered by time
  and target type (never every job of the vault).
* Long-running POSTs answer 202; the job is named in ``Location`` (``…/operationresults/<job>``) or
  ``Azure-AsyncOperation`` (``…/replicationOperationStatus/<job>``). The provider returns at once with the ASR job
  and the azure-core continuation token (reported through ``on_job_started`` before returning); the engine polls.
* **Multi-VM groups** (``capabilities.group_jobs``): a request with ``recovery_plan`` goes to
  ``replicationRecoveryPlans/<plan>/<action>`` with the plan-level inputs; the plan must hold exactly the group's
  machines (checked once per plan). ASR shows the plan job as the current job of every member; it can stop
  ``Suspended`` at a manual action until :meth:`resume_job`.
* Machine states are derived per item from ASR's own fields (:func:`.asr.machine_state`), so a drill then a
  failover works (``MarkedForDeletion`` after a cleanup) and a reprotected classic item is not "failed back".
* Resources the vault discovers once (machine → fabric/container/item) and when the run started (the window of its
  job lookups) are exported as provider state, journaled with the run, and handed back on resume.
* **Classic → modernized move** (``migration_target``, ``asrctl migrate``): ``switch-provider`` sends
  ``switchProvider`` on the classic item, naming the modernized stack's vault, InMageRcm fabric and the machine's
  appliance there (its registration). A classic item that says it moved (``switchProviderState``,
  ``InMageAzureV2SwitchProviderDetails``) and has no job running is reported as the item it became in the target vault
  (InMageRcm, found by friendly name or fabric discovery id), so a resumed or repeated run skips it instead of moving
  it again. ``recreate-recovery-plans`` PUTs the target stack's plans into the target vault (idempotent by name), the
  body rendered like phase 2's (:mod:`asrctl.infra.plan_layout`); its jobs are one engine job (:class:`.jobs.PlanSaves`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asrctl.config import ModernizedRegistration, Registration, StackConfig
from asrctl.recovery.clock import Clock, WallClock, from_iso, iso
from asrctl.recovery.operations import OPERATIONS, Architecture
from asrctl.recovery.providers.azure import fabric as fabric_info
from asrctl.recovery.providers.azure.asr import (
    StackAzureIds,
    architecture_of,
    client_request_id,
    instance_type,
    latest_points,
    machine_state,
    operation_of_scenario,
    pick_recovery_point,
    stack_azure_ids,
)
from asrctl.recovery.providers.azure.automation import Runbooks, is_runbook_job
from asrctl.recovery.providers.azure.inputs import (
    ClassicReenable,
    ClassicReprotect,
    ModernizedReenable,
    ModernizedReprotect,
    PlanItem,
    ReverseInput,
    SwitchTarget,
    item_request,
    plan_request,
    recovery_plan_input,
)
from asrctl.recovery.providers.azure.jobs import (
    ITEM_TARGET,
    OPERATION_STATUS_RE,
    PLAN_TARGET,
    PlanSaves,
    carries_request,
    job_filter,
    job_name,
    job_name_from_headers,
    job_status,
)
from asrctl.recovery.providers.azure.transport import Transport, safe_continuation_token, send_only_polling
from asrctl.recovery.providers.protocol import (
    AmbiguousResult,
    ApplianceStatus,
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
SDK_METHODS = {
    "testFailover": "begin_test_failover",
    "testFailoverCleanup": "begin_test_failover_cleanup",
    "unplannedFailover": "begin_unplanned_failover",
    "plannedFailover": "begin_planned_failover",
    "failoverCommit": "begin_failover_commit",
    "failoverCancel": "begin_failover_cancel",
    "reProtect": "begin_reprotect",
    "switchProvider": "begin_switch_provider",
}
# Job lookups go back to when the run started (journaled), less this margin for clock skew between this machine and
# ASR; without a journaled start (a provider used outside a run), this far back.
LOOKUP_SKEW = timedelta(hours=1)
DEFAULT_LOOKBACK = timedelta(hours=24)
IDLE_JOB = "None"  # ASR's currentScenario.scenarioName of an idle item (CLIrec)


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
    capabilities = Capabilities(poll_interval=30.0, jobs_can_suspend=True, group_jobs=True)

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
        migration_target: tuple[StackConfig, str] | None = None,
    ) -> None:
        self.cfg = stack_cfg
        self.stack_name = stack_name
        self.clock: Clock = clock or WallClock()
        self.ids: StackAzureIds = stack_azure_ids(stack_cfg)
        self.transport = Transport(stack_cfg.subscription_id, endpoint=endpoint, credential=credential,
                                   connection_verify=connection_verify, caller=caller)
        self._connection = {"endpoint": endpoint, "credential": credential, "connection_verify": connection_verify,
                            "caller": caller}
        # `asrctl migrate`: the modernized stack this classic stack's machines move to, and a provider for its vault
        # (built when first needed: a stack without a registration can still be refused cleanly by readiness).
        self.migration_target = migration_target
        self._target: AzureProvider | None = None
        # A migration moves replication and recovers no VM: its polls need no recovery points (a read per machine).
        self._read_points = migration_target is None
        self.runbooks = Runbooks(self.transport, self.ids)
        self.on_job_started = on_job_started
        state = state or {}
        item_map = state.get("item_map")
        self._items: dict[str, ItemRef] | None = (
            {k: ItemRef(**v) for k, v in item_map.items()} if item_map is not None else None
        )
        self._since: datetime | None = from_iso(state.get("since"))
        self._seen: dict[str, Any] = {}  # machine → the last ASR item read (architecture, NICs, datastores)
        self._list_pages: int | None = None  # HTTP pages the last full item list took (GET-vs-list choice)
        self._operations: dict[str, str] = {}  # job id → operation, for jobs this provider started or found
        self._sent: dict[str, JobRef] = {}  # client request id → the job it started (this process)
        self._plans_checked: set[str] = set()
        self._infra: fabric_info.Infrastructure | None = None

    @property
    def api_calls(self) -> dict[str, int]:
        calls = {**self.transport.calls, "reads": self.transport.http_requests["reads"],
                 "writes": self.transport.http_requests["writes"]}
        if self._target is not None:  # the run's calls to the vault it migrates to count as the run's
            for key, count in self._target.api_calls.items():
                calls[key] = calls.get(key, 0) + count
        return calls

    def identity(self) -> str:
        return f"azure:{self.ids.vault_id.lower()}"

    def export_state(self) -> dict[str, Any]:
        since = self._since or datetime.fromtimestamp(self.clock.now(), UTC)
        self._since = since
        return {"item_map": {k: v.to_dict() for k, v in self._discover().items()}, "since": iso(since)}

    def close(self) -> None:
        self.transport.close()
        if self._target is not None:
            self._target.close()

    # -- the vault a migration moves to --------------------------------------------------------------------------
    def _migration(self, what: str) -> tuple[StackConfig, str]:
        if self.migration_target is None:
            raise OperationRejected(f"{what} needs the modernized stack to move to (asrctl migrate --to-stack)")
        return self.migration_target

    def target_vault(self, what: str = "the migration") -> AzureProvider:
        """The provider of the modernized vault the machines move to (the same connection settings and clock)."""
        cfg, name = self._migration(what)
        if self._target is None:
            self._target = AzureProvider(cfg, name, clock=self.clock, **self._connection)
            self._target._since = self._since
            self._target._read_points = self._read_points
        return self._target

    def _moved(self, item: Any) -> bool:
        """The classic item says it moved (or is moving) to the target vault: InMageAzureV2SwitchProviderDetails names
        that vault, or (without details) its switchProviderState is set. [U] which switchProviderState strings ASR
        uses beyond "None"; any other value is taken as "a move happened", and the target vault then shows whether
        it finished. A move to another vault is not this migration's."""
        from azure.mgmt.recoveryservicessiterecovery import models as m

        props = item.properties
        details = props.provider_specific_details
        switch = details.switch_provider_details if isinstance(details, m.InMageAzureV2ReplicationDetails) else None
        to = ((switch.target_vault_id if switch is not None else None) or "").lower()
        if to and self.migration_target is not None:
            return to == stack_azure_ids(self.migration_target[0]).vault_id.lower()
        return (props.switch_provider_state or "None").lower() not in ("", "none")

    def service_endpoint(self, machine: str) -> str | None:
        return None  # recovered VMs are reached at their own IPs

    # -- for other read-only callers (asrctl discover, apply-nics): the same connection ----------------------------
    def site_recovery_client(self) -> Any:
        return self.transport.site_recovery()

    def read(self, method: str, fn: Any, *, missing_ok: bool = False) -> Any:
        return self.transport.read(method, fn, missing_ok=missing_ok, where=f"vault {self.ids.vault}")

    def _once(self, request_id: str) -> dict[str, Any]:
        return {"retry_total": 0, "headers": {"x-ms-client-request-id": client_request_id(request_id)}}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    # -- discovery -----------------------------------------------------------------------------------------------
    def _list_items(self) -> list[Any]:
        client = self.site_recovery_client()
        before = self.transport.http_requests["reads"]
        items = self.read(
            "list_protected_items",
            lambda: list(client.replication_protected_items.list(self.ids.resource_group, self.ids.vault)),
        )
        self._list_pages = max(1, self.transport.http_requests["reads"] - before)
        return items

    def _match(self, items: list[Any]) -> dict[str, tuple[ItemRef, Any]]:
        """machine → (ItemRef, item). Items discovered earlier in the run (or journaled by it) are matched by their
        ARM id, so a VM renamed in vCenter mid-run is still the same item; the rest by item name (the Pulumi program
        names items after the machine) or friendly name (ASR shows the vSphere VM name) — and, for a modernized
        registration, the item's fabricDiscoveryMachineId (an item a classic move created is named by ASR, not us)."""
        from azure.mgmt.recoveryservicessiterecovery import models as m

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
        reg = self.cfg.registration
        by_discovery = {mid.lower(): name for name, mid in reg.discovered_machines.items()} \
            if isinstance(reg, ModernizedRegistration) else {}
        for item in items:
            friendly = (item.properties.friendly_name if item.properties else None) or ""
            details = item.properties.provider_specific_details if item.properties else None
            discovered = (details.fabric_discovery_machine_id if isinstance(details, m.InMageRcmReplicationDetails)
                          else None) or ""
            machine = by_discovery.get(discovered.lower()) or by_name.get((item.name or "").lower()) \
                or by_name.get(friendly.lower())
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
            matched = self._match(self._list_items())
            self._items = {k: ref for k, (ref, _) in matched.items()}
            self._seen.update({k: item for k, (_, item) in matched.items()})
        return self._items

    def _ref(self, machine: str) -> ItemRef:
        ref = self._discover().get(machine)
        if ref is None:
            raise OperationRejected(
                f"{machine} is not a replicated item in vault {self.ids.vault} (matched by item name and friendly "
                "name against the machine name and vmName); enable replication for it first (phase 2)"
            )
        return ref

    def _get_item(self, ref: ItemRef) -> Any:
        client = self.site_recovery_client()
        item = self.read(
            "get_protected_item",
            lambda: client.replication_protected_items.get(self.ids.resource_group, self.ids.vault, ref.fabric,
                                                           ref.container, ref.item),
        )
        self._seen[ref.machine] = item
        return item

    def _item(self, machine: str) -> Any:
        """The item as last read (reads it when this provider has not seen it yet)."""
        return self._seen.get(machine) or self._get_item(self._ref(machine))

    def protected_items(self, names: list[str]) -> dict[str, tuple[ItemRef, Any]]:
        """Fresh ASR items of ``names``: one GET per item when that is cheaper than listing the vault (the item map
        is known and fewer items are wanted than the list takes pages), else a (paged) list of every item."""
        if self._items is None:  # discovery lists every item anyway: use what it read
            refs = self._discover()
            return {n: (refs[n], self._seen[n]) for n in names if n in refs}
        refs = self._items
        if self._list_pages is not None and all(n in refs for n in names) and len(names) < self._list_pages:
            return {n: (refs[n], self._get_item(refs[n])) for n in names}
        matched = self._match(self._list_items())
        for name, (ref, item) in matched.items():
            self._items.setdefault(name, ref)  # type: ignore[union-attr]
            self._seen[name] = item
        return {n: matched[n] for n in names if n in matched}

    def _recovery_points(self, ref: ItemRef) -> list[Any]:
        client = self.site_recovery_client()
        return self.read(
            "list_recovery_points",
            lambda: list(client.recovery_points.list_by_replication_protected_items(
                self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item)),
        )

    # -- reads ---------------------------------------------------------------------------------------------------
    def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        result: dict[str, MachineStatus] = {}
        moved: list[str] = []
        for name, (ref, item) in self.protected_items(names).items():
            result[name] = status = self._status(name, ref, item)
            if self.migration_target is not None and status.current_job is None and self._moved(item):
                moved.append(name)
        if moved:
            # Moved: the machine is the InMageRcm item in the target vault now (the classic one only keeps failover
            # until its points expire). Until that item exists, the classic item is what there is.
            result.update(self.target_vault().describe_machines(moved))
        return result

    def _status(self, name: str, ref: ItemRef, item: Any) -> MachineStatus:
        props = item.properties
        details = props.provider_specific_details
        architecture = architecture_of(instance_type(props), self.cfg.architecture)
        state = machine_state(props)
        current = self._current_job(name, props, architecture, state)
        points: dict[str, Any] = {}
        # Recovery points matter before a failover or failback starts (readiness); not worth a read per poll.
        if state in ("protected", "reprotected") and current is None and self._read_points:
            points = latest_points(self._recovery_points(ref))
        health = props.replication_health if props.replication_health in ("Normal", "Warning", "Critical") \
            else "Warning"
        agent = getattr(details, "mobility_agent_details", None)
        rpo = getattr(details, "rpo_in_seconds", None)
        if rpo is None:
            rpo = getattr(details, "last_rpo_in_seconds", None)
        heartbeat = getattr(details, "last_heartbeat", None) or getattr(agent, "last_heartbeat_utc", None)
        version = getattr(agent, "version", None) or getattr(details, "agent_version", None)
        latest = getattr(agent, "latest_version", None)
        if version and latest is None and current is None:  # not worth a fabric read during a job's polls
            latest = self._agent_offered(details)
        return MachineStatus(
            name=name, state=state, protection_state=props.protection_state or "Unknown",
            replication_health=health, rpo_seconds=float(rpo) if rpo is not None else None,
            last_heartbeat=heartbeat, recovery_points=points,
            allowed_operations=self._allowed(props, architecture, state), current_job=current,
            architecture=architecture,
            agent_version=version, agent_latest_version=latest,
        )

    def _current_job(self, name: str, props: Any, architecture: str, state: str) -> JobRef | None:
        scenario = props.current_scenario
        if scenario is None or not scenario.job_id or (scenario.scenario_name or IDLE_JOB) == IDLE_JOB:
            return None
        job_id = self._canonical_job_id(scenario.job_id)
        operation = self._operations.get(job_id) or operation_of_scenario(scenario.scenario_name, architecture, state)
        return JobRef(id=job_id, operation=operation, machines=(name,))

    @staticmethod
    def _allowed(props: Any, architecture: str, state: str) -> tuple[str, ...]:
        """The asrctl operations whose allowedOperations entry ASR lists now, from the item's state."""
        allowed = set(props.allowed_operations or ())
        return tuple(name for name, op in OPERATIONS.items()
                     if architecture in op.asr and op.asr[architecture].allowed in allowed  # type: ignore[index]
                     and state in op.allowed_from(architecture))  # type: ignore[arg-type]

    def _agent_offered(self, details: Any) -> str | None:
        """The agent version the machine's appliance (modernized: its process server) or configuration server runs
        (the fabric, read once per provider). [U] that auto-update brings agents to exactly that version."""
        if self._infra is None:
            if self.cfg.registration is None:
                return None
            self._infrastructure()
        assert self._infra is not None
        server = (getattr(details, "process_server_name", None) or "").lower()
        appliance = self._infra.appliances.get(server)
        if appliance is not None:
            return appliance.versions.get("process-server")
        return self._infra.agent_version

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
        reg = self.cfg.registration
        if reg is None:
            what = "the replication appliances have" if self.cfg.modernized else "the configuration server has"
            return EnvironmentStatus(
                test_network_present=test_network, failback_ready=False, details=details,
                problems=(f"stack {self.stack_name} has no vmware-azure-dr:registration yet: {what} not registered "
                          f"(run `asrctl discover --stack {self.stack_name}` once they have)",))
        infra = self._infrastructure(refresh=True)
        if isinstance(reg, ModernizedRegistration):
            return self._modernized_environment(test_network, infra, reg, details)
        return self._classic_environment(test_network, infra, reg, details)

    def _modernized_environment(self, test_network: bool, infra: fabric_info.Infrastructure,
                                reg: ModernizedRegistration, details: dict[str, Any]) -> EnvironmentStatus:
        problems: list[str] = []
        if not infra.fabric_found:
            problems.append(f"fabric {reg.fabric_name} (registration.fabricName) is not in vault {self.ids.vault}")
        appliances = tuple(infra.appliances.values())
        for appliance in self._failback_appliances(infra):
            if not appliance.registered:
                problems.append(f"appliance {appliance.name} is not registered with the vault")
            elif not appliance.reprotect_agent:
                problems.append(f"appliance {appliance.name} has no reprotect agent registered (failback reprotects "
                                "through it)")
            elif appliance.components.get("reprotect-agent") == "Critical":
                problems.append(f"the reprotect agent of appliance {appliance.name} is Critical")
            elif reg.failback_datastore and reg.failback_datastore not in appliance.datastores:
                problems.append(f"datastore {reg.failback_datastore} (registration.failbackDatastore) is not "
                                f"reachable by the reprotect agent of {appliance.name} (it reaches "
                                f"{', '.join(appliance.datastores) or 'none'})")
        details["fabric"] = reg.fabric_name
        return EnvironmentStatus(test_network_present=test_network, failback_ready=not problems,
                                 problems=tuple(problems), details=details, appliances=appliances,
                                 failback_datastore=reg.failback_datastore)

    def _classic_environment(self, test_network: bool, infra: fabric_info.Infrastructure, reg: Registration,
                             details: dict[str, Any]) -> EnvironmentStatus:
        problems: list[str] = []
        servers = {p.id.lower() for p in infra.process_servers}
        if not reg.failback_process_server_id:
            problems.append("the failback process server is not registered: set vmware-azure-dr:registration."
                            "failbackProcessServerId once it has registered with the configuration server")
        elif reg.failback_process_server_id.lower() not in servers:
            problems.append("the failback process server is not registered with the configuration server")
        if infra.master_target(reg.master_target_id) is None:
            problems.append("the master target is not registered")
        if any(m.os == "linux" for m in self.cfg.machines):
            linux = infra.master_target(reg.linux_master_target_id)
            if linux is None or linux.os.lower() != "linux":
                problems.append("the stack has Linux machines but no Linux master target is registered "
                                "(registration.linuxMasterTargetId): Linux VMs fail back only through one")
        if infra.failback_policy_id(self.ids.container_id()) is None:
            problems.append("the InMage failback policy is not mapped from the configuration server's container to "
                            "itself (the failback container mapping reprotect takes its profile from)")
        details.update(failback_process_server_registered=bool(reg.failback_process_server_id)
                       and (reg.failback_process_server_id or "").lower() in servers,
                       master_target_registered=infra.master_target(reg.master_target_id) is not None,
                       component_versions=self._component_versions(infra, reg))
        return EnvironmentStatus(test_network_present=test_network, failback_ready=not problems,
                                 problems=tuple(problems), details=details)

    def _component_versions(self, infra: fabric_info.Infrastructure, reg: Registration) -> dict[str, str]:
        """What the move from classic requires at 9.50 or later (AD move-from-classic-to-modernized-vmware-disaster-
        recovery.md, "Architecture"), as the vaults report it:

        * ``configuration-server``: the oldest of the configuration server (VMwareDetails.agentVersion) and its
          on-premises process servers (processServers[].agentVersion) — "its components … 9.50 or later";
        * the target appliance(s) of the moving machines (their InMageRcm fabric in the modernized vault): the oldest
          ``process-server``, ``rcm-proxy`` ("Proxy server"), ``mars-agent`` ("Recovery services agent") and
          ``replication-agent`` ("Replication service", the RCM replication agent) version.

        What a vault does not report is left out (readiness then warns): all of the appliance's without a target
        registration or fabric. The Mobility agents' versions are per machine (MachineStatus.agent_version)."""
        failback = (reg.failback_process_server_id or "").lower()
        versions: dict[str, str] = {}
        cs = fabric_info.lowest_version([infra.agent_version, *(p.version for p in infra.process_servers
                                                                 if p.id.lower() != failback)])
        if cs:
            versions["configuration-server"] = cs
        if self.migration_target is None or self.migration_target[0].registration is None:
            return versions
        target = self.target_vault()
        moving = {target.cfg.appliance_assignment[m.name].name.lower() for m in self.cfg.machines
                  if m.name in target.cfg.appliance_assignment}  # fmt: skip
        appliances = [a for a in target._infrastructure(refresh=True).appliances.values()
                      if a.registered and a.name.lower() in moving]  # fmt: skip
        for kind in ("process-server", "rcm-proxy", "mars-agent", "replication-agent"):
            lowest = fabric_info.lowest_version([a.versions.get(kind) for a in appliances])
            if lowest:
                versions[kind] = lowest
        return versions

    def _infrastructure(self, refresh: bool = False) -> fabric_info.Infrastructure:
        """The registration's fabric and its container mappings (read once per provider, again for readiness)."""
        if self._infra is not None and not refresh:
            return self._infra
        reg = self.cfg.registration
        if reg is None:
            raise OperationRejected(f"stack {self.stack_name} has no vmware-azure-dr:registration (phase 2)")
        client = self.site_recovery_client()
        rg, vault = self.ids.resource_group, self.ids.vault
        fabric = self.read("get_fabric", lambda: client.replication_fabrics.get(rg, vault, reg.fabric_name),
                           missing_ok=True)
        if isinstance(reg, ModernizedRegistration):
            roles = {a.name: a.role for a in (self.cfg.replication_appliances.appliances
                                              if self.cfg.replication_appliances else [])}  # fmt: skip
            infra = fabric_info.read_modernized(fabric, roles)
        else:
            infra = fabric_info.read_classic(fabric)
        if fabric is not None:
            mappings = self.read("list_container_mappings", lambda: list(
                client.replication_protection_container_mappings.list_by_replication_protection_containers(
                    rg, vault, reg.fabric_name, reg.protection_container_name)), missing_ok=True) or []
            policies = self.read("list_policies", lambda: list(client.replication_policies.list(rg, vault)))
            infra.mappings = fabric_info.read_mappings(mappings, policies)
        self._infra = infra
        return infra

    def _failback_appliances(self, infra: fabric_info.Infrastructure) -> list[ApplianceStatus]:
        """The appliances a reprotect to on-premises goes through: the stack's failback appliance(s) if it has one
        (a dedicated one beyond 60 disks, REFERENCE-modernized §5), else each replication appliance."""
        appliances = list(infra.appliances.values())
        failback = [a for a in appliances if a.role == "failback"]
        return failback or appliances

    def get_job(self, job: JobRef) -> JobStatus:
        if is_runbook_job(job):
            return self.runbooks.get(job)
        saves = PlanSaves.parse(job.id)
        if saves is not None:  # the recovery plans a migration re-created in the target vault
            target = self.target_vault("re-creating the recovery plans")
            return saves.status(job.id, [target.get_job(JobRef(f"{saves.vault_id}/replicationJobs/{n}", job.operation))
                                         for n in saves.jobs])
        name = job_name(job.id)
        if name is None:
            raise ProviderError(f"{job.id!r} is not an ASR job id")
        client = self.site_recovery_client()
        asr_job = self.read("get_job", lambda: client.replication_jobs.get(self.ids.resource_group, self.ids.vault,
                                                                           name))
        return job_status(job.id, asr_job, self._item_machines())

    def _item_machines(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for ref in (self._items or {}).values():
            out[ref.item.lower()] = ref.machine
            if ref.friendly_name:
                out.setdefault(ref.friendly_name.lower(), ref.machine)
        return out

    def find_runbook_job(self, runbook: str, request_id: str) -> JobRef | None:
        return self.runbooks.find(runbook, request_id)

    def find_job(self, request: OperationRequest) -> JobRef | None:
        """The job an earlier send of ``request`` started: this process's own record, the target's current job, or
        a job list filtered by time window and target type — each matched on the request id in ``activityId``."""
        rid = client_request_id(request.request_id)
        if rid in self._sent:
            return self._sent[rid]
        if request.operation == "recreate-recovery-plans":
            return self._find_plan_saves(request)
        client = self.site_recovery_client()
        rg, vault = self.ids.resource_group, self.ids.vault
        if request.recovery_plan is not None:
            plan = self.read("get_recovery_plan", lambda: client.replication_recovery_plans.get(
                rg, vault, request.recovery_plan), missing_ok=True)
            scenario = plan.properties.current_scenario if plan is not None and plan.properties else None
        else:
            props = self._get_item(self._ref(request.machines[0])).properties
            scenario = props.current_scenario if props else None
        if scenario is not None and scenario.job_id and (scenario.scenario_name or IDLE_JOB) != IDLE_JOB:
            name = job_name(scenario.job_id)
            job = self.read("get_job", lambda: client.replication_jobs.get(rg, vault, name), missing_ok=True)
            if carries_request(job, rid):
                return self._found(request, job)
        since = self._since - LOOKUP_SKEW if self._since is not None else self._now() - DEFAULT_LOOKBACK
        target = PLAN_TARGET if request.recovery_plan is not None else ITEM_TARGET
        jobs = self.read("list_jobs", lambda: list(client.replication_jobs.list(rg, vault,
                                                                                filter=job_filter(since, target))))
        job = next((j for j in jobs if carries_request(j, rid)), None)
        return self._found(request, job) if job is not None else None

    def _find_plan_saves(self, request: OperationRequest) -> JobRef | None:
        """The plan saves an earlier send started: every plan's SaveRecoveryPlan job, found in the target vault's
        job list (filtered by time and target type) by its own client request id. All or nothing: with one missing,
        the engine re-sends — PUTs by name, so saving a plan again changes nothing."""
        target = self.target_vault("re-creating the recovery plans")
        names = [layout.name for layout in self._target_layouts()]
        since = self._since - LOOKUP_SKEW if self._since is not None else self._now() - DEFAULT_LOOKBACK
        client = target.site_recovery_client()
        jobs = target.read("list_jobs", lambda: list(client.replication_jobs.list(
            target.ids.resource_group, target.ids.vault, filter=job_filter(since, PLAN_TARGET))))
        found = []
        for name in names:
            rid = client_request_id(f"{request.request_id}/{name}")
            job = next((j for j in jobs if carries_request(j, rid)), None)
            if job is None:
                return None
            found.append(job.name or job_name(job.id or "") or "")
        ref = JobRef(PlanSaves(target.ids.vault_id, tuple(found)).ref_id, request.operation, request.machines)
        self._operations[ref.id] = request.operation
        return ref

    def _found(self, request: OperationRequest, job: Any) -> JobRef:
        ref = JobRef(id=self._canonical_job_id(job.id or ""), operation=request.operation, machines=request.machines)
        self._operations[ref.id] = request.operation
        return ref

    # -- side effects --------------------------------------------------------------------------------------------
    def start_operation(self, request: OperationRequest) -> JobRef:
        operation = request.operation
        if operation not in OPERATIONS:
            raise OperationRejected(f"{operation!r} is not an ASR operation")
        if request.recovery_plan is not None:
            return self._start_plan(request)
        if operation == "recreate-recovery-plans":
            return self._recreate_plans(request)
        if len(request.machines) != 1:
            raise OperationRejected(f"{operation} of {', '.join(request.machines)}: several machines need the "
                                    "recovery plan of their multi-VM group")
        machine = request.machines[0]
        ref = self._ref(machine)
        item = self._item(machine)
        architecture = architecture_of(instance_type(item.properties), self.cfg.architecture)
        point_id = None
        if OPERATIONS[operation].chooses_point and request.recovery_point != "latest":
            point_id = pick_recovery_point(self._recovery_points(ref), request.recovery_point)
        reverse = self._reverse_input(operation, architecture, machine, item) \
            if operation in ("reprotect", "reenable") else None
        switch = self._switch_target(machine) if operation == "switch-provider" else None
        action, body = item_request(
            operation, architecture, self.ids, recovery_point=request.recovery_point, recovery_point_id=point_id,
            comment=f"asrctl {operation} request {client_request_id(request.request_id)}", reverse=reverse,
            switch=switch,
        )
        client = self.site_recovery_client()
        begin = getattr(client.replication_protected_items, SDK_METHODS[action])
        args = [self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item]
        return self._send(request, operation, begin, args, body, f"{operation} on {machine}")

    # -- the classic → modernized move ----------------------------------------------------------------------------
    def _switch_target(self, machine: str) -> SwitchTarget:
        """The modernized vault, its InMageRcm fabric and the appliance the target stack assigns the machine to,
        from the target stack's registration (REFERENCE-modernized "Classic→modernized migration")."""
        cfg, name = self._migration(f"switch-provider of {machine}")
        reg = cfg.registration
        if not isinstance(reg, ModernizedRegistration):
            raise OperationRejected(f"stack {name} has no registration of its replication appliance: register the "
                                    f"appliance with its vault, then run `asrctl discover --stack {name}` and add the "
                                    "registration block it prints")
        appliance = cfg.appliance_assignment.get(machine)
        if appliance is None:
            raise OperationRejected(f"{machine}: no replication appliance of stack {name} replicates it (add one to "
                                    "replicationAppliances)")
        ids = reg.appliances.get(appliance.name)
        if ids is None:
            raise OperationRejected(f"stack {name}: registration.appliances has no {appliance.name}, which takes "
                                    f"{machine} over; run `asrctl discover --stack {name}` once it is registered")
        target = stack_azure_ids(cfg)
        fabric_id = target.fabric_id()
        assert fabric_id is not None  # a registration names its fabric
        return SwitchTarget(vault_id=target.vault_id, fabric_id=fabric_id, appliance_id=ids.process_server_id)

    def _target_layouts(self) -> list[Any]:
        """The target stack's recovery plans as phase 2 renders them: one per plan file, and with multi-VM sync one
        per consistency group (the engine fails a multi-VM group over through it)."""
        from asrctl.infra.consistency_groups import consistency_groups
        from asrctl.infra.plan_layout import consistency_group_layout, plan_layout
        from asrctl.plans import load_plans_for_stack

        cfg, name = self._migration("re-creating the recovery plans")
        plans = load_plans_for_stack(cfg, name)
        layouts = [plan_layout(p) for p in plans]
        if cfg.replication.multi_vm_sync:
            layouts += [consistency_group_layout(g) for g in consistency_groups(plans)]
        return layouts

    def _recreate_plans(self, request: OperationRequest) -> JobRef:
        """ASR does not migrate recovery plans (AD move-from-classic-to-modernized-vmware-disaster-recovery.md): PUT
        the target stack's plans into the target vault, holding the moved items as they are there now. A PUT by name
        creates or replaces, so a re-send after a lost answer or a crash changes nothing."""
        target = self.target_vault("re-creating the recovery plans")
        layouts = self._target_layouts()
        wanted = sorted({name for layout in layouts for name in layout.machines})
        found = target.protected_items(wanted)
        missing = [name for name in wanted if name not in found]
        if missing:
            raise OperationRejected(f"recovery plans of stack {target.stack_name}: {', '.join(missing)} not replicated "
                                    f"in vault {target.ids.vault} (move them first, or remove them from the plans)")
        fabric_id = target.ids.fabric_id()
        if fabric_id is None:
            raise OperationRejected(f"stack {target.stack_name} has no registration: its recovery plans need its "
                                    f"fabric (`asrctl discover --stack {target.stack_name}`)")
        from azure.mgmt.recoveryservicessiterecovery import models as m

        items = {}
        for machine, (ref, item) in found.items():
            details = item.properties.provider_specific_details
            internal = details.internal_identifier if isinstance(details, m.InMageRcmReplicationDetails) else None
            items[machine] = PlanItem(ref.id, internal)
        client = target.site_recovery_client()
        saved: list[str] = []
        for layout in layouts:
            body = recovery_plan_input(layout, fabric_id, items, target.ids.runbook_id)
            rid = f"{request.request_id}/{layout.name}"
            polling = send_only_polling()
            target.transport.write("create_recovery_plan", lambda: client.replication_recovery_plans.begin_create(
                target.ids.resource_group, target.ids.vault, layout.name, body, polling=polling,  # noqa: B023
                **target._once(rid)))  # noqa: B023 - called at once, in this iteration
            job_id = target._job_id_of(polling.initial_response)
            if job_id is None:
                raise AmbiguousResult(f"recovery plan {layout.name}: saved, but ASR named no job; reconcile")
            saved.append(job_name(job_id) or job_id)
        job = JobRef(PlanSaves(target.ids.vault_id, tuple(saved)).ref_id, request.operation, request.machines)
        self._operations[job.id] = request.operation
        self._sent[client_request_id(request.request_id)] = job
        if self.on_job_started is not None:
            self.on_job_started(request.request_id, job)
        return job

    def _start_plan(self, request: OperationRequest) -> JobRef:
        plan = request.recovery_plan
        assert plan is not None
        self._check_plan(plan, request.machines)
        architectures = {architecture_of(instance_type(self._item(m).properties), self.cfg.architecture)
                         for m in request.machines}  # fmt: skip
        if len(architectures) != 1:
            raise OperationRejected(f"recovery plan {plan} mixes classic and modernized items; ASR fails over one "
                                    "replication provider per plan input")
        architecture: Architecture = architectures.pop()
        action, body = plan_request(
            request.operation, architecture, self.ids, recovery_point=request.recovery_point,
            multi_vm_sync_point=request.multi_vm_sync_point,
            comment=f"asrctl {request.operation} request {client_request_id(request.request_id)}",
        )
        client = self.site_recovery_client()
        begin = getattr(client.replication_recovery_plans, SDK_METHODS[action])
        args = [self.ids.resource_group, self.ids.vault, plan]
        return self._send(request, request.operation, begin, args, body,
                          f"{request.operation} of recovery plan {plan} ({', '.join(request.machines)})")

    def _check_plan(self, plan: str, machines: tuple[str, ...]) -> None:
        """The multi-VM group's ASR recovery plan must exist and hold exactly its machines: a plan holding others
        would fail them over too. Checked once per plan and provider."""
        if plan in self._plans_checked:
            return
        client = self.site_recovery_client()
        found = self.read("get_recovery_plan", lambda: client.replication_recovery_plans.get(
            self.ids.resource_group, self.ids.vault, plan), missing_ok=True)
        if found is None:
            raise OperationRejected(
                f"recovery plan {plan} is not in vault {self.ids.vault}: the machines {', '.join(machines)} share a "
                f"multi-VM group, which ASR fails over only through a recovery plan holding exactly them; run "
                f"`pulumi up --stack {self.stack_name}` (phase 2 creates one per multi-VM group)"
            )
        held = {(p.id or "").lower() for g in found.properties.groups or [] for p in g.replication_protected_items or []}
        wanted = {self._ref(m).id.lower() for m in machines}
        if held != wanted:
            others = len(held - wanted)
            missing = sorted(m for m in machines if self._ref(m).id.lower() not in held)
            raise OperationRejected(
                f"recovery plan {plan} does not hold exactly the multi-VM group's machines ({others} other item(s)"
                + (f"; missing {', '.join(missing)}" if missing else "") + f"); run `pulumi up --stack "
                f"{self.stack_name}` so it matches the plan file, then resume")
        self._plans_checked.add(plan)

    def _send(self, request: OperationRequest, operation: str, begin: Any, args: list[Any], body: Any,
              what: str) -> JobRef:
        if body is not None:
            args = [*args, body]
        polling = send_only_polling()
        poller = self.transport.write(operation, lambda: begin(*args, polling=polling,
                                                               **self._once(request.request_id)))
        for machine in request.machines:
            self._seen.pop(machine, None)  # its state is changing: read it afresh next time
        token = safe_continuation_token(poller)
        job_id = self._job_id_of(polling.initial_response)
        if job_id is None:
            found = self.find_job(request)
            if found is None:
                raise AmbiguousResult(f"{what}: accepted, but ASR named no job; reconcile")
            job_id = found.id
        job = JobRef(id=job_id, operation=operation, machines=request.machines, token=token)
        self._operations[job_id] = operation
        self._sent[client_request_id(request.request_id)] = job
        if self.on_job_started is not None:
            self.on_job_started(request.request_id, job)
        return job

    def _canonical_job_id(self, raw: str) -> str:
        """One spelling per job (ASR's own ids vary in case, e.g. /Subscriptions/), so ids compare equal."""
        name = job_name(raw)
        return f"{self.ids.vault_id}/replicationJobs/{name}" if name else raw

    def _job_id_of(self, pipeline_response: Any) -> str | None:
        """The job a 202 started: ``Location``'s operationresults segment, ``Azure-AsyncOperation``'s
        replicationOperationStatus segment, else the name in the operation-status body."""
        if pipeline_response is None:
            return None
        headers = pipeline_response.http_response.headers
        name = job_name_from_headers(headers)
        status_url = headers.get("Azure-AsyncOperation") or ""
        if name is None and OPERATION_STATUS_RE.search(status_url) is None and status_url:
            from azure.core.rest import HttpRequest

            client = self.site_recovery_client()
            body = self.read("get_operation_status",
                             lambda: client.send_request(HttpRequest("GET", status_url)).json(), missing_ok=True)
            name = (body or {}).get("name") if isinstance(body, dict) else None
        return f"{self.ids.vault_id}/replicationJobs/{name}" if name else None

    def update_item(self, ref: ItemRef, body: Any, request_id: str) -> str:
        """PATCH a protected item (NIC settings, :mod:`.nics`), sent once; returns the update job's id."""
        client = self.site_recovery_client()
        polling = send_only_polling()
        self.transport.write("update_protected_item", lambda: client.replication_protected_items.begin_update(
            self.ids.resource_group, self.ids.vault, ref.fabric, ref.container, ref.item, body, polling=polling,
            **self._once(request_id)))  # fmt: skip
        self._seen.pop(ref.machine, None)
        job_id = self._job_id_of(polling.initial_response)
        if job_id is None:
            raise AmbiguousResult(f"update of {ref.machine}: accepted, but ASR named no job")
        return job_id

    def resume_job(self, job: JobRef, comment: str, request_id: str) -> None:
        """Resume an ASR recovery-plan job Suspended on a manual action, with the approver's comment."""
        from azure.mgmt.recoveryservicessiterecovery import models as m

        name = job_name(job.id)
        if name is None:
            raise ProviderError(f"{job.id!r} is not an ASR job id")
        client = self.site_recovery_client()
        params = m.ResumeJobParams(properties=m.ResumeJobParamsProperties(comments=comment))
        self.transport.write(
            "resume_job",
            lambda: client.replication_jobs.begin_resume(
                self.ids.resource_group, self.ids.vault, name, params, polling=send_only_polling(),
                **self._once(request_id),
            ),
        )

    def cancel_job(self, job: JobRef) -> None:
        if is_runbook_job(job):
            self.runbooks.cancel(job)
            return
        saves = PlanSaves.parse(job.id)
        if saves is not None:
            target = self.target_vault("re-creating the recovery plans")
            for n in saves.jobs:
                target.cancel_job(JobRef(f"{saves.vault_id}/replicationJobs/{n}", job.operation))
            return
        name = job_name(job.id)
        if name is None:
            return
        client = self.site_recovery_client()
        self.transport.write(
            "cancel_job",
            lambda: client.replication_jobs.begin_cancel(
                self.ids.resource_group, self.ids.vault, name, polling=send_only_polling(), retry_total=0
            ),
        )

    def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any], request_id: str) -> JobRef:
        job = self.runbooks.start(name, parameters, context, request_id)
        if self.on_job_started is not None:
            self.on_job_started(request_id, job)
        return job

    # -- what a reverse-direction request needs ---------------------------------------------------------------------
    def _reverse_input(self, operation: str, architecture: Architecture, machine: str, item: Any) -> ReverseInput:
        reg = self.cfg.registration
        if reg is None:
            raise OperationRejected(f"{operation} of {machine} needs vmware-azure-dr:registration (phase 2)")
        infra = self._infrastructure()
        if architecture == "modernized":
            if not isinstance(reg, ModernizedRegistration):
                raise OperationRejected(f"{machine} replicates with InMageRcm but the stack's registration is classic")
            return (self._modernized_reprotect(machine, item, infra, reg) if operation == "reprotect"
                    else self._modernized_reenable(machine, infra, reg))
        if not isinstance(reg, Registration):
            raise OperationRejected(f"{machine} replicates with InMageAzureV2 but the stack's registration is "
                                    "modernized (migrate it first)")
        return (self._classic_reprotect(machine, infra, reg) if operation == "reprotect"
                else self._classic_reenable(infra, reg))

    def _appliance_of(self, machine: str) -> str:
        assigned = self.cfg.appliance_assignment.get(machine)
        if assigned is None:
            raise OperationRejected(f"{machine}: no replication appliance in the stack replicates it")
        return assigned.name

    def _modernized_reprotect(self, machine: str, item: Any, infra: fabric_info.Infrastructure,
                              reg: ModernizedRegistration) -> ModernizedReprotect:
        """REFERENCE-modernized §2.5 / §3.1 step 7: the reprotect agent of the failback appliance (or the machine's
        own), the datastore (registration.failbackDatastore, else the VM's own datastore as the CLI test takes it
        from discoveredVmDetails), the cache account as log storage, the failback policy of its mapping."""
        candidates = [a for a in self._failback_appliances(infra) if a.role == "failback"]
        name = candidates[0].name if candidates else self._appliance_of(machine)
        appliance = infra.appliance(name)
        ids = reg.appliances.get(name)
        agent_id = (ids.reprotect_agent_id if ids else None) or infra.appliance_ids.get(name.lower())
        if appliance is None or not appliance.reprotect_agent or not agent_id:
            raise OperationRejected(f"{machine}: appliance {name} has no reprotect agent registered in fabric "
                                    f"{reg.fabric_name}; failback reprotects through it (check the appliance's "
                                    "components, then `asrctl discover`)")
        discovered = getattr(item.properties.provider_specific_details, "discovered_vm_details", None)
        own = list(getattr(discovered, "datastores", None) or [])
        datastore = reg.failback_datastore or (own[0] if own else self.cfg.vcenter.datastore)
        if appliance.datastores and datastore not in appliance.datastores:
            raise OperationRejected(f"{machine}: datastore {datastore} is not reachable by the reprotect agent of "
                                    f"{name} (it reaches {', '.join(appliance.datastores)}); set "
                                    "registration.failbackDatastore to one of them")
        return ModernizedReprotect(reprotect_agent_id=agent_id, datastore_name=datastore,
                                   log_storage_account_id=self.ids.cache_storage_id,
                                   policy_id=infra.failback_policy_id(self.ids.container_id()))

    def _modernized_reenable(self, machine: str, infra: fabric_info.Infrastructure,
                             reg: ModernizedRegistration) -> ModernizedReenable:
        name = self._appliance_of(machine)
        ids = reg.appliances.get(name)
        if ids is None:
            raise OperationRejected(f"{machine}: registration.appliances has no {name} (`asrctl discover` prints it)")
        return ModernizedReenable(process_server_id=ids.process_server_id,
                                  policy_id=infra.forward_policy_id() or self.ids.replication_policy_id,
                                  run_as_account_id=reg.run_as_account_id)

    def _classic_reprotect(self, machine: str, infra: fabric_info.Infrastructure,
                           reg: Registration) -> ClassicReprotect:
        """REFERENCE §5: the Azure process server; the master target of the machine's OS with that master target's
        retention drive and datastore; the profile of the failback container mapping."""
        os_name = self.cfg.machines_by_name[machine].os
        if not reg.failback_process_server_id:
            raise OperationRejected(f"{machine}: reprotect to on-premises needs vmware-azure-dr:registration."
                                    "failbackProcessServerId (the temporary Azure process server)")
        target_id = reg.linux_master_target_id if os_name == "linux" else reg.master_target_id
        if not target_id:
            raise OperationRejected(f"{machine} runs Linux: it fails back only through a Linux master target; set "
                                    "vmware-azure-dr:registration.linuxMasterTargetId (`asrctl discover` prints it)")
        target = infra.master_target(target_id)
        if target is None:
            raise OperationRejected(f"{machine}: master target {target_id} is not registered in fabric "
                                    f"{reg.fabric_name}")
        if target.os.lower() != os_name:
            raise OperationRejected(f"{machine} runs {os_name}, but master target {target.name} runs {target.os}")
        volumes = target.retention_volumes
        retention = reg.retention_drive if os_name == "windows" and reg.retention_drive in volumes else \
            (volumes[0] if volumes else None)
        if retention is None:
            raise OperationRejected(f"{machine}: master target {target.name} reports no retention volume")
        datastore = self.cfg.vcenter.datastore if self.cfg.vcenter.datastore in target.datastores else \
            (target.datastores[0] if target.datastores else None)
        profile = infra.failback_policy_id(self.ids.container_id())
        if profile is None:
            raise OperationRejected(f"{machine}: no failback container mapping in fabric {reg.fabric_name}: the InMage "
                                    "failback policy must be mapped from the configuration server's container to "
                                    f"itself (`pulumi up --stack {self.stack_name}` creates it)")
        return ClassicReprotect(process_server_id=reg.failback_process_server_id, master_target_id=target.id,
                                retention_drive=retention, datastore_name=datastore, profile_id=profile,
                                run_as_account_id=reg.run_as_account_id)

    def _classic_reenable(self, infra: fabric_info.Infrastructure, reg: Registration) -> ClassicReenable:
        # PS UpdateAzureRmRecoveryServicesAsrProtectionDirection.cs (InMage branch): MasterTargetId defaults to the
        # process server ("Assumption: PS and MT are same"), PolicyId from the forward container mapping.
        return ClassicReenable(process_server_id=reg.process_server_id, master_target_id=reg.process_server_id,
                               policy_id=infra.forward_policy_id() or self.ids.replication_policy_id,
                               run_as_account_id=reg.run_as_account_id)

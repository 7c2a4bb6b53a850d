"""ASR's behaviour on the world: accept or refuse an operation (validation with the SDK model, then the rules
table), start its job, and apply the job's effect when the clock says it is done.

Every long-running operation is a job (ASR's model): the caller gets 202 with ``Azure-AsyncOperation`` →
``replicationOperationStatus/<job>`` and ``Location`` → ``…/operationresults/<job>`` (CLIrec), and the job moves
InProgress → Succeeded/Failed on the clock. Effects (state changes, where a VM lands) happen at the job's end;
a recovery-plan job applies them group by group and waits, ``Suspended``, at a manual action until
``replicationJobs/<job>/resume`` (ASR suspends only plan jobs; per-item jobs have no actions to wait on).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import uuid
from collections.abc import Callable
from typing import Any

from azure.mgmt.recoveryservicessiterecovery import models as m

from . import errors, render, rules
from .rules import ActionRule, Request
from .validation import validate
from .world import (
    AZURE,
    Fabric,
    Item,
    Job,
    Mapping,
    Placement,
    Plan,
    PlanAction,
    PlanGroup,
    Policy,
    Segment,
    SwitchTarget,
    World,
)

# The SDK model each operation's body deserializes into (the SDK's operation signatures).
ITEM_BODIES: dict[str, type | None] = {
    "testFailover": m.TestFailoverInput,
    "testFailoverCleanup": m.TestFailoverCleanupInput,
    "plannedFailover": m.PlannedFailoverInput,
    "unplannedFailover": m.UnplannedFailoverInput,
    "failoverCommit": None,
    "reProtect": m.ReverseReplicationInput,
    "failoverCancel": None,
    "switchProvider": m.SwitchProviderInput,
}
PLAN_BODIES: dict[str, type | None] = {
    "testFailover": m.RecoveryPlanTestFailoverInput,
    "testFailoverCleanup": m.RecoveryPlanTestFailoverCleanupInput,
    "plannedFailover": m.RecoveryPlanPlannedFailoverInput,
    "unplannedFailover": m.RecoveryPlanUnplannedFailoverInput,
    "failoverCommit": None,
    "reProtect": None,
    "failoverCancel": None,
}


def invalid_body(model: type, problems: list[str]) -> errors.ServiceError:
    # [U] ASR's code for a body it cannot deserialize; the message lists what the SDK model requires.
    return errors.asr(
        "InvalidRequestBody",
        f"The request body is not a valid {model.__name__}: " + "; ".join(problems),
        "A required property is missing, an instanceType is unknown, or a value has the wrong type "
        '(string booleans are "true"/"false").',
        "Build the body with the SDK's model for this operation.",
    )


def check_body(model: type | None, body: Any) -> list[str]:
    """Validate ``body`` with ``model``; raise ASR's 400 if invalid; return undeclared field paths."""
    if model is None:
        return []
    checked = validate(model, body if body is not None else {})
    if not checked.ok:
        raise invalid_body(model, checked.problems)
    return checked.unknown


class Service:
    def __init__(self, world: World) -> None:
        self.world = world
        self.unknown: list[str] = []  # undeclared fields of the last validated body (for the request log)

    def check(self, model: type | None, body: Any) -> None:
        self.unknown = check_body(model, body)

    # == jobs ============================================================================================================
    def new_job(
        self,
        scenario: str,
        *,
        target_type: str,
        target_id: str,
        target_name: str,
        client_request_id: str,
        segments: list[Segment],
        items: list[Item] = (),  # type: ignore[assignment]
        plan: Plan | None = None,
        custom: dict[str, Any] | None = None,
        holder: dict[str, Job] | None = None,
    ) -> Job:
        """Register a job, mark its items and plan busy, and run it up to the clock. ``holder`` receives the job
        before its first segment can run, so effects can name it."""
        info = rules.SCENARIOS[scenario]
        job = Job(
            name=str(uuid.uuid4()),
            scenario=scenario,
            friendly_name=info.friendly_name,
            target_type=target_type,
            target_id=target_id,
            target_name=target_name,
            # REST ReplicationJobs_Get.json: "<client request id> ActivityId: <guid>".
            activity_id=f"{client_request_id} ActivityId: {uuid.uuid4()}",
            client_request_id=client_request_id,
            start=self.world.now(),
            segments=segments,
            items=[i.name for i in items],
            plan=plan.name if plan else None,
            custom=custom or {},
        )
        self.world.jobs[job.name] = job
        for item in items:
            item.current_job = job.name
        if plan is not None:
            plan.current_job = job.name
        if holder is not None:
            holder["job"] = job
        self._refresh(job, self.world.now())
        return job

    def settle(self) -> None:
        """Bring every job up to the clock (called before any answer), oldest first."""
        now = self.world.now()
        for job in sorted(self.world.jobs.values(), key=lambda j: j.start):
            if not job.done:
                self._refresh(job, now)

    def _refresh(self, job: Job, now: dt.datetime) -> None:
        while not job.done and job.state != "Suspended":
            if job.index >= len(job.segments):
                self._finish(job, "Succeeded", job.segments[-1].end if job.segments else job.start)
                return
            seg = job.segments[job.index]
            if seg.start is None:
                seg.start = job.segments[job.index - 1].end if job.index else job.start
                seg.state = "InProgress"
            if seg.kind == "manual":
                job.state = "Suspended"
                return
            end = seg.start + dt.timedelta(seconds=seg.seconds)
            if end > now:
                return
            seg.end = end
            seg.state = "Succeeded"
            problem = seg.apply(end) if seg.apply else None
            if problem:
                seg.state = "Failed"
                job.errors.append({"code": "OperationFailed", "message": problem,
                                   "causes": "Injected or modelled failure.", "action": "Fix the cause and retry."})  # fmt: skip
                self._finish(job, "Failed", end)
                return
            job.index += 1

    def _finish(self, job: Job, state: str, end: dt.datetime | None) -> None:
        job.state = state
        job.end = end
        for name in job.items:
            item = self.world.find_item(name)
            if item is not None and item.current_job == job.name:
                item.current_job = None
        if job.plan:
            plan = self.world.plan(job.plan)
            if plan is not None and plan.current_job == job.name:
                plan.current_job = None

    def resume(self, job: Job, body: Any) -> Job:
        self.check(m.ResumeJobParams, body)
        if job.state != "Suspended":
            raise errors.asr("JobNotSuspended", f"The job '{job.name}' ({job.scenario}) is {job.state}, not waiting for a manual action.",
                             "Only a recovery-plan job waiting at a manual action can be resumed.", "")  # fmt: skip
        comment = ((body or {}).get("properties") or {}).get("comments")
        if comment:
            job.resume_comments.append(comment)
        seg = job.segments[job.index]
        seg.end = self.world.now()
        seg.state = "Succeeded"
        job.index += 1
        job.state = "InProgress"
        self._refresh(job, self.world.now())
        return job

    def cancel(self, job: Job) -> Job:
        if job.done:
            raise errors.asr("JobNotCancellable", f"The job '{job.name}' is already {job.state}.", "", "")
        self._finish(job, "Cancelled", self.world.now())
        return job

    def _failure_for(self, scenario: str, machine: str | None) -> str | None:
        for failure in self.world.failures:
            if failure.times > 0 and failure.scenario == scenario and failure.machine in (None, machine):
                failure.times -= 1
                return failure.message
        return None

    # == item operations =================================================================================================
    def _busy(self, item: Item) -> None:
        if item.current_job is not None:
            job = self.world.jobs[item.current_job]
            raise errors.asr("OperationInProgress",
                             f"Another operation ({job.scenario}, job {job.name}) is in progress on '{item.machine.name}'.",
                             "ASR runs one operation at a time on a replicated item.", "Wait for the job to finish.",
                             status=409)  # fmt: skip

    def enable(self, fabric: Fabric, name: str, body: Any, request_id: str) -> tuple[Item, Job]:
        self.check(m.EnableProtectionInput, body)
        if self.world.find_item(name) is not None:
            raise errors.asr("ReplicationProtectedItemAlreadyExists", f"The replicated item '{name}' already exists.", "", "", status=409)
        props = body.get("properties") or {}
        inputs = props.get("providerSpecificDetails") or {}
        provider = inputs.get("instanceType")
        expected = "InMageAzureV2" if fabric.classic else "InMageRcm"
        if provider != expected:
            raise errors.asr("InvalidProviderSpecificInput",
                             f"providerSpecificDetails.instanceType {provider or '(none)'} can't protect machines of a {fabric.instance_type} fabric.",
                             "", f"Send {expected}EnableProtectionInput.")  # fmt: skip
        rule = rules.action_rule(provider, "enable")
        assert rule is not None
        req = Request(self.world, "enable", body, fabric=fabric)
        for check in rule.checks:
            problem = check(req)
            if problem is not None:
                raise problem
        world = self.world
        policy = world.policy_by_id(props.get("policyId"))
        assert policy is not None
        if fabric.classic:
            machine = next(mm for mm in fabric.machines if props["protectableItemId"].lower().endswith("/" + mm.protectable_name.lower()))
            subnet_id = inputs.get("targetAzureSubnetId") or ""
            item = Item(
                name=name, fabric=fabric.name, container=fabric.container, machine=machine, provider=provider, policy=policy.name,
                state="enabling", internal_id=str(uuid.uuid4()), multi_vm_group=inputs.get("multiVmGroupName"),
                multi_vm_group_id=inputs.get("multiVmGroupId") or str(uuid.uuid4()),
                process_server_id=inputs.get("processServerId", ""), master_target_id=inputs.get("masterTargetId", ""),
                run_as_account_id=inputs.get("runAsAccountId"), log_storage_account_id=inputs.get("logStorageAccountId", ""),
                storage_account_id=inputs.get("storageAccountId"), disk_type=inputs.get("diskType") or "Standard_LRS",
                target_resource_group_id=inputs.get("targetAzureV2ResourceGroupId", ""),
                target_network_id=inputs.get("targetAzureNetworkId", ""), target_subnet=subnet_id.rstrip("/").split("/")[-1],
                target_vm_name=inputs.get("targetAzureVmName") or machine.name, target_vm_size=inputs.get("targetVmSize") or "Standard_D2s_v3",
            )  # fmt: skip
        else:
            found = world.discovered(inputs["fabricDiscoveryMachineId"])
            assert found is not None
            machine = found[1]
            disks = inputs.get("disksDefault") or (inputs.get("disksToInclude") or [{}])[0]
            item = Item(
                name=name, fabric=fabric.name, container=fabric.container, machine=machine, provider=provider, policy=policy.name,
                state="enabling", internal_id=str(uuid.uuid4()), multi_vm_group=inputs.get("multiVmGroupName"),
                process_server_id=inputs["processServerId"], run_as_account_id=inputs.get("runAsAccountId"),
                log_storage_account_id=disks.get("logStorageAccountId", ""), disk_type=disks.get("diskType", "Standard_LRS"),
                target_resource_group_id=inputs["targetResourceGroupId"], target_network_id=inputs.get("targetNetworkId", ""),
                test_network_id=inputs.get("testNetworkId", ""), target_subnet=inputs.get("targetSubnetName", ""),
                test_subnet=inputs.get("testSubnetName", ""), target_vm_name=inputs.get("targetVmName") or machine.name,
                target_vm_size=inputs.get("targetVmSize") or "Standard_D2s_v3",
            )  # fmt: skip
        for nic in machine.nics:
            nic.target_subnet = nic.target_subnet or item.target_subnet or None
            nic.test_subnet = nic.test_subnet or item.test_subnet or None
        world.items[item.name] = item

        def done(end: dt.datetime) -> str | None:
            failure = self._failure_for("EnableDr", item.machine.name)
            if failure:
                return failure
            item.state = "protected"
            item.replicating_since = end
            return None

        job = self.new_job("EnableDr", target_type="ProtectionEntity", target_id=item.internal_id, target_name=machine.name,
                           client_request_id=request_id, items=[item],
                           segments=[Segment("work", "EnableProtection", "Installing Mobility Service and enabling replication",
                                             self.world.durations["EnableDr"], done)])  # fmt: skip
        return item, job

    def update(self, item: Item, body: Any, request_id: str) -> Job:
        self.check(m.UpdateReplicationProtectedItemInput, body)
        self._busy(item)
        rule = rules.action_rule(item.provider, "update")
        if rule is None:
            raise errors.asr("OperationNotSupported", f"Updating a {item.provider} item isn't supported.", "", "")
        req = Request(self.world, "update", body or {}, item=item, fabric=self.world.fabric(item.fabric))
        got = req.inputs.get("instanceType") if req.inputs else None
        if rule.inputs is not None and got not in rule.inputs:
            raise errors.asr("InvalidProviderSpecificInput", f"providerSpecificDetails.instanceType {got} isn't valid for a {item.provider} item.", "", "")
        for check in rule.checks:
            problem = check(req)
            if problem is not None:
                raise problem
        props, inputs = req.properties, req.inputs

        def done(end: dt.datetime) -> str | None:
            self._apply_update(item, props, inputs)
            return None

        return self.new_job("UpdateVmProperties", target_type="ProtectionEntity", target_id=item.internal_id,
                            target_name=item.machine.name, client_request_id=request_id, items=[item],
                            segments=[Segment("work", "UpdateVmPropertiesTask", "Update the virtual machine properties",
                                              self.world.durations["UpdateVmProperties"], done)])  # fmt: skip

    def _apply_update(self, item: Item, props: dict[str, Any], inputs: dict[str, Any]) -> None:
        nics = {n.mac.lower(): n for n in item.machine.nics}
        if item.provider == "InMageRcm":
            item.target_network_id = inputs.get("targetNetworkId") or item.target_network_id
            item.test_network_id = inputs.get("testNetworkId") or item.test_network_id
            item.target_vm_name = inputs.get("targetVmName") or item.target_vm_name
            item.target_vm_size = inputs.get("targetVmSize") or item.target_vm_size
            for given in inputs.get("vmNics") or []:
                nic = nics[given["nicId"].lower()]
                nic.primary = given["isPrimaryNic"].lower() == "true"
                if given.get("isSelectedForFailover") is not None:
                    nic.selected = given["isSelectedForFailover"].lower() == "true"
                nic.target_subnet = given.get("targetSubnetName") or nic.target_subnet
                nic.target_ip = given.get("targetStaticIPAddress") or nic.target_ip
                nic.test_subnet = given.get("testSubnetName") or nic.test_subnet
                nic.test_ip = given.get("testStaticIPAddress") or nic.test_ip
        else:
            item.target_network_id = props.get("selectedRecoveryAzureNetworkId") or item.target_network_id
            item.test_network_id = props.get("selectedTfoAzureNetworkId") or item.test_network_id
            item.target_vm_name = props.get("recoveryAzureVMName") or item.target_vm_name
            item.target_vm_size = props.get("recoveryAzureVMSize") or item.target_vm_size
            for given in props.get("vmNics") or []:
                nic = nics[given["nicId"].lower()]
                if given.get("selectionType"):
                    nic.selected = given["selectionType"] != "NotSelected"
                for config in given.get("ipConfigs") or []:
                    nic.target_subnet = config.get("recoverySubnetName") or nic.target_subnet
                    nic.target_ip = config.get("recoveryStaticIPAddress") or nic.target_ip
                    nic.test_subnet = config.get("tfoSubnetName") or nic.test_subnet
                    nic.test_ip = config.get("tfoStaticIPAddress") or nic.test_ip

    def item_action(self, item: Item, action: str, body: Any, request_id: str) -> Job:
        if action not in ITEM_BODIES:
            raise errors.asr("OperationNotSupported", f"'{action}' is not a replicated-item operation the stand-in models.", "", "", status=404)
        self.check(ITEM_BODIES[action], body)
        self._busy(item)
        rule = rules.action_rule(item.provider, action)
        fabric = self.world.fabric(item.fabric)
        req = Request(self.world, action, body or {}, item=item, fabric=fabric)
        if rule is None:
            allowed = render.allowed_operations(self.world, item)
            raise errors.asr("OperationNotSupported", f"'{action}' isn't supported for a {item.provider} item.",
                             f"Allowed operations are {list(allowed)}.", "")  # fmt: skip
        problem = rules.check_item_action(req, rule, allowed=render.allowed_operations(self.world, item))
        if problem is not None:
            raise problem
        holder: dict[str, Job] = {}
        effect = self._effect(item, rule, req, self._failure_for(rule.scenario, item.machine.name), holder)
        seconds = self.world.durations[rule.scenario]
        if action == "switchProvider":
            seconds = self._start_move(item, req)
        return self.new_job(
            rule.scenario, target_type="ProtectionEntity", target_id=item.internal_id, target_name=item.machine.name,
            client_request_id=request_id, items=[item],
            segments=[Segment("work", f"{rule.scenario}Task", rules.SCENARIOS[rule.scenario].friendly_name, seconds, effect)],
            custom=self._custom(rule, req), holder=holder,
        )  # fmt: skip

    # == classic → modernized move (switchProvider) =======================================================================
    def _start_move(self, item: Item, req: Request) -> float:
        """The move is under way: the item says where to (InMageAzureV2SwitchProviderDetails) and how far
        (switchProviderState). Returns its duration: a healthy item 1-2 hours, else 1 hour + 45 s/GiB (AD
        move-from-classic-to-modernized-vmware-disaster-recovery.md), scaled with the world's job durations."""
        inputs = req.inputs
        item.switch_provider_state = rules.SWITCH_PROVIDER_STATES["moving"]
        item.switch_target = SwitchTarget(inputs["targetVaultID"], inputs["targetFabricID"], inputs["targetApplianceID"])
        base = self.world.durations["SwitchProvider"]
        if item.health == "Normal":
            return base
        gib = sum(d.size_gb for d in item.machine.disks)
        return base * (1 + rules.SWITCH_SECONDS_PER_GIB * gib / rules.SCENARIOS["SwitchProvider"].seconds)

    def _finish_move(self, item: Item, end: dt.datetime) -> None:
        """The item replicates in the modernized vault now: an InMageRcm item, Protected, on the target appliance, with
        the classic item's target settings and its policy's copy (AD: 'the same resources … will be defaulted to in
        the modernized vault'; the policy is copied and renamed '<name> <vault>_<resource group>'); new recovery points
        start there. The classic item keeps its points (failover stays possible until they expire) but makes no more."""
        move = item.switch_target
        assert move is not None
        target = self.world.vault_by_id(move.vault_id)
        assert target is not None
        fabric = target.fabric_by_id(move.fabric_id)
        assert fabric is not None
        machine = rules.discovered_twin(fabric, item.machine)
        classic_policy = self.world.policy(item.policy)
        copy_name = f"{item.policy} {target.vault}_{target.resource_group}"
        policy = target.policy(copy_name)
        if policy is None:
            source = classic_policy or Policy(item.policy, "InMageAzureV2")
            policy = target.add_policy(copy_name, "InMageRcm", history_minutes=source.history_minutes,
                                       app_frequency_minutes=source.app_frequency_minutes,
                                       crash_frequency_minutes=source.crash_frequency_minutes,
                                       multi_vm_sync=source.multi_vm_sync)  # fmt: skip
        moved = Item(
            name=machine.offazure_name,  # [U] the moved item's name; the portal names InMageRcm items <vCenter>_<uuid>
            fabric=fabric.name, container=fabric.container, machine=machine, provider="InMageRcm", policy=policy.name,
            internal_id=str(uuid.uuid4()), multi_vm_group=item.multi_vm_group, process_server_id=move.appliance_id,
            log_storage_account_id=item.log_storage_account_id, disk_type=item.disk_type,
            target_resource_group_id=item.target_resource_group_id, target_network_id=item.target_network_id,
            test_network_id=item.test_network_id, target_subnet=item.target_subnet, test_subnet=item.test_subnet,
            target_vm_name=item.target_vm_name, target_vm_size=item.target_vm_size, rpo_seconds=item.rpo_seconds,
            # AD: the move is marked complete once the first recovery point exists in the modernized vault.
            replicating_since=end - dt.timedelta(seconds=item.rpo_seconds + 300),
        )  # fmt: skip
        for twin, nic in zip(machine.nics, item.machine.nics, strict=False):
            twin.target_subnet, twin.target_ip = nic.target_subnet, nic.target_ip
            twin.test_subnet, twin.test_ip = nic.test_subnet, nic.test_ip
        target.items[moved.name] = moved
        item.switch_target = SwitchTarget(move.vault_id, move.fabric_id, move.appliance_id, target.item_id(moved))
        item.switch_provider_state = rules.SWITCH_PROVIDER_STATES["moved"]
        item.points_until = end

    def _custom(self, rule: ActionRule, req: Request) -> dict[str, Any]:
        if rule.placement is None and not rule.scenario.endswith("Failover"):
            return {}
        network = req.properties.get("networkId")
        vnet = self.world.vnet_by_id(network)
        return {"protectedItemDetails": [], "network": vnet.name if vnet else network}

    def _effect(self, item: Item, rule: ActionRule, req: Request, failure: str | None,
                holder: dict[str, Job]) -> Callable[[dt.datetime], str | None]:  # fmt: skip
        """What ``rule`` does to ``item`` when its job (in ``holder``) reaches ``end``; a string fails the job."""
        world = self.world
        props, inputs = dict(req.properties), dict(req.inputs)

        def apply(end: dt.datetime) -> str | None:
            job = holder.get("job")
            if failure:
                if rule.action == "switchProvider":  # AD: a failed move rolls back; the classic vault replicates on
                    item.switch_provider_state = rules.SWITCH_PROVIDER_STATES["failed"]
                if rule.action == "unplannedFailover" and item.provider == "InMageRcm":
                    item.state = "failover_failed"  # LearnREST: "Failover failed", item back on Primary
                if rule.action == "plannedFailover":
                    item.last_planned_failover_status = "Failed"
                return failure
            point = self._pick_point(item, rule, props, inputs, job.start if job else end)
            if rule.placement:
                placed = self._place(item, rule.placement, props, inputs, job.name if job else "", end, point)
                if isinstance(placed, str):
                    return placed
                if job is not None:
                    job.custom.setdefault("protectedItemDetails", []).append(
                        {"name": item.name, "friendly_name": item.machine.name, "test_vm_name": placed.machine if placed.kind == "test" else None,
                         "network_friendly_name": (world.vnet_by_id(placed.network_id).name if world.vnet_by_id(placed.network_id) else None),
                         "subnet": placed.subnet, "recovery_point_id": render.point_id(world, item, point.name) if point else None,
                         "recovery_point_time": point.time if point else None}
                    )  # fmt: skip
            for kind in rule.removes:
                for p in world.placements:
                    if p.machine == item.machine.name and p.kind == kind and p.active:
                        p.active = False
            for kind in rule.restores:
                last = next((p for p in reversed(world.placements) if p.machine == item.machine.name and p.kind == kind), None)
                if last is not None:
                    last.active = True
            self._transition(item, rule, props, inputs, end, point)
            return None

        return apply

    def _transition(self, item: Item, rule: ActionRule, props: dict[str, Any], inputs: dict[str, Any], end: dt.datetime,
                    point: render.Point | None) -> None:  # fmt: skip
        if rule.tfo is not None:
            item.tfo = rule.tfo
            if rule.tfo == "active":
                item.last_tfo_time = end
        if rule.action in ("unplannedFailover", "plannedFailover"):
            item.last_failover_time = end
            item.points_until = end
            item.failover_point_id = render.point_id(self.world, item, point.name) if point else None
            if rule.action == "plannedFailover":
                item.last_planned_failover_status = "Succeeded"
                item.last_planned_failover_time = end
        if rule.action == "reProtect":
            if rule.result_provider == "InMage":
                item.process_server_id = inputs.get("processServerId", item.process_server_id)
                item.master_target_id = inputs.get("masterTargetId", item.master_target_id)
                item.retention_drive = inputs.get("retentionDrive", "")
                item.failback_datastore = inputs.get("datastoreName") or ""
                profile = self.world.policy_by_id(inputs.get("profileId"))
                item.failback_policy = profile.name if profile else ""
            elif rule.result_provider == "InMageRcmFailback":
                item.reprotect_agent_id = inputs.get("reprotectAgentId", "")
                item.failback_datastore = inputs.get("datastoreName", "")
                item.log_storage_account_id = inputs.get("logStorageAccountId", item.log_storage_account_id)
                failback = self.world.policy_by_id(inputs.get("policyId"))
                item.failback_policy = failback.name if failback else next(
                    (p.name for p in self.world.policies.values() if p.provider == "InMageRcmFailback"), "")
            elif rule.result_provider in ("InMageRcm", "InMageAzureV2"):
                item.process_server_id = inputs.get("processServerId", item.process_server_id)
                forward = self.world.policy_by_id(inputs.get("policyId"))
                if forward is not None:
                    item.policy = forward.name
                item.tfo = "none"
            item.points_until = None
            item.replicating_since = end
            item.failover_point_id = None
        if rule.action == "failoverCancel":
            item.points_until = None
            item.last_planned_failover_status = "Cancelled"
        if rule.action == "switchProvider":
            self._finish_move(item, end)
        if rule.result_provider:
            item.provider = rule.result_provider
        if rule.result:
            item.state = rule.result

    def _pick_point(self, item: Item, rule: ActionRule, props: dict[str, Any], inputs: dict[str, Any],
                    at: dt.datetime) -> render.Point | None:  # fmt: skip
        if rule.action not in ("testFailover", "unplannedFailover", "plannedFailover"):
            return None
        points = [p for p in render.recovery_points(self.world, item) if p.time <= at]
        wanted_id = inputs.get("recoveryPointId")
        if wanted_id:
            return next((p for p in points if render.point_id(self.world, item, p.name).lower() == wanted_id.lower()), None)
        kind = (inputs.get("recoveryPointType") or "").lower()
        if kind in ("applicationconsistent", "latestapplicationconsistent", "latesttag"):
            points = [p for p in points if p.kind == "ApplicationConsistent"] or points
        elif kind in ("crashconsistent", "latestcrashconsistent"):
            points = [p for p in points if p.kind == "CrashConsistent"] or points
        return max(points, key=lambda p: p.time, default=None)

    def _place(self, item: Item, kind: str, props: dict[str, Any], inputs: dict[str, Any], job: str, end: dt.datetime,
               point: render.Point | None) -> Placement | str:  # fmt: skip
        """Create the Azure VM of a failover or test failover and record its network, subnet and IP.

        Test failover (AD site-recovery-test-failover-to-azure.md, REFERENCE §5): the test network's subnet named
        like the recovery subnet, else the alphabetically first subnet; an explicit test subnet wins when it exists
        [U]. IP: the test IP if set, else the recovery IP when free in that subnet, else the next free one [U]."""
        world = self.world
        nic = next((n for n in item.machine.nics if n.primary), item.machine.nics[0] if item.machine.nics else None)
        if kind == "test":
            network_id = props.get("networkId") or inputs.get("networkId") or item.test_network_id
        else:
            network_id = item.target_network_id
        vnet = world.vnet_by_id(network_id)
        if vnet is None:
            return f"The Azure virtual network '{network_id}' was not found."
        recovery_subnet = (nic.target_subnet if nic else None) or item.target_subnet
        names = sorted(vnet.subnets)
        if kind == "test":
            explicit = nic.test_subnet if nic else None
            subnet = explicit if explicit in vnet.subnets else (recovery_subnet if recovery_subnet in vnet.subnets else names[0])
            wanted_ip = (nic.test_ip if nic else None) or (nic.target_ip if nic else None)
            strict = bool(nic and nic.test_ip)
        else:
            subnet = recovery_subnet if recovery_subnet in vnet.subnets else names[0]
            wanted_ip = nic.target_ip if nic else None
            strict = bool(wanted_ip)
        network = ipaddress.ip_network(vnet.subnets[subnet])
        used = {p.ip for p in world.placements if p.active and p.network_id.lower() == vnet.id.lower()}
        ip = None
        if wanted_ip and ipaddress.ip_address(wanted_ip) in network and wanted_ip not in used:
            ip = wanted_ip
        elif strict and wanted_ip in used:
            return f"The IP address {wanted_ip} is already in use in subnet '{subnet}' of '{vnet.name}'."
        if ip is None:
            # Azure reserves the first four addresses of a subnet.
            ip = next(str(h) for n, h in enumerate(network.hosts()) if n >= 3 and str(h) not in used)
        placement = Placement(item.machine.name, kind, vnet.id, subnet, ip, job, end, point.time if point else None)
        world.placements.append(placement)
        return placement

    # == recovery plans ==================================================================================================
    def create_plan(self, name: str, body: Any, request_id: str) -> tuple[Plan, Job]:
        self.check(m.CreateRecoveryPlanInput, body)
        world = self.world
        props = body["properties"]
        fabric_name = props["primaryFabricId"].rstrip("/").split("/")[-1]
        fabric = world.fabric(fabric_name)
        if fabric is None or world.fabric_id(fabric.name).lower() != props["primaryFabricId"].lower():
            raise errors.asr("FabricNotFound", f"The primary fabric '{props['primaryFabricId']}' is not a fabric of the vault.", "", "")
        if props["recoveryFabricId"] != AZURE:
            raise errors.asr("InvalidRecoveryFabric", f"recoveryFabricId must be '{AZURE}' for VMware to Azure, got '{props['recoveryFabricId']}'.",
                             "", "REFERENCE-modernized §3.2 (the CLI test checks recoveryFabricId == 'Microsoft Azure').")  # fmt: skip
        groups: list[PlanGroup] = []
        seen: set[str] = set()
        boot_seen = False
        for n, g in enumerate(props["groups"]):
            kind = g["groupType"]
            if kind != "Boot" and boot_seen:
                raise errors.asr("InvalidGroupOrder", f"Group {n} ({kind}) comes after a Boot group.",
                                 "The groups are Shutdown, then Failover, then the Boot groups in order (REFERENCE §2).", "")  # fmt: skip
            boot_seen = boot_seen or kind == "Boot"
            names = []
            for entry in g.get("replicationProtectedItems") or []:
                item = world.item_by_id(entry.get("id") or "")
                if item is None:
                    raise errors.asr("ReplicationProtectedItemNotFound", f"The replicated item '{entry.get('id')}' was not found.", "", "", status=400)
                if item.name in seen:
                    raise errors.asr("DuplicateItemInPlan", f"'{item.machine.name}' is in more than one group of the plan.", "", "")
                seen.add(item.name)
                names.append(item.name)
            group = PlanGroup(kind, names)
            for key, target in (("startGroupActions", group.start_actions), ("endGroupActions", group.end_actions)):
                for a in g.get(key) or []:
                    if not a["failoverTypes"] or not a["failoverDirections"]:
                        raise errors.asr("InvalidRecoveryPlanAction", f"Action '{a['actionName']}' needs failoverTypes and failoverDirections.",
                                         "", "REFERENCE §2: every action needs non-empty failover types and directions.")  # fmt: skip
                    instance = a["customDetails"]["instanceType"]
                    action_kind = {"ManualActionDetails": "manual", "AutomationRunbookActionDetails": "runbook"}.get(instance, "script")
                    target.append(PlanAction(a["actionName"], action_kind, list(a["failoverTypes"]), list(a["failoverDirections"]),
                                             dict(a["customDetails"])))  # fmt: skip
            groups.append(group)
        if len(seen) > rules.PLAN_MAX_ITEMS:
            raise errors.asr("RecoveryPlanTooLarge", f"A recovery plan holds at most {rules.PLAN_MAX_ITEMS} items.", "", "")
        if sum(1 for g in groups if g.group_type == "Boot") > rules.PLAN_MAX_BOOT_GROUPS:
            raise errors.asr("TooManyGroups", f"A recovery plan has at most {rules.PLAN_MAX_BOOT_GROUPS} boot groups.", "", "")
        # [U] ASR shows a plan with a Shutdown and a Failover group first (REST ReplicationRecoveryPlans_Get.json) even
        # when the request had only Boot groups.
        kinds = [g.group_type for g in groups]
        if "Failover" not in kinds:
            groups.insert(0, PlanGroup("Failover"))
        if "Shutdown" not in kinds:
            groups.insert(0, PlanGroup("Shutdown"))
        plan = Plan(name=name, primary_fabric=fabric.name, groups=groups, deployment_model=props.get("failoverDeploymentModel") or "ResourceManager")
        world.plans[name] = plan
        job = self.new_job("SaveRecoveryPlan", target_type="RecoveryPlan", target_id=name, target_name=name, client_request_id=request_id,
                           segments=[Segment("work", "SaveRecoveryPlanTask", "Save a recovery plan task", world.durations["SaveRecoveryPlan"])])  # fmt: skip
        return plan, job

    def plan_action(self, plan: Plan, action: str, body: Any, request_id: str) -> Job:
        if action not in PLAN_BODIES:
            raise errors.asr("OperationNotSupported", f"'{action}' is not a recovery-plan operation.", "", "", status=404)
        self.check(PLAN_BODIES[action], body)
        world = self.world
        body = body or {}
        props = body.get("properties") or {}
        if plan.current_job is not None:
            raise errors.asr("OperationInProgress", f"The recovery plan '{plan.name}' has a job in progress ({plan.current_job}).", "", "", status=409)
        items = [i for i in (world.find_item(n) for n in plan.item_names()) if i is not None and not i.disabled]
        if not items:
            raise errors.asr("RecoveryPlanEmpty", f"The recovery plan '{plan.name}' has no replicated items.", "", "")
        providers = {i.provider for i in items}
        entries = props.get("providerSpecificDetails") or []
        given = {e.get("instanceType") for e in entries}
        item_rules: dict[str, ActionRule] = {}
        plan_inputs_of: dict[str, str | None] = {}
        for provider in sorted(providers):
            rule = rules.plan_rule(action, provider)
            if rule is None or rule.refused:
                reason = rule.refused if rule else f"'{action}' isn't supported on a recovery plan with {provider} items."
                raise errors.asr("OperationNotSupported", reason, f"Source: {rule.source if rule else 'no row in rules.PLAN_ACTIONS'}.", "")
            if rule.directions is not None and props.get("failoverDirection") not in rule.directions:
                raise errors.asr("InvalidFailoverDirection",
                                 f"{props.get('failoverDirection')} Direction is Invalid for a recovery plan {action} of {provider} items; "
                                 f"use {rule.directions[0]}.",
                                 "At plan level the primary is the VMware fabric: failing back is RecoveryToPrimary.", "")  # fmt: skip
            if rule.input_required and rule.plan_input not in given:
                raise errors.asr("InvalidProviderSpecificInput",
                                 f"A recovery plan {action} of {provider} items needs a RecoveryPlan{rule.plan_input}FailoverInput entry.", "", "")  # fmt: skip
            assert rule.item_action is not None
            plan_inputs_of[provider] = rule.plan_input
            item_rule = rules.action_rule(provider, rule.item_action)
            assert item_rule is not None
            item_rules[provider] = item_rule
        wanted = set(plan_inputs_of.values())
        stray = sorted(t for t in given if t not in wanted)
        if stray:
            raise errors.asr("InvalidProviderSpecificInput", f"providerSpecificDetails {stray} don't match the plan's providers {sorted(providers)}.", "", "")
        for item in items:
            self._busy(item)
            req = Request(world, action, body, item=item, fabric=world.fabric(item.fabric), plan=plan, via_plan=True)
            problem = rules.check_item_action(req, item_rules[item.provider], allowed=render.allowed_operations(world, item),
                                              skip_direction=True)  # fmt: skip
            if problem is not None:
                raise problem
        scenario = item_rules[items[0].provider].scenario
        failover_type = rules.PLAN_FAILOVER_TYPE.get(action, "")
        direction = props.get("failoverDirection") or "PrimaryToRecovery"
        segments: list[Segment] = []
        job_holder: dict[str, Job] = {}
        for n, group in enumerate(plan.groups):
            members = [i for i in items if i.name in group.items]
            segments += self._action_segments(plan, group.start_actions, failover_type, direction, job_holder)
            if members:
                effects = []
                for item in members:
                    rule = item_rules[item.provider]
                    plan_inputs = next((e for e in entries if e.get("instanceType") == plan_inputs_of[item.provider]), {})
                    req = Request(world, action, {"properties": {**props, "providerSpecificDetails": plan_inputs}}, item=item,
                                  fabric=world.fabric(item.fabric), plan=plan, via_plan=True)  # fmt: skip
                    failure = self._failure_for(rule.scenario, item.machine.name)
                    effects.append((item, self._effect(item, rule, req, failure, job_holder)))
                segments.append(Segment("work", f"Group{n}", f"Group {n}: {group.group_type}", world.durations[scenario],
                                        self._group_apply(effects)))  # fmt: skip
            segments += self._action_segments(plan, group.end_actions, failover_type, direction, job_holder)
        job = self.new_job(scenario, target_type="RecoveryPlan", target_id=plan.name, target_name=plan.name, client_request_id=request_id,
                           segments=segments, items=items, plan=plan, holder=job_holder,
                           custom=self._custom(item_rules[items[0].provider], Request(world, action, body)))  # fmt: skip
        now = world.now()
        if action == "testFailover":
            plan.last_tfo_time = now
        elif action == "unplannedFailover":
            plan.last_ufo_time = now
        elif action == "plannedFailover":
            plan.last_pfo_time = now
        return job

    @staticmethod
    def _group_apply(effects: list[tuple[Item, Callable[[dt.datetime], str | None]]]) -> Callable[[dt.datetime], str | None]:
        """A plan group's effect: every member's; the group (and so the plan job) fails if one member fails."""

        def apply(end: dt.datetime) -> str | None:
            problems = []
            for item, effect in effects:
                problem = effect(end)
                if problem:
                    problems.append(f"{item.machine.name}: {problem}")
            return "; ".join(problems) or None

        return apply

    def _action_segments(self, plan: Plan, actions: list[PlanAction], failover_type: str, direction: str,
                         holder: dict[str, Job]) -> list[Segment]:  # fmt: skip
        out = []
        for action in actions:
            if failover_type not in action.failover_types or direction not in action.failover_directions:
                continue
            if action.kind == "manual":
                out.append(Segment("manual", action.name, f"Manual action: {action.name}",
                                   instructions=action.details.get("description", "")))  # fmt: skip
            else:
                def record(end: dt.datetime, a: PlanAction = action) -> str | None:
                    self.world.runbook_calls.append({"plan": plan.name, "action": a.name, "details": dict(a.details), "time": end,
                                                     "job": holder["job"].name if "job" in holder else None})  # fmt: skip
                    return None

                out.append(Segment("work", action.name, f"Action: {action.name}", self.world.durations["RunbookAction"], record))
        return out

    # == policies and mappings ===========================================================================================
    def create_policy(self, name: str, body: Any, request_id: str) -> tuple[Policy, Job]:
        self.check(m.CreatePolicyInput, body)
        inputs = ((body.get("properties") or {}).get("providerSpecificInput")) or {}
        kind = inputs.get("instanceType")
        if kind not in ("InMageAzureV2", "InMage", "InMageRcm", "InMageRcmFailback"):
            raise errors.asr("InvalidProviderSpecificInput", f"Policy provider {kind} isn't a VMware to Azure provider.", "", "")
        policy = Policy(
            name=name, provider=kind,
            history_minutes=inputs.get("recoveryPointHistoryInMinutes", inputs.get("recoveryPointHistory", 4320)) or 0,
            app_frequency_minutes=inputs.get("appConsistentFrequencyInMinutes") or 0,
            crash_frequency_minutes=inputs.get("crashConsistentFrequencyInMinutes") or 5,
            rpo_threshold_minutes=inputs.get("recoveryPointThresholdInMinutes") or 15,
            multi_vm_sync=str(inputs.get("enableMultiVmSync", inputs.get("multiVmSyncStatus", "true"))).lower() in ("true", "enable"),
        )  # fmt: skip
        self.world.policies[name] = policy
        job = self.new_job("AddProtectionProfile", target_type="ProtectionProfile", target_id=name, target_name=name,
                           client_request_id=request_id,
                           segments=[Segment("work", "AddProtectionProfileTask", "Create replication policy",
                                             self.world.durations["AddProtectionProfile"])])  # fmt: skip
        return policy, job

    def create_mapping(self, fabric: Fabric, container: str, name: str, body: Any, request_id: str) -> tuple[Mapping, Job]:
        """PSrec TestV2ARCMContainerMapping.json / PS New-…ProtectionContainerMapping.cs: a forward mapping targets the
        literal "Microsoft Azure"; the classic InMage failback mapping targets the container itself (REF §5)."""
        self.check(m.CreateProtectionContainerMappingInput, body)
        world = self.world
        props = body.get("properties") or {}
        policy = world.policy_by_id(props.get("policyId"))
        if policy is None:
            raise errors.asr("PolicyNotFound", f"The replication policy '{props.get('policyId')}' was not found.", "", "")
        target = props.get("targetProtectionContainerId") or ""
        own = world.container_id(fabric.name, fabric.container)
        fits = {"InMageAzureV2": fabric.classic, "InMage": fabric.classic, "InMageRcm": not fabric.classic, "InMageRcmFailback": not fabric.classic}
        if not fits[policy.provider]:
            raise errors.asr("PolicyNotApplicable", f"A {policy.provider} policy can't be associated with a {fabric.instance_type} container.", "", "")
        if policy.provider == "InMage":
            if target.lower() != own.lower():
                raise errors.asr("InvalidTargetContainer",
                                 f"The failback policy '{policy.name}' maps the configuration server's container to itself; target must be '{own}'.",
                                 "REF §5: the InMage failback policy's mapping has the same primary and recovery container.", "")  # fmt: skip
        elif target != AZURE:
            raise errors.asr("InvalidTargetContainer", f"The target protection container must be '{AZURE}', got '{target}'.",
                             "PSrec TestV2ARCMContainerMapping.json: the target is the literal 'Microsoft Azure'.", "")  # fmt: skip
        provider_input = (props.get("providerSpecificInput") or {}).get("instanceType")
        if provider_input not in ("ReplicationProviderSpecificContainerMappingInput", "InMageRcm", None):
            raise errors.asr("InvalidProviderSpecificInput", f"providerSpecificInput {provider_input} isn't valid for a VMware mapping.", "", "")
        mapping = Mapping(name=name, fabric=fabric.name, container=fabric.container, policy=policy.name,
                          target=AZURE if target == AZURE else own, state="Pairing")  # fmt: skip
        world.mappings[name] = mapping

        def paired(end: dt.datetime) -> str | None:
            mapping.state = "Paired"
            return None

        job = self.new_job("AssociateProtectionProfile", target_type="ProtectionProfile", target_id=name, target_name=name,
                           client_request_id=request_id,
                           segments=[Segment("work", "AssociateProtectionProfileTask", "Associate replication policy",
                                             world.durations["AssociateProtectionProfile"], paired)])  # fmt: skip
        return mapping, job

    # == job queries =====================================================================================================
    FILTER_RE = re.compile(r"^\s*(?P<key>\w+)\s+eq\s+'(?P<value>[^']*)'\s*$", re.IGNORECASE)

    def list_jobs(self, odata_filter: str | None) -> list[Job]:
        """``$filter`` as PowerShell builds it from JobQueryParameter: ``Key eq 'value'`` joined by ``and``. Keys:
        StartTime (jobs started at or after), EndTime (started at or before), JobStatus (comma-separated states),
        AffectedObjectTypes (targetInstanceType), JobName (name or scenarioName), FabricId. [U] exact semantics."""
        jobs = sorted(self.world.jobs.values(), key=lambda j: j.start, reverse=True)
        if not odata_filter:
            return jobs
        for clause in re.split(r"\s+and\s+", odata_filter, flags=re.IGNORECASE):
            match = self.FILTER_RE.match(clause)
            if match is None:
                raise errors.asr("InvalidFilter", f"Unsupported $filter clause '{clause}'.", "", "Use Key eq 'value' clauses joined by and.")
            key, value = match["key"].lower(), match["value"]
            if key in ("starttime", "endtime"):
                try:
                    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError as exc:
                    raise errors.asr("InvalidFilter", f"'{value}' is not a date-time.", "", "") from exc
                if when.tzinfo is None:
                    when = when.replace(tzinfo=dt.UTC)
                jobs = [j for j in jobs if (j.start >= when if key == "starttime" else j.start <= when)]
            elif key == "jobstatus":
                states = {s.strip().lower() for s in value.split(",") if s.strip()}
                jobs = [j for j in jobs if j.state.lower() in states]
            elif key == "affectedobjecttypes":
                kinds = {s.strip().lower() for s in value.split(",") if s.strip()}
                jobs = [j for j in jobs if j.target_type.lower() in kinds]
            elif key == "jobname":
                jobs = [j for j in jobs if value.lower() in (j.name.lower(), j.scenario.lower())]
            elif key == "fabricid":
                jobs = [j for j in jobs if any((it := self.world.find_item(n)) is not None and it.fabric.lower() in value.lower() for n in j.items)]
            else:
                raise errors.asr("InvalidFilter", f"Unknown $filter property '{match['key']}'.", "",
                                 "Filter on StartTime, EndTime, JobStatus, AffectedObjectTypes, JobName or FabricId.")  # fmt: skip
        return jobs

"""Each rule of :mod:`standin.rules` refusing what ASR refuses, with ASR's error shape, driven with the SDK client.
Issue 13's defects each have a test here: they are what a provider test against the stand-in must catch."""

from __future__ import annotations

import datetime as dt
import typing

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.recoveryservicessiterecovery import models as m

from standin import Clock, MachineSpec, World, classic_world, modernized_world, rules
from standin import helpers as h
from standin.client import start
from standin.validation import _discriminated_root


def refused(call, *args, **kwargs) -> dict:
    """Run an SDK call that must be refused; return ASR's error detail (code, message, clientRequestId …)."""
    with pytest.raises(HttpResponseError) as info:
        poller = call(*args, **kwargs)
        poller.result() if hasattr(poller, "result") else None
    body = info.value.response.json()
    assert info.value.status_code in (400, 409), body
    assert body["error"]["code"] in ("BadRequest", "Conflict")
    detail = body["error"]["details"][0]
    assert set(detail) == {"code", "message", "possibleCauses", "recommendedAction", "clientRequestId", "activityId"}
    assert detail["clientRequestId"]  # ASR echoes x-ms-client-request-id
    return detail


@pytest.fixture
def modern(serve, sdk):
    world = modernized_world([MachineSpec("app01"), MachineSpec("db01", group="erp"), MachineSpec("db02", group="erp")])
    arm = serve(world)
    return h.Vault(arm, sdk(arm))


@pytest.fixture
def classic(serve, sdk):
    world = classic_world([MachineSpec("app01"), MachineSpec("lnx01", os="Linux"), MachineSpec("db01", group="erp")])
    arm = serve(world)
    return h.Vault(arm, sdk(arm))


def _classic_reprotect(v: h.Vault, machine: str, **overrides: str | None):
    world = v.world
    item = world.set_state(machine, "InMageAzureV2", "committed")
    fabric = world.fabrics[item.fabric]
    target = next(t for t in fabric.master_targets if t.os == item.machine.os)
    args = {"master_target": target.id, "retention": target.retention_volumes[0], "datastore": target.datastores[0],
            "profile_id": world.policy_id("policy-failback"), "process_server": next(p.id for p in fabric.process_servers if p.in_azure)}  # fmt: skip
    args.update(overrides)
    return item, h.reprotect_classic(world, item, **args)  # type: ignore[arg-type]


# -- the table itself -------------------------------------------------------------------------------------------------
def test_every_rule_row_names_its_source_and_uses_asr_vocabulary():
    operations = {e.value for e in m.ReplicationProtectedItemOperation}
    for row in rules.ACTIONS:
        assert row.source and row.source != "-", row
        assert row.scenario in rules.SCENARIOS, row
        assert row.allowed_operation is None or row.allowed_operation in operations, row
        assert row.directions is None or set(row.directions) <= {None, "PrimaryToRecovery", "RecoveryToPrimary"}, row
        if row.result:
            rules.state(row.result_provider or row.provider, row.result)  # every resulting state exists
        assert row.unverified is None or row.unverified.startswith("[U]"), row
    for st in rules.STATES:
        assert set(st.allowed) <= operations, st
        assert st.source != "-" or (st.unverified or "").startswith("[U]"), st
    for rule in rules.PLAN_ACTIONS:
        assert rule.source and (rule.refused or rule.item_action), rule


def test_provider_inputs_in_the_table_are_sdk_discriminators():
    bases = {"enable": m.EnableProtectionProviderSpecificInput, "update": m.UpdateReplicationProtectedItemProviderInput,
             "testFailover": m.TestFailoverProviderSpecificInput, "unplannedFailover": m.UnplannedFailoverProviderSpecificInput,
             "plannedFailover": m.PlannedFailoverProviderSpecificFailoverInput, "reProtect": m.ReverseReplicationProviderSpecificInput,
             "switchProvider": m.SwitchProviderSpecificInput}  # fmt: skip
    for row in rules.ACTIONS:
        for name in row.inputs or ():
            if name is not None:
                root = _discriminated_root(bases[row.action])
                assert name in typing.cast(dict, root.__mapping__), (row.provider, row.action, name)  # type: ignore[union-attr]


# -- refusals the table declares ---------------------------------------------------------------------------------------
REFUSED = [r for r in rules.ACTIONS if r.refused]


@pytest.mark.parametrize("row", REFUSED, ids=[f"{r.provider}-{r.action}" for r in REFUSED])
def test_refused_rows(row, serve, sdk):
    build = classic_world if row.provider in ("InMageAzureV2", "InMage") else modernized_world
    world = build([MachineSpec("app01")])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    item = world.set_state("app01", row.provider, "protected")  # the refusal comes before any state check
    net = next(x.id for x in world.vnets.values() if x.name == "vnet-dr-test")
    calls = {
        "testFailover": lambda: v.items.begin_test_failover(*v.item_args(item), h.tfo(net, "InMageRcm")),
        "unplannedFailover": lambda: v.items.begin_unplanned_failover(*v.item_args(item), h.ufo_rcm()),
        "plannedFailover": lambda: v.items.begin_planned_failover(*v.item_args(item), h.planned_failback()),
        "failoverCancel": lambda: v.items.begin_failover_cancel(*v.item_args(item)),
    }
    detail = refused(calls[row.action])
    assert detail["code"] == "OperationNotSupported"
    assert row.refused in detail["message"]
    assert world.jobs == {}  # nothing started


# -- classic ------------------------------------------------------------------------------------------------------------
def test_classic_failback_with_recovery_to_primary_is_invalid_for_inmage(classic):
    item = classic.world.set_state("app01", "InMage", "protected")
    detail = refused(classic.items.begin_unplanned_failover, *classic.item_args(item), h.failback_classic("RecoveryToPrimary"))
    assert detail["code"] == "InvalidFailoverDirection"
    assert "RecoveryToPrimary Direction is Invalid for InMage" in detail["message"]


def test_classic_reenable_needs_recovery_to_primary_and_no_target_storage(classic):
    world = classic.world
    item = world.set_state("app01", "InMage", "committed")
    ps = world.fabrics[item.fabric].process_servers[0].id
    policy = world.policy_id("policy-replication")
    detail = refused(classic.items.begin_reprotect, *classic.item_args(item), h.reenable_classic(ps, policy, direction="PrimaryToRecovery"))
    assert detail["code"] == "InvalidFailoverDirection"
    cache = next(iter(world.storage_accounts))
    detail = refused(classic.items.begin_reprotect, *classic.item_args(item), h.reenable_classic(ps, policy, storage=cache))
    assert detail["code"] == "TargetStorageNotAllowed"
    azure_ps = next(p.id for p in world.fabrics[item.fabric].process_servers if p.in_azure)
    detail = refused(classic.items.begin_reprotect, *classic.item_args(item), h.reenable_classic(azure_ps, policy))
    assert detail["code"] == "ProcessServerNotFound"  # re-enable replicates from on-premises again


def test_classic_reprotect_needs_the_failback_mapping(serve, sdk):
    world = classic_world([MachineSpec("app01")], failback_mapping=False)
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    item, body = _classic_reprotect(v, "app01")
    detail = refused(v.items.begin_reprotect, *v.item_args(item), body)
    assert detail["code"] == "FailbackPolicyNotAssociated"
    # The forward policy is no failback profile either.
    item, body = _classic_reprotect(v, "app01", profile_id=world.policy_id("policy-replication"))
    assert refused(v.items.begin_reprotect, *v.item_args(item), body)["code"] == "FailbackPolicyNotAssociated"


def test_classic_failback_mapping_is_the_container_mapped_to_itself(serve, sdk):
    world = classic_world([MachineSpec("app01")], failback_mapping=False)
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    fabric = next(iter(world.fabrics.values()))
    own = world.container_id(fabric.name, fabric.container)
    body = m.CreateProtectionContainerMappingInput(properties=m.CreateProtectionContainerMappingInputProperties(
        target_protection_container_id="Microsoft Azure", policy_id=world.policy_id("policy-failback"),
        provider_specific_input=m.ReplicationProviderSpecificContainerMappingInput(instance_type="ReplicationProviderSpecificContainerMappingInput")))  # fmt: skip
    mappings = v.client.replication_protection_container_mappings
    detail = refused(mappings.begin_create, v.rg, v.name, fabric.name, fabric.container, "failback", body)
    assert detail["code"] == "InvalidTargetContainer" and own in detail["message"]
    body.properties.target_protection_container_id = own
    poller, job = start(mappings.begin_create, v.rg, v.name, fabric.name, fabric.container, "failback", body)
    assert v.jobs.get(v.rg, v.name, job).properties.scenario_name == "AssociateProtectionProfile"
    arm.advance(60)
    assert poller.result().properties.state == "Paired"
    item, body = _classic_reprotect(v, "app01")
    poller, _ = start(v.items.begin_reprotect, *v.item_args(item), body)  # now accepted
    arm.advance(1800)
    assert poller.result().properties.provider_specific_details.instance_type == "InMage"


def test_forward_mapping_targets_microsoft_azure(modern):
    world = modern.world
    fabric = next(iter(world.fabrics.values()))
    mappings = modern.client.replication_protection_container_mappings
    body = m.CreateProtectionContainerMappingInput(properties=m.CreateProtectionContainerMappingInputProperties(
        target_protection_container_id=world.container_id(fabric.name, fabric.container), policy_id=world.policy_id("policy-replication"),
        provider_specific_input=m.ReplicationProviderSpecificContainerMappingInput(instance_type="ReplicationProviderSpecificContainerMappingInput")))  # fmt: skip
    assert refused(mappings.begin_create, modern.rg, modern.name, fabric.name, fabric.container, "fwd", body)["code"] == "InvalidTargetContainer"


def test_linux_machine_fails_back_only_through_a_linux_master_target(classic):
    world = classic.world
    fabric = next(iter(world.fabrics.values()))
    windows_mt = next(t for t in fabric.master_targets if t.os == "Windows")
    item, body = _classic_reprotect(classic, "lnx01", master_target=windows_mt.id, retention=windows_mt.retention_volumes[0],
                                    datastore=windows_mt.datastores[0])  # fmt: skip
    detail = refused(classic.items.begin_reprotect, *classic.item_args(item), body)
    assert detail["code"] == "MasterTargetOsMismatch" and "Linux" in detail["message"]
    # The Linux master target, but the Windows one's retention drive / datastore.
    item, body = _classic_reprotect(classic, "lnx01", retention="E:\\")
    assert refused(classic.items.begin_reprotect, *classic.item_args(item), body)["code"] == "RetentionDriveNotFound"
    item, body = _classic_reprotect(classic, "lnx01", datastore="datastore1")
    assert refused(classic.items.begin_reprotect, *classic.item_args(item), body)["code"] == "DatastoreNotFound"


def test_classic_reprotect_replicates_through_the_azure_process_server(classic):
    on_prem = next(iter(classic.world.fabrics.values())).process_servers[0].id
    item, body = _classic_reprotect(classic, "app01", process_server=on_prem)
    assert refused(classic.items.begin_reprotect, *classic.item_args(item), body)["code"] == "FailbackProcessServerRequired"


def test_classic_reprotect_is_reverse_replicate_and_only_after_commit(classic):
    item = classic.world.set_state("app01", "InMageAzureV2", "failed_over")
    _, body = _classic_reprotect(classic, "app01")
    classic.world.set_state("app01", "InMageAzureV2", "failed_over")
    detail = refused(classic.items.begin_reprotect, *classic.item_args(item), body)
    assert detail["code"] == "OperationNotAllowedInState" and "ReverseReplicate" in detail["message"]


def test_classic_enable_is_refused_after_the_retirement(serve, sdk):
    for start_at, expected in ((dt.datetime(2025, 6, 1, tzinfo=dt.UTC), None), (dt.datetime(2026, 2, 1, tzinfo=dt.UTC), "ClassicExperienceRetired")):
        world = classic_world([MachineSpec("app01", protected=False)], world=World(clock=Clock(start_at)))
        arm = serve(world)
        v = h.Vault(arm, sdk(arm))
        fabric = next(iter(world.fabrics.values()))
        machine = fabric.machines[0]
        body = m.EnableProtectionInput(properties=m.EnableProtectionInputProperties(
            policy_id=world.policy_id("policy-replication"),
            protectable_item_id=f"{world.container_id(fabric.name, fabric.container)}/replicationProtectableItems/{machine.protectable_name}",
            provider_specific_details=m.InMageAzureV2EnableProtectionInput(
                process_server_id=fabric.process_servers[0].id, master_target_id=fabric.master_targets[0].id,
                run_as_account_id=fabric.run_as_accounts[1].id, log_storage_account_id=world.storage_id("stdrcache"), disk_type="Standard_LRS",
                target_azure_network_id=world.vnet_id("vnet-dr-recovery"), target_azure_subnet_id=world.vnet_id("vnet-dr-recovery") + "/subnets/snet-app",
                target_azure_v2_resource_group_id=world.rg_id("rg-dr-recovery"), target_azure_vm_name="app01")))  # fmt: skip
        call = (v.items.begin_create, v.rg, v.name, fabric.name, fabric.container, "app01-item", body)
        if expected is None:
            poller, _ = start(*call)
            arm.advance(1800)
            assert poller.result().properties.protection_state == "Protected"
        else:
            assert refused(*call)["code"] == expected


# -- multi-VM groups ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ["classic", "modern"])
def test_per_item_failover_of_a_multi_vm_group_member_is_refused(architecture, request):
    v = request.getfixturevalue(architecture)
    item = v.world.item("db01")
    net = next(x.id for x in v.world.vnets.values() if x.name == "vnet-dr-test")
    provider = "InMageAzureV2" if architecture == "classic" else "InMageRcm"
    ufo = h.ufo_classic() if architecture == "classic" else h.ufo_rcm()
    for call, body in ((v.items.begin_test_failover, h.tfo(net, provider)), (v.items.begin_unplanned_failover, ufo)):
        detail = refused(call, *v.item_args(item), body)
        assert detail["code"] == "MultiVmGroupMemberFailoverNotAllowed" and "recovery plan" in detail["recommendedAction"]
    # A machine without a group fails over by itself.
    start(v.items.begin_unplanned_failover, *v.item_args(v.world.item("app01")), ufo)


# -- modernized -----------------------------------------------------------------------------------------------------------
def test_modernized_reprotect_needs_agent_datastore_and_log_storage(modern):
    world = modern.world
    item = world.set_state("app01", "InMageRcm", "committed")
    agent = world.fabrics[item.fabric].appliances[0]
    cache = next(iter(world.storage_accounts))
    for body, code in (
        (h.reprotect_rcm("not-an-agent", agent.datastores[0], cache), "ReprotectAgentNotFound"),
        (h.reprotect_rcm(agent.id, "datastore-elsewhere", cache), "DatastoreNotAccessible"),
        (h.reprotect_rcm(agent.id, agent.datastores[0], world.storage_id("nosuchaccount")), "StorageAccountNotFound"),
        (h.reprotect_rcm(agent.id, agent.datastores[0], cache, direction="PrimaryToRecovery"), "InvalidFailoverDirection"),
    ):
        assert refused(modern.items.begin_reprotect, *modern.item_args(item), body)["code"] == code
    raw = {"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {
        "instanceType": "InMageRcm", "reprotectAgentId": agent.id, "datastoreName": agent.datastores[0]}}}  # fmt: skip
    detail = refused(modern.items.begin_reprotect, *modern.item_args(item), raw)
    assert detail["code"] == "InvalidRequestBody" and "logStorageAccountId: required" in detail["message"]


def test_failback_reprotect_to_azure_needs_the_forward_policy_and_primary_to_recovery(modern):
    world = modern.world
    item = world.set_state("app01", "InMageRcmFailback", "committed")
    ps = world.fabrics[item.fabric].appliances[0].id
    detail = refused(modern.items.begin_reprotect, *modern.item_args(item), h.reprotect_to_azure(ps, world.policy_id("policy-failback")))
    assert detail["code"] == "PolicyNotFound"
    detail = refused(modern.items.begin_reprotect, *modern.item_args(item),
                     h.reprotect_to_azure(ps, world.policy_id("policy-replication"), direction="RecoveryToPrimary"))  # fmt: skip
    assert detail["code"] == "InvalidFailoverDirection"


def test_failover_cancel_only_after_a_planned_failback(modern):
    world = modern.world
    item = world.set_state("app01", "InMageRcmFailback", "protected")
    detail = refused(modern.items.begin_failover_cancel, *modern.item_args(item))
    assert detail["code"] == "OperationNotAllowedInState" and "CancelFailover" in detail["message"]
    world.set_state("app01", "InMageRcmFailback", "failed_over")
    start(modern.items.begin_failover_cancel, *modern.item_args(item))  # accepted


def test_inmagercm_failover_is_primary_to_recovery_and_needs_its_input(modern):
    item = modern.world.item("app01")
    assert refused(modern.items.begin_unplanned_failover, *modern.item_args(item), h.ufo_rcm("RecoveryToPrimary"))["code"] == "InvalidFailoverDirection"
    detail = refused(modern.items.begin_unplanned_failover, *modern.item_args(item), h.ufo_classic())
    assert detail["code"] == "InvalidProviderSpecificInput" and "InMageAzureV2" in detail["message"]


def test_allowed_operations_gate_every_action(modern):
    world = modern.world
    item = world.item("app01")
    assert refused(modern.items.begin_failover_commit, *modern.item_args(item))["code"] == "OperationNotAllowedInState"
    world.set_state("app01", "InMageRcm", "protected", tfo="active")
    net = next(x.id for x in world.vnets.values() if x.name == "vnet-dr-test")
    assert refused(modern.items.begin_test_failover, *modern.item_args(item), h.tfo(net))["code"] == "OperationNotAllowedInState"
    assert refused(modern.items.begin_unplanned_failover, *modern.item_args(item), h.ufo_rcm())["code"] == "OperationNotAllowedInState"


def test_one_operation_at_a_time_per_item(modern):
    item = modern.world.item("app01")
    start(modern.items.begin_unplanned_failover, *modern.item_args(item), h.ufo_rcm())
    with pytest.raises(HttpResponseError) as info:
        modern.items.begin_failover_commit(*modern.item_args(item))
    assert info.value.status_code == 409 and info.value.response.json()["error"]["details"][0]["code"] == "OperationInProgress"


def test_test_failover_needs_an_existing_network(modern):
    item = modern.world.item("app01")
    missing = modern.world.vnet_id("vnet-nowhere")
    assert refused(modern.items.begin_test_failover, *modern.item_args(item), h.tfo(missing))["code"] == "AzureNetworkNotFound"


# -- test subnets ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("test_subnets", "explicit", "landed"),
    [
        ({"snet-app": "10.30.1.0/24", "snet-db": "10.30.2.0/24"}, None, "snet-app"),  # same name as the recovery subnet
        ({"test-b": "10.30.1.0/24", "test-a": "10.30.2.0/24"}, None, "test-a"),  # else the alphabetically first
        ({"snet-app": "10.30.1.0/24", "snet-iso": "10.30.9.0/24"}, "snet-iso", "snet-iso"),  # an explicit test subnet [U]
    ],
)
def test_test_vm_lands_in_the_subnet_named_like_the_recovery_subnet(test_subnets, explicit, landed, serve, sdk):
    world = modernized_world([MachineSpec("app01", subnet="snet-app")], test_subnets=test_subnets)
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    item = world.item("app01")
    if explicit:
        item.machine.nics[0].test_subnet = explicit
    net = next(x for x in world.vnets.values() if x.name == "vnet-dr-test")
    poller, _ = start(v.items.begin_test_failover, *v.item_args(item), h.tfo(net.id))
    arm.advance(600)
    poller.result()
    vm = world.test_vm("app01")
    assert (vm.network_id, vm.subnet) == (net.id, landed)


# -- NIC settings ---------------------------------------------------------------------------------------------------------------
def test_nic_update_checks_nic_subnet_and_ip(modern):
    item = modern.world.item("app01")
    mac = item.machine.nics[0].mac

    def update(nic_id: str, subnet: str, ip: str) -> m.UpdateReplicationProtectedItemInput:
        return m.UpdateReplicationProtectedItemInput(properties=m.UpdateReplicationProtectedItemInputProperties(
            provider_specific_details=m.InMageRcmUpdateReplicationProtectedItemInput(vm_nics=[m.InMageRcmNicInput(
                nic_id=nic_id, is_primary_nic="true", target_subnet_name=subnet, target_static_ip_address=ip)])))  # fmt: skip

    assert refused(modern.items.begin_update, *modern.item_args(item), update("00:00:00:00:00:01", "snet-app", "10.20.1.9"))["code"] == "NicNotFound"
    assert refused(modern.items.begin_update, *modern.item_args(item), update(mac, "snet-nowhere", "10.20.1.9"))["code"] == "SubnetNotFound"
    assert refused(modern.items.begin_update, *modern.item_args(item), update(mac, "snet-app", "10.99.0.9"))["code"] == "StaticIpOutsideSubnet"


def test_classic_nic_update_shows_as_recovery_and_test_ips(classic):
    world = classic.world
    item = world.item("app01")
    body = m.UpdateReplicationProtectedItemInput(properties=m.UpdateReplicationProtectedItemInputProperties(vm_nics=[
        m.VMNicInputDetails(nic_id=item.machine.nics[0].mac, selection_type="SelectedByUser", ip_configs=[m.IPConfigInputDetails(
            ip_config_name="ipconfig1", is_primary=True, is_seleted_for_failover=True, recovery_subnet_name="snet-db",
            recovery_static_ip_address="10.20.2.10", tfo_subnet_name="snet-db", tfo_static_ip_address="10.20.2.110")])]))  # fmt: skip
    poller, _ = start(classic.items.begin_update, *classic.item_args(item), body)
    classic.arm.advance(30)
    config = poller.result().properties.provider_specific_details.vm_nics[0].ip_configs[0]
    assert (config.recovery_subnet_name, config.recovery_static_ip_address, config.recovery_ip_address_type) == ("snet-db", "10.20.2.10", "Static")
    assert (config.tfo_subnet_name, config.tfo_static_ip_address) == ("snet-db", "10.20.2.110")
    poller, _ = start(classic.items.begin_unplanned_failover, *classic.item_args(item), h.ufo_classic())
    classic.arm.advance(900)
    poller.result()
    assert (world.recovery_vm("app01").subnet, world.recovery_vm("app01").ip) == ("snet-db", "10.20.2.10")


# -- modernized enable -----------------------------------------------------------------------------------------------------------
def _enable_rcm(world: World, machine_id: str, **overrides: object) -> m.EnableProtectionInput:
    fabric = next(iter(world.fabrics.values()))
    fields: dict[str, object] = dict(
        fabric_discovery_machine_id=machine_id, process_server_id=fabric.appliances[0].id,
        disks_default=m.InMageRcmDisksDefaultInput(log_storage_account_id=world.storage_id("stdrcache"), disk_type="Standard_LRS"),
        target_resource_group_id=world.rg_id("rg-dr-recovery"), target_network_id=world.vnet_id("vnet-dr-recovery"), target_subnet_name="snet-app",
    )  # fmt: skip
    fields.update(overrides)
    return m.EnableProtectionInput(properties=m.EnableProtectionInputProperties(
        policy_id=world.policy_id("policy-replication"), provider_specific_details=m.InMageRcmEnableProtectionInput(**fields)))  # fmt: skip


def test_modernized_enable_preconditions(serve, sdk):
    world = modernized_world([MachineSpec("app01"), MachineSpec("new01", protected=False)])
    fabric = next(iter(world.fabrics.values()))
    gone = world.add_machine(fabric, "new01", deleted=True)  # the same VM name, deleted in vCenter (as CLIrec shows)
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    new = next(mm for mm in fabric.machines if mm.name == "new01" and not mm.deleted)

    def create(body):
        return v.items.begin_create(v.rg, v.name, fabric.name, fabric.container, "new01", body)

    assert refused(create, _enable_rcm(world, world.machine_id(fabric, gone)))["code"] == "DiscoveredMachineNotFound"
    assert refused(create, _enable_rcm(world, world.machine_id(fabric, world.item("app01").machine)))["code"] == "MachineAlreadyProtected"
    assert refused(create, _enable_rcm(world, world.machine_id(fabric, new), process_server_id="nope"))["code"] == "ProcessServerNotFound"
    both = _enable_rcm(world, world.machine_id(fabric, new), disks_to_include=[m.InMageRcmDiskInput(
        disk_id=new.disks[0].uuid, log_storage_account_id=world.storage_id("stdrcache"), disk_type="Standard_LRS")])  # fmt: skip
    assert refused(create, both)["code"] == "InvalidDiskInput"
    del world.mappings["mapping-to-azure"]
    assert refused(create, _enable_rcm(world, world.machine_id(fabric, new)))["code"] == "ProtectionContainerNotMapped"


# -- recovery plans ---------------------------------------------------------------------------------------------------------------
def _plan(v: h.Vault, machines: list[str]) -> None:
    world = v.world
    fabric = next(iter(world.fabrics.values()))
    poller, _ = start(v.plans.begin_create, v.rg, v.name, "erp", h.create_plan(world, fabric.name, [[world.item(n) for n in machines]]))
    v.arm.advance(10)
    poller.result()


@pytest.mark.parametrize("provider", ["InMageRcm", "InMageRcmFailback"])
def test_recovery_plan_reprotect_is_refused_for_modernized(provider, modern):
    _plan(modern, ["db01", "db02"])
    for n in ("db01", "db02"):
        modern.world.set_state(n, provider, "committed")
    detail = refused(modern.plans.begin_reprotect, modern.rg, modern.name, "erp")
    assert detail["code"] == "OperationNotSupported" and "reprotect each replicated item" in detail["message"]


def test_recovery_plan_directions_are_plan_level(modern, classic):
    _plan(modern, ["db01", "db02"])
    for n in ("db01", "db02"):
        modern.world.set_state(n, "InMageRcmFailback", "protected")
    detail = refused(modern.plans.begin_planned_failover, modern.rg, modern.name, "erp", h.plan_failback("PrimaryToRecovery"))
    assert detail["code"] == "InvalidFailoverDirection"
    no_input = m.RecoveryPlanPlannedFailoverInput(properties=m.RecoveryPlanPlannedFailoverInputProperties(failover_direction="RecoveryToPrimary"))
    assert refused(modern.plans.begin_planned_failover, modern.rg, modern.name, "erp", no_input)["code"] == "InvalidProviderSpecificInput"
    _plan(classic, ["db01"])
    classic.world.set_state("db01", "InMage", "protected")
    detail = refused(classic.plans.begin_unplanned_failover, classic.rg, classic.name, "erp", h.plan_ufo("InMage", "PrimaryToRecovery"))
    assert detail["code"] == "InvalidFailoverDirection" and "RecoveryToPrimary" in detail["message"]


def test_recovery_plan_create_is_validated(modern):
    world = modern.world
    fabric = next(iter(world.fabrics.values()))
    body = h.create_plan(world, fabric.name, [[world.item("app01")]])
    body.properties.recovery_fabric_id = world.fabric_id(fabric.name)
    assert refused(modern.plans.begin_create, modern.rg, modern.name, "p1", body)["code"] == "InvalidRecoveryFabric"
    body = h.create_plan(world, fabric.name, [[world.item("app01")]])
    body.properties.groups.append(m.RecoveryPlanGroup(group_type="Shutdown"))
    assert refused(modern.plans.begin_create, modern.rg, modern.name, "p1", body)["code"] == "InvalidGroupOrder"
    body = h.create_plan(world, fabric.name, [[world.item("app01")], [world.item("app01")]])
    assert refused(modern.plans.begin_create, modern.rg, modern.name, "p1", body)["code"] == "DuplicateItemInPlan"

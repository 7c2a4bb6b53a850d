"""A modernized (InMageRcm) machine through its whole life, per item and through a recovery plan, driven with the
real SDK client: enable → TFO → cleanup → UFO → commit → reprotect → planned failback → cancel → planned
failback → commit → re-protect to Azure. States are the recorded ones (PSrec/CLIrec) wherever they exist."""

from __future__ import annotations

from azure.mgmt.recoveryservicessiterecovery import models as m

from standin import MachineSpec, modernized_world
from standin import helpers as h
from standin.client import start


def _ids(v: h.Vault, fabric_name: str) -> dict[str, str]:
    """What a client reads from the fabric: process server, reprotect agent, site (REFERENCE-modernized §2.5)."""
    fabric = v.client.replication_fabrics.get(v.rg, v.name, fabric_name)
    custom = fabric.properties.custom_details
    assert custom.instance_type == "InMageRcm"
    return {
        "process_server": custom.process_servers[0].id,
        "reprotect_agent": custom.reprotect_agents[0].id,
        "datastore": custom.reprotect_agents[0].accessible_datastores[0],
        "site": custom.vmware_site_id,
    }


def test_modernized_item_lifecycle(serve, sdk):
    world = modernized_world([MachineSpec("app01", protected=False, ips=["10.10.1.21"])])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    fabric = next(iter(world.fabrics.values()))
    ids = _ids(v, fabric.name)
    test_net = world.vnets[next(k for k in world.vnets if k.endswith("vnet-dr-test"))]
    recovery_net = world.vnets[next(k for k in world.vnets if k.endswith("vnet-dr-recovery"))]
    cache = next(iter(world.storage_accounts))

    # The machine as the appliance discovered it (Microsoft.OffAzure, api-version as in the CLI test).
    machines = v.raw("GET", f"{ids['site']}/machines", {"api-version": "2020-01-01"}).json()["value"]
    machine = next(mm for mm in machines if mm["properties"]["displayName"] == "app01")
    run_as = v.raw("GET", f"{ids['site']}/runAsAccounts", {"api-version": "2020-01-01"}).json()["value"]
    windows = next(a["id"] for a in run_as if a["properties"]["credentialType"] == "WindowsGuest")

    # -- enable ------------------------------------------------------------------------------------------------------
    enable = m.EnableProtectionInput(properties=m.EnableProtectionInputProperties(
        policy_id=world.policy_id("policy-replication"),
        provider_specific_details=m.InMageRcmEnableProtectionInput(
            fabric_discovery_machine_id=machine["id"], process_server_id=ids["process_server"], run_as_account_id=windows,
            disks_default=m.InMageRcmDisksDefaultInput(log_storage_account_id=world.storage_id("stdrcache"), disk_type="Premium_LRS"),
            target_resource_group_id=world.rg_id("rg-dr-recovery"), target_network_id=recovery_net.id, test_network_id=test_net.id,
            target_subnet_name="snet-app", test_subnet_name="snet-app", target_vm_name="app01")))  # fmt: skip
    poller, job = start(v.items.begin_create, v.rg, v.name, fabric.name, fabric.container, "app01", enable)
    item = world.item("app01")
    assert v.jobs.get(v.rg, v.name, job).properties.scenario_name == "EnableDr"
    enabling = v.get(item).properties
    assert (enabling.protection_state, enabling.allowed_operations) == ("UnprotectedStatesBegin", [])  # the job owns it
    arm.advance(1800)
    got = poller.result()
    assert got.properties.protection_state == "Protected"
    assert got.properties.provider_specific_details.instance_type == "InMageRcm"
    assert got.properties.allowed_operations == ["UnplannedFailover", "DisableProtection", "TestFailover"]
    details = got.properties.provider_specific_details
    assert [n.nic_id for n in details.vm_nics] == [item.machine.nics[0].mac]  # NICs are named by MAC (CLIrec)
    assert details.discovered_vm_details.datastores == ["datastore1"]

    # -- recovery IPs through the update call --------------------------------------------------------------------------
    nic = details.vm_nics[0].nic_id
    update = m.UpdateReplicationProtectedItemInput(properties=m.UpdateReplicationProtectedItemInputProperties(
        provider_specific_details=m.InMageRcmUpdateReplicationProtectedItemInput(vm_nics=[m.InMageRcmNicInput(
            nic_id=nic, is_primary_nic="true", is_selected_for_failover="true", target_subnet_name="snet-app",
            target_static_ip_address="10.20.1.21", test_subnet_name="snet-app", test_static_ip_address="10.20.1.121")])))  # fmt: skip
    poller, _ = start(v.items.begin_update, *v.item_args(item), update)
    arm.advance(30)
    nics = poller.result().properties.provider_specific_details.vm_nics
    assert (nics[0].target_ip_address, nics[0].target_ip_address_type) == ("10.20.1.21", "Static")
    assert (nics[0].test_ip_address, nics[0].test_ip_address_type) == ("10.20.1.121", "Static")

    # -- test failover and cleanup -------------------------------------------------------------------------------------
    poller, job = start(v.items.begin_test_failover, *v.item_args(item), h.tfo(test_net.id))
    during = v.get(item).properties
    assert during.current_scenario.scenario_name == "TestFailover"
    assert during.current_scenario.job_id.endswith(f"/replicationJobs/{job}")
    arm.advance(600)
    after = poller.result().properties
    assert (after.test_failover_state, after.allowed_operations) == ("WaitingForCompletion", ["TestFailoverCleanup"])
    assert world.test_vm("app01").ip == "10.20.1.121" and world.test_vm("app01").network_id == test_net.id
    poller, _ = start(v.items.begin_test_failover_cleanup, *v.item_args(item), h.cleanup())
    arm.advance(300)
    after = poller.result().properties
    assert after.test_failover_state == "MarkedForDeletion"
    assert {"TestFailover", "UnplannedFailover"} <= set(after.allowed_operations)  # a drill can run again
    assert world.test_vm("app01") is None

    # -- failover and commit ----------------------------------------------------------------------------------------------
    poller, job = start(v.items.begin_unplanned_failover, *v.item_args(item), h.ufo_rcm())
    arm.advance(900)
    after = poller.result().properties
    assert (after.protection_state, after.protection_state_description, after.active_location) == (
        "UnplannedFailoverCommitPendingStatesBegin", "Failover completed", "Recovery")
    assert "CancelFailover" not in after.allowed_operations  # an unplanned failover can't be cancelled
    assert (world.recovery_vm("app01").subnet, world.recovery_vm("app01").ip) == ("snet-app", "10.20.1.21")
    points = v.jobs.get(v.rg, v.name, job).properties.custom_details.protected_item_details
    assert points[0].recovery_point_time is not None
    poller, job = start(v.items.begin_failover_commit, *v.item_args(item))
    assert v.jobs.get(v.rg, v.name, job).properties.scenario_name == "CommitFailover"
    arm.advance(120)
    after = poller.result().properties
    assert (after.protection_state, after.allowed_operations) == ("UnplannedFailoverCommitted", ["CompleteMigration", "DisableProtection", "SwitchProtection"])

    # -- reprotect to VMware (SwitchProtection) -----------------------------------------------------------------------------
    poller, job = start(v.items.begin_reprotect, *v.item_args(item), h.reprotect_rcm(ids["reprotect_agent"], ids["datastore"], cache))
    assert v.jobs.get(v.rg, v.name, job).properties.scenario_name == "SwitchReplicationGroupProtection"
    arm.advance(1800)
    after = poller.result().properties
    assert after.provider_specific_details.instance_type == "InMageRcmFailback"
    assert (after.protection_state, after.active_location, after.allowed_operations) == ("Protected", "Primary", ["PlannedFailover", "DisableProtection"])
    assert after.provider_specific_details.reprotect_agent_id == ids["reprotect_agent"]

    # -- planned failback, cancel, planned failback again, commit -------------------------------------------------------------
    poller, _ = start(v.items.begin_planned_failover, *v.item_args(item), h.planned_failback())
    arm.advance(1200)
    after = poller.result().properties
    assert (after.protection_state, after.protection_state_description) == ("CommitPendingStatesBegin", "Planned failover finished")
    assert "CancelFailover" in after.allowed_operations and world.recovery_vm("app01") is None
    poller, job = start(v.items.begin_failover_cancel, *v.item_args(item))
    assert v.jobs.get(v.rg, v.name, job).properties.friendly_name == "Cancel failover and resume replication"
    arm.advance(600)
    after = poller.result().properties
    assert (after.protection_state, after.allowed_operations) == ("Protected", ["PlannedFailover", "DisableProtection"])
    assert world.recovery_vm("app01") is not None  # the Azure VM runs again
    poller, _ = start(v.items.begin_planned_failover, *v.item_args(item), h.planned_failback("ApplicationConsistent"))
    arm.advance(1200)
    poller.result()
    poller, _ = start(v.items.begin_failover_commit, *v.item_args(item))
    arm.advance(120)
    after = poller.result().properties
    assert after.protection_state == "PlannedFailoverCommitted" and "SwitchProtection" in after.allowed_operations

    # -- re-protect to Azure ---------------------------------------------------------------------------------------------------
    poller, _ = start(v.items.begin_reprotect, *v.item_args(item), h.reprotect_to_azure(ids["process_server"], world.policy_id("policy-replication")))
    arm.advance(1800)
    after = poller.result().properties
    assert after.provider_specific_details.instance_type == "InMageRcm"
    assert (after.protection_state, after.active_location) == ("Protected", "Primary")
    assert after.allowed_operations == ["UnplannedFailover", "DisableProtection", "TestFailover"]
    scenarios = [j.scenario for j in sorted(world.jobs.values(), key=lambda j: j.start)]
    assert scenarios == ["EnableDr", "UpdateVmProperties", "TestFailover", "TestFailoverCleanup", "UnplannedFailover", "CommitFailover",
                         "SwitchReplicationGroupProtection", "PlannedFailover", "CancelFailover", "PlannedFailover", "CommitFailover",
                         "SwitchReplicationGroupProtection"]  # fmt: skip


def test_reprotect_straight_from_commit_pending(serve, sdk):
    """CLI test: the reprotect right after the failover (no explicit commit) is accepted; the job commits first."""
    world = modernized_world([MachineSpec("app01")])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    item = world.item("app01")
    fabric = world.fabrics[item.fabric]
    poller, _ = start(v.items.begin_unplanned_failover, *v.item_args(item), h.ufo_rcm())
    arm.advance(900)
    assert poller.result().properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    agent = fabric.appliances[0]
    poller, _ = start(v.items.begin_reprotect, *v.item_args(item), h.reprotect_rcm(agent.id, agent.datastores[0], next(iter(world.storage_accounts))))
    arm.advance(1800)
    assert poller.result().properties.provider_specific_details.instance_type == "InMageRcmFailback"


def test_modernized_lifecycle_through_a_recovery_plan(serve, sdk):
    world = modernized_world([MachineSpec("db01", group="erp"), MachineSpec("db02", group="erp"), MachineSpec("app01")])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    fabric = next(iter(world.fabrics.values()))
    test_net = next(x for x in world.vnets.values() if x.name == "vnet-dr-test")
    items = {n: world.item(n) for n in ("db01", "db02", "app01")}
    poller, _ = start(v.plans.begin_create, v.rg, v.name, "erp", h.create_plan(world, fabric.name, [[items["db01"], items["db02"]], [items["app01"]]]))
    arm.advance(10)
    created = poller.result().properties
    assert [g.group_type for g in created.groups] == ["Shutdown", "Failover", "Boot", "Boot"]
    assert created.recovery_fabric_id == "Microsoft Azure" and created.replication_providers == ["InMageRcm"]

    def run(begin, *args, seconds: float) -> m.RecoveryPlan:
        poller, job = start(begin, v.rg, v.name, "erp", *args)
        assert v.jobs.get(v.rg, v.name, job).properties.target_instance_type == "RecoveryPlan"
        arm.advance(seconds)
        return poller.result()

    run(v.plans.begin_test_failover, h.plan_tfo(test_net.id), seconds=1200)  # two boot groups of 600 s
    assert all(world.item(n).tfo == "active" for n in items) and world.test_vm("db02") is not None
    run(v.plans.begin_test_failover_cleanup, h.plan_cleanup(), seconds=600)
    assert all(world.item(n).tfo == "cleaned" for n in items)
    run(v.plans.begin_unplanned_failover, h.plan_ufo(), seconds=1800)
    assert all(world.item(n).state == "failed_over" for n in items)  # multi-VM members fail over through the plan
    run(v.plans.begin_failover_commit, seconds=240)
    assert all(world.item(n).state == "committed" for n in items)
    # Reprotect per item (the plan refuses it, see test_rules), then fail back through the plan.
    agent = fabric.appliances[0]
    for item in items.values():
        poller, _ = start(v.items.begin_reprotect, *v.item_args(item), h.reprotect_rcm(agent.id, agent.datastores[0], next(iter(world.storage_accounts))))
    arm.advance(1800)
    assert {world.item(n).provider for n in items} == {"InMageRcmFailback"}
    plan = run(v.plans.begin_planned_failover, h.plan_failback(), seconds=2400)
    assert all(world.item(n).state == "failed_over" for n in items)
    assert plan.properties.replication_providers == ["InMageRcmFailback"]
    run(v.plans.begin_failover_cancel, seconds=1200)
    assert all(world.item(n).state == "protected" for n in items)
    run(v.plans.begin_planned_failover, h.plan_failback(), seconds=2400)
    run(v.plans.begin_failover_commit, seconds=240)
    assert all(world.item(n).state == "committed" and world.item(n).provider == "InMageRcmFailback" for n in items)
    plan_jobs = [j for j in world.jobs.values() if j.target_type == "RecoveryPlan"]
    assert [j.scenario for j in sorted(plan_jobs, key=lambda j: j.start)] == [
        "SaveRecoveryPlan", "TestFailover", "TestFailoverCleanup", "UnplannedFailover", "CommitFailover",
        "PlannedFailover", "CancelFailover", "PlannedFailover", "CommitFailover"]  # fmt: skip

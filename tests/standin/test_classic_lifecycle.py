"""A classic (InMageAzureV2) machine through drill, failover, reprotect via the failback mapping, failback and
re-enable, with the real SDK client, the way Microsoft's end-to-end script does it (REFERENCE §5)."""

from __future__ import annotations

from standin import MachineSpec, classic_world
from standin import helpers as h
from standin.client import start


def _infrastructure(v: h.Vault, fabric_name: str, os: str) -> dict[str, str]:
    """What a client reads from the classic fabric and the failback mapping."""
    custom = v.client.replication_fabrics.get(v.rg, v.name, fabric_name).properties.custom_details
    assert custom.instance_type == "VMware"
    target = next(t for t in custom.master_target_servers if t.os_type == os)
    azure_ps = next(p for p in custom.process_servers if p.friendly_name.endswith("azure-ps"))
    on_prem_ps = custom.process_servers[0]
    container = v.client.replication_protection_containers.list_by_replication_fabrics(v.rg, v.name, fabric_name)
    container_id = next(iter(container)).id
    mappings = v.client.replication_protection_container_mappings.list(v.rg, v.name)
    failback = next(mp for mp in mappings if mp.properties.target_protection_container_id.lower() == container_id.lower())
    return {
        "master_target": target.id,
        "retention": target.retention_volumes[0].volume_name,
        "datastore": target.data_stores[0].symbolic_name,
        "azure_ps": azure_ps.id,
        "on_prem_ps": on_prem_ps.id,
        "profile": failback.properties.policy_id,
    }


def test_classic_lifecycle(serve, sdk):
    world = classic_world([MachineSpec("app01"), MachineSpec("lnx01", os="Linux", subnet="snet-db")])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    test_net = next(x for x in world.vnets.values() if x.name == "vnet-dr-test")
    for name, os in (("app01", "Windows"), ("lnx01", "Linux")):
        item = world.item(name)
        infra = _infrastructure(v, item.fabric, os)
        start_props = v.get(item).properties
        assert start_props.provider_specific_details.instance_type == "InMageAzureV2"
        assert start_props.health_errors[0].error_code == "161011"  # no successful test failover yet

        # Drill: test failover, then cleanup leaves MarkedForDeletion and offers the failovers again.
        poller, _ = start(v.items.begin_test_failover, *v.item_args(item), h.tfo(test_net.id, "InMageAzureV2"))
        arm.advance(600)
        assert poller.result().properties.allowed_operations == ["TestFailoverCleanup"]
        assert world.test_vm(name).subnet == item.target_subnet  # named like the recovery subnet
        poller, _ = start(v.items.begin_test_failover_cleanup, *v.item_args(item), h.cleanup())
        arm.advance(300)
        props = poller.result().properties
        assert (props.test_failover_state, props.test_failover_state_description) == ("MarkedForDeletion", "Cleaning up test environment")
        assert props.allowed_operations == ["TestFailover", "UnplannedFailover", "DisableProtection"]

        # Failover and commit.
        poller, _ = start(v.items.begin_unplanned_failover, *v.item_args(item), h.ufo_classic())
        arm.advance(900)
        assert poller.result().properties.active_location == "Recovery"
        poller, job = start(v.items.begin_failover_commit, *v.item_args(item))
        assert v.jobs.get(v.rg, v.name, job).properties.scenario_name == "CommitFailover"
        arm.advance(120)
        assert poller.result().properties.allowed_operations == ["ReverseReplicate", "DisableProtection"]

        # Reprotect to VMware through the failback mapping, the Azure process server and the OS's master target.
        body = h.reprotect_classic(world, item, master_target=infra["master_target"], retention=infra["retention"],
                                   datastore=infra["datastore"], profile_id=infra["profile"], process_server=infra["azure_ps"])  # fmt: skip
        poller, job = start(v.items.begin_reprotect, *v.item_args(item), body)
        assert v.jobs.get(v.rg, v.name, job).properties.scenario_name == "SwitchReplicationGroupProtection"
        arm.advance(1800)
        props = poller.result().properties
        # Reprotected is NOT failed back: InMage, Protected, Primary (the item's primary is Azure now).
        assert props.provider_specific_details.instance_type == "InMage"
        assert (props.protection_state, props.active_location, props.allowed_operations) == (
            "Protected", "Primary", ["UnplannedFailover", "DisableProtection"])
        assert world.recovery_vm(name) is not None  # still running in Azure

        # Failback = unplanned failover of the InMage item, PrimaryToRecovery; then commit.
        poller, _ = start(v.items.begin_unplanned_failover, *v.item_args(item), h.failback_classic("PrimaryToRecovery"))
        arm.advance(900)
        props = poller.result().properties
        assert (props.protection_state, props.active_location) == ("UnplannedFailoverCommitPendingStatesBegin", "Recovery")
        assert world.recovery_vm(name) is None
        poller, _ = start(v.items.begin_failover_commit, *v.item_args(item))
        arm.advance(120)
        assert poller.result().properties.allowed_operations == ["ReverseReplicate", "DisableProtection"]

        # Re-enable VMware → Azure: InMageAzureV2 reprotect, RecoveryToPrimary, no storage fields.
        poller, _ = start(v.items.begin_reprotect, *v.item_args(item), h.reenable_classic(infra["on_prem_ps"], world.policy_id("policy-replication")))
        arm.advance(1800)
        props = poller.result().properties
        assert props.provider_specific_details.instance_type == "InMageAzureV2"
        assert (props.protection_state, props.active_location) == ("Protected", "Primary")
        assert props.allowed_operations == ["TestFailover", "UnplannedFailover", "DisableProtection"]


def test_classic_recovery_plan_failover_and_failback(serve, sdk):
    """Grouped classic machines fail over through the plan (PrimaryToRecovery) and fail back through it with
    RecoveryToPrimary (the plan's primary stays the VMware fabric) and RecoveryPlanInMageFailoverInput."""
    world = classic_world([MachineSpec("db01", group="erp"), MachineSpec("db02", group="erp")])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    items = [world.item("db01"), world.item("db02")]
    fabric = items[0].fabric
    poller, _ = start(v.plans.begin_create, v.rg, v.name, "erp", h.create_plan(world, fabric, [items]))
    arm.advance(10)
    poller.result()
    poller, _ = start(v.plans.begin_unplanned_failover, v.rg, v.name, "erp", h.plan_ufo("InMageAzureV2"))
    arm.advance(900)
    poller.result()
    poller, _ = start(v.plans.begin_failover_commit, v.rg, v.name, "erp")
    arm.advance(120)
    poller.result()
    infra = _infrastructure(v, fabric, "Windows")
    for item in items:
        body = h.reprotect_classic(world, item, master_target=infra["master_target"], retention=infra["retention"],
                                   datastore=infra["datastore"], profile_id=infra["profile"], process_server=infra["azure_ps"])  # fmt: skip
        start(v.items.begin_reprotect, *v.item_args(item), body)
    arm.advance(1800)
    assert {world.item(n).provider for n in ("db01", "db02")} == {"InMage"}
    poller, _ = start(v.plans.begin_unplanned_failover, v.rg, v.name, "erp", h.plan_ufo("InMage", "RecoveryToPrimary"))
    arm.advance(900)
    poller.result()
    assert [world.item(n).state for n in ("db01", "db02")] == ["failed_over", "failed_over"]
    assert world.recovery_vm("db01") is None and world.recovery_vm("db02") is None

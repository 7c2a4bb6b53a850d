"""Seeding and discovery reads: what a world built with the seeding API shows through ARM (appliances, providers,
containers, OffAzure machines with ambiguous or missing display names, run-as accounts, the test VNet)."""

from __future__ import annotations

import pytest

from standin import MachineSpec, modernized_world
from standin import helpers as h


def test_modernized_world_reads(serve, sdk):
    world = modernized_world([MachineSpec("app01", appliance="appliance02"), MachineSpec("db01", os="Linux", disks=3, nics=2)],
                             appliances=("appliance01", "appliance02"))  # fmt: skip
    fabric = next(iter(world.fabrics.values()))
    world.add_machine(fabric, "app01", display_name="app01")  # a second VM with the same display name: ambiguous
    world.add_machine(fabric, "orphan", display_name="")  # discovered without a display name
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))

    appliances = list(v.client.replication_appliances.list(v.rg, v.name))
    details = appliances[0].properties.provider_specific_details.appliances
    assert [a.name for a in details] == ["appliance01", "appliance02"]
    assert details[1].reprotect_agent.accessible_datastores == ["datastore1", "datastore2"]
    assert details[0].fabric_arm_id == world.fabric_id(fabric.name)
    providers = list(v.client.replication_recovery_services_providers.list_by_replication_fabrics(v.rg, v.name, fabric.name))
    assert {p.properties.machine_id for p in providers} == {a.id for a in fabric.appliances}
    containers = list(v.client.replication_protection_containers.list_by_replication_fabrics(v.rg, v.name, fabric.name))
    assert [(c.name, c.properties.fabric_type) for c in containers] == [(fabric.container, "InMageRcm")]
    assert world.item("app01").process_server_id == fabric.appliances[1].id

    site = world.site_id(fabric.site)
    machines = v.raw("GET", f"{site}/machines", {"api-version": "2023-06-06"}).json()["value"]
    names = [mm["properties"]["displayName"] for mm in machines]
    assert names.count("app01") == 2 and "" in names
    db = next(mm for mm in machines if mm["properties"]["displayName"] == "db01")
    assert len(db["properties"]["disks"]) == 3 and len(db["properties"]["networkAdapters"]) == 2
    one = v.raw("GET", f"{site}/machines/{db['name']}", {"api-version": "2020-01-01"}).json()
    assert one["id"] == db["id"]
    item = v.get(world.item("db01")).properties.provider_specific_details
    assert [n.nic_id for n in item.vm_nics] == [mm["macAddress"] for mm in db["properties"]["networkAdapters"]]
    assert item.fabric_discovery_machine_id == db["id"]


def test_vnet_get_shows_subnets(serve, sdk):
    world = modernized_world([], test_subnets={"snet-app": "10.30.1.0/24"})
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    body = v.raw("GET", world.vnet_id("vnet-dr-test"), {"api-version": "2023-09-01"}).json()
    assert body["properties"]["provisioningState"] == "Succeeded"
    assert [(s["name"], s["properties"]["addressPrefix"]) for s in body["properties"]["subnets"]] == [("snet-app", "10.30.1.0/24")]


def test_read_back_helpers_name_the_problem():
    world = modernized_world([MachineSpec("app01")])
    with pytest.raises(KeyError, match="0 protected items for machine 'nope'"):
        world.item("nope")
    with pytest.raises(KeyError):
        world.set_state("app01", "InMageRcm", "no-such-state")
    assert world.test_vm("app01") is None and world.recovery_vm("app01") is None


def test_policy_put_validates_and_shows_the_settings(serve, sdk):
    from azure.mgmt.recoveryservicessiterecovery import models as m

    from standin.client import start

    world = modernized_world([])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    policies = v.client.replication_policies
    body = m.CreatePolicyInput(properties=m.CreatePolicyInputProperties(provider_specific_input=m.InMageRcmPolicyCreationInput(
        recovery_point_history_in_minutes=4320, crash_consistent_frequency_in_minutes=5, app_consistent_frequency_in_minutes=240,
        enable_multi_vm_sync="true")))  # fmt: skip
    poller, job = start(policies.begin_create, v.rg, v.name, "policy-24h", body)
    assert v.jobs.get(v.rg, v.name, job).properties.scenario_name == "AddProtectionProfile"
    arm.advance(30)
    details = poller.result().properties.provider_specific_details
    assert (details.instance_type, details.recovery_point_history_in_minutes, details.enable_multi_vm_sync) == ("InMageRcm", 4320, "true")
    from azure.core.exceptions import HttpResponseError

    bad = {"properties": {"providerSpecificInput": {"instanceType": "InMageRcm", "enableMultiVmSync": True}}}
    with pytest.raises(HttpResponseError) as info:
        policies.begin_create(v.rg, v.name, "policy-bad", bad)
    assert "enableMultiVmSync: expected a string" in info.value.response.json()["error"]["details"][0]["message"]


def test_seeding_accepts_macs_datastores_and_run_as_accounts():
    world = modernized_world([MachineSpec("app01", nics=["00:50:56:aa:bb:01", "00:50:56:aa:bb:02"])], datastores=("ds-gold",))
    fabric = next(iter(world.fabrics.values()))
    account = world.add_run_as_account(fabric, "svc-linux", "LinuxGuest")
    assert [n.mac for n in world.item("app01").machine.nics] == ["00:50:56:aa:bb:01", "00:50:56:aa:bb:02"]
    assert fabric.appliances[0].datastores == ["ds-gold"] and account in fabric.run_as_accounts


def test_names_put_resources_where_the_stack_expects_them():
    from standin import Names, World, classic_world

    names = Names(recovery_vnet="vnet-asr-prod-weu", test_vnet="vnet-asr-prod-weu-test", network_resource_group="rg-net",
                  cache_account="stasrprodcache", replication_policy="pol-rep", failback_policy="pol-fb")  # fmt: skip
    world = classic_world([MachineSpec("app01")], world=World(resource_group="rg-asr-prod", vault="rsv-asr-prod"), names=names,
                          configuration_server="cs-prod")  # fmt: skip
    assert world.vnet_by_id(world.vnet_id("vnet-asr-prod-weu-test", "rg-net")) is not None
    assert world.storage_id("stasrprodcache").lower() in world.storage_accounts
    assert set(world.policies) == {"pol-rep", "pol-fb"}
    assert next(iter(world.fabrics.values())).friendly_name == "cs-prod"
    assert world.item("app01").target_network_id == world.vnet_id("vnet-asr-prod-weu", "rg-net")

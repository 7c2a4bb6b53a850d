"""The classic → modernized move (``switchProvider``) across two vaults of one stand-in: what ASR refuses (each a row
or a precondition of :mod:`standin.rules` with its source), and what a move does in both vaults."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.recoveryservicessiterecovery import models as m

from standin import Failure, MachineSpec, World, migration_pair, rules
from standin import helpers as h
from standin.client import start


@pytest.fixture
def pair(serve, sdk) -> tuple[h.Vault, h.Vault]:
    source, target = migration_pair([MachineSpec("app01", disks=2), MachineSpec("db01", os="Linux")])
    arm = serve(source, other_vaults=[target])
    client = sdk(arm)
    modern = h.Vault(arm, client)
    modern.world, modern.rg, modern.name = target, target.resource_group, target.vault
    return h.Vault(arm, client), modern


def move_body(target: World, *, appliance: str | None = None, fabric_id: str | None = None,
              vault_id: str | None = None, instance_type: str = "InMageRcm") -> m.SwitchProviderInput:
    fabric = next(iter(target.fabrics.values()))
    return m.SwitchProviderInput(properties=m.SwitchProviderInputProperties(
        target_instance_type=instance_type, provider_specific_details=m.InMageAzureV2SwitchProviderInput(
            target_vault_id=vault_id or target.vault_id, target_fabric_id=fabric_id or target.fabric_id(fabric.name),
            target_appliance_id=appliance or fabric.appliances[0].id)))  # fmt: skip


def refused(classic: h.Vault, machine: str, body: Any) -> dict[str, Any]:
    with pytest.raises(HttpResponseError) as caught:
        classic.items.begin_switch_provider(*classic.item_args(classic.world.item(machine)), body)
    assert caught.value.status_code == 400
    return caught.value.response.json()["error"]["details"][0]  # ASR's own error, under the HTTP status name


def test_a_move_runs_as_a_job_then_the_item_replicates_in_the_modernized_vault(pair):
    classic, modern = pair
    item = classic.world.item("app01")
    poller, job = start(classic.items.begin_switch_provider, *classic.item_args(item), move_body(modern.world))
    running = classic.jobs.get(classic.rg, classic.name, job).properties
    assert (running.scenario_name, running.state, running.target_instance_type) == ("SwitchProvider", "InProgress",
                                                                                     "ProtectionEntity")
    during = classic.get(item).properties
    assert during.current_scenario.scenario_name == "SwitchProvider"
    assert during.switch_provider_state == rules.SWITCH_PROVIDER_STATES["moving"]
    assert during.provider_specific_details.switch_provider_details.target_vault_id == modern.world.vault_id
    assert list(modern.items.list(modern.rg, modern.name)) == []  # nothing in the target before the job is done
    classic.arm.advance(rules.SCENARIOS["SwitchProvider"].seconds - 1)
    assert classic.jobs.get(classic.rg, classic.name, job).properties.state == "InProgress"  # the job takes its time
    classic.arm.advance(2)
    assert classic.jobs.get(classic.rg, classic.name, job).properties.state == "Succeeded"
    after = poller.result().properties
    assert after.switch_provider_state == rules.SWITCH_PROVIDER_STATES["moved"]
    assert after.allowed_operations == ["UnplannedFailover", "DisableProtection"]  # the classic vault keeps failover
    [moved] = list(modern.items.list(modern.rg, modern.name))
    assert moved.id == after.provider_specific_details.switch_provider_details.target_resource_id
    details = moved.properties.provider_specific_details
    fabric = next(iter(modern.world.fabrics.values()))
    assert (moved.properties.friendly_name, moved.properties.protection_state, details.instance_type) == (
        "app01", "Protected", "InMageRcm")
    assert details.process_server_id == fabric.appliances[0].id
    assert details.fabric_discovery_machine_id.endswith("/" + next(x for x in fabric.machines if x.name == "app01").offazure_name)
    # the policy is copied into the modernized vault under ASR's renamed name; the target networks come along
    assert moved.properties.policy_friendly_name == f"{item.policy} {modern.name}_{modern.rg}"
    assert details.target_network_id == item.target_network_id
    points = list(modern.client.recovery_points.list_by_replication_protected_items(
        modern.rg, modern.name, fabric.name, fabric.container, moved.name))
    assert points  # "marked complete once the first recovery point has been created in the modernized vault"
    assert refused(classic, "app01", move_body(modern.world))["code"] == "ItemAlreadyMoved"


def test_the_body_is_checked_with_the_sdk_model(pair):
    classic, modern = pair
    body = move_body(modern.world).as_dict()
    del body["properties"]["providerSpecificDetails"]["targetApplianceID"]
    error = refused(classic, "app01", body)
    assert error["code"] == "InvalidRequestBody" and "targetApplianceID" in error["message"]
    camel = move_body(modern.world).as_dict()
    details = camel["properties"]["providerSpecificDetails"]
    details["targetApplianceId"] = details.pop("targetApplianceID")  # the read-back spelling is not the input's
    assert refused(classic, "app01", camel)["code"] == "InvalidRequestBody"


@pytest.mark.parametrize(("change", "code"), [
    ({"instance_type": "InMageAzureV2"}, "InvalidTargetProvider"),
    ({"vault_id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/nope"}, "TargetVaultNotFound"),
    ({"fabric_id": "fabric-of-nobody"}, "TargetFabricNotFound"),
    ({"appliance": "00000000-1111-2222-3333-444444444444"}, "TargetApplianceNotFound"),
])  # fmt: skip
def test_a_move_to_what_does_not_exist_is_refused(pair, change, code):
    classic, modern = pair
    assert refused(classic, "app01", move_body(modern.world, **change))["code"] == code
    assert classic.world.item("app01").switch_provider_state == "None" and not classic.world.jobs_of("SwitchProvider")


def test_the_target_vault_must_be_in_the_classic_vaults_region(pair):
    classic, modern = pair
    modern.world.location = "northeurope"
    assert refused(classic, "app01", move_body(modern.world))["code"] == "TargetVaultInAnotherRegion"


def test_only_a_healthy_forward_replicating_classic_item_moves(pair):
    classic, modern = pair
    classic.world.item("app01").health = "Critical"
    assert refused(classic, "app01", move_body(modern.world))["code"] == "ItemHealthCritical"
    classic.world.set_state("db01", "InMageAzureV2", "failed_over")
    assert refused(classic, "db01", move_body(modern.world))["code"] == "ItemNotReadyToMove"
    classic.world.set_state("db01", "InMage", "protected")  # replicating Azure → VMware after a reprotect
    assert refused(classic, "db01", move_body(modern.world))["code"] == "OperationNotSupported"
    assert not classic.world.jobs_of("SwitchProvider")


def test_the_appliance_must_be_noncritical_and_have_discovered_the_machine(pair):
    classic, modern = pair
    fabric = next(iter(modern.world.fabrics.values()))
    fabric.machines = [x for x in fabric.machines if x.name != "db01"]
    assert refused(classic, "db01", move_body(modern.world))["code"] == "MachineNotDiscovered"
    fabric.appliances[0].health = "Critical"
    assert refused(classic, "app01", move_body(modern.world))["code"] == "TargetApplianceCritical"


def test_a_failed_move_rolls_back_to_the_classic_vault(pair):
    classic, modern = pair
    classic.world.failures.append(Failure("SwitchProvider", machine="app01"))
    item = classic.world.item("app01")
    _, job = start(classic.items.begin_switch_provider, *classic.item_args(item), move_body(modern.world))
    classic.arm.advance(rules.SCENARIOS["SwitchProvider"].seconds)
    assert classic.jobs.get(classic.rg, classic.name, job).properties.state == "Failed"
    assert classic.get(item).properties.switch_provider_state == rules.SWITCH_PROVIDER_STATES["failed"]
    assert "TestFailover" in classic.get(item).properties.allowed_operations  # replicating from the classic vault on
    assert list(modern.items.list(modern.rg, modern.name)) == []


def test_an_unhealthy_item_moves_in_an_hour_plus_45_seconds_per_gib(pair):
    classic, modern = pair
    item = classic.world.item("app01")  # two disks: 128 + 256 GiB
    item.health = "Warning"
    _, job = start(classic.items.begin_switch_provider, *classic.item_args(item), move_body(modern.world))
    classic.arm.advance(3600 + 45 * 384 - 5)
    assert classic.jobs.get(classic.rg, classic.name, job).properties.state == "InProgress"
    classic.arm.advance(10)
    assert classic.jobs.get(classic.rg, classic.name, job).properties.state == "Succeeded"


def test_vaults_of_one_standin_share_one_clock(serve, tmp_path):
    source, _ = migration_pair([MachineSpec("app01")])
    with pytest.raises(ValueError, match="share one clock"):
        migration_pair([MachineSpec("app01")], classic=World(), modernized=World(resource_group="rg-m", vault="m"))
    with pytest.raises(ValueError, match="share the stand-in's clock"):
        serve(source, other_vaults=[World(resource_group="rg-other", vault="other")])

"""``asrctl apply-nics`` at the HTTP boundary: the recovery and test IPs of the stack applied through each protected
item's update call (the only place ASR takes them), idempotently, and then honoured by failovers and drills."""

from __future__ import annotations

import json
from dataclasses import replace

from asrctl.recovery.providers.azure.nics import apply_nics


def patches(lab) -> list:
    return [r for r in lab.arm.calls("PATCH", r"/replicationProtectedItems/[^/]+$") if r.status == 202]


def test_modernized_nics_are_applied_once_by_mac_and_honoured(modern):
    lab = modern
    check = apply_nics(lab.provider(), check=True)
    assert {r.status for r in check} == {"would-update"} and not patches(lab)
    sql = next(r for r in check if r.machine == "erp-sql01")
    # The seeded items have their recovery subnet from enable-protection, but no IPs and no test subnet.
    assert sql.changes == ["recovery IP (none) → 10.60.1.11", f"test subnet (none) → {lab.subnet('db', 'test')}",
                           "test IP (none) → 10.160.1.11"]

    results = apply_nics(lab.provider())
    assert {r.status for r in results} == {"updated"}
    assert len(patches(lab)) == len(lab.machines)
    body = next(r.body for r in patches(lab) if f"/{lab.item('erp-sql01').name}" in r.path)
    nics = body["properties"]["providerSpecificDetails"]
    assert nics["instanceType"] == "InMageRcm"
    assert nics["vmNics"] == [{"nicId": lab.item("erp-sql01").machine.nics[0].mac, "isPrimaryNic": "true",
                               "isSelectedForFailover": "true", "targetSubnetName": lab.subnet("db"),
                               "targetStaticIPAddress": "10.60.1.11", "testSubnetName": lab.subnet("db", "test"),
                               "testStaticIPAddress": "10.160.1.11"}]  # fmt: skip
    again = apply_nics(lab.provider())
    assert {r.status for r in again} == {"in-sync"} and len(patches(lab)) == len(lab.machines)  # idempotent

    assert lab.run("drill", cleanup=False).status == "succeeded"
    vm = lab.world.test_vm("ERP-SQL01")
    assert (vm.subnet, vm.ip) == (lab.subnet("db", "test"), "10.160.1.11")
    assert lab.run("cleanup").status == "succeeded"
    assert lab.run("failover", planned=True).status == "succeeded"
    vm = lab.world.recovery_vm("ERP-SQL01")
    assert (vm.subnet, vm.ip) == (lab.subnet("db"), "10.60.1.11")


def test_classic_nics_carry_the_recovery_and_test_networks(classic):
    lab = classic
    assert {r.status for r in apply_nics(lab.provider())} == {"updated"}
    body = patches(lab)[0].body["properties"]
    assert body["selectedRecoveryAzureNetworkId"] == lab.ids.recovery_network_id
    assert body["selectedTfoAzureNetworkId"] == lab.ids.test_network_id
    [nic] = body["vmNics"]
    assert nic["selectionType"] == "SelectedByUser" and nic["ipConfigs"][0]["isPrimary"] is True
    assert "providerSpecificDetails" not in body


def test_a_busy_item_is_left_alone_and_reported(modern):
    lab = modern
    from asrctl.recovery.providers.protocol import OperationRequest

    lab.provider().start_operation(OperationRequest("test-failover", ("erp-web01",), "r-busy"))
    results = {r.machine: r for r in apply_nics(lab.provider())}
    assert results["erp-web01"].status == "busy" and "TestFailover" in results["erp-web01"].error
    assert {r.status for n, r in results.items() if n != "erp-web01"} == {"updated"}


def test_cli_check_then_apply_then_check(make_lab, cli, monkeypatch):
    from asrctl.recovery.providers.azure import AzureProvider

    lab = make_lab(architecture="modernized", auto_speed=2000)
    monkeypatch.setattr(AzureProvider, "capabilities", replace(AzureProvider.capabilities, poll_interval=0.02))
    check = cli("apply-nics", "--stack", lab.stack, "--provider", "azure", "--check", "--json")
    assert check.exit_code == 1 and "4 machine(s) would change" in check.stderr
    doc = json.loads(check.stdout)
    assert doc["check"] is True and {m["status"] for m in doc["machines"]} == {"would-update"}
    applied = cli("apply-nics", "--stack", lab.stack, "--provider", "azure")
    assert applied.exit_code == 0, applied.stderr
    assert "erp-web01\tupdated\t10.60.3.31\t10.160.3.31" in applied.stdout
    again = cli("apply-nics", "--stack", lab.stack, "--provider", "azure", "--check", "--json")
    assert again.exit_code == 0 and {m["status"] for m in json.loads(again.stdout)["machines"]} == {"in-sync"}
    assert lab.arm.token not in applied.stdout + applied.stderr


def test_a_missing_vnet_is_bad_input_naming_pulumi_up(modern, cli):
    lab = modern
    del lab.world.vnets[lab.ids.test_network_id.replace("/subscriptions/", "/subscriptions/")]
    result = cli("apply-nics", "--stack", lab.stack, "--provider", "azure")
    assert result.exit_code == 2 and "pulumi up" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_simulator_places_vms_itself(modern, cli):
    result = cli("apply-nics", "--stack", modern.stack, "--provider", "simulator", "--json")
    assert result.exit_code == 0
    machines = json.loads(result.stdout)["machines"]
    assert {m["status"] for m in machines} == {"in-sync"} and machines[0]["wanted"]["target_ip"] == "10.60.1.11"

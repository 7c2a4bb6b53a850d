"""The modernized site under mocks: what each sample stack builds (types, counts), the appliances from the OVF, the
container mappings and the exact InMageRcm enable-protection inputs; the classic stack keeps its URNs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from infra_previews import assert_components_own, one, preview

from asrctl.config import load_stack
from asrctl.mockmode import run_program

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "infra"
ITEM = "azure-native:recoveryservices:ReplicationProtectedItem"
MAPPING = "azure-native:recoveryservices:ReplicationProtectionContainerMapping"
PLAN = "azure-native:recoveryservices:ReplicationRecoveryPlan"
POLICY = "azure-native:recoveryservices:ReplicationPolicy"
VM = "vsphere:index/virtualMachine:VirtualMachine"

#: What each sample stack builds, type by type (a change here is a change users see in `asrctl preview`).
EXPECTED_COUNTS = {
    "dev": {  # modernized, phase 1: one appliance, no protection yet
        "vsphere:index/virtualMachine:VirtualMachine": 1,
        "azure-native:recoveryservices:ReplicationPolicy": 2,
        "azure-native:network:Subnet": 6,
        "azure-native:network:NetworkSecurityGroup": 6,
        "azure-native:automation:Runbook": 3,
        "asrctl:dr:ReplicationAppliances": 1,
        "asrctl:dr:RcmReplicationPolicies": 1,
    },
    "prod": {  # modernized, phase 2, failback: two appliances, both mappings, 40 items, 4 + 12 plans
        "vsphere:index/virtualMachine:VirtualMachine": 2,
        "azure-native:recoveryservices:ReplicationPolicy": 2,
        "azure-native:recoveryservices:ReplicationProtectionContainerMapping": 2,
        "azure-native:recoveryservices:ReplicationProtectedItem": 40,
        "azure-native:recoveryservices:ReplicationRecoveryPlan": 16,
        "azure-native:network:Subnet": 6,
        "asrctl:dr:RcmProtection": 1,
        "asrctl:dr:RecoveryPlans": 1,
    },
    "legacy": {  # classic, phase 2, failback over VPN
        "vsphere:index/virtualMachine:VirtualMachine": 3,
        "azure-native:recoveryservices:ReplicationProtectionContainerMapping": 1,
        "azure-native:recoveryservices:ReplicationProtectedItem": 40,
        "azure-native:recoveryservices:ReplicationRecoveryPlan": 16,
        "azure-native:network:Subnet": 7,  # + GatewaySubnet
        "azure-native:network:VirtualNetworkGateway": 1,
        "azure-native:compute:VirtualMachine": 1,
        "asrctl:dr:ConfigurationServerVm": 1,
        "asrctl:dr:FailbackInfrastructure": 1,
    },
}
CLASSIC_ONLY = (
    "asrctl:dr:ConfigurationServerVm", "asrctl:dr:ScaleOutServers", "asrctl:dr:FailbackInfrastructure",
    "asrctl:dr:ReplicationPolicies", "asrctl:dr:Protection", "azure-native:compute:VirtualMachine",
    "azure-native:network:VirtualNetworkGateway", "azure-native:network:LocalNetworkGateway",
    "azure-native:network:VirtualNetworkGatewayConnection", "azure-native:network:PublicIPAddress",
    "azure-native:network:NetworkInterface",
)


@pytest.mark.parametrize("stack", ["dev", "prod", "legacy"])
def test_each_sample_stack_builds_the_expected_types_and_counts(stack: str) -> None:
    counts = preview(stack).counts()
    for type_token, count in EXPECTED_COUNTS[stack].items():
        assert counts.get(type_token, 0) == count, f"{stack}: {type_token}"
    if stack != "legacy":
        assert not [t for t in CLASSIC_ONLY if t in counts], f"{stack} builds classic-only resources"
    assert preview(stack).outputs["architecture"] == load_stack(stack).architecture


def test_the_classic_refactor_keeps_every_urn() -> None:
    """The classic blocks moved to asrctl/infra/classic/ with their types and logical names: every URN of the classic
    prod stack before the split exists unchanged in the classic sample stack (new: the consistency group plans)."""
    before = set((FIXTURES / "classic_urns_before_split.txt").read_text().split())
    now = {r.urn.replace("urn:pulumi:legacy::", "urn:pulumi:STACK::") for r in preview("legacy").resources}
    assert before - now == set()
    assert {u.rsplit("::", 1)[1] for u in now - before} == {
        f"dr-recovery-plans-group-{g}" for g in (
            "crm-database", "crm-application", "crm-web", "erp-database", "erp-application", "erp-web",
            "hr-database", "hr-application", "hr-web", "portal-database", "portal-api", "portal-web",
        )
    }


# -- Replication appliances on vSphere ---------------------------------------------------------------------------


def _vms(stack: str) -> dict[str, object]:
    return {r.inputs["name"]: r for r in preview(stack).of_type(VM)}


def test_appliances_are_deployed_from_the_ovf_sized_by_the_table() -> None:
    vms = _vms("prod")
    assert set(vms) == {"asr-ra-prod01", "asr-ra-prod02"}
    for name, role in (("asr-ra-prod01", "replication"), ("asr-ra-prod02", "failback")):
        vm = vms[name]
        # 40 machines, 987 GB/day → the standard row; the failback appliance gets the standard row too.
        assert (vm.inputs["numCpus"], vm.inputs["memory"]) == (8, 16 * 1024), name
        disks = {d["label"]: d for d in vm.inputs["disks"]}
        assert (disks["os"]["size"], disks["cache"]["size"]) == (80, 620), name
        assert all(d["eagerlyScrub"] and not d["thinProvisioned"] for d in disks.values()), name
        ovf = vm.inputs["ovfDeploy"]
        assert ovf["remoteOvfUrl"] == "https://repo.corp.contoso.com/asr/ReplicationAppliance/ReplicationAppliance.ovf"
        assert ovf["ovfNetworkMap"] == {"VM Network": vm.inputs["networkInterfaces"][0]["networkId"]}
        assert vm.inputs["networkInterfaces"][0]["adapterType"] == "vmxnet3"
        assert vm.inputs["extraConfig"]["guestinfo.asr.role"] == role
        assert vm.inputs["extraConfig"]["guestinfo.asr.gateway"] == "10.20.5.1"
        assert vm.inputs["folder"] == "ASR" and vm.inputs["hostSystemId"].startswith("host-")
        # Replacing a registered appliance breaks every machine it replicates; the OVF only seeds the VM.
        assert vm.protect and "ovfDeploy" in vm.ignore_changes and "vapp" in vm.ignore_changes
    assert vms["asr-ra-prod01"].inputs["extraConfig"]["guestinfo.asr.ipaddress"] == "10.20.5.11"
    assert preview("prod").outputs["replication_appliance_ips"] == {"asr-ra-prod01": "10.20.5.11",
                                                                      "asr-ra-prod02": "10.20.5.12"}
    dev = _vms("dev")["asr-ra-dev01"]
    assert dev.inputs["ovfDeploy"]["localOvfPath"] == "/srv/asr/ReplicationAppliance/ReplicationAppliance.ovf"
    assert "configuration_server_ip" not in preview("prod").outputs


def test_machines_are_balanced_over_the_appliances_and_get_their_process_server(stack_variant) -> None:
    def two_forward(config: dict) -> None:
        config["vmware-azure-dr:replicationAppliances"]["appliances"].insert(
            1, {"name": "asr-ra-prod03", "ip": "10.20.5.13"}
        )
        config["vmware-azure-dr:registration"]["appliances"]["asr-ra-prod03"] = {"processServerId": "ps-03"}
        config["vmware-azure-dr:machines"][1]["appliance"] = "asr-ra-prod01"  # erp-sql02 pinned

    result = run_program(stack_variant("prod", "balanced", two_forward))
    cfg = load_stack("balanced")
    ids = {name: a.process_server_id for name, a in cfg.registration.appliances.items()}
    per_appliance: dict[str, int] = {}
    for item in result.of_type(ITEM):
        machine = item.inputs["replicatedProtectedItemName"]
        appliance = cfg.appliance_assignment[machine].name
        per_appliance[appliance] = per_appliance.get(appliance, 0) + 1
        details = item.inputs["properties"]["providerSpecificDetails"]
        assert details["processServerId"] == ids[appliance], machine
    assert per_appliance == {"asr-ra-prod01": 20, "asr-ra-prod03": 20}
    # The pinned machine counts first; the others go, in stack order, to the least loaded appliance.
    assert cfg.appliance_assignment["erp-sql02"].name == "asr-ra-prod01"
    assert cfg.appliance_assignment["erp-sql01"].name == "asr-ra-prod03"
    # A multi-VM group split over two appliances is reported, with the fix.
    assert ("warning: multi-VM group erp-database spans appliances asr-ra-prod01, asr-ra-prod03; keep its machines "
            "on one appliance with machines[].appliance") in result.notes


# -- Phase 2: mappings and InMageRcm protected items ------------------------------------------------------------


def test_forward_mapping_targets_azure_and_failback_mapping_maps_the_container_to_itself() -> None:
    result = preview("prod")
    reg = load_stack("prod").registration
    mappings = {m.inputs["mappingName"]: m for m in result.of_type(MAPPING)}
    assert set(mappings) == {"asr-container-mapping-azure", "asr-container-mapping-failback"}
    forward, failback = mappings["asr-container-mapping-azure"], mappings["asr-container-mapping-failback"]
    for m in (forward, failback):
        assert (m.inputs["fabricName"], m.inputs["protectionContainerName"]) == (reg.fabric_name,
                                                                                 reg.protection_container_name)
        assert m.inputs["resourceName"] == "rsv-asr-prod-weu" and m.protect
    assert forward.inputs["properties"] == {
        "policyId": result.outputs["replication_policy_id"], "targetProtectionContainerId": "Microsoft Azure",
    }
    container = (f"{result.outputs['vault_id']}/replicationFabrics/{reg.fabric_name}"
                 f"/replicationProtectionContainers/{reg.protection_container_name}")
    assert failback.inputs["properties"] == {
        "policyId": result.outputs["failback_policy_id"], "targetProtectionContainerId": container,
    }
    assert forward.urn in failback.dependencies


def test_failback_disabled_means_no_failback_mapping(stack_variant) -> None:
    def no_failback(config: dict) -> None:
        config["vmware-azure-dr:failback"] = {"enabled": False}

    result = run_program(stack_variant("prod", "nofailback", no_failback))
    assert [m.inputs["mappingName"] for m in result.of_type(MAPPING)] == ["asr-container-mapping-azure"]
    # The failback policy exists anyway, as the portal creates it: reprotect can be prepared later.
    assert {p.inputs["properties"]["providerSpecificInput"]["instanceType"] for p in result.of_type(POLICY)} == {
        "InMageRcm", "InMageRcmFailback"}


def test_each_machine_gets_an_inmagercm_item_with_the_exact_inputs() -> None:
    result = preview("prod")
    cfg = load_stack("prod")
    reg = cfg.registration
    items = {i.inputs["replicatedProtectedItemName"]: i for i in result.of_type(ITEM)}
    assert sorted(items) == sorted(m.name for m in cfg.machines)
    forward = one(result, MAPPING, "-container-mapping")
    for m in cfg.machines:
        item = items[m.name]
        assert item.protect and "properties.providerSpecificDetails" in item.ignore_changes, m.name
        assert forward.urn in item.dependencies, m.name
        props = item.inputs["properties"]
        assert props["policyId"] == result.outputs["replication_policy_id"]
        assert "protectableItemId" not in props  # InMageRcm enables by fabricDiscoveryMachineId
        subnet = f"snet-{m.target_subnet}-prod-weu"
        expected = {
            "instanceType": "InMageRcm",
            "fabricDiscoveryMachineId": reg.discovered_machines[m.name],
            "processServerId": reg.appliances["asr-ra-prod01"].process_server_id,
            "runAsAccountId": reg.run_as_account_id,
            "targetResourceGroupId": f"/subscriptions/{cfg.subscription_id}/resourceGroups/rg-asr-prod-weu",
            "targetNetworkId": result.outputs["recovery_vnet_id"],
            "targetSubnetName": subnet,
            "testNetworkId": result.outputs["test_failover_vnet_id"],
            "testSubnetName": subnet,
            "targetVmName": m.name,
            "targetVmSize": m.target_vm_size,
            "disksDefault": {"logStorageAccountId": result.outputs["cache_storage_account_id"],
                             "diskType": "StandardSSD_LRS"},
            "multiVmGroupName": {"crm": "crm", "erp": "erp", "hr": "hr", "portal": "portal"}[m.name.split("-")[0]]
            + "-" + _group_of(m.name),
        }
        assert props["providerSpecificDetails"] == expected, m.name


def _group_of(machine: str) -> str:
    for path in (PROJECT / "runbooks" / "plans").glob("*.yaml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            if machine in group["machines"]:
                return group["name"]
    raise AssertionError(machine)


def test_protected_items_and_plans_are_exported() -> None:
    result = preview("prod")
    assert set(result.outputs["protected_item_ids"]) == {m.name for m in load_stack("prod").machines}
    assert all("/replicationProtectedItems/" in i for i in result.outputs["protected_item_ids"].values())
    assert result.outputs["phase"] == 2 and preview("dev").outputs["phase"] == 1
    for type_token in (ITEM, PLAN, MAPPING):
        assert preview("dev").of_type(type_token) == [], type_token


def test_components_own_their_children_and_use_the_project_type_prefix() -> None:
    assert_components_own(preview("prod"), {
        "dr-appliances-asr-ra-prod01": "asrctl:dr:ReplicationAppliances",
        "dr-policies-replication": "asrctl:dr:RcmReplicationPolicies",
        "dr-protection-container-mapping": "asrctl:dr:RcmProtection",
        "dr-protection-failback-mapping": "asrctl:dr:RcmProtection",
        "dr-protection-item-erp-sql01": "asrctl:dr:RcmProtection",
        "dr-recovery-plans-group-erp-database": "asrctl:dr:RecoveryPlans",
    })

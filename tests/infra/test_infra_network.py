"""Recovery and test-failover networks: subnets per tier, NSGs admitting only 443/9443 from the ASR ranges,
an explicit Internet deny, and no peering of the test network."""

from __future__ import annotations

import ipaddress

import pytest
from infra_previews import one, preview

from asrctl.config import load_stack

VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"


@pytest.mark.parametrize("stack", ["dev", "prod", "legacy"])
def test_nsgs_allow_only_asr_ports_from_asr_server_ranges(stack: str) -> None:
    ranges = load_stack(stack).network.on_prem.asr_server_ranges
    nsgs = [r for r in preview(stack).of_type(NSG) if r.name.startswith(("dr-recovery-net", "dr-test-net"))]
    assert nsgs, "no NSG on the DR networks"
    for nsg in nsgs:
        rules = nsg.inputs["securityRules"]
        allows = [r for r in rules if r["direction"] == "Inbound" and r["access"] == "Allow"]
        assert len(allows) == 1, nsg.urn
        allow = allows[0]
        assert sorted(allow["destinationPortRanges"]) == ["443", "9443"], nsg.urn
        assert "destinationPortRange" not in allow, nsg.urn
        assert allow["sourceAddressPrefixes"] == ranges, nsg.urn
        assert allow["protocol"] == "Tcp", nsg.urn
        denies = [r for r in rules if r["direction"] == "Inbound" and r["access"] == "Deny"]
        assert any(r["sourceAddressPrefix"] == "Internet" and r["destinationPortRange"] == "*" for r in denies), nsg.urn
        assert all(d["priority"] > allow["priority"] for d in denies), nsg.urn


@pytest.mark.parametrize("stack", ["dev", "prod", "legacy"])
def test_every_dr_subnet_has_its_nsg_and_the_configured_prefix(stack: str) -> None:
    cfg = load_stack(stack).network
    result = preview(stack)
    for role, vnet_cfg in (("recovery", cfg.recovery), ("test", cfg.test_failover)):
        for subnet_cfg in vnet_cfg.subnets:
            subnet = one(result, SUBNET, f"dr-{role}-net-snet-{subnet_cfg.name}")
            nsg = one(result, NSG, f"dr-{role}-net-nsg-{subnet_cfg.name}")
            assert subnet.inputs["addressPrefix"] == subnet_cfg.prefix, subnet.urn
            assert subnet.inputs["networkSecurityGroup"]["id"] == nsg.outputs["id"], subnet.urn
            assert nsg.urn in subnet.dependencies, subnet.urn


@pytest.mark.parametrize("stack", ["dev", "prod", "legacy"])
def test_test_failover_network_is_isolated(stack: str) -> None:
    cfg = load_stack(stack).network
    result = preview(stack)
    assert not [r.urn for r in result.resources if "Peering" in r.type], "a DR network must not be peered"
    test_vnet = one(result, VNET, "dr-test-net-vnet")
    recovery_vnet = one(result, VNET, "dr-recovery-net-vnet")
    assert not test_vnet.inputs.get("virtualNetworkPeerings"), test_vnet.urn
    assert test_vnet.inputs["addressSpace"]["addressPrefixes"] == [cfg.test_failover.address_space], test_vnet.urn
    test_space = ipaddress.ip_network(cfg.test_failover.address_space)
    assert not test_space.overlaps(ipaddress.ip_network(cfg.recovery.address_space)), test_vnet.urn
    assert test_vnet.inputs["virtualNetworkName"] != recovery_vnet.inputs["virtualNetworkName"], test_vnet.urn
    for r in result.resources:
        for value in (r.inputs.get("remoteVirtualNetwork"), r.inputs.get("remoteVirtualNetworkId")):
            assert value is None or test_vnet.outputs["id"] not in str(value), r.urn


def test_subnet_writes_to_one_vnet_are_chained() -> None:
    result = preview("dev")
    subnets = [r for r in result.of_type(SUBNET) if r.name.startswith("dr-recovery-net-snet-")]
    chained = [s for s in subnets if any(d.endswith("$azure-native:network:Subnet::" + o.name) for o in subnets
                                         for d in s.dependencies)]
    # ARM rejects concurrent subnet writes on one VNet: all but the first depend on a sibling subnet.
    assert len(chained) == len(subnets) - 1, [s.urn for s in subnets]


def test_recovery_subnet_ids_are_exported_per_tier() -> None:
    result = preview("dev")
    exported = result.outputs["recovery_subnet_ids"]
    assert set(exported) == {"db", "app", "web"}
    assert exported["db"] == one(result, SUBNET, "dr-recovery-net-snet-db").outputs["id"]


@pytest.mark.parametrize("stack", ["dev", "prod", "legacy"])
def test_test_subnets_have_the_azure_names_of_the_recovery_subnets(stack: str) -> None:
    # ASR puts a drill VM in the test subnet named like its recovery subnet (else the alphabetically first one).
    result = preview(stack)
    names = {role: {s.inputs["subnetName"] for s in result.of_type(SUBNET) if s.name.startswith(f"dr-{role}-net-snet-")}
             for role in ("recovery", "test")}
    assert names["recovery"] == names["test"] == {f"snet-{t}-{stack}-weu" for t in ("db", "app", "web")}
    test_vnet = one(result, VNET, "dr-test-net-vnet").inputs["virtualNetworkName"]
    for s in result.of_type(SUBNET):
        if s.name.startswith("dr-test-net-snet-"):
            assert s.inputs["virtualNetworkName"] == test_vnet, s.urn

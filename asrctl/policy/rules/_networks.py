"""Shared by the network rules: which VNet is the test-failover one, and the subnet names each VNet has."""

from __future__ import annotations

from typing import Any

from asrctl.policy.rule import VNET, dig, items, networks

SUBNET = "azure-native:network:Subnet"
#: Azure's fixed name of the VPN gateway subnet (classic failback); it has no test-network counterpart.
GATEWAY_SUBNET = "GatewaySubnet"


#: Policy-config schema of the test-failover address space (``asrctl policy check`` sets it from the stack's
#: network.testFailover.addressSpace): how the network rules tell the test-failover VNet.
TEST_FAILOVER_SETTING: dict[str, dict[str, Any]] = {
    "testFailoverAddressSpace": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Address space(s) of the test-failover VNet (network.testFailover.addressSpace).",
    }
}


def test_and_other_vnets(resources: list[Any], test_space: Any) -> tuple[list[Any], list[Any]]:
    """The stack's VNets split into the test-failover ones (:func:`is_test_vnet`) and the others."""
    vnets = [r for r in resources if r.resource_type == VNET]
    tests = [r for r in vnets if is_test_vnet(r, test_space)]
    return tests, [r for r in vnets if r not in tests]


def is_test_vnet(resource: Any, test_space: Any) -> bool:
    """The test-failover VNet: inside the stack's declared test address space, else (no config) named for it."""
    prefixes = networks(items(resource.props, "addressSpace", "addressPrefixes"))
    if test_space:
        wanted = networks(test_space)
        # Inside the declared test space, not merely overlapping it: an overlapping recovery VNet is a mistake
        # another rule reports, so it must not be mistaken for the test network.
        return bool(prefixes) and all(
            any(p.version == w.version and p.subnet_of(w) for w in wanted) for p in prefixes
        )
    return "test" in resource.name.lower()


def vnet_subnet_names(vnet: Any, resources: list[Any]) -> set[str]:
    """Names of the VNet's subnets: inline ones and standalone Subnet resources naming (or depending on) it."""
    names = {str(n) for n in (dig(s, "name") for s in items(vnet.props, "subnets")) if isinstance(n, str)}
    vnet_name = dig(vnet.props, "virtualNetworkName")
    for r in resources:
        if r.resource_type != SUBNET:
            continue
        parent = dig(r.props, "virtualNetworkName")
        depends = any(getattr(d, "urn", None) == vnet.urn for d in getattr(r, "dependencies", []) or [])
        if (isinstance(parent, str) and parent == vnet_name) or (parent is None and depends):
            name = dig(r.props, "subnetName")
            if isinstance(name, str):
                names.add(name)
    return names - {GATEWAY_SUBNET}

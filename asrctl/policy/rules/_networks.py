"""Shared by the network rules: which VNet is the test-failover one, and the subnet names each VNet has."""

from __future__ import annotations

from typing import Any

from asrctl.policy.rule import dig, items, networks

SUBNET = "azure-native:network:Subnet"
#: Azure's fixed name of the VPN gateway subnet (classic failback); it has no test-network counterpart.
GATEWAY_SUBNET = "GatewaySubnet"


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

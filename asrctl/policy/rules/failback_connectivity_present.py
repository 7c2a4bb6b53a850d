"""failback-connectivity-present: when failback is enabled, the way back to VMware must exist.

Classic: reprotect and failback need Azure → on-prem connectivity for the temporary process server: a complete
site-to-site VPN (gateway + local gateway + IPsec connection) or ExpressRoute. Modernized: no VPN (the appliances'
reprotect agents pull from Azure); the way back is the InMageRcmFailback policy and, once machines are protected,
its container mapping (reprotect takes the policy from it).

Whether failback is enabled comes from policy config ``failbackEnabled`` (the stack's failback.enabled); without
it, the presence of failback resources (the temporary process server) says so. The architecture comes from
``architecture``; without it, an InMageRcm policy in the stack means modernized.
"""

from asrctl.policy.rule import (
    GATEWAY_CONNECTION,
    LOCAL_GATEWAY,
    PROTECTED_ITEM,
    REPLICATION_POLICY,
    VPN_GATEWAY,
    Rule,
    dig,
    is_failback_resource,
)
from asrctl.policy.rules._replication import ARCHITECTURE_SETTING, is_modernized

MAPPING = "azure-native:recoveryservices:ReplicationProtectionContainerMapping"


def _kind(resource) -> str | None:
    return dig(resource.props, "properties", "providerSpecificInput", "instanceType")


def _modernized_path(args, report_violation) -> None:
    failback_policies = [r for r in args.resources if r.resource_type == REPLICATION_POLICY and _kind(r) == "InMageRcmFailback"]
    if not failback_policies:
        report_violation(
            "failback is enabled but the stack has no InMageRcmFailback replication policy; reprotect needs it."
        )
        return
    if not any(r.resource_type == PROTECTED_ITEM for r in args.resources):
        return  # phase 1: the mapping needs the registered container
    ids = {dig(p.props, "id") for p in failback_policies} - {None}
    urns = {p.urn for p in failback_policies}
    for m in (r for r in args.resources if r.resource_type == MAPPING):
        deps = {getattr(d, "urn", None) for d in getattr(m, "dependencies", []) or []}
        if dig(m.props, "properties", "policyId") in ids or deps & urns:
            return
    report_violation(
        "failback is enabled but no container mapping associates the InMageRcmFailback policy; reprotect takes the "
        "failback policy from that mapping."
    )


def _validate(args, report_violation) -> None:
    enabled = RULE.setting(args, "failbackEnabled")
    if enabled is None:
        enabled = any(
            is_failback_resource(r.urn, r.name) and r.resource_type.startswith("azure-native:") for r in args.resources
        )
    if not enabled:
        return
    if is_modernized(RULE.setting(args, "architecture"), args.resources):
        _modernized_path(args, report_violation)
        return
    connections = [r for r in args.resources if r.resource_type == GATEWAY_CONNECTION]
    expressroute = [c for c in connections if dig(c.props, "connectionType") == "ExpressRoute"]
    vpn = [c for c in connections if dig(c.props, "connectionType") in ("IPsec", "Vnet2Vnet")]
    has_gateways = any(r.resource_type == VPN_GATEWAY for r in args.resources) and any(
        r.resource_type == LOCAL_GATEWAY for r in args.resources
    )
    if expressroute or (vpn and has_gateways):
        return
    report_violation(
        "failback is enabled but the stack has no ExpressRoute connection and no complete site-to-site VPN "
        "(VirtualNetworkGateway + LocalNetworkGateway + IPsec connection); set failback.connectivity and its settings."
    )


RULE = Rule(
    name="failback-connectivity-present",
    description="Requires the way back when failback is enabled: classic a VPN or ExpressRoute, modernized the "
    "failback policy and its mapping.",
    severity="high",
    enforcement="mandatory",
    remediation="Classic: configure failback.connectivity (vpn: network.gatewaySubnetPrefix, failback.onPremGatewayIp, "
    "vpnSharedKey; expressroute: failback.expressRouteCircuitId). Modernized: keep failback.enabled (asrctl creates "
    "the InMageRcmFailback policy and mapping).",
    url="https://learn.microsoft.com/azure/site-recovery/failover-failback-overview-modernized",
    config={
        "failbackEnabled": {"type": "boolean", "description": "The stack's failback.enabled."},
        **ARCHITECTURE_SETTING,
    },
    validate=_validate,
    stack=True,
    tags=("failback", "network"),
)

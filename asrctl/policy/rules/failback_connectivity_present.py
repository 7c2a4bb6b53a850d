"""failback-connectivity-present: reprotect and failback need Azure → on-prem connectivity (VPN or ExpressRoute).

Whether failback is enabled comes from policy config ``failbackEnabled`` (the stack's failback.enabled); without
it, the presence of failback resources (the temporary process server) says so.
"""

from asrctl.policy.rule import GATEWAY_CONNECTION, LOCAL_GATEWAY, VPN_GATEWAY, Rule, dig, is_failback_resource


def _validate(args, report_violation) -> None:
    enabled = RULE.setting(args, "failbackEnabled")
    if enabled is None:
        enabled = any(
            is_failback_resource(r.urn, r.name) and r.resource_type.startswith("azure-native:") for r in args.resources
        )
    if not enabled:
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
    description="Requires a site-to-site VPN or ExpressRoute connection whenever failback is enabled.",
    severity="high",
    enforcement="mandatory",
    remediation="Configure failback.connectivity (vpn: network.gatewaySubnetPrefix, failback.onPremGatewayIp, "
    "vpnSharedKey; expressroute: failback.expressRouteCircuitId).",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-reprotect#before-you-begin",
    config={"failbackEnabled": {"type": "boolean", "description": "The stack's failback.enabled."}},
    validate=_validate,
    stack=True,
    tags=("failback", "network"),
)

"""replication-not-over-site-to-site-vpn: ASR does not support replicating over a site-to-site VPN.

Forward replication goes from the on-prem process server to the cache account's public endpoint (Internet or
ExpressRoute Microsoft peering). What would push it through the failback VPN, and is prohibited:
forced tunnelling (a local network gateway advertising 0.0.0.0/0), routes that send the default route, Storage or
AzureCloud to the VPN gateway, and a cache account with public network access disabled while no ExpressRoute
connection exists (its only remaining path would be a private endpoint over the VPN).
"""

from asrctl.policy.rule import (
    GATEWAY_CONNECTION,
    LOCAL_GATEWAY,
    ROUTE,
    ROUTE_TABLE,
    STORAGE_ACCOUNT,
    Rule,
    dig,
    is_cache_account,
    items,
)


def _is_azure_destination(prefix: str) -> bool:
    p = prefix.lower()
    return p in ("0.0.0.0/0", "storage", "azurecloud") or p.startswith(("storage.", "azurecloud."))


def _validate(args, report_violation) -> None:
    has_expressroute = any(
        r.resource_type == GATEWAY_CONNECTION and dig(r.props, "connectionType") == "ExpressRoute"
        for r in args.resources
    )
    for r in args.resources:
        if r.resource_type == LOCAL_GATEWAY:
            prefixes = [str(p) for p in items(r.props, "localNetworkAddressSpace", "addressPrefixes")]
            if "0.0.0.0/0" in prefixes:
                report_violation(
                    f"local network gateway {r.name} advertises 0.0.0.0/0 (forced tunnelling); list only the on-prem "
                    "ranges.",
                    r.urn,
                )
        routes = items(r.props, "routes") if r.resource_type == ROUTE_TABLE else [r.props] if r.resource_type == ROUTE else []
        for route in routes:
            prefix = str(dig(route, "addressPrefix", default=""))
            if dig(route, "nextHopType") == "VirtualNetworkGateway" and _is_azure_destination(prefix):
                report_violation(
                    f"route {dig(route, 'name', default=r.name)} sends {prefix} to the VPN gateway; remove it so "
                    "replication reaches Azure Storage directly.",
                    r.urn,
                )
        if (
            r.resource_type == STORAGE_ACCOUNT
            and is_cache_account(r.urn, r.name)
            and dig(r.props, "publicNetworkAccess") == "Disabled"
            and not has_expressroute
        ):
            report_violation(
                f"cache storage account {r.name} disables public network access without ExpressRoute; replication "
                "would need the site-to-site VPN. Set publicNetworkAccess: Enabled (restrict with networkRuleSet).",
                r.urn,
            )


RULE = Rule(
    name="replication-not-over-site-to-site-vpn",
    description="Prohibits routing ASR replication traffic over the site-to-site VPN.",
    severity="high",
    enforcement="mandatory",
    remediation="Keep the VPN for failback management traffic only: no forced tunnelling, no Storage/AzureCloud "
    "routes to the gateway; use the public endpoint or ExpressRoute Microsoft peering for replication.",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-architecture",
    validate=_validate,
    stack=True,
    tags=("replication", "network"),
)

"""vault-private-endpoint-public-access-disabled: a private endpoint next to an open public endpoint is theatre."""

from asrctl.policy.rule import PRIVATE_ENDPOINT, VAULT, Rule, dig, items


def vault_private_endpoints(resources) -> list:
    """Private endpoints whose connection targets a Recovery Services vault (group AzureSiteRecovery)."""
    found = []
    for r in resources:
        if r.resource_type != PRIVATE_ENDPOINT:
            continue
        connections = items(r.props, "privateLinkServiceConnections") + items(
            r.props, "manualPrivateLinkServiceConnections"
        )
        for c in connections:
            groups = [str(g) for g in items(c, "groupIds")]
            target = str(dig(c, "privateLinkServiceId", default="")).lower()
            if "AzureSiteRecovery" in groups or "microsoft.recoveryservices/vaults" in target:
                found.append(r)
                break
    return found


def _validate(args, report_violation) -> None:
    if not vault_private_endpoints(args.resources):
        return
    for r in args.resources:
        if r.resource_type == VAULT and dig(r.props, "properties", "publicNetworkAccess") != "Disabled":
            report_violation(
                f"vault {r.name}: a private endpoint exists but properties.publicNetworkAccess is not Disabled; "
                "set publicNetworkAccess: Disabled.",
                r.urn,
            )


RULE = Rule(
    name="vault-private-endpoint-public-access-disabled",
    description="Requires public network access disabled on the vault once it has a private endpoint.",
    severity="high",
    enforcement="mandatory",
    remediation="Set properties.public_network_access='Disabled' on the Vault.",
    anchor="Azure Policy 9ebbbba3-4d65-4da9-bb67-b22cfaaff090",
    url="https://learn.microsoft.com/azure/site-recovery/hybrid-how-to-enable-replication-private-endpoints",
    validate=_validate,
    stack=True,
    tags=("vault", "network"),
)

"""vault-public-network-access-disabled: advisory while the stack has no private endpoint for the vault.

Classic VMware replication reaches the vault over its public endpoint unless a private endpoint exists, so
disabling public access is only a recommendation here; once a vault private endpoint exists the mandatory
rule vault-private-endpoint-public-access-disabled takes over (and this one steps aside).
"""

from asrctl.policy.rule import VAULT, Rule, dig
from asrctl.policy.rules.vault_private_endpoint_public_access import vault_private_endpoints


def _validate(args, report_violation) -> None:
    if vault_private_endpoints(args.resources):
        return
    for r in args.resources:
        if r.resource_type == VAULT and dig(r.props, "properties", "publicNetworkAccess") != "Disabled":
            report_violation(
                f"vault {r.name}: properties.publicNetworkAccess is not Disabled; add a private endpoint "
                "(group AzureSiteRecovery) and set publicNetworkAccess: Disabled.",
                r.urn,
            )


RULE = Rule(
    name="vault-public-network-access-disabled",
    description="Recommends disabling public network access to the Recovery Services vault.",
    severity="low",
    enforcement="advisory",
    remediation="Create a private endpoint for the vault (group id AzureSiteRecovery) and set "
    "properties.public_network_access='Disabled'.",
    anchor="Azure Policy 9ebbbba3-4d65-4da9-bb67-b22cfaaff090",
    url="https://learn.microsoft.com/azure/site-recovery/hybrid-how-to-enable-replication-private-endpoints",
    validate=_validate,
    stack=True,
    tags=("vault", "network"),
)

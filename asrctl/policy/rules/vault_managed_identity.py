"""vault-managed-identity: lets the vault reach the cache account and Key Vault without keys."""

from asrctl.policy.rule import VAULT, Rule, dig


def _validate(args, report_violation) -> None:
    if args.resource_type != VAULT:
        return
    kind = str(dig(args.props, "identity", "type", default=""))
    if "SystemAssigned" not in kind and "UserAssigned" not in kind:
        report_violation(f"identity.type is {kind or 'not set'}; set identity.type: SystemAssigned.")


RULE = Rule(
    name="vault-managed-identity",
    description="Requires a managed identity on the Recovery Services vault.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set identity=IdentityDataArgs(type='SystemAssigned') on the Vault.",
    url="https://learn.microsoft.com/azure/backup/backup-managed-identity",
    validate=_validate,
    tags=("vault",),
)

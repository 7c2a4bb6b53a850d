"""vault-soft-delete-enabled: a deleted vault (or its items) must be recoverable; ransomware deletes DR first."""

from asrctl.policy.rule import VAULT, Rule, dig

ON = ("Enabled", "AlwaysON")


def _validate(args, report_violation) -> None:
    if args.resource_type != VAULT:
        return
    state = dig(args.props, "properties", "securitySettings", "softDeleteSettings", "softDeleteState")
    if state not in ON:
        report_violation(
            f"properties.securitySettings.softDeleteSettings.softDeleteState is {state or 'not set'}; "
            "set it to Enabled (or AlwaysON)."
        )


RULE = Rule(
    name="vault-soft-delete-enabled",
    description="Requires soft delete on the Recovery Services vault.",
    severity="high",
    enforcement="mandatory",
    remediation="Set properties.security_settings.soft_delete_settings.soft_delete_state='Enabled' on the Vault.",
    anchor="Azure Policy 31b8092a-36b8-434b-9af7-5ec844364148",
    url="https://learn.microsoft.com/azure/backup/backup-azure-security-feature-cloud",
    validate=_validate,
    tags=("vault",),
)

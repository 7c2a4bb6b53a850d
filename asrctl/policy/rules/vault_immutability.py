"""vault-immutability-enabled: recovery points that nobody (not even an admin) can shorten or delete.

Advisory by default; the stack's ``policy.requireImmutability`` makes it mandatory (prod), because a locked vault
cannot be relaxed again and dev stacks are torn down often.
"""

from asrctl.policy.rule import VAULT, Rule, dig

ON = ("Unlocked", "Locked")


def _validate(args, report_violation) -> None:
    if args.resource_type != VAULT:
        return
    state = dig(args.props, "properties", "securitySettings", "immutabilitySettings", "state")
    if state not in ON:
        report_violation(
            f"properties.securitySettings.immutabilitySettings.state is {state or 'not set'}; set it to Unlocked "
            "(then Locked once tested)."
        )


RULE = Rule(
    name="vault-immutability-enabled",
    description="Requires immutability on the Recovery Services vault.",
    severity="medium",
    enforcement="advisory",
    remediation="Set properties.security_settings.immutability_settings.state='Unlocked' (or 'Locked') on the Vault.",
    anchor="Azure Policy d6f6f560-14b7-49a4-9fc8-d2c3a9807868",
    url="https://learn.microsoft.com/azure/backup/backup-azure-immutable-vault-concept",
    validate=_validate,
    tags=("vault",),
)

"""automation-account-in-vault-subscription: ASR runs recovery-plan runbooks only from its own subscription.

A resource's subscription is its explicit provider's ``subscriptionId``; resources on the default provider share
the stack's subscription (policy config ``subscriptionId``, from the stack's ``subscriptionId``).
"""

from asrctl.policy.rule import AUTOMATION_ACCOUNT, VAULT, Rule, dig


def _subscription(resource, default) -> str | None:
    provider = getattr(resource, "provider", None)
    explicit = dig(getattr(provider, "props", None), "subscriptionId") if provider is not None else None
    return explicit or default


def _validate(args, report_violation) -> None:
    default = RULE.setting(args, "subscriptionId") or "(default provider)"
    vault_subs = {_subscription(r, default) for r in args.resources if r.resource_type == VAULT}
    if not vault_subs:
        return
    for r in args.resources:
        if r.resource_type == AUTOMATION_ACCOUNT and _subscription(r, default) not in vault_subs:
            report_violation(
                f"Automation account {r.name} is in subscription {_subscription(r, default)}, the vault in "
                f"{', '.join(sorted(vault_subs))}; create it with the vault's provider.",
                r.urn,
            )


RULE = Rule(
    name="automation-account-in-vault-subscription",
    description="Requires the Automation account to be in the Recovery Services vault's subscription.",
    severity="high",
    enforcement="mandatory",
    remediation="Create the AutomationAccount with the same provider (subscription) as the Vault.",
    url="https://learn.microsoft.com/azure/site-recovery/site-recovery-runbook-automation",
    config={"subscriptionId": {"type": "string", "description": "The stack's subscription (vault's)."}},
    validate=_validate,
    stack=True,
    tags=("automation",),
)

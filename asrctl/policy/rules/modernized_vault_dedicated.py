"""modernized-vault-dedicated: a modernized site needs a Recovery Services vault of its own.

Microsoft's modernized experience is set up in a new vault: a vault where a classic configuration server registered
cannot take replication appliances, and the classic → modernized migration moves machines from the classic vault to
another one. So a vault never mixes the providers (classic InMageAzureV2/InMage policies or items beside
InMageRcm/InMageRcmFailback ones), and a modernized stack's vault is never the vault of one of the project's classic
stacks (policy config ``classicVaultNames``: same environment and region give the same vault name).
"""

from asrctl.policy.rule import PROTECTED_ITEM, REPLICATION_POLICY, VAULT, Rule, dig
from asrctl.policy.rules._replication import ARCHITECTURE_SETTING, CLASSIC_INSTANCE_TYPES, MODERNIZED_INSTANCE_TYPES


def _provider(resource) -> str | None:
    if resource.resource_type == REPLICATION_POLICY:
        return dig(resource.props, "properties", "providerSpecificInput", "instanceType")
    if resource.resource_type == PROTECTED_ITEM:
        return dig(resource.props, "properties", "providerSpecificDetails", "instanceType")
    return None


def _validate(args, report_violation) -> None:
    architecture = RULE.setting(args, "architecture")
    by_vault: dict[str, set[str]] = {}
    for r in args.resources:
        kind, vault = _provider(r), dig(r.props, "resourceName")
        if isinstance(kind, str) and isinstance(vault, str):
            by_vault.setdefault(vault, set()).add(kind)
    for vault, kinds in sorted(by_vault.items()):
        classic = sorted(kinds & set(CLASSIC_INSTANCE_TYPES))
        modern = sorted(kinds & set(MODERNIZED_INSTANCE_TYPES))
        if classic and modern:
            report_violation(
                f"vault {vault} holds classic ({', '.join(classic)}) and modernized ({', '.join(modern)}) replication; "
                "keep the modernized site in a vault of its own and migrate with `asrctl migrate`."
            )
    modernized = architecture == "modernized" or (
        architecture is None and any(kinds & set(MODERNIZED_INSTANCE_TYPES) for kinds in by_vault.values())
    )
    if not modernized:
        return
    classic_vaults = {str(v) for v in (RULE.setting(args, "classicVaultNames") or [])}
    for r in args.resources:
        if r.resource_type == VAULT and dig(r.props, "vaultName") in classic_vaults:
            report_violation(
                f"vault {dig(r.props, 'vaultName')} is also the vault of a classic stack of this project; a modernized "
                "site needs a vault of its own: give the stack another environment name (or region).",
                r.urn,
            )


RULE = Rule(
    name="modernized-vault-dedicated",
    description="Requires a modernized site's Recovery Services vault to be its own, never shared with classic "
    "replication.",
    severity="high",
    enforcement="mandatory",
    remediation="Give the modernized stack its own environment name (its own vault); move classic machines with "
    "`asrctl migrate --stack CLASSIC --to-stack MODERNIZED`.",
    url="https://learn.microsoft.com/azure/site-recovery/move-from-classic-to-modernized-vmware-disaster-recovery",
    config={
        **ARCHITECTURE_SETTING,
        "classicVaultNames": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Vault names of the project's classic stacks.",
        },
    },
    validate=_validate,
    stack=True,
    tags=("vault", "modernized"),
)

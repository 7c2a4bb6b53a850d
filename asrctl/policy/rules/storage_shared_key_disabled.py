"""storage-shared-key-disabled-with-vault-identity.

Once the vault has a managed identity, ASR reaches the cache account with Entra ID (the identity holds Storage
Blob Data Contributor), so the account key is an unnecessary, unaudited credential. Only the cache account is in
scope: the runbook artifacts account is read by Azure Automation through a SAS URL, which needs the account key.
"""

from asrctl.policy.rule import STORAGE_ACCOUNT, VAULT, Rule, dig, is_cache_account


def _has_identity(vault) -> bool:
    kind = str(dig(vault.props, "identity", "type", default=""))
    return "SystemAssigned" in kind or "UserAssigned" in kind


def _validate(args, report_violation) -> None:
    if not any(r.resource_type == VAULT and _has_identity(r) for r in args.resources):
        return
    for r in args.resources:
        if r.resource_type == STORAGE_ACCOUNT and is_cache_account(r.urn, r.name):
            if dig(r.props, "allowSharedKeyAccess") is not False:
                report_violation(
                    f"cache storage account {r.name}: allowSharedKeyAccess is not false although the vault has a "
                    "managed identity; set allowSharedKeyAccess: false.",
                    r.urn,
                )


RULE = Rule(
    name="storage-shared-key-disabled-with-vault-identity",
    description="Prohibits shared-key access to the cache storage account when the vault has a managed identity.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set allow_shared_key_access=False on the cache StorageAccount and grant the vault's identity "
    "Storage Blob Data Contributor on it.",
    anchor="Azure Policy 8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54; Checkov CKV2_AZURE_40",
    url="https://learn.microsoft.com/azure/site-recovery/azure-to-azure-how-to-enable-replication-private-endpoints",
    validate=_validate,
    stack=True,
    tags=("storage", "vault"),
)

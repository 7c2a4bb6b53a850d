"""cache-storage-account-profile: what ASR's classic process server can write to.

ASR needs a general-purpose v2, Standard tier cache account in the vault's region (premium and blob-only accounts
are rejected; another region adds egress and latency to every replicated write).
"""

from asrctl.policy.rule import STORAGE_ACCOUNT, VAULT, Rule, dig, is_cache_account


def _validate(args, report_violation) -> None:
    vault_locations = {dig(r.props, "location") for r in args.resources if r.resource_type == VAULT} - {None}
    for r in args.resources:
        if r.resource_type != STORAGE_ACCOUNT or not is_cache_account(r.urn, r.name):
            continue
        kind = dig(r.props, "kind")
        if kind != "StorageV2":
            report_violation(f"cache storage account {r.name}: kind is {kind or 'not set'}; set kind: StorageV2.", r.urn)
        sku = dig(r.props, "sku", "name")
        if not (isinstance(sku, str) and sku.startswith("Standard_")):
            report_violation(
                f"cache storage account {r.name}: sku.name is {sku or 'not set'}; use a Standard SKU "
                "(Standard_LRS or Standard_ZRS).",
                r.urn,
            )
        location = dig(r.props, "location")
        if vault_locations and location not in vault_locations:
            want = ", ".join(sorted(map(str, vault_locations)))
            report_violation(
                f"cache storage account {r.name}: location is {location or 'not set'}; put it in the vault's "
                f"region ({want}).",
                r.urn,
            )


RULE = Rule(
    name="cache-storage-account-profile",
    description="Requires the cache storage account to be StorageV2, Standard tier, in the vault's region.",
    severity="high",
    enforcement="mandatory",
    remediation="Create the cache account with kind='StorageV2', sku Standard_LRS (or Standard_ZRS) and the vault's "
    "location.",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-enable-replication",
    validate=_validate,
    stack=True,
    tags=("storage", "asr"),
)

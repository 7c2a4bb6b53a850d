"""storage-geo-redundant: the generic "use geo-replication" rule, with an explicit waiver for the cache account.

Waiver: the cache account only buffers replication logs for minutes before ASR turns them into recovery points
on managed disks; geo-replicating it would double the write cost and protect nothing (it lives in the recovery
region already). Every other account (e.g. runbook artifacts) should survive a regional outage.
"""

from asrctl.policy.rule import STORAGE_ACCOUNT, Rule, dig, is_cache_account

GEO_SKUS = ("Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS")


def _validate(args, report_violation) -> None:
    if args.resource_type != STORAGE_ACCOUNT or is_cache_account(args.urn, args.name):
        return
    sku = dig(args.props, "sku", "name")
    if sku not in GEO_SKUS:
        report_violation(f"sku.name is {sku or 'not set'}; use Standard_GRS or Standard_RAGRS.")


RULE = Rule(
    name="storage-geo-redundant",
    description="Requires geo-redundant replication on storage accounts other than the ASR cache account.",
    severity="low",
    enforcement="advisory",
    remediation="Use sku Standard_GRS/Standard_RAGRS (or GZRS). The ASR cache account is waived by design.",
    anchor="Azure Policy bf045164-79ba-4215-8f95-f8048dc1780b",
    url="https://learn.microsoft.com/azure/storage/common/storage-redundancy",
    validate=_validate,
    tags=("storage",),
)

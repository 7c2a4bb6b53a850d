"""storage-https-only: the cache account carries replication data; plain HTTP would expose it in transit."""

from asrctl.policy.rule import STORAGE_ACCOUNT, Rule, dig


def _validate(args, report_violation) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    if dig(args.props, "enableHttpsTrafficOnly") is not True:
        report_violation("enableHttpsTrafficOnly is not true; set enableHttpsTrafficOnly: true.")


RULE = Rule(
    name="storage-https-only",
    description="Requires storage accounts to accept HTTPS traffic only.",
    severity="high",
    enforcement="mandatory",
    remediation="Set enable_https_traffic_only=True on the StorageAccount.",
    anchor="Azure Policy 404c3081-a854-4457-ae30-26a93ef643f9; Checkov CKV_AZURE_3",
    url="https://learn.microsoft.com/azure/storage/common/storage-require-secure-transfer",
    validate=_validate,
    tags=("storage",),
)

"""storage-minimum-tls-1-2: TLS 1.0/1.1 are retired by Azure and weaken the replication channel."""

from asrctl.policy.rule import STORAGE_ACCOUNT, Rule, dig

ALLOWED = ("TLS1_2", "TLS1_3")


def _validate(args, report_violation) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    version = dig(args.props, "minimumTlsVersion")
    if version not in ALLOWED:
        shown = "not set" if version is None else f"{version}"
        report_violation(f"minimumTlsVersion is {shown}; set minimumTlsVersion: TLS1_2.")


RULE = Rule(
    name="storage-minimum-tls-1-2",
    description="Requires storage accounts to refuse TLS versions older than 1.2.",
    severity="high",
    enforcement="mandatory",
    remediation="Set minimum_tls_version='TLS1_2' on the StorageAccount.",
    anchor="Azure Policy fe83a0eb-a853-422d-aac2-1bffd182c5d0; Checkov CKV_AZURE_44",
    url="https://learn.microsoft.com/azure/storage/common/transport-layer-security-configure-minimum-version",
    validate=_validate,
    tags=("storage",),
)

"""storage-no-public-blob-access: replicated disk data and runbook artifacts must never be anonymously readable."""

from asrctl.policy.rule import STORAGE_ACCOUNT, Rule, dig


def _validate(args, report_violation) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    # Explicit false is required: the API default changed over time, so an omitted value says nothing.
    if dig(args.props, "allowBlobPublicAccess") is not False:
        report_violation("allowBlobPublicAccess is not false; set allowBlobPublicAccess: false.")


RULE = Rule(
    name="storage-no-public-blob-access",
    description="Prohibits anonymous public read access to blobs in storage accounts.",
    severity="critical",
    enforcement="mandatory",
    remediation="Set allow_blob_public_access=False on the StorageAccount.",
    anchor="Azure Policy 4fa4b6c0-31ca-4c0d-b10d-24b96f62a751; Checkov CKV_AZURE_190",
    url="https://learn.microsoft.com/azure/storage/blobs/anonymous-read-access-prevent",
    validate=_validate,
    tags=("storage",),
)

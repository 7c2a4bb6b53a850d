"""vm-disk-encryption: the temporary process server caches replicated data on its disks during failback."""

from asrctl.policy.rule import VM, Rule, dig


def _validate(args, report_violation) -> None:
    if args.resource_type != VM:
        return
    at_host = dig(args.props, "securityProfile", "encryptionAtHost") is True
    des = dig(args.props, "storageProfile", "osDisk", "managedDisk", "diskEncryptionSet", "id") is not None
    ade = dig(args.props, "storageProfile", "osDisk", "encryptionSettings", "enabled") is True
    if not (at_host or des or ade):
        report_violation(
            "neither encryption at host nor a disk encryption set is configured; set "
            "securityProfile.encryptionAtHost: true."
        )


RULE = Rule(
    name="vm-encryption-at-host-or-disk-encryption",
    description="Requires encryption at host or disk encryption on Azure VMs such as the temporary process server.",
    severity="high",
    enforcement="mandatory",
    remediation="Set security_profile.encryption_at_host=True (register the EncryptionAtHost feature) or attach a "
    "disk encryption set to the OS and data disks.",
    anchor="Azure Policy fc4d8e41-e223-45ea-9bf5-eada37891d87",
    url="https://learn.microsoft.com/azure/virtual-machines/disk-encryption-overview",
    validate=_validate,
    tags=("compute",),
)

"""vm-managed-disks: unmanaged (VHD in a storage account) disks cannot be encrypted at host and are retired."""

from asrctl.policy.rule import VM, Rule, dig, items


def _validate(args, report_violation) -> None:
    if args.resource_type != VM:
        return
    os_disk = dig(args.props, "storageProfile", "osDisk")
    if os_disk is None:
        report_violation("storageProfile.osDisk is not set; declare a managed OS disk (osDisk.managedDisk).")
        return
    disks = [("osDisk", os_disk)] + [
        (f"dataDisks[{i}]", d) for i, d in enumerate(items(args.props, "storageProfile", "dataDisks"))
    ]
    for where, disk in disks:
        if dig(disk, "vhd") is not None:
            report_violation(f"storageProfile.{where} is an unmanaged VHD; use managedDisk instead of vhd.")


RULE = Rule(
    name="vm-managed-disks",
    description="Requires Azure VMs to use managed disks.",
    severity="medium",
    enforcement="mandatory",
    remediation="Replace vhd with managed_disk (storage_account_type Standard_LRS/Premium_LRS) on every disk.",
    anchor="Azure Policy 06a78e20-9358-41c9-923c-fb736d382a4d; Checkov CKV_AZURE_92",
    url="https://learn.microsoft.com/azure/virtual-machines/managed-disks-overview",
    validate=_validate,
    tags=("compute",),
)

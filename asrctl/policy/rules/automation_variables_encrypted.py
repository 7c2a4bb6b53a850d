"""automation-variables-encrypted: runbook variables may hold connection details; store them encrypted."""

from asrctl.policy.rule import AUTOMATION_VARIABLE, Rule, dig


def _validate(args, report_violation) -> None:
    if args.resource_type != AUTOMATION_VARIABLE:
        return
    if dig(args.props, "isEncrypted") is not True:
        report_violation("isEncrypted is not true; set isEncrypted: true.")


RULE = Rule(
    name="automation-variables-encrypted",
    description="Requires Automation account variables to be encrypted.",
    severity="high",
    enforcement="mandatory",
    remediation="Set is_encrypted=True on every automation.Variable.",
    anchor="Azure Policy 3657f5a0-770e-44a3-b44e-9431ba1e9735; Checkov CKV_AZURE_73",
    url="https://learn.microsoft.com/azure/automation/shared-resources/variables",
    validate=_validate,
    tags=("automation",),
)

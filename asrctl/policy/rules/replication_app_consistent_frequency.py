"""replication-app-consistent-frequency: VSS snapshots every 1-12 h (ASR's range), more often than retention."""

from asrctl.policy.rule import Rule, as_int, dig
from asrctl.policy.rules._replication import classic_policy_input


def _validate(args, report_violation) -> None:
    spec = classic_policy_input(args.resource_type, args.props)
    if spec is None:
        return
    value = as_int(dig(spec, "appConsistentFrequencyInMinutes"))
    history = as_int(dig(spec, "recoveryPointHistory"))
    if value is None:
        report_violation("appConsistentFrequencyInMinutes is not set; set it between 60 and 720 minutes.")
        return
    if not 60 <= value <= 720:
        report_violation(f"appConsistentFrequencyInMinutes is {value}; set it between 60 and 720 minutes (1-12 h).")
    if history is not None and value >= history:
        report_violation(
            f"appConsistentFrequencyInMinutes ({value}) is not below recoveryPointHistory ({history}); take "
            "app-consistent points more often than the retention window."
        )


RULE = Rule(
    name="replication-app-consistent-frequency",
    description="Requires app-consistent snapshots every 1 to 12 hours and more often than the retention window.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set replication.appConsistentFrequencyMinutes between 60 and 720 and below the retention.",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-set-up-replication",
    validate=_validate,
    tags=("replication",),
)

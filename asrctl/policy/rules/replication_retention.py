"""replication-retention-within-bound: recovery point history within our bound and ASR's 15-day maximum.

Our bound (policy config ``maxRetentionHours``) is 72 h for standard and 24 h for premium target disks, what the
classic pipeline documented; ASR itself allows up to 15 days on managed disks.
"""

from asrctl.policy.rule import Rule, as_int, dig
from asrctl.policy.rules._replication import classic_policy_input

ASR_MAX_MINUTES = 15 * 24 * 60


def _validate(args, report_violation) -> None:
    spec = classic_policy_input(args.resource_type, args.props)
    if spec is None:
        return
    limit = min(int(RULE.setting(args, "maxRetentionHours")) * 60, ASR_MAX_MINUTES)
    value = as_int(dig(spec, "recoveryPointHistory"))
    if value is None or value <= 0:
        report_violation(f"recoveryPointHistory is not set; set it (minutes) between 60 and {limit}.")
    elif value > limit:
        report_violation(
            f"recoveryPointHistory is {value} min ({value / 60:g} h), above the bound of {limit} min "
            f"({limit // 60} h); lower replication.recoveryPointRetentionHours."
        )


RULE = Rule(
    name="replication-retention-within-bound",
    description="Requires recovery point retention within 72 h (standard) / 24 h (premium) and ASR's 15 days.",
    severity="medium",
    enforcement="mandatory",
    remediation="Lower replication.recoveryPointRetentionHours (≤ 72 standard, ≤ 24 premium target disks).",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-set-up-replication",
    config={
        "maxRetentionHours": {
            "type": "integer",
            "minimum": 1,
            "maximum": 360,
            "default": 72,
            "description": "Recovery point history bound in hours (24 for Premium_LRS target disks, else 72).",
        }
    },
    validate=_validate,
    tags=("replication",),
)

"""replication-retention-within-bound: recovery point history within the stack's bound and ASR's 15-day maximum.

The bound (policy config ``maxRetentionHours``) is, for classic stacks, 72 h for standard and 24 h for premium
target disks (what the classic pipeline documented); modernized stacks get ASR's own 15 days (360 h). The field is
``recoveryPointHistory`` (classic) or ``recoveryPointHistoryInMinutes`` (InMageRcm, where 0 is allowed); the
InMageRcmFailback policy has no history of its own and is out of scope.
"""

from asrctl.policy.rule import Rule, as_int
from asrctl.policy.rules._replication import policy_knobs

ASR_MAX_MINUTES = 15 * 24 * 60


def _validate(args, report_violation) -> None:
    knobs = policy_knobs(args.resource_type, args.props)
    if knobs is None or knobs.history_key is None:
        return
    limit = min(int(RULE.setting(args, "maxRetentionHours")) * 60, ASR_MAX_MINUTES)
    key = knobs.history_key
    value = as_int(knobs.get(key))
    lowest = 0 if knobs.modernized else 60
    if value is None or value < lowest or (value == 0 and not knobs.modernized):
        report_violation(f"{key} is {'not set' if value is None else value}; set it (minutes) between {lowest} and {limit}.")
    elif value > limit:
        report_violation(
            f"{key} is {value} min ({value / 60:g} h), above the bound of {limit} min "
            f"({limit // 60} h); lower replication.recoveryPointRetentionHours."
        )


RULE = Rule(
    name="replication-retention-within-bound",
    description="Requires recovery point retention within the stack's bound (classic 72 h / 24 h premium) and ASR's "
    "15 days.",
    severity="medium",
    enforcement="mandatory",
    remediation="Lower replication.recoveryPointRetentionHours (classic ≤ 72 standard, ≤ 24 premium target disks; "
    "modernized ≤ 360).",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-set-up-replication-tutorial-modernized",
    config={
        "maxRetentionHours": {
            "type": "integer",
            "minimum": 1,
            "maximum": 360,
            "default": 72,
            "description": "Recovery point history bound in hours (classic: 24 for Premium_LRS target disks, else 72; "
            "modernized: 360).",
        }
    },
    validate=_validate,
    tags=("replication",),
)

"""replication-crash-consistent-every-5-minutes: ASR takes forward crash-consistent points every 5 minutes, fixed.

InMageAzureV2 and InMageRcm accept only 5 (PowerShell hard-codes it; the portal offers nothing else), so another
value fails the policy at creation. The InMageRcmFailback policy's crash-consistent frequency is free (Microsoft's
own CLI test sets 10) but must be set and positive; the classic InMage failback policy has no such field.
"""

from asrctl.policy.rule import Rule, as_int
from asrctl.policy.rules._replication import policy_knobs

FIXED_MINUTES = 5


def _validate(args, report_violation) -> None:
    knobs = policy_knobs(args.resource_type, args.props)
    if knobs is None or knobs.crash_key is None:
        return
    value = as_int(knobs.get(knobs.crash_key))
    if knobs.forward:
        if value != FIXED_MINUTES:
            shown = "not set" if value is None else str(value)
            report_violation(
                f"{knobs.crash_key} is {shown}; {knobs.instance_type} takes crash-consistent points every "
                f"{FIXED_MINUTES} minutes: set it to {FIXED_MINUTES}."
            )
    elif value is None or value <= 0:
        report_violation(f"{knobs.crash_key} is {'not set' if value is None else value}; set it to a positive number "
                         f"of minutes ({FIXED_MINUTES} as the forward policy).")


RULE = Rule(
    name="replication-crash-consistent-every-5-minutes",
    description="Requires forward replication policies to take crash-consistent points every 5 minutes.",
    severity="medium",
    enforcement="mandatory",
    remediation="Leave replication.crashConsistentFrequencyMinutes at 5 (ASR accepts nothing else for forward "
    "replication).",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-set-up-replication-tutorial-modernized",
    validate=_validate,
    tags=("replication",),
)

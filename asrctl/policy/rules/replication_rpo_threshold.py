"""replication-rpo-threshold-within-bound: the RPO threshold drives the breach alert; too high and it never fires."""

from asrctl.policy.rule import Rule, as_int, dig
from asrctl.policy.rules._replication import classic_policy_input


def _validate(args, report_violation) -> None:
    spec = classic_policy_input(args.resource_type, args.props)
    if spec is None:
        return
    limit = int(RULE.setting(args, "maxRpoThresholdMinutes"))
    value = as_int(dig(spec, "recoveryPointThresholdInMinutes"))
    if value is None or value <= 0:
        report_violation(f"recoveryPointThresholdInMinutes is not set; set it between 1 and {limit} minutes.")
    elif value > limit:
        report_violation(
            f"recoveryPointThresholdInMinutes is {value}, above the stack's bound of {limit}; lower it to {limit} "
            "or less."
        )


RULE = Rule(
    name="replication-rpo-threshold-within-bound",
    description="Requires an RPO threshold on replication policies, no higher than policy.maxRpoThresholdMinutes.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set replication.rpoThresholdMinutes in the stack to a value ≤ policy.maxRpoThresholdMinutes.",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-set-up-replication",
    config={
        "maxRpoThresholdMinutes": {
            "type": "integer",
            "minimum": 1,
            "default": 60,
            "description": "Highest RPO threshold allowed (policy.maxRpoThresholdMinutes).",
        }
    },
    validate=_validate,
    tags=("replication",),
)

"""replication-rpo-threshold-within-bound: the RPO threshold drives the breach alert; too high and it never fires.

Two places carry a threshold: the classic policies (``recoveryPointThresholdInMinutes`` of InMageAzureV2 and
InMage), and the RPO alert rule asrctl builds for either architecture (tag ``rpoThresholdMinutes`` on the scheduled
query rule whose query reads ``rpoInSeconds``). The modernized InMageRcm policy has no threshold field at all, so for
a modernized stack the alert is the one place checked.
"""

from asrctl.policy.rule import Rule, as_int, dig, tag_map
from asrctl.policy.rules._replication import policy_knobs

SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
TAG = "rpoThresholdMinutes"


def _is_rpo_alert(props) -> bool:
    queries = [dig(c, "query", default="") for c in (dig(props, "criteria", "allOf", default=[]) or [])]
    return any("rpoInSeconds" in str(q) for q in queries) or TAG in tag_map(props)


def _validate(args, report_violation) -> None:
    limit = int(RULE.setting(args, "maxRpoThresholdMinutes"))
    if args.resource_type == SCHEDULED_QUERY_RULE:
        if not _is_rpo_alert(args.props):
            return
        raw = tag_map(args.props).get(TAG)
        value = int(raw) if raw is not None and raw.isdigit() else None
        where = f"tag {TAG}"
    else:
        knobs = policy_knobs(args.resource_type, args.props)
        if knobs is None or knobs.threshold_key is None:
            return
        value = as_int(knobs.get(knobs.threshold_key))
        where = knobs.threshold_key
    if value is None or value <= 0:
        report_violation(f"{where} is not set; set it between 1 and {limit} minutes.")
    elif value > limit:
        report_violation(f"{where} is {value}, above the stack's bound of {limit}; lower it to {limit} or less.")


RULE = Rule(
    name="replication-rpo-threshold-within-bound",
    description="Requires an RPO threshold (classic policy or RPO alert) no higher than policy.maxRpoThresholdMinutes.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set replication.rpoThresholdMinutes in the stack to a value ≤ policy.maxRpoThresholdMinutes.",
    url="https://learn.microsoft.com/azure/site-recovery/monitor-log-analytics",
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

"""recovery-plan-item-limit: ASR accepts at most 100 protected items per recovery plan."""

from asrctl.policy.rule import RECOVERY_PLAN, Rule, items

MAX_ITEMS = 100


def _validate(args, report_violation) -> None:
    if args.resource_type != RECOVERY_PLAN:
        return
    count = sum(len(items(g, "replicationProtectedItems")) for g in items(args.props, "properties", "groups"))
    if count > MAX_ITEMS:
        report_violation(f"the plan holds {count} protected items; split it into plans of at most {MAX_ITEMS}.")


RULE = Rule(
    name="recovery-plan-item-limit",
    description="Requires recovery plans to hold at most 100 protected items.",
    severity="high",
    enforcement="mandatory",
    remediation="Split the plan file into several plans.",
    url="https://learn.microsoft.com/azure/site-recovery/recovery-plan-overview",
    validate=_validate,
    tags=("recovery-plan",),
)

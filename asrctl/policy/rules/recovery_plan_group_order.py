"""recovery-plan-group-order: ASR expects the Shutdown group, then the Failover group, then the Boot groups.

IaC tools that re-sort groups are a known source of broken plans; this catches it before ARM does.
"""

from asrctl.policy.rule import RECOVERY_PLAN, Rule, dig, items

RANK = {"Shutdown": 0, "Failover": 1, "Boot": 2}


def _validate(args, report_violation) -> None:
    if args.resource_type != RECOVERY_PLAN:
        return
    types = [dig(g, "groupType") for g in items(args.props, "properties", "groups")]
    unknown = [i for i, t in enumerate(types) if t not in RANK]
    if unknown:
        report_violation(f"group(s) {unknown} have no valid groupType; use Shutdown, Failover or Boot.")
        return
    if not types:
        report_violation("the plan has no groups; add at least one Boot group.")
        return
    ranks = [RANK[t] for t in types]
    if ranks != sorted(ranks):
        report_violation(f"groups are ordered {types}; put Shutdown first, then Failover, then the Boot groups.")
    for single in ("Shutdown", "Failover"):
        if types.count(single) > 1:
            report_violation(f"the plan has {types.count(single)} {single} groups; keep exactly one.")
    if "Boot" not in types:
        report_violation("the plan has no Boot group; add the machines in at least one Boot group.")


RULE = Rule(
    name="recovery-plan-group-order",
    description="Requires recovery plan groups in Shutdown, Failover, Boot order.",
    severity="high",
    enforcement="mandatory",
    remediation="Emit the Shutdown group, then the Failover group, then the Boot groups in the plan file's order.",
    url="https://learn.microsoft.com/azure/site-recovery/recovery-plan-overview",
    validate=_validate,
    tags=("recovery-plan",),
)

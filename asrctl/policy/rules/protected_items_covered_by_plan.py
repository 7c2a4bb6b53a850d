"""protected-items-covered-by-plan: a machine in no recovery plan is forgotten at failover time.

A plan covers an item when one of its groups lists the item's id (or an id ending in its name), or when the plan
depends on the item's resource (the id is only known after deployment).
"""

from asrctl.policy.rule import PROTECTED_ITEM, RECOVERY_PLAN, Rule, dig, items


def _validate(args, report_violation) -> None:
    plans = [r for r in args.resources if r.resource_type == RECOVERY_PLAN]
    referenced: set[str] = set()
    for plan in plans:
        referenced.update(d.urn for d in getattr(plan, "dependencies", []) or [])
        for group in items(plan.props, "properties", "groups"):
            for item in items(group, "replicationProtectedItems"):
                ref = dig(item, "id")
                if isinstance(ref, str):
                    referenced.add(ref)
                    referenced.add(ref.rstrip("/").rsplit("/", 1)[-1])
    for r in args.resources:
        if r.resource_type != PROTECTED_ITEM:
            continue
        keys = {r.urn, r.name, dig(r.props, "id"), dig(r.props, "replicatedProtectedItemName")}
        if not keys & referenced:
            report_violation(f"protected item {r.name} is in no recovery plan; add its machine to a plan group.", r.urn)


RULE = Rule(
    name="protected-items-covered-by-plan",
    description="Requires every protected machine to belong to at least one recovery plan.",
    severity="high",
    enforcement="mandatory",
    remediation="Add the machine to a group in runbooks/plans/*.yaml.",
    url="https://learn.microsoft.com/azure/site-recovery/recovery-plan-overview",
    validate=_validate,
    stack=True,
    tags=("recovery-plan",),
)

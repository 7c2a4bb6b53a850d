"""recovery-plan-actions-complete: an action without failover types/directions is silently never run by ASR."""

from asrctl.policy.rule import RECOVERY_PLAN, Rule, dig, items


def _validate(args, report_violation) -> None:
    if args.resource_type != RECOVERY_PLAN:
        return
    for gi, group in enumerate(items(args.props, "properties", "groups")):
        for side in ("startGroupActions", "endGroupActions"):
            for ai, action in enumerate(items(group, side)):
                name = dig(action, "actionName", default=f"groups[{gi}].{side}[{ai}]")
                missing = [k for k in ("failoverTypes", "failoverDirections") if not items(action, k)]
                if dig(action, "customDetails", "instanceType") is None:
                    missing.append("customDetails.instanceType")
                if missing:
                    report_violation(f"action {name} has no {', '.join(missing)}; set them on the action.")


RULE = Rule(
    name="recovery-plan-actions-complete",
    description="Requires every recovery plan action to declare failover types, directions and its kind.",
    severity="medium",
    enforcement="mandatory",
    remediation="Give each start/end group action non-empty failover_types and failover_directions and its details.",
    url="https://learn.microsoft.com/azure/site-recovery/recovery-plan-overview",
    validate=_validate,
    tags=("recovery-plan",),
)

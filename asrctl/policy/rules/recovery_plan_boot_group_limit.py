"""recovery-plan-boot-group-limit: ASR accepts at most 7 boot groups per recovery plan."""

from asrctl.policy.rule import RECOVERY_PLAN, Rule, dig, items

MAX_BOOT_GROUPS = 7


def _validate(args, report_violation) -> None:
    if args.resource_type != RECOVERY_PLAN:
        return
    boot = [g for g in items(args.props, "properties", "groups") if dig(g, "groupType") == "Boot"]
    if len(boot) > MAX_BOOT_GROUPS:
        report_violation(f"the plan has {len(boot)} boot groups; merge groups down to {MAX_BOOT_GROUPS}.")


RULE = Rule(
    name="recovery-plan-boot-group-limit",
    description="Requires recovery plans to have at most 7 boot groups.",
    severity="high",
    enforcement="mandatory",
    remediation="Merge groups in runbooks/plans/<plan>.yaml or split the plan.",
    url="https://learn.microsoft.com/azure/site-recovery/recovery-plan-overview",
    validate=_validate,
    tags=("recovery-plan",),
)

"""required-tags: owner, environment and DR tier on every taggable Azure resource (cost and incident routing)."""

from asrctl.policy.rule import TAGGABLE, Rule, dig, tag_map


def _validate(args, report_violation) -> None:
    if not args.resource_type.startswith("azure-native:"):
        return  # vSphere "tags" are tag ids, not key/value pairs
    if args.resource_type not in TAGGABLE and dig(args.props, "tags") is None:
        return
    tags = tag_map(args.props)
    missing = [t for t in RULE.setting(args, "requiredTags") if not tags.get(t)]
    if missing:
        report_violation(f"tag(s) {', '.join(missing)} missing; add them (the stack's tags are applied by default).")


RULE = Rule(
    name="required-tags",
    description="Requires owner, environment and DR tier tags on every taggable Azure resource.",
    severity="low",
    enforcement="mandatory",
    remediation="Pass the stack's common tags (owner, environment, drTier) to every resource's tags.",
    anchor="Azure Policy 96670d01-0a4d-4649-9c89-2d3abc0a5025",
    url="https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources",
    config={
        "requiredTags": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["owner", "environment", "drTier"],
            "description": "Tag keys every taggable resource must carry.",
        }
    },
    validate=_validate,
    tags=("tags",),
)

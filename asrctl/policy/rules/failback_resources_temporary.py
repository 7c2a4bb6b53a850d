"""failback-resources-tagged-temporary: the failback process server and gateways cost money every hour.

They exist only between reprotect and re-enable; the tags let a cost report (or a cleanup job) find them and
say when they should have been deleted. In scope: VPN gateway, local network gateway, gateway connection (they
exist only for failback) and every taggable resource built under the Failback component.
"""

from datetime import date

from asrctl.policy.rule import (
    GATEWAY_CONNECTION,
    LOCAL_GATEWAY,
    TAGGABLE,
    VPN_GATEWAY,
    Rule,
    dig,
    is_failback_resource,
    tag_map,
)

ALWAYS_TEMPORARY = (VPN_GATEWAY, LOCAL_GATEWAY, GATEWAY_CONNECTION)


def _validate(args, report_violation) -> None:
    if not args.resource_type.startswith("azure-native:"):
        return
    if args.resource_type not in ALWAYS_TEMPORARY and not is_failback_resource(args.urn, args.name):
        return
    if args.resource_type not in TAGGABLE and dig(args.props, "tags") is None:
        return  # e.g. the GatewaySubnet: ARM gives subnets no tags
    tags = tag_map(args.props)
    temporary_key = RULE.setting(args, "temporaryTag")
    expiry_key = RULE.setting(args, "expiryTag")
    if tags.get(temporary_key, "").lower() != "true":
        report_violation(f"tag {temporary_key} is not 'true'; tag the resource {temporary_key}: 'true'.")
    expiry = tags.get(expiry_key)
    try:
        date.fromisoformat(expiry or "")
    except ValueError:
        shown = f"is {expiry!r}" if expiry else "is missing"
        report_violation(f"tag {expiry_key} {shown}; set it to the planned deletion date (YYYY-MM-DD, failback.expiresOn).")


RULE = Rule(
    name="failback-resources-tagged-temporary",
    description="Requires the temporary failback process server and gateways to be tagged temporary with an expiry.",
    severity="low",
    enforcement="mandatory",
    remediation="Set failback.expiresOn in the stack; the failback component tags temporary=true and expiresOn.",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-set-up-process-server-azure",
    config={
        "temporaryTag": {"type": "string", "default": "temporary", "description": "Tag marking temporary resources."},
        "expiryTag": {"type": "string", "default": "expiresOn", "description": "Tag holding the expiry date."},
    },
    validate=_validate,
    tags=("failback", "tags"),
)

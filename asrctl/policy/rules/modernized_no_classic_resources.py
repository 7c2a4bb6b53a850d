"""modernized-no-classic-resources: a modernized site builds nothing of the retired classic architecture.

In a modernized stack (policy config ``architecture``; without it, a stack with an InMageRcm policy) these are
prohibited: classic policies (InMageAzureV2, InMage) and InMageAzureV2/InMage protected items; the classic failback
path (VPN gateway, local network gateway, gateway connection: modernized failback needs no VPN); and everything the
classic components build (configuration server, scale-out process servers and master targets, the temporary Azure
process server).
"""

from asrctl.policy.rule import (
    GATEWAY_CONNECTION,
    LOCAL_GATEWAY,
    PROTECTED_ITEM,
    REPLICATION_POLICY,
    VPN_GATEWAY,
    Rule,
    dig,
    parent_types,
)
from asrctl.policy.rules._replication import ARCHITECTURE_SETTING, CLASSIC_INSTANCE_TYPES, is_modernized

CLASSIC_COMPONENTS = ("ConfigurationServerVm", "ScaleOutServers", "FailbackInfrastructure")
CLASSIC_FAILBACK_TYPES = (VPN_GATEWAY, LOCAL_GATEWAY, GATEWAY_CONNECTION)


def _why_classic(r) -> str | None:
    if r.resource_type == REPLICATION_POLICY:
        kind = dig(r.props, "properties", "providerSpecificInput", "instanceType")
        return f"a {kind} replication policy" if kind in CLASSIC_INSTANCE_TYPES else None
    if r.resource_type == PROTECTED_ITEM:
        kind = dig(r.props, "properties", "providerSpecificDetails", "instanceType")
        return f"an {kind} protected item" if kind in CLASSIC_INSTANCE_TYPES else None
    component = next((c for c in CLASSIC_COMPONENTS for t in parent_types(r.urn) if t.endswith(f":{c}")), None)
    if component:
        return f"built by the classic {component}"
    if r.resource_type in CLASSIC_FAILBACK_TYPES:
        return "the classic failback VPN/ExpressRoute path"
    return None


def _validate(args, report_violation) -> None:
    if not is_modernized(RULE.setting(args, "architecture"), args.resources):
        return
    for r in args.resources:
        why = _why_classic(r)
        if why:
            report_violation(
                f"{r.name} is {why}, which a modernized site never needs; remove it (classic settings in the stack "
                "are refused: see `asrctl preview`).",
                r.urn,
            )


RULE = Rule(
    name="modernized-no-classic-resources",
    description="Prohibits classic-only resources (configuration server, InMageAzureV2, failback VPN) in a "
    "modernized stack.",
    severity="high",
    enforcement="mandatory",
    remediation="Remove the classic keys from the stack (configurationServer, failback.connectivity…), or set "
    "architecture: classic for a vault being migrated.",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-architecture-modernized",
    config=ARCHITECTURE_SETTING,
    validate=_validate,
    stack=True,
    tags=("modernized",),
)

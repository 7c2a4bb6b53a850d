"""nsg-no-inbound-from-internet: nothing in the DR site is a public service until a runbook says so at failover."""

import ipaddress

from asrctl.policy.rule import Rule
from asrctl.policy.rules._security_rules import INTERNET_SOURCES, inbound_allow_rules, label, sources


def _is_internet(source: str) -> bool:
    if source.lower() in INTERNET_SOURCES:
        return True
    try:
        return ipaddress.ip_network(source, strict=False).is_global
    except ValueError:
        return False  # a service tag other than Internet (VirtualNetwork, AzureLoadBalancer)


def _validate(args, report_violation) -> None:
    for rule in inbound_allow_rules(args.resource_type, args.props):
        open_to = [s for s in sources(rule) if _is_internet(s)]
        if open_to:
            report_violation(
                f"inbound rule {label(rule)} allows {', '.join(open_to)}; restrict the source to the declared "
                "on-prem ranges or delete the rule."
            )


RULE = Rule(
    name="nsg-no-inbound-from-internet",
    description="Prohibits inbound NSG rules that allow traffic from the Internet on any port.",
    severity="critical",
    enforcement="mandatory",
    remediation="Replace '*', 'Internet', 0.0.0.0/0 or public CIDR sources with the on-prem ranges.",
    anchor="Azure Policy 9daedab3-fb2d-461e-b861-71790eead4f6; Checkov CKV_AZURE_9, CKV_AZURE_10",
    url="https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview",
    validate=_validate,
    tags=("network",),
)

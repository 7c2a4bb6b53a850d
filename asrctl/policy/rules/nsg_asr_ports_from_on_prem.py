"""nsg-allow-only-asr-ports-from-on-prem: ASR needs 443 (control) and 9443 (replication data), nothing else.

Allowed sources come from the stack (policy config ``allowedSourceRanges``): the on-prem address spaces, and the
recovery VNet, whose failed-over machines send replication data to the temporary Azure process server on 9443
during reprotect. Without that config only the ports are checked.
"""

import ipaddress

from asrctl.policy.rule import Rule, networks
from asrctl.policy.rules._security_rules import inbound_allow_rules, label, ports, sources

ASR_PORTS = {"443", "9443"}


def _inside(source: str, allowed: list) -> bool:
    try:
        net = ipaddress.ip_network(source, strict=False)
    except ValueError:
        return False
    return any(net.version == a.version and net.subnet_of(a) for a in allowed)


def _validate(args, report_violation) -> None:
    rules = inbound_allow_rules(args.resource_type, args.props)
    if not rules:
        return
    allowed_config = RULE.setting(args, "allowedSourceRanges")
    allowed = networks(list(allowed_config)) if allowed_config else None
    for rule in rules:
        bad_ports = [p for p in ports(rule) if p not in ASR_PORTS] or ([] if ports(rule) else ["(none set)"])
        if bad_ports:
            report_violation(
                f"inbound rule {label(rule)} opens port(s) {', '.join(bad_ports)}; allow only 443 and 9443."
            )
        if allowed is not None:
            outside = [s for s in sources(rule) if not _inside(s, allowed)] or ([] if sources(rule) else ["(none)"])
            if outside:
                report_violation(
                    f"inbound rule {label(rule)} allows source(s) {', '.join(outside)} outside the declared ranges "
                    f"({', '.join(map(str, allowed_config))}); use network.onPrem ranges."
                )


RULE = Rule(
    name="nsg-allow-only-asr-ports-from-on-prem",
    description="Requires inbound NSG allow rules to open only 443 and 9443, and only from the declared on-prem ranges.",
    severity="high",
    enforcement="mandatory",
    remediation="Limit destination ports to 443/9443 and sources to network.onPrem.addressSpaces (and the recovery "
    "VNet for the failback process server).",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-architecture#replication-process",
    config={
        "allowedSourceRanges": {
            "type": "array",
            "items": {"type": "string"},
            "description": "CIDRs inbound allow rules may use as source (from the stack's network config).",
        }
    },
    validate=_validate,
    tags=("network", "asr"),
)

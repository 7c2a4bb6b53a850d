"""Shared by the NSG rules: the inbound allow rules of an NSG (inline) or of a standalone SecurityRule."""

from __future__ import annotations

from typing import Any

from asrctl.policy.rule import NSG, SECURITY_RULE, dig, items

INTERNET_SOURCES = {"*", "internet", "any", "0.0.0.0/0", "::/0"}


def inbound_allow_rules(resource_type: str, props: Any) -> list[Any]:
    if resource_type == NSG:
        candidates = items(props, "securityRules")
    elif resource_type == SECURITY_RULE:
        candidates = [props]
    else:
        return []
    return [
        r
        for r in candidates
        if str(dig(r, "direction", default="")).lower() == "inbound"
        and str(dig(r, "access", default="")).lower() == "allow"
    ]


def sources(rule: Any) -> list[str]:
    single = dig(rule, "sourceAddressPrefix")
    many = [str(p) for p in items(rule, "sourceAddressPrefixes")]
    return ([str(single)] if single is not None else []) + many


def ports(rule: Any) -> list[str]:
    single = dig(rule, "destinationPortRange")
    many = [str(p) for p in items(rule, "destinationPortRanges")]
    return ([str(single)] if single is not None else []) + many


def label(rule: Any) -> str:
    return str(dig(rule, "name", default="(unnamed rule)"))

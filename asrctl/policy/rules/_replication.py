"""Shared by the replication-policy rules: the classic providers' policy input."""

from __future__ import annotations

from typing import Any

from asrctl.policy.rule import REPLICATION_POLICY, dig

# InMageAzureV2: forward VMware → Azure; InMage: the failback policy. Both carry the same knobs.
CLASSIC_INSTANCE_TYPES = ("InMageAzureV2", "InMage")


def classic_policy_input(resource_type: str, props: Any) -> Any | None:
    if resource_type != REPLICATION_POLICY:
        return None
    spec = dig(props, "properties", "providerSpecificInput")
    return spec if dig(spec, "instanceType") in CLASSIC_INSTANCE_TYPES else None

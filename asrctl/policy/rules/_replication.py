"""Shared by the replication-policy rules: a policy's knobs read the same way for every VMware → Azure provider.

The providers spell the same knob differently, so a rule written for one would pass the other silently:

| knob | InMageAzureV2 (classic forward) | InMage (classic failback) | InMageRcm (modernized forward) | InMageRcmFailback |
|---|---|---|---|---|
| recovery point history | recoveryPointHistory | recoveryPointHistory | recoveryPointHistoryInMinutes | — (none) |
| app-consistent | appConsistentFrequencyInMinutes | same | same | same |
| crash-consistent | crashConsistentFrequencyInMinutes | — (none) | same (fixed at 5) | same (free) |
| multi-VM sync | multiVmSyncStatus Enable/Disable | same | enableMultiVmSync "true"/"false" | — (none) |
| RPO threshold | recoveryPointThresholdInMinutes | same | — (the RPO alert's tag) | — |

Source: pulumi-azure-native 3.29 ``*PolicyInputArgs`` / ``*PolicyCreationInputArgs`` (REFERENCE.md §2,
REFERENCE-modernized §3.0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from asrctl.policy.rule import REPLICATION_POLICY, dig

#: Policy-config schema of the stack's architecture (``asrctl policy check`` sets it from the stack file): the rules
#: that apply to one architecture read it, and tell it from the resources without it.
ARCHITECTURE_SETTING: dict[str, dict[str, Any]] = {
    "architecture": {"type": "string", "enum": ["modernized", "classic"], "description": "The stack's architecture."},
}

CLASSIC_INSTANCE_TYPES = ("InMageAzureV2", "InMage")
MODERNIZED_INSTANCE_TYPES = ("InMageRcm", "InMageRcmFailback")
#: Forward (VMware → Azure) providers; the others are the failback policies.
FORWARD_INSTANCE_TYPES = ("InMageAzureV2", "InMageRcm")


@dataclass(frozen=True)
class PolicyKnobs:
    """One replication policy's provider input, with each knob's key for that provider (None: it has none)."""

    instance_type: str
    spec: Any
    history_key: str | None
    crash_key: str | None
    multi_vm_key: str | None
    multi_vm_on: str | None
    """The value that means multi-VM sync is on (Enable, or the string "true")."""
    threshold_key: str | None
    app_key: str = "appConsistentFrequencyInMinutes"

    @property
    def modernized(self) -> bool:
        return self.instance_type in MODERNIZED_INSTANCE_TYPES

    @property
    def forward(self) -> bool:
        return self.instance_type in FORWARD_INSTANCE_TYPES

    def get(self, key: str | None) -> Any:
        return dig(self.spec, key) if key else None


_KNOBS = {
    "InMageAzureV2": ("recoveryPointHistory", "crashConsistentFrequencyInMinutes", "multiVmSyncStatus", "Enable",
                      "recoveryPointThresholdInMinutes"),
    "InMage": ("recoveryPointHistory", None, "multiVmSyncStatus", "Enable", "recoveryPointThresholdInMinutes"),
    "InMageRcm": ("recoveryPointHistoryInMinutes", "crashConsistentFrequencyInMinutes", "enableMultiVmSync", "true",
                  None),
    "InMageRcmFailback": (None, "crashConsistentFrequencyInMinutes", None, None, None),
}


def is_modernized(architecture: str | None, resources: Iterable[Any]) -> bool:
    """The architecture setting when given, else whether the stack has an InMageRcm replication policy."""
    if architecture is not None:
        return architecture == "modernized"
    return any(
        r.resource_type == REPLICATION_POLICY
        and dig(r.props, "properties", "providerSpecificInput", "instanceType") == "InMageRcm"
        for r in resources
    )


def policy_knobs(resource_type: str, props: Any) -> PolicyKnobs | None:
    """The policy's knobs, or None for another resource type or provider."""
    if resource_type != REPLICATION_POLICY:
        return None
    spec = dig(props, "properties", "providerSpecificInput")
    kind = dig(spec, "instanceType")
    if kind not in _KNOBS:
        return None
    history, crash, multi, on, threshold = _KNOBS[kind]
    return PolicyKnobs(kind, spec, history, crash, multi, on, threshold)

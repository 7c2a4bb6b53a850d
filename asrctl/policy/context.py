"""Stack context for the rules, expressed as policy config (the one channel CrossGuard gives a rule).

:func:`stack_policy_config` turns a validated stack configuration and its recovery plans into
``{rule name: {enforcementLevel?, property: value}}`` — the shape of ``--policy-pack-config`` and of
``PolicyPack(initial_config=...)``. ``asrctl policy check`` and ``policy/__main__.py`` both start from it, and a
user's config file is layered on top (:func:`merge_policy_config`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asrctl.config import MAX_RETENTION_HOURS, StackConfig

PolicyConfig = dict[str, dict[str, Any]]


def multi_vm_groups(plans: Sequence[Any]) -> list[str]:
    """Plan groups that need multi-VM consistency: two or more machines failing over together (``plan/group``)."""
    return [f"{p.name}/{g.name}" for p in plans for g in p.groups if len(g.machines) >= 2]


def stack_policy_config(cfg: StackConfig, plans: Sequence[Any]) -> PolicyConfig:
    """The policy config a stack implies: bounds, ranges and enforcement levels chosen by the stack file."""
    net = cfg.network
    return {
        "replication-rpo-threshold-within-bound": {"maxRpoThresholdMinutes": cfg.policy.max_rpo_threshold_minutes},
        "replication-retention-within-bound": {
            "maxRetentionHours": MAX_RETENTION_HOURS[cfg.replication.target_disk_type]
        },
        "replication-multi-vm-sync-only-when-used": {"multiVmSyncUsedBy": multi_vm_groups(plans)},
        "nsg-allow-only-asr-ports-from-on-prem": {
            # The recovery VNet is a legitimate source: failed-over VMs replicate back to the Azure process server.
            "allowedSourceRanges": [*net.on_prem.address_spaces, net.recovery.address_space]
        },
        "test-failover-network-isolated": {"testFailoverAddressSpace": [net.test_failover.address_space]},
        "automation-account-in-vault-subscription": {"subscriptionId": cfg.subscription_id},
        "failback-connectivity-present": {"failbackEnabled": cfg.failback.enabled},
        # Immutability cannot be undone once locked: mandatory only where the stack asks for it (prod).
        "vault-immutability-enabled": {
            "enforcementLevel": "mandatory" if cfg.policy.require_immutability else "advisory"
        },
    }


def merge_policy_config(stack: Mapping[str, Any], user: Mapping[str, Any]) -> PolicyConfig:
    """The user's file over the stack's config, property by property (a bare string is a level).

    A user's ``all`` level beats the levels the stack chose, but not the levels the user set per rule — the
    precedence ``--policy-pack-config`` gives it over a pack's initial config.
    """
    merged: PolicyConfig = {}
    for layer in (stack, user):
        for name, value in layer.items():
            entry = {"enforcementLevel": value} if isinstance(value, str) else dict(value)
            merged.setdefault(name, {}).update(entry)
    everyone = merged.get("all", {}).get("enforcementLevel")
    if everyone:
        for name, entry in merged.items():
            own = user.get(name)
            user_level = own if isinstance(own, str) else (own or {}).get("enforcementLevel")
            if name != "all" and "enforcementLevel" in entry and not user_level:
                entry["enforcementLevel"] = everyone
    return merged

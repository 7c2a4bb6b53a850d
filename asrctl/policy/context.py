"""Stack context for the rules, expressed as policy config (the one channel CrossGuard gives a rule).

:func:`stack_policy_config` turns a validated stack configuration and its recovery plans into
``{rule name: {enforcementLevel?, property: value}}`` — the shape of ``--policy-pack-config`` and of
``PolicyPack(initial_config=...)``. ``asrctl policy check`` and ``policy/__main__.py`` both start from it, and a
user's config file is layered on top (:func:`merge_policy_config`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asrctl.config import ASR_MAX_RETENTION_HOURS, MAX_RETENTION_HOURS, StackConfig

PolicyConfig = dict[str, dict[str, Any]]


def multi_vm_groups(plans: Sequence[Any]) -> list[str]:
    """Plan groups that need multi-VM consistency: two or more machines failing over together (``plan/group``)."""
    return [f"{p.name}/{g.name}" for p in plans for g in p.groups if len(g.machines) >= 2]


def classic_vault_names() -> list[str]:
    """Vault names of the project's classic stacks: a modernized stack must not share one (same environment and
    region give the same name)."""
    from asrctl.config import load_stack
    from asrctl.errors import BadInput
    from asrctl.infra.naming import AzureNames
    from asrctl.project import known_stacks

    names: set[str] = set()
    for stack in known_stacks():
        try:
            other = load_stack(stack)
            if other.architecture == "classic":
                names.add(AzureNames(other.environment, other.location).vault)
        except BadInput:
            continue  # an invalid stack says so when it is itself checked
    return sorted(names)


def stack_policy_config(cfg: StackConfig, plans: Sequence[Any]) -> PolicyConfig:
    """The policy config a stack implies: bounds, ranges and enforcement levels chosen by the stack file."""
    net = cfg.network
    # Classic failback: failed-over VMs replicate back to the temporary Azure process server in the recovery VNet, so
    # the recovery VNet is a legitimate source. Modernized failback pulls from on-prem: nothing inbound from Azure.
    sources = [*net.on_prem.address_spaces] + ([] if cfg.modernized else [net.recovery.address_space])
    config: PolicyConfig = {
        "replication-rpo-threshold-within-bound": {"maxRpoThresholdMinutes": cfg.policy.max_rpo_threshold_minutes},
        "replication-retention-within-bound": {
            "maxRetentionHours": ASR_MAX_RETENTION_HOURS if cfg.modernized
            else MAX_RETENTION_HOURS[cfg.replication.target_disk_type]
        },
        "replication-multi-vm-sync-only-when-used": {"multiVmSyncUsedBy": multi_vm_groups(plans)},
        "nsg-allow-only-asr-ports-from-on-prem": {"allowedSourceRanges": sources},
        "test-failover-network-isolated": {"testFailoverAddressSpace": [net.test_failover.address_space]},
        "test-failover-subnets-named-like-recovery": {"testFailoverAddressSpace": [net.test_failover.address_space]},
        "automation-account-in-vault-subscription": {"subscriptionId": cfg.subscription_id},
        "failback-connectivity-present": {"failbackEnabled": cfg.failback.enabled, "architecture": cfg.architecture},
        "modernized-no-classic-resources": {"architecture": cfg.architecture},
        "modernized-vault-dedicated": {
            "architecture": cfg.architecture,
            "classicVaultNames": classic_vault_names() if cfg.modernized else [],
        },
        "replication-appliances-sufficient": {
            "architecture": cfg.architecture,
            "protectedMachines": len(cfg.machines),
            "protectedDisks": cfg.total_disks,
            "failbackEnabled": cfg.failback.enabled,
        },
        # Immutability cannot be undone once locked: mandatory only where the stack asks for it (prod).
        "vault-immutability-enabled": {
            "enforcementLevel": "mandatory" if cfg.policy.require_immutability else "advisory"
        },
    }
    return config


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

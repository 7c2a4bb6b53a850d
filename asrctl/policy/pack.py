"""The CrossGuard side: policy objects built once from the rules, and the PolicyPack's arguments.

``PolicyPack(...)`` itself starts a gRPC server and blocks forever, so only ``policy/__main__.py`` constructs it,
from :func:`pack_arguments`. ``asrctl policy check`` runs the very objects :func:`policies` returns.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from typing import Any

from asrctl.policy.context import PolicyConfig, stack_policy_config
from asrctl.policy.rule import Rule

PACK_NAME = "asrctl-dr-site"


@functools.cache
def _all_policies() -> tuple[tuple[Rule, Any], ...]:
    from asrctl.policy.rules import RULES

    return tuple((rule, rule.to_policy()) for rule in RULES)


def policies(rules: Sequence[Rule] | None = None) -> tuple[tuple[Rule, Any], ...]:
    """(rule, CrossGuard policy) pairs: the whole pack (cached, shared) or the given rules."""
    if rules is None:
        return _all_policies()
    return tuple((rule, rule.to_policy()) for rule in rules)


def initial_config(config: PolicyConfig) -> dict[str, Any]:
    """Policy config in PolicyPack's ``initial_config`` form (enforcement levels as enum members)."""
    import pulumi_policy as pp

    result: dict[str, Any] = {}
    for name, entry in config.items():
        converted = dict(entry)
        if "enforcementLevel" in converted:
            converted["enforcementLevel"] = pp.EnforcementLevel(converted["enforcementLevel"])
        result[name] = converted
    return result


def engine_stack_config() -> PolicyConfig:
    """The stack context under ``pulumi preview --policy-pack policy``: the CLI names the stack in PULUMI_STACK.

    The stack file is read with the same loader as every asrctl command. Without it the rules fall back to their
    schema defaults (and the context-only checks stay silent); the reason goes to stderr, never stdout, which
    belongs to the analyzer's port handshake.
    """
    from asrctl.errors import AsrctlError

    stack = os.environ.get("PULUMI_STACK", "").rsplit("/", 1)[-1]
    if not stack:
        return {}
    try:
        from asrctl.config import load_stack
        from asrctl.plans import load_plans_for_stack

        cfg = load_stack(stack)
        return stack_policy_config(cfg, load_plans_for_stack(cfg, stack))
    except AsrctlError as exc:
        print(f"asrctl policy pack: no stack context for {stack}: {exc}", file=sys.stderr)
        return {}


def pack_arguments(config: PolicyConfig | None = None) -> dict[str, Any]:
    """Keyword arguments for ``pulumi_policy.PolicyPack``."""
    return {
        "name": PACK_NAME,
        "policies": [policy for _, policy in policies()],
        "initial_config": initial_config(engine_stack_config() if config is None else config) or None,
        "description": "Security and DR-correctness rules for the VMware → Azure Site Recovery site (asrctl).",
        "provider": "azure",
        "tags": ["azure", "site-recovery", "disaster-recovery"],
    }

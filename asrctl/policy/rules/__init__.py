"""Every rule of the pack, one module each; ``RULES`` is their fixed, sorted list.

A module whose name starts with ``_`` holds helpers shared by several rules and exports no rule.
"""

from __future__ import annotations

import importlib
import pkgutil

from asrctl.policy.rule import Rule


def _discover() -> tuple[Rule, ...]:
    rules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        rules.append(module.RULE)
    names = [r.name for r in rules]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate policy names: {sorted(duplicates)}")
    return tuple(sorted(rules, key=lambda r: r.name))


RULES: tuple[Rule, ...] = _discover()
RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}

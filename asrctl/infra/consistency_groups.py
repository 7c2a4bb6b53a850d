"""Multi-VM consistency groups: one per recovery plan group of two or more machines (both architectures).

The runbook engine fails a plan group's machines over together, and those machines must share one crash- or
app-consistent recovery point: that is what an ASR multi-VM group gives (``multiVmGroupName`` at enable time, with
multi-VM sync on in the policy). So, when ``replication.multiVmSync`` is on, every plan group with two or more
machines becomes one consistency group named ``<plan>-<group>``. A group of one machine needs no consistency.

ASR only offers multi-VM-consistent points to recovery-plan failovers, and PowerShell refuses per-machine test and
unplanned failovers of grouped items (REFERENCE.md §5), so each consistency group also gets its own ASR recovery plan
of the same name holding just its machines in one Boot group: the engine fails a multi-VM group over through the
recovery-plan APIs on it.

ASR's limit on the length of a multi-VM group name and of a recovery plan name was not found in the sources (open
point, REFERENCE-modernized.md §5); asrctl keeps both at :data:`MAX_NAME_LENGTH` characters of lowercase letters,
digits and dashes, and shortens a longer ``<plan>-<group>`` to a prefix plus a hash of the full name, so two groups
never share a name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from asrctl.plans import Plan

#: Longest consistency group / recovery plan name asrctl generates [U: ASR's own limit is not documented].
MAX_NAME_LENGTH = 63
_HASH_LENGTH = 8


@dataclass(frozen=True)
class ConsistencyGroup:
    """One multi-VM consistency group and the recovery plan that fails it over."""

    name: str
    """ASR multi-VM group name of the machines, and the name of the group's own recovery plan."""
    plan: str
    """The plan file's name."""
    group: str
    """The plan group's name."""
    machines: tuple[str, ...]
    """Machine names in plan order (two or more)."""


def consistency_group_name(plan: str, group: str) -> str:
    """``<plan>-<group>`` in ASR-safe characters, at most :data:`MAX_NAME_LENGTH` long (prefix + hash beyond)."""
    full = f"{plan}-{group}"
    safe = re.sub(r"[^a-z0-9-]+", "-", full.lower()).strip("-")
    if len(safe) <= MAX_NAME_LENGTH and safe == full:
        return safe
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
    if len(safe) + 1 + _HASH_LENGTH <= MAX_NAME_LENGTH:
        return f"{safe}-{digest}"  # characters were replaced: the hash keeps e.g. "a b" and "a-b" apart
    return f"{safe[: MAX_NAME_LENGTH - _HASH_LENGTH - 1].rstrip('-')}-{digest}"


def consistency_groups(plans: Sequence[Plan]) -> list[ConsistencyGroup]:
    """The plan groups of two or more machines, in plan-file and group order."""
    return [
        ConsistencyGroup(consistency_group_name(p.name, g.name), p.name, g.name, tuple(g.machines))
        for p in plans
        for g in p.groups
        if len(g.machines) >= 2
    ]


def machine_groups(groups: Sequence[ConsistencyGroup]) -> tuple[dict[str, str], list[str]]:
    """Machine → its consistency group name, and a warning for each machine two groups claim (the first keeps it:
    an item has one multi-VM group)."""
    owner: dict[str, str] = {}
    warnings: list[str] = []
    for g in groups:
        for m in g.machines:
            if m in owner:
                warnings.append(
                    f"machine {m} is in plan group {g.plan}/{g.group} and in consistency group {owner[m]}; a protected "
                    f"item has one multi-VM group, so it stays in {owner[m]} (keep a machine in one multi-machine "
                    "plan group)"
                )
                continue
            owner[m] = g.name
    return owner, warnings

"""Fault injection for the simulator: ``ASRCTL_SIM_FAULTS`` names a YAML file (README "Fault injection")::

    faults:
      - machine: app02               # optional: any machine (or a runbook fault) when left out
        operation: unplanned-failover  # an operation, or a runbook name
        effect: fail                 # fail | hang | throttle | lose-response
        times: 1                     # optional: default every time

Errors name ``file:line`` and exit 2. A fault that could never fire (unknown machine, a machine fault on something
that is not an ASR operation) is refused: a drill "proving" a fault effect would otherwise silently prove nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from asrctl.errors import BadInput
from asrctl.recovery.operations import OPERATION_NAMES

FAULT_EFFECTS = ("fail", "hang", "throttle", "lose-response")


@dataclass(frozen=True)
class Fault:
    index: int
    machine: str | None  # None: any machine (or a runbook)
    operation: str  # an operation or a runbook name
    effect: str
    times: int | None  # None: every time

    @property
    def key(self) -> str:
        return f"{self.index}:{self.machine}:{self.operation}:{self.effect}"


def load_faults(path: str | None = None, machines: set[str] | None = None, stack_name: str = "") -> list[Fault]:
    """Faults from ``path`` (default ``$ASRCTL_SIM_FAULTS``); none when unset."""
    from asrctl.yamlfile import load_yaml

    from_env = path is None
    path = path if path is not None else os.environ.get("ASRCTL_SIM_FAULTS")
    if not path:
        return []
    try:
        doc = load_yaml(Path(path))
    except BadInput as exc:
        raise BadInput(f"ASRCTL_SIM_FAULTS: {exc}" if from_env else str(exc)) from None
    items = doc.data.get("faults") if isinstance(doc.data, dict) else None
    if not isinstance(items, list):
        raise BadInput(f"{doc.where(())}: a faults file is a mapping with a `faults:` list")
    faults: list[Fault] = []
    for i, item in enumerate(items):
        where = doc.where(("faults", i))
        if not isinstance(item, dict):
            raise BadInput(f"{where}: each fault is a mapping with machine, operation, effect and optionally times")
        unknown = set(item) - {"machine", "operation", "effect", "times"}
        if unknown:
            raise BadInput(f"{doc.where(('faults', i, sorted(unknown)[0]))}: {sorted(unknown)[0]!r} is not a known key")
        if item.get("effect") not in FAULT_EFFECTS:
            raise BadInput(
                f"{doc.where(('faults', i, 'effect'))}: effect {item.get('effect')!r} must be one of "
                f"{', '.join(FAULT_EFFECTS)}"
            )
        if not isinstance(item.get("operation"), str) or not item["operation"].strip():
            raise BadInput(f"{doc.where(('faults', i, 'operation'))}: operation (or runbook name) is required")
        machine = item.get("machine")
        if machine is not None:
            if not isinstance(machine, str):
                raise BadInput(f"{doc.where(('faults', i, 'machine'))}: machine must be a machine name (or left out)")
            if item["operation"] not in OPERATION_NAMES:
                raise BadInput(
                    f"{doc.where(('faults', i, 'operation'))}: operation {item['operation']!r} is not an ASR operation "
                    f"({', '.join(OPERATION_NAMES)}); a runbook fault names the runbook and no machine"
                )
            if machines is not None and machine not in machines:
                raise BadInput(f"{doc.where(('faults', i, 'machine'))}: machine {machine!r} is not in stack {stack_name}")
        times = item.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise BadInput(f"{doc.where(('faults', i, 'times'))}: times must be a positive integer (or left out)")
        faults.append(Fault(i, machine, item["operation"], item["effect"], times))
    return faults

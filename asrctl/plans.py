"""Recovery plan files (``runbooks/plans/*.yaml``): frozen models mirroring ASR's groups and start/end actions.

A plan is data run by the engine (and rendered into an ASR ``ReplicationRecoveryPlan`` by the Pulumi program);
there are no per-plan code paths. Every error names ``file:line`` and exits 2.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.project import plans_dir, project_dir
from asrctl.yamlfile import KeyPath, LocatedYaml, display_path, load_yaml

# ASR's published limits for a recovery plan.
MAX_GROUPS = 7
MAX_MACHINES = 100

Operation = Literal[
    "test-failover",
    "cleanup-test-failover",
    "planned-failover",
    "unplanned-failover",
    "commit",
    "reprotect",
    "failback",
    "reenable",
]
OPERATIONS: tuple[str, ...] = Operation.__args__  # type: ignore[attr-defined]
# An action without `when` runs for every failover (DESIGN.md): these four move machines to the other side.
FAILOVER_OPERATIONS: tuple[str, ...] = ("test-failover", "planned-failover", "unplanned-failover", "failback")

DEFAULT_TIMEOUTS = {"manual": 24 * 3600, "script": 10 * 60, "runbook": 30 * 60}

_DURATION_RE = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> int:
    """``30s`` / ``10m`` / ``2h`` / ``1d`` → seconds (> 0)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be a duration like 30s, 10m or 2h")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION_RE.match(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a duration; write it like 30s, 10m or 2h")
        seconds = int(match.group(1)) * _UNIT[match.group(2)]
    if seconds <= 0:
        raise ValueError("must be a positive duration")
    return seconds


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Action(_Model):
    timeout: int | None = Field(default=None, description="Optional. Step timeout; on timeout the run fails.")
    when: tuple[Operation, ...] | None = Field(
        default=None, description="Optional. Operations the action runs for. Default every failover."
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> int | None:
        return None if v is None else parse_duration(v)

    @field_validator("when")
    @classmethod
    def _when(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and not v:
            raise ValueError("must list at least one operation (or be left out for every failover)")
        return v

    kind: str = ""  # set by subclasses

    @property
    def effective_timeout(self) -> int:
        return self.timeout or DEFAULT_TIMEOUTS[self.kind]

    def runs_for(self, operation: str) -> bool:
        return operation in (self.when or FAILOVER_OPERATIONS)

    @property
    def label(self) -> str:
        raise NotImplementedError


class ManualAction(_Action):
    kind: Literal["manual"] = "manual"
    manual: str = Field(min_length=1, description="Required. What the operator must do before the plan continues.")

    @property
    def label(self) -> str:
        return self.manual


class ScriptAction(_Action):
    kind: Literal["script"] = "script"
    script: str = Field(description="Required. Python script path relative to the project, run client-side.")
    args: tuple[str, ...] = Field(default=(), description="Optional. Arguments. Default none.")

    @property
    def label(self) -> str:
        return " ".join((self.script, *self.args))


class RunbookAction(_Action):
    kind: Literal["runbook"] = "runbook"
    runbook: str = Field(description="Required. Azure Automation runbook name.")
    parameters: dict[str, str] = Field(default_factory=dict, description="Optional. Runbook parameters.")

    @property
    def label(self) -> str:
        return self.runbook


_ACTION_KINDS: dict[str, type[_Action]] = {"manual": ManualAction, "script": ScriptAction, "runbook": RunbookAction}
_ACTION_TAGS = {"manual": "ManualAction", "script": "ScriptAction", "runbook": "RunbookAction"}


def _action_tag(value: Any) -> str | None:
    """Which action model a raw mapping is: the one whose key (manual/script/runbook) it carries, exactly one."""
    if isinstance(value, dict):
        kinds = [k for k in _ACTION_KINDS if k in value]
        return _ACTION_TAGS[kinds[0]] if len(kinds) == 1 else None
    return _ACTION_TAGS.get(getattr(value, "kind", ""))


# A tagged union keeps pydantic's error locations precise (groups[1].after[0].timeout), unlike a hand-made switch.
Action = Annotated[
    Annotated[ManualAction, Tag("ManualAction")]
    | Annotated[ScriptAction, Tag("ScriptAction")]
    | Annotated[RunbookAction, Tag("RunbookAction")],
    Discriminator(
        _action_tag,
        custom_error_type="action_kind",
        custom_error_message="each action needs exactly one of manual:, script: or runbook:",
    ),
]


class Group(_Model):
    name: str = Field(description="Required. Group name, e.g. database.")
    machines: tuple[str, ...] = Field(min_length=1, description="Required. Machines failed over in parallel.")
    before: tuple[Action, ...] = Field(default=(), description="Optional. Start group actions, in order.")
    after: tuple[Action, ...] = Field(default=(), description="Optional. End group actions, in order.")

    @field_validator("before", "after", mode="before")
    @classmethod
    def _actions(cls, v: Any) -> Any:
        if v is None:
            return ()
        if not isinstance(v, list | tuple):
            raise ValueError("must be a list of actions (manual:, script: or runbook:)")
        return v


class Targets(_Model):
    rto: int | None = Field(default=None, description="Optional. Recovery time objective of the whole plan.")
    rpo: int | None = Field(default=None, description="Optional. Recovery point objective per machine.")

    @field_validator("rto", "rpo", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> int | None:
        return None if v is None else parse_duration(v)


class Plan(_Model):
    name: str = Field(description="Required. Plan name, [a-z0-9-].")
    description: str = ""
    targets: Targets = Targets()
    groups: tuple[Group, ...] = Field(min_length=1)

    # Where it came from (not part of the file's schema).
    path: Path = Field(default=Path(), exclude=True)
    sha256: str = Field(default="", exclude=True)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", v):
            raise ValueError("must be lowercase letters, digits and dashes")
        return v

    @property
    def machines(self) -> list[str]:
        return [m for g in self.groups for m in g.machines]

    def group_of(self, machine: str) -> Group:
        return next(g for g in self.groups if machine in g.machines)


def _loc_display(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _raise(doc: LocatedYaml, path: KeyPath, message: str) -> None:
    raise BadInput(f"{doc.where(path)}: {message}")


def parse_plan(doc: LocatedYaml) -> Plan:
    """Validate a plan's own structure (no stack needed)."""
    if not isinstance(doc.data, dict):
        _raise(doc, (), "a plan file is a mapping with name, groups and optionally description and targets")
    try:
        plan = Plan.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        # Strip the union-branch tags pydantic inserts (e.g. 'function-before[...]') from the location.
        loc = tuple(p for p in err["loc"] if isinstance(p, int) or not re.match(r"^(function-|ManualAction|ScriptAction|RunbookAction)", p))
        msg = err["msg"]
        msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
        msg = msg[:1].lower() + msg[1:]
        if err["type"] == "missing":
            msg = "is required"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known key"
        value = err.get("input")
        shown = f" {value!r}" if isinstance(value, str | int | float) and err["type"] != "missing" else ""
        _raise(doc, loc, f"{_loc_display(loc)}{shown}: {msg}")
    digest = hashlib.sha256(doc.path.read_bytes()).hexdigest() if doc.path.is_file() else ""
    return plan.model_copy(update={"path": doc.path, "sha256": digest})


def check_plan(plan: Plan, doc: LocatedYaml, stack: StackConfig, stack_name: str) -> None:
    """ASR's limits and the plan/stack contract: known machines, one group per machine, scripts that exist."""
    if plan.path.stem != plan.name:
        _raise(doc, ("name",), f"plan name {plan.name!r} must match its file name ({plan.path.stem})")
    if len(plan.groups) > MAX_GROUPS:
        _raise(doc, ("groups", MAX_GROUPS), f"{len(plan.groups)} groups exceed ASR's limit of {MAX_GROUPS}")
    total = len(plan.machines)
    if total > MAX_MACHINES:
        _raise(doc, ("groups",), f"{total} machines exceed ASR's limit of {MAX_MACHINES} per recovery plan")
    seen_groups: set[str] = set()
    seen: dict[str, str] = {}
    for gi, group in enumerate(plan.groups):
        if group.name in seen_groups:
            _raise(doc, ("groups", gi, "name"), f"group name {group.name!r} is used twice")
        seen_groups.add(group.name)
        for mi, machine in enumerate(group.machines):
            if machine not in stack.machines_by_name:
                _raise(doc, ("groups", gi, "machines", mi), f"machine {machine!r} is not in stack {stack_name}")
            if machine in seen:
                _raise(
                    doc, ("groups", gi, "machines", mi),
                    f"machine {machine!r} is already in group {seen[machine]!r}; a machine belongs to one group",
                )
            seen[machine] = group.name
        for side in ("before", "after"):
            for ai, action in enumerate(getattr(group, side)):
                if isinstance(action, ScriptAction):
                    script = project_dir() / action.script
                    if not script.is_file():
                        _raise(doc, ("groups", gi, side, ai, "script"), f"script {action.script} does not exist")


def load_plan(name_or_path: str, stack: StackConfig | None = None, stack_name: str = "") -> Plan:
    """Load a plan by name (``runbooks/plans/<name>.yaml``) or path, validated against ``stack`` when given."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        path = candidate
    else:
        path = plans_dir() / f"{name_or_path}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in plans_dir().glob("*.yaml"))) or "none"
            raise BadInput(f"plan {name_or_path!r}: no {display_path(path)} (known plans: {known})")
    doc = load_yaml(path)
    plan = parse_plan(doc)
    if stack is not None:
        check_plan(plan, doc, stack, stack_name)
    return plan


def load_plans_for_stack(stack: StackConfig, stack_name: str) -> list[Plan]:
    """Every plan whose machines all belong to ``stack`` (plans for other environments are skipped), validated.

    A plan that names some but not all of its machines in the stack is an error: it was meant for this stack.
    """
    plans: list[Plan] = []
    for path in sorted(plans_dir().glob("*.yaml")):
        doc = load_yaml(path)
        plan = parse_plan(doc)
        known = [m for m in plan.machines if m in stack.machines_by_name]
        if not known:
            continue
        check_plan(plan, doc, stack, stack_name)
        plans.append(plan)
    return plans


MULTI_VM_GROUP_NAME_MAX = 63  # ASR's limit on multiVmGroupName is not documented; recovery plan names allow 63


def multi_vm_group_name(plan: str, group: str) -> str:
    """The multi-VM consistency group of a plan group with two or more machines, and the name of the ASR recovery
    plan that holds exactly its machines: ``<plan>-<group>``, shortened with a stable hash when too long. The Pulumi
    program (phase 2) and the runbook engine both call this, so they always agree."""
    name = f"{plan}-{group}"
    if len(name) <= MULTI_VM_GROUP_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:MULTI_VM_GROUP_NAME_MAX - 9]}-{digest}"


def multi_vm_groups(plans: list[Plan], stack: StackConfig) -> dict[str, str]:
    """Machine → its multi-VM group, for stacks with ``replication.multiVmSync`` (plan groups of two or more)."""
    if not stack.replication.multi_vm_sync:
        return {}
    return {m: multi_vm_group_name(p.name, g.name) for p in plans for g in p.groups if len(g.machines) >= 2
            for m in g.machines}

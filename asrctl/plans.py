"""Recovery plan files (``runbooks/plans/*.yaml``): frozen models mirroring ASR's groups and start/end actions.

A plan is data run by the engine (and rendered into an ASR ``ReplicationRecoveryPlan`` by the Pulumi program);
there are no per-plan code paths. Every error names ``file:line`` and exits 2.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.project import plans_dir, project_dir
from asrctl.recovery.operations import FAILOVER_OPERATIONS, MIGRATION_BATCH, PLAN_OPERATIONS
from asrctl.yamlfile import KeyPath, LocatedYaml, display_path, load_yaml

# ASR's published limits for a recovery plan.
MAX_GROUPS = 7
MAX_MACHINES = 100

# The operations a plan action may name, and those it runs for without `when` (every failover), come from the one
# table of operations (asrctl.recovery.operations).
Operation = Literal[PLAN_OPERATIONS]  # type: ignore[valid-type]
OPERATIONS: tuple[str, ...] = PLAN_OPERATIONS

DEFAULT_TIMEOUTS = {"manual": 24 * 3600, "script": 10 * 60, "runbook": 30 * 60}

# The longest timeout or target a plan may give. A week is beyond any step or RTO a DR plan means; without a bound
# `99999999999999999999d` validated and then overflowed the engine's clock arithmetic mid-run.
MAX_DURATION_SECONDS = 7 * 86400

# Action scripts live here (relative to the project): the engine runs them with the project's Python, so a plan must
# not be able to point it at any other file.
ACTIONS_DIR = PurePosixPath("runbooks", "actions")

# Azure Automation runbook names: 1-63 letters, digits, '_' and '-', starting with a letter (Azure resource naming
# rules, Microsoft.Automation automationAccounts/runbooks) [U: from the naming-rules table, not re-checked here].
_RUNBOOK_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}", re.ASCII)

_DURATION_RE = re.compile(r"(\d+)\s*([smhd])", re.ASCII)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> int:
    """``30s`` / ``10m`` / ``2h`` / ``1d`` (or a number of seconds) → seconds, 0 < seconds <= 7 days."""
    if isinstance(value, bool):
        raise ValueError("is a yes/no value, not a duration; write it like 30s, 10m or 2h")
    if not isinstance(value, str | int):
        raise ValueError("must be a duration like 30s, 10m or 2h")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION_RE.fullmatch(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a duration; write it like 30s, 10m or 2h")
        digits, unit = match.groups()
        # More than 7 digits of any unit is past the bound; skip int() on a string that may be thousands long.
        seconds = int(digits) * _UNIT[unit] if len(digits) <= 7 else MAX_DURATION_SECONDS + 1
    if seconds <= 0:
        raise ValueError("must be a positive duration")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError("is longer than 7d, the longest duration a plan may give; use at most 7d (168h)")
    return seconds


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _name(value: str) -> str:
    """A name (group, machine, runbook parameter): not blank, no surrounding spaces, no control characters."""
    if not value.strip():
        raise ValueError("must not be empty")
    if value != value.strip():
        raise ValueError("has spaces at its start or end; remove them")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("contains a control character; remove it")
    return value


def _text(value: str) -> str:
    """Free text shown to people (a manual instruction): anything but blank."""
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _runbook(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if not _RUNBOOK_NAME_RE.fullmatch(value):
        raise ValueError("is not an Azure Automation runbook name: 1-63 letters, digits, '_' and '-', starting with a "
                         "letter (e.g. ASR-AddPublicIp)")
    return value


Name = Annotated[str, AfterValidator(_name)]
Text = Annotated[str, AfterValidator(_text)]
RunbookName = Annotated[str, AfterValidator(_runbook)]


def _given(value: Any, fix: str) -> Any:
    """A key written with no value (``when:``) is refused rather than read as left out: its author meant something."""
    if value is None:
        raise ValueError(f"is empty; {fix}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Action(_Model):
    timeout: int | None = Field(default=None, description="Optional. Step timeout; on timeout the run fails.")
    when: tuple[Operation, ...] | None = Field(
        default=None, description="Optional. Operations the action runs for. Default every failover."
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> int:
        return parse_duration(_given(v, "give a duration like 10m, or leave timeout out for the default"))

    @field_validator("when", mode="before")
    @classmethod
    def _when_given(cls, v: Any) -> Any:
        return _given(v, "list the operations the action runs for, or leave when out for every failover")

    @field_validator("when")
    @classmethod
    def _when(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and not v:
            raise ValueError("must list at least one operation (or be left out for every failover)")
        if v is not None and len(set(v)) != len(v):
            twice = next(op for op in v if v.count(op) > 1)
            raise ValueError(f"lists {twice} twice; name each operation once")
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
    manual: Text = Field(description="Required. What the operator must do before the plan continues.")

    @property
    def label(self) -> str:
        return self.manual


class ScriptAction(_Action):
    kind: Literal["script"] = "script"
    script: str = Field(
        description="Required. Python script under runbooks/actions/, as a path relative to the project; run "
        "client-side. Checked by check_plan: inside runbooks/actions/ (no '..', absolute path or link out), a .py file."
    )
    args: tuple[str, ...] = Field(default=(), description="Optional. Arguments, each a string. Default none.")

    @field_validator("args", mode="before")
    @classmethod
    def _args_given(cls, v: Any) -> Any:
        return _given(v, "list the arguments, or leave args out")

    @property
    def label(self) -> str:
        return " ".join((self.script, *self.args))


class RunbookAction(_Action):
    kind: Literal["runbook"] = "runbook"
    runbook: RunbookName = Field(description="Required. Azure Automation runbook name.")
    parameters: dict[Name, str] = Field(
        default_factory=dict, description="Optional. Runbook parameters, name to string value."
    )

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters_given(cls, v: Any) -> Any:
        return _given(v, "give name: value pairs, or leave parameters out")

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
    name: Name = Field(description="Required. Group name, e.g. database.")
    machines: tuple[Name, ...] = Field(min_length=1, description="Required. Machines failed over in parallel.")
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
    def _duration(cls, v: Any) -> int:
        return parse_duration(_given(v, "give a duration like 30m, or leave the target out"))


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
        if isinstance(part, int):
            text += f"[{part}]"
        elif not re.fullmatch(r"[\w:.-]+", part):  # an empty or odd key (a runbook parameter name)
            text += f"[{part!r}]"
        else:
            text += f".{part}" if text else part
    return text


def _shown(value: Any) -> str:
    """The offending value for a message, cut short: a 5,000-digit timeout need not be echoed whole."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}…{text[-8:]} ({len(str(value))} characters)"


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
        if loc and loc[-1] == "[key]":  # a dict key (a runbook parameter name) failed, not its value
            loc = loc[:-1]
        msg = err["msg"]
        msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
        msg = msg[:1].lower() + msg[1:]
        value = err.get("input")
        if err["type"] == "missing":
            msg = "is required"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known key"
        elif err["type"] == "string_type" and isinstance(value, bool):
            msg = "is a yes/no value (YAML reads yes, no, on, off, true and false so); quote it where text is meant"
        elif err["type"] == "string_type" and isinstance(value, int | float):
            msg = f'is a number; quote it ("{value}") where text is meant'
        elif err["type"] == "string_type":
            msg = "must be a string"
        elif err["type"] in ("too_short", "string_too_short"):
            msg = "must not be empty"
        shown = f" {_shown(value)}" if isinstance(value, str | int | float) and err["type"] != "missing" else ""
        _raise(doc, loc, f"{_loc_display(loc)}{shown}: {msg}")
    digest = hashlib.sha256(doc.path.read_bytes()).hexdigest() if doc.path.is_file() else ""
    return plan.model_copy(update={"path": doc.path, "sha256": digest})


def script_problem(script: str) -> str | None:
    """Why ``script`` may not be run as an action script (None when it may): it must be a ``.py`` file inside
    ``runbooks/actions/``, named by a relative path without ``..``, and not a link leading out of that directory.

    The engine runs the file with the project's Python and the run context on stdin, so this is what keeps a plan
    from running ``/etc/passwd``, ``~/.ssh/...`` or anything else on the operator's machine.
    """
    if "\\" in script:
        return f"script {script!r}: write the path with forward slashes, e.g. {ACTIONS_DIR}/check_sql.py"
    path = PurePosixPath(script)
    if path.is_absolute() or PureWindowsPath(script).drive:
        return f"script {script} is an absolute path; name it relative to the project, as {ACTIONS_DIR}/{path.name}"
    if ".." in path.parts:
        return f"script {script} climbs out with '..'; action scripts live in {ACTIONS_DIR}/"
    if path == ACTIONS_DIR:
        return f"script {script} is the directory; name a script in it, e.g. {ACTIONS_DIR}/check_sql.py"
    if path.parts[: len(ACTIONS_DIR.parts)] != ACTIONS_DIR.parts:
        return f"script {script} is not in {ACTIONS_DIR}/; move it there and name it {ACTIONS_DIR}/{path.name}"
    if path.suffix != ".py":
        return f"script {script} is not a Python file (.py); action scripts are run with Python"
    target = project_dir() / path
    if not target.exists():  # also a link whose target is gone
        return f"script {script} does not exist"
    resolved, actions = target.resolve(), (project_dir() / ACTIONS_DIR).resolve()
    if not resolved.is_relative_to(actions):
        return f"script {script} is a link to {resolved}, outside {ACTIONS_DIR}/; copy the script into {ACTIONS_DIR}/"
    if not resolved.is_file():
        return f"script {script} is not a file"
    return None


def check_plan(plan: Plan, doc: LocatedYaml, stack: StackConfig, stack_name: str) -> None:
    """ASR's limits and the plan/stack contract: known machines, one group per machine, scripts in runbooks/actions/."""
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
            if machine in seen and seen[machine] == group.name:
                _raise(doc, ("groups", gi, "machines", mi),
                       f"machine {machine!r} is listed twice in group {group.name!r}; list it once")
            if machine in seen:
                _raise(
                    doc, ("groups", gi, "machines", mi),
                    f"machine {machine!r} is already in group {seen[machine]!r}; a machine belongs to one group",
                )
            seen[machine] = group.name
        for side in ("before", "after"):
            for ai, action in enumerate(getattr(group, side)):
                problem = script_problem(action.script) if isinstance(action, ScriptAction) else None
                if problem:
                    _raise(doc, ("groups", gi, side, ai, "script"), problem)
        if stack.architecture == "classic" and stack.failback.enabled:
            # Classic failback sends a group through one master target, whose OS must be the machines' OS
            # (REFERENCE.md §5: a Linux VM fails back through a Linux master target).
            by_os: dict[str, list[str]] = {}
            for machine in group.machines:
                if machine in stack.machines_by_name:
                    by_os.setdefault(stack.machines_by_name[machine].os, []).append(machine)
            if len(by_os) > 1:
                listing = "; ".join(f"{os_name}: {', '.join(ms)}" for os_name, ms in sorted(by_os.items()))
                _raise(doc, ("groups", gi, "machines"),
                       f"group {group.name!r} mixes operating systems ({listing}); classic failback sends a group "
                       "through one master target of one OS: split the group by OS")
    if stack.replication.multi_vm_sync:
        _check_multi_vm_membership(plan, doc, stack)


def _check_multi_vm_membership(plan: Plan, doc: LocatedYaml, stack: StackConfig) -> None:
    """With multi-VM sync, a machine of a multi-VM group (a plan group of two or more) fails over only with its group,
    so no other plan may name it: ASR would refuse it there (per-item failover of a member, another group)."""
    mine = {m: g.name for g in plan.groups for m in g.machines}
    for path in sorted(plans_dir().glob("*.yaml")):
        if path.resolve() == plan.path.resolve():
            continue
        try:
            other = parse_plan(load_yaml(path))
        except BadInput:
            continue  # its own validation reports it
        if other.name == plan.name:
            continue  # the same plan (a draft of it elsewhere): it replaces that one, it does not add to it
        for group in other.groups:
            for machine in group.machines:
                if machine not in mine or machine not in stack.machines_by_name:
                    continue
                ours = plan.group_of(machine)
                if len(ours.machines) >= 2 or len(group.machines) >= 2:
                    gi = plan.groups.index(ours)
                    _raise(doc, ("groups", gi, "machines", ours.machines.index(machine)),
                           f"machine {machine!r} is also in plan {other.name!r} (group {group.name!r}); with "
                           "replication.multiVmSync a machine of a multi-VM group fails over only with its group, "
                           "so it belongs to one plan")


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


def migration_plan(stack: StackConfig, stack_name: str, to_stack: str) -> Plan:
    """``asrctl migrate`` as a plan the engine runs: every machine of the classic stack, in stack order, in groups of
    at most :data:`~asrctl.recovery.operations.MIGRATION_BATCH` (batches move one after another). Not a file: its
    identity is the stacks and the machines, so a resumed migration refuses a stack whose machines changed."""
    names = [m.name for m in stack.machines]
    groups = tuple(
        Group(name=f"batch-{i + 1}", machines=tuple(names[k:k + MIGRATION_BATCH]))
        for i, k in enumerate(range(0, len(names), MIGRATION_BATCH))
    )
    slug = re.sub(r"[^a-z0-9-]+", "-", stack_name.lower()).strip("-") or "stack"
    plan = Plan(name=f"migrate-{slug}", description=f"move stack {stack_name} to {to_stack} (modernized)",
                groups=groups)
    digest = hashlib.sha256(f"{stack_name}->{to_stack}:{','.join(names)}".encode()).hexdigest()
    return plan.model_copy(update={"path": Path(f"migrate:{stack_name}:{to_stack}"), "sha256": digest})

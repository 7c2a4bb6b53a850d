"""In-process evaluation: the pack's own policy objects run over the mock-mode preview, as the engine would.

This mirrors pulumi_policy's analyzer servicer (``Analyze`` / ``AnalyzeStack``) without a gRPC server: the same
``ResourceValidationArgs`` / ``StackValidationArgs``, props deserialized and wrapped in the unknown-checking
proxy, per-rule config and enforcement levels, ``disabled`` rules skipped, unknown values reported as "not
evaluated" instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asrctl.errors import BadInput
from asrctl.policy.context import PolicyConfig
from asrctl.policy.rule import ENFORCEMENT_LEVELS, Rule

UNKNOWN_MARKER = "[unknown]"  # how asrctl.mockmode shows values not known during preview


@dataclass(frozen=True)
class Violation:
    rule: str
    level: str  # mandatory | advisory
    severity: str
    message: str
    resource: str | None  # logical name; None for a stack-wide violation
    resource_type: str | None
    urn: str | None


@dataclass(frozen=True)
class NotEvaluated:
    rule: str
    urn: str
    reason: str


@dataclass
class PolicyReport:
    stack: str
    rules: tuple[Rule, ...]
    levels: dict[str, str]
    resource_count: int
    violations: list[Violation] = field(default_factory=list)
    not_evaluated: list[NotEvaluated] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "advisory"]

    @property
    def passed(self) -> bool:
        return not self.mandatory


def effective_levels(rules: Sequence[Rule], config: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Rule default < stack/user ``all`` < per-rule entry, as ``--policy-pack-config`` resolves them."""
    everyone = config.get("all", {}).get("enforcementLevel")
    levels = {}
    for rule in rules:
        level = config.get(rule.name, {}).get("enforcementLevel") or everyone or rule.enforcement
        if level not in ENFORCEMENT_LEVELS:
            raise BadInput(f"policy config: {rule.name}: enforcementLevel {level!r} is not one of advisory, mandatory, disabled")
        levels[rule.name] = level
    return levels


def _wire(value: Any) -> Any:
    """Mock-mode values → the engine's wire form, so the proxy raises UnknownValueError on unknowns."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    if isinstance(value, str):
        return UNKNOWN_STRING_VALUE if value == UNKNOWN_MARKER else value
    if isinstance(value, Mapping):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


def _props(raw: Mapping[str, Any]) -> Any:
    from pulumi_policy.deserialize import deserialize_properties
    from pulumi_policy.proxy import unknown_checking_proxy

    return unknown_checking_proxy(deserialize_properties(_wire(dict(raw))))


def _options(resource: Any) -> Any:
    import pulumi_policy as pp

    return pp.PolicyResourceOptions(
        protect=bool(getattr(resource, "protect", False)),
        ignore_changes=list(getattr(resource, "ignore_changes", ()) or ()),
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=pp.PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=getattr(resource, "parent", None),
    )


def _stack_resources(resources: Sequence[Any]) -> list[Any]:
    """PolicyResource objects with parents and dependencies linked, like AnalyzeStack builds them.

    Stack rules in the engine see a resource's outputs; under mocks the outputs echo the inputs plus computed
    values (ids), so known inputs are laid over the outputs.
    """
    import pulumi_policy as pp

    built = []
    for r in resources:
        props = _props({**dict(getattr(r, "outputs", {}) or {}), **dict(r.inputs)})
        built.append(pp.PolicyResource(r.type, props, r.urn, r.name, _options(r), None, None, [], {}))
    by_urn = {b.urn: b for b in built}
    for r, b in zip(resources, built, strict=True):
        b.parent = by_urn.get(getattr(r, "parent", None) or "")
        b.dependencies = [by_urn[d] for d in getattr(r, "dependencies", ()) or () if d in by_urn]
    return built


def evaluate(
    stack: str,
    resources: Sequence[Any],
    config: PolicyConfig,
    rules: Sequence[Rule] | None = None,
    *,
    properties_per_rule: bool = False,
) -> PolicyReport:
    """Run every enabled rule over ``resources`` (objects shaped like ``mockmode.CapturedResource``).

    Each resource's properties are deserialized and wrapped in the unknown-checking proxy once and the same object
    is handed to every resource rule: the proxies are read-only views (rules only read, and a test holds every rule
    to that), so sharing gives what the engine's fresh copy per rule gives at 1/25th of the cost.
    ``properties_per_rule=True`` builds them per rule as the engine does: the reference the shared path is tested
    against, and the benchmark's baseline.
    """
    import pulumi_policy as pp
    from pulumi_policy.policy import _NotApplicableError
    from pulumi_policy.proxy import UnknownValueError

    from asrctl.policy.pack import policies

    rules = tuple(rules) if rules is not None else None
    pairs = policies(rules)
    rule_list = tuple(rule for rule, _ in pairs)
    levels = effective_levels(rule_list, config)
    report = PolicyReport(stack=stack, rules=rule_list, levels=levels, resource_count=len(resources))

    def reporter(rule: Rule, default: Any = None):
        def report_violation(message: str, urn: str | None = None) -> None:
            target = by_urn.get(urn) if urn else default
            report.violations.append(
                Violation(
                    rule=rule.name,
                    level=levels[rule.name],
                    severity=rule.severity,
                    message=message or rule.description,
                    resource=getattr(target, "name", None),
                    resource_type=getattr(target, "type", None),
                    urn=urn or getattr(target, "urn", None),
                )
            )

        return report_violation

    by_urn = {r.urn: r for r in resources}
    stack_resources = None
    checked: list[tuple[Any, Any, Any]] | None = None  # (resource, properties, options) of each custom resource
    for rule, policy in pairs:
        if levels[rule.name] == "disabled":
            continue
        settings = {k: v for k, v in config.get(rule.name, {}).items() if k != "enforcementLevel"}
        if rule.stack:
            stack_resources = stack_resources if stack_resources is not None else _stack_resources(resources)
            targets = [(None, pp.StackValidationArgs(stack_resources, settings))]
        else:
            if checked is None or properties_per_rule:
                checked = [(r, _props(r.inputs), _options(r)) for r in resources if getattr(r, "custom", True)]
            targets = [
                (r, pp.ResourceValidationArgs(r.type, props, r.urn, r.name, options, None, settings))
                for r, props, options in checked
            ]
        for resource, args in targets:
            try:
                policy.validate(args, reporter(rule, resource))
            except UnknownValueError as exc:
                report.not_evaluated.append(NotEvaluated(rule.name, getattr(resource, "urn", "") or "", exc.message))
            except _NotApplicableError:
                continue
    return report

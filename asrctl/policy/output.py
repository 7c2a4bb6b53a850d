"""Three views of a :class:`PolicyReport`: text for people, JSON for scripts, SARIF 2.1.0 for code review tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asrctl import __version__
from asrctl.policy.evaluate import PolicyReport, Violation
from asrctl.project import CONFIG_NAMESPACE, project_dir
from asrctl.yamlfile import LocatedYaml

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"mandatory": "error", "advisory": "warning", "disabled": "none"}

# The stack-file key that governs each rule's resources: where a reviewer fixes a violation.
_CONFIG_KEY = {
    "automation-account-in-vault-subscription": "subscriptionId",
    "cache-storage-account-profile": "cacheStorage",
    "cache-storage-vault-identity-roles": "cacheStorage",
    "storage-shared-key-disabled-with-vault-identity": "cacheStorage",
    "failback-connectivity-present": "failback",
    "failback-resources-tagged-temporary": "failback",
    "nsg-allow-only-asr-ports-from-on-prem": "network",
    "nsg-no-inbound-from-internet": "network",
    "nic-no-public-ip": "network",
    "test-failover-network-isolated": "network",
    "replication-app-consistent-frequency": "replication",
    "replication-multi-vm-sync-only-when-used": "replication",
    "replication-retention-within-bound": "replication",
    "replication-rpo-threshold-within-bound": "replication",
    "replication-not-over-site-to-site-vpn": "failback",
    "required-tags": "tags",
    "vault-immutability-enabled": "policy",
    "protected-items-covered-by-plan": "machines",
}


def _by_resource(report: PolicyReport) -> dict[str, list[Violation]]:
    groups: dict[str, list[Violation]] = {}
    for v in sorted(report.violations, key=lambda v: (v.level != "mandatory", v.resource or "", v.rule)):
        key = f"{v.resource} ({v.resource_type})" if v.resource else "stack"
        groups.setdefault(key, []).append(v)
    return groups


def render_text(report: PolicyReport) -> str:
    rules = {r.name: r for r in report.rules}
    enabled = sum(1 for level in report.levels.values() if level != "disabled")
    lines = [f"Policy check of stack {report.stack}: {enabled} rules over {report.resource_count} resources"]
    for resource, violations in _by_resource(report).items():
        lines.append("")
        lines.append(resource)
        for v in violations:
            lines.append(f"  {v.level:<9}  {v.rule}: {v.message}")
            lines.append(f"  {'':<9}  fix: {rules[v.rule].remediation}")
    if report.not_evaluated:
        lines.append("")
        lines.append(f"Not evaluated ({len(report.not_evaluated)}: values known only after deployment):")
        for n in report.not_evaluated:
            lines.append(f"  {n.rule}: {n.urn.rsplit('::', 1)[-1] or 'stack'}: {n.reason}")
    lines.append("")
    verdict = "FAILED" if report.mandatory else "passed"
    lines.append(
        f"{verdict}: {len(report.mandatory)} mandatory violation(s), {len(report.advisory)} advisory"
    )
    return "\n".join(lines)


def _rule_json(report: PolicyReport) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "description": r.description,
            "enforcementLevel": report.levels[r.name],
            "severity": r.severity,
            "remediation": r.remediation,
            "anchor": r.anchor,
            "url": r.url,
            "stack": r.stack,
        }
        for r in report.rules
    ]


def render_json(report: PolicyReport) -> dict[str, Any]:
    return {
        "stack": report.stack,
        "passed": report.passed,
        "summary": {
            "mandatory": len(report.mandatory),
            "advisory": len(report.advisory),
            "notEvaluated": len(report.not_evaluated),
            "resources": report.resource_count,
            "rules": sum(1 for level in report.levels.values() if level != "disabled"),
        },
        "violations": [
            {
                "rule": v.rule,
                "enforcementLevel": v.level,
                "severity": v.severity,
                "resource": v.resource,
                "type": v.resource_type,
                "urn": v.urn,
                "message": v.message,
            }
            for v in report.violations
        ],
        "notEvaluated": [{"rule": n.rule, "urn": n.urn, "reason": n.reason} for n in report.not_evaluated],
        "rules": _rule_json(report),
    }


def render_sarif(report: PolicyReport, stack_doc: LocatedYaml) -> dict[str, Any]:
    """SARIF 2.1.0: one run, the pack's rules in tool.driver.rules, each violation located in the stack file."""
    try:
        uri = Path(stack_doc.path).resolve().relative_to(project_dir()).as_posix()
    except ValueError:
        uri = Path(stack_doc.path).as_posix()
    index = {r.name: i for i, r in enumerate(report.rules)}
    rules = [
        {
            "id": r.name,
            "name": "".join(part.capitalize() for part in r.name.split("-")),
            "shortDescription": {"text": r.description},
            "fullDescription": {"text": r.description + (f" ({r.anchor})" if r.anchor else "")},
            "help": {"text": r.remediation},
            **({"helpUri": r.url} if r.url else {}),
            "defaultConfiguration": {"level": _SARIF_LEVEL[report.levels[r.name]]},
            "properties": {"tags": list(r.tags), "severity": r.severity, "stackRule": r.stack},
        }
        for r in report.rules
    ]
    results = []
    for v in report.violations:
        key = _CONFIG_KEY.get(v.rule)
        line = stack_doc.line_of(("config", f"{CONFIG_NAMESPACE}:{key}")) if key else 1
        location: dict[str, Any] = {
            "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}},
        }
        if v.urn:
            location["logicalLocations"] = [{"name": v.resource, "fullyQualifiedName": v.urn, "kind": "resource"}]
        results.append(
            {
                "ruleId": v.rule,
                "ruleIndex": index[v.rule],
                "level": _SARIF_LEVEL[v.level],
                "message": {"text": f"{v.resource or 'stack'}: {v.message}"},
                "locations": [location],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "asrctl-policy",
                        "version": __version__,
                        "informationUri": "https://www.pulumi.com/docs/iac/packages-and-automation/crossguard/",
                        "rules": rules,
                    }
                },
                "results": results,
                "invocations": [{"executionSuccessful": True}],
            }
        ],
    }

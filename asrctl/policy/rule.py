"""The rule contract: one frozen :class:`Rule` per module, turned into a CrossGuard policy on demand.

A rule's ``validate(args, report_violation)`` has CrossGuard's signature, so the very same function runs inside
``pulumi preview --policy-pack policy`` and inside ``asrctl policy check``. ``args`` is a
``ResourceValidationArgs`` (resource rules) or ``StackValidationArgs`` (stack rules); rules read stack context only
through :meth:`Rule.setting` (the policy config), never from globals.

Rules filter on the type first and reach into properties only through :func:`dig`, so a missing or mistyped
property never crashes a rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["low", "medium", "high", "critical"]
Enforcement = Literal["advisory", "mandatory", "disabled"]
ENFORCEMENT_LEVELS: tuple[str, ...] = ("advisory", "mandatory", "disabled")

# Resource type tokens the rules look at (azure-native 3.x).
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
VAULT = "azure-native:recoveryservices:Vault"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
NIC = "azure-native:network:NetworkInterface"
VNET = "azure-native:network:VirtualNetwork"
VNET_PEERING = "azure-native:network:VirtualNetworkPeering"
VM = "azure-native:compute:VirtualMachine"
AUTOMATION_ACCOUNT = "azure-native:automation:AutomationAccount"
AUTOMATION_VARIABLE = "azure-native:automation:Variable"
REPLICATION_POLICY = "azure-native:recoveryservices:ReplicationPolicy"
RECOVERY_PLAN = "azure-native:recoveryservices:ReplicationRecoveryPlan"
PROTECTED_ITEM = "azure-native:recoveryservices:ReplicationProtectedItem"
VPN_GATEWAY = "azure-native:network:VirtualNetworkGateway"
LOCAL_GATEWAY = "azure-native:network:LocalNetworkGateway"
GATEWAY_CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection"
ROUTE_TABLE = "azure-native:network:RouteTable"
ROUTE = "azure-native:network:Route"
PUBLIC_IP = "azure-native:network:PublicIPAddress"

ReportViolation = Callable[..., None]

# azure-native types whose Args take `tags` (checked against pulumi-azure-native 3.29). A resource of another
# azure-native type is in scope too as soon as it declares tags.
TAGGABLE = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:storage:StorageAccount",
        "azure-native:recoveryservices:Vault",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:NetworkInterface",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:VirtualNetworkGateway",
        "azure-native:network:LocalNetworkGateway",
        "azure-native:network:VirtualNetworkGatewayConnection",
        "azure-native:network:PublicIPAddress",
        "azure-native:network:RouteTable",
        "azure-native:network:PrivateEndpoint",
        "azure-native:compute:VirtualMachine",
        "azure-native:compute:Disk",
        "azure-native:compute:VirtualMachineExtension",
        "azure-native:automation:AutomationAccount",
        "azure-native:automation:Runbook",
        "azure-native:operationalinsights:Workspace",
        "azure-native:monitor:ScheduledQueryRule",
    }
)


@dataclass(frozen=True)
class Rule:
    """One policy: metadata for people (description, remediation, anchor) and the check itself."""

    name: str
    """kebab-case id, unique in the pack; says what is enforced."""
    description: str
    """One verb-first sentence: "Requires …" / "Prohibits …"."""
    severity: Severity
    enforcement: Enforcement
    """Default enforcement; the stack context and the policy config file may override it."""
    remediation: str
    validate: Callable[[Any, ReportViolation], None]
    stack: bool = False
    """True for stack rules (StackValidationPolicy): they see every resource at once."""
    anchor: str | None = None
    """Azure Policy definition or Checkov id this rule corresponds to, where one exists."""
    url: str | None = None
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON schema of each policy-config property the rule reads, with its ``default``."""
    tags: tuple[str, ...] = ()

    def setting(self, args: Any, key: str) -> Any:
        """A policy-config value: the configured one, else the schema default (None when there is none)."""
        configured = args.get_config() or {}
        if key in configured and configured[key] is not None:
            return configured[key]
        return self.config.get(key, {}).get("default")

    def to_policy(self) -> Any:
        """The CrossGuard policy object for this rule (imports pulumi_policy, hence not at module level)."""
        import pulumi_policy as pp

        common = dict(
            name=self.name,
            description=self.description,
            validate=self.validate,
            enforcement_level=pp.EnforcementLevel(self.enforcement),
            config_schema=pp.PolicyConfigSchema(properties={k: dict(v) for k, v in self.config.items()})
            if self.config
            else None,
            severity=pp.Severity(self.severity),
            remediation_steps=self.remediation,
            url=self.url,
            tags=list(self.tags) or None,
        )
        if self.anchor:
            # The anchor names the equivalent built-in control, so a reviewer can map findings to Azure Policy/Checkov.
            framework = "Azure Policy" if self.anchor.startswith("Azure Policy") else "Checkov"
            common["framework"] = pp.PolicyComplianceFramework(name=framework, reference=self.anchor)
        cls = pp.StackValidationPolicy if self.stack else pp.ResourceValidationPolicy
        return cls(**common)


# ---------------------------------------------------------------------------------------------------------------
# Guarded property access: CrossGuard hands rules Mapping/Sequence proxies, not dicts and lists.


def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    """``obj[p0][p1]…`` or ``default`` when any step is missing or of the wrong kind."""
    for part in path:
        if isinstance(part, int):
            if isinstance(obj, Sequence) and not isinstance(obj, str) and -len(obj) <= part < len(obj):
                obj = obj[part]
            else:
                return default
        elif isinstance(obj, Mapping) and part in obj:
            obj = obj[part]
        else:
            return default
    return default if obj is None else obj


def items(obj: Any, *path: str | int) -> list[Any]:
    """The list at ``path`` (empty when missing or not a list)."""
    value = dig(obj, *path)
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def as_int(value: Any) -> int | None:
    """Numbers arrive as floats from the engine and the mocks; anything else is None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def tag_map(props: Any) -> dict[str, str]:
    tags = dig(props, "tags")
    return {str(k): str(tags[k]) for k in tags} if isinstance(tags, Mapping) else {}


def parent_types(urn: str) -> list[str]:
    """Type tokens of the parents chain encoded in a URN (``…::parentType$childType::name``)."""
    parts = urn.split("::")
    return parts[2].split("$")[:-1] if len(parts) >= 4 else []


def networks(prefixes: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Parse CIDRs, skipping service tags and anything that is not a network."""
    result = []
    for p in prefixes if isinstance(prefixes, Sequence) and not isinstance(prefixes, str) else [prefixes]:
        try:
            result.append(ipaddress.ip_network(str(p), strict=False))
        except ValueError:
            continue
    return result


def is_cache_account(urn: str, name: str) -> bool:
    """The ASR cache storage account: built by the CacheStorage component, or named for it."""
    return any("Cache" in t for t in parent_types(urn)) or "cache" in name.lower()


def is_failback_resource(urn: str, name: str) -> bool:
    """Temporary failback infrastructure: built under a Failback component, or (no component) named for it.

    The name fallback is limited to resources without a parent component, so e.g. the InMage failback
    *replication policy* (permanent, built by the policies component) is not mistaken for temporary infrastructure.
    """
    parents = [t for t in parent_types(urn) if not t.startswith("pulumi:pulumi:Stack")]
    if parents:
        return any("Failback" in t for t in parents)
    return "failback" in name.lower()


def resource_props(resource: Any) -> Any:
    return getattr(resource, "props", {}) or {}

"""What the vault's fabric says about the on-premises side: the infrastructure a reprotect, a re-enable and readiness
need, read with the SDK and turned into typed records (no network here: callers pass the SDK objects).

* **Modernized** (``InMageRcmFabricSpecificDetails``, REFERENCE-modernized §2.4): per appliance — one GUID names
  every component of it — the health and version of its process server, RCM proxy, push installer, replication
  agent, reprotect agent, MARS agent and DRA, and the reprotect agent's ``accessibleDatastores``.
* **Classic** (``VMwareDetails``): process servers (the temporary Azure one among them), master targets with their
  OS, retention volumes and datastores (a Linux VM fails back through a Linux master target, with that master
  target's retention drive and datastore: REFERENCE §5).
* **Container mappings** with their policies' providers: the forward mapping (target ``Microsoft Azure``) and the
  failback one (classic: the InMage policy with the configuration server's container as both primary and recovery
  container; modernized: the InMageRcmFailback policy). A reprotect takes its profile/policy id from that mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from asrctl.recovery.providers.protocol import ApplianceStatus

AZURE_CONTAINER = "Microsoft Azure"
# InMageRcmFabricSpecificDetails component lists → the name asrctl reports them by.
APPLIANCE_COMPONENTS = {
    "process_servers": "process-server",
    "rcm_proxies": "rcm-proxy",
    "push_installers": "push-installer",
    "replication_agents": "replication-agent",
    "reprotect_agents": "reprotect-agent",
    "mars_agents": "mars-agent",
    "dras": "dra",
}
# What an appliance needs registered to replicate at all (the reprotect agent matters only for failback).
REQUIRED_COMPONENTS = ("process-server", "rcm-proxy", "replication-agent", "dra")
HEALTH_LEVELS = ("Normal", "Warning", "Critical")


@dataclass(frozen=True)
class MasterTarget:
    id: str
    name: str
    os: str  # Windows | Linux
    retention_volumes: tuple[str, ...]
    datastores: tuple[str, ...]


@dataclass(frozen=True)
class ProcessServer:
    id: str
    name: str
    ip: str | None
    version: str | None = None  # ProcessServer.agentVersion ("the version of the scout component on the server")


@dataclass(frozen=True)
class MappingInfo:
    name: str
    policy_id: str
    policy_provider: str | None  # the policy's providerSpecificDetails.instanceType
    target: str  # "Microsoft Azure" or a protection container id


@dataclass
class Infrastructure:
    """The registered on-premises side of one fabric, and the container's mappings."""

    fabric_found: bool
    instance_type: str | None = None  # InMageRcm | VMware
    appliances: dict[str, ApplianceStatus] = field(default_factory=dict)  # by appliance name (lower case)
    appliance_ids: dict[str, str] = field(default_factory=dict)  # appliance name (lower) → its GUID
    process_servers: list[ProcessServer] = field(default_factory=list)
    master_targets: list[MasterTarget] = field(default_factory=list)
    mappings: list[MappingInfo] = field(default_factory=list)
    vmware_site_id: str | None = None
    agent_version: str | None = None  # classic: the configuration server's (its agents must run the same version)

    def appliance(self, name: str) -> ApplianceStatus | None:
        return self.appliances.get(name.lower())

    def master_target(self, target_id: str | None) -> MasterTarget | None:
        return next((t for t in self.master_targets if t.id.lower() == (target_id or "").lower()), None)

    def forward_policy_id(self) -> str | None:
        """The policy of the mapping to ``Microsoft Azure`` (PS takes PolicyId from the container mapping)."""
        mapping = next((m for m in self.mappings if m.target == AZURE_CONTAINER
                        and m.policy_provider in (None, "InMageRcm", "InMageAzureV2")), None)  # fmt: skip
        return mapping.policy_id if mapping else None

    def failback_policy_id(self, container_id: str | None) -> str | None:
        """Classic: the InMage policy mapped from the container to itself; modernized: the InMageRcmFailback
        policy's mapping (its target container is not documented, REFERENCE-modernized open point 11)."""
        for m in self.mappings:
            if m.policy_provider == "InMage" and container_id and m.target.lower() == container_id.lower():
                return m.policy_id
            if m.policy_provider == "InMageRcmFailback":
                return m.policy_id
        return None


def read_modernized(fabric: Any, stack_appliances: dict[str, str]) -> Infrastructure:
    """``stack_appliances``: appliance name → role, from the stack's replicationAppliances."""
    custom = fabric.properties.custom_details if fabric is not None and fabric.properties else None
    infra = Infrastructure(fabric_found=fabric is not None, instance_type=getattr(custom, "instance_type", None))
    if custom is None or infra.instance_type != "InMageRcm":
        return infra
    infra.vmware_site_id = custom.vmware_site_id
    seen: dict[str, dict[str, Any]] = {}
    for attribute, kind in APPLIANCE_COMPONENTS.items():
        for component in getattr(custom, attribute, None) or []:
            name = (component.name or "").lower()
            entry = seen.setdefault(name, {"id": component.id, "components": {}, "versions": {}, "datastores": ()})
            health = component.health
            entry["components"][kind] = HEALTH_LEVELS[HEALTH_LEVELS.index(health)] if health in HEALTH_LEVELS \
                else "Warning"  # plain strings (the SDK hands out str enums), and unknown values as Warning
            if component.version:
                entry["versions"][kind] = component.version
            if kind == "reprotect-agent":
                entry["datastores"] = tuple(component.accessible_datastores or ())
    names = dict(stack_appliances) or {n: "replication" for n in seen}
    for name, role in names.items():
        entry = seen.get(name.lower())
        components: dict[str, Any] = dict(entry["components"]) if entry else {}
        if entry:
            for required in REQUIRED_COMPONENTS:
                components.setdefault(required, "Missing")
            infra.appliance_ids[name.lower()] = entry["id"]
        infra.appliances[name.lower()] = ApplianceStatus(
            name=name, registered=entry is not None, role=role, components=components,
            versions=dict(entry["versions"]) if entry else {},
            reprotect_agent=entry is not None and "reprotect-agent" in entry["components"],
            datastores=entry["datastores"] if entry else (),
        )
    return infra


def read_classic(fabric: Any) -> Infrastructure:
    custom = fabric.properties.custom_details if fabric is not None and fabric.properties else None
    infra = Infrastructure(fabric_found=fabric is not None, instance_type=getattr(custom, "instance_type", None))
    if custom is None or infra.instance_type != "VMware":
        return infra
    infra.agent_version = custom.agent_version
    infra.process_servers = [ProcessServer(p.id or "", p.friendly_name or "", p.ip_address, p.agent_version)
                             for p in custom.process_servers or []]  # fmt: skip
    infra.master_targets = [
        MasterTarget(
            id=t.id or "", name=t.name or "", os=t.os_type or "Windows",
            retention_volumes=tuple(v.volume_name for v in t.retention_volumes or [] if v.volume_name),
            datastores=tuple(d.symbolic_name for d in t.data_stores or [] if d.symbolic_name),
        )
        for t in custom.master_target_servers or []
    ]
    return infra


def read_mappings(mappings: list[Any], policies: list[Any]) -> list[MappingInfo]:
    kinds = {}
    for policy in policies:
        details = policy.properties.provider_specific_details if policy.properties else None
        kinds[(policy.id or "").lower()] = getattr(details, "instance_type", None)
    out = []
    for mapping in mappings:
        props = mapping.properties
        if props is None or not props.policy_id:
            continue
        out.append(MappingInfo(mapping.name or "", props.policy_id, kinds.get(props.policy_id.lower()),
                               props.target_protection_container_id or ""))
    return out


def version_digits(text: str) -> tuple[int, ...]:
    """A component version as ASR reports it (it may carry a build suffix): its numbers, in order."""
    return tuple(int(p) for p in re.findall(r"\d+", text))


def lowest_version(versions: list[str | None]) -> str | None:
    """The oldest of several components' versions (the one a minimum version requirement is about)."""
    known = [v for v in versions if v]
    return min(known, key=version_digits) if known else None

"""ASR's fixed names and the keyword form every vault child resource is created with (shared by both architectures),
and what both architectures' phase-2 protection does alike: its args, the registered protection container, its
forward container mapping to Azure, and the protected items (created with the architecture's provider input).

The typed ``*Args`` classes of the ``Replication*`` resources cannot be used: their ``resource_name`` field (the
vault) collides with the constructor's own ``resource_name`` (the Pulumi logical name), which is why the keyword
form spells the vault ``resource_name_`` (REFERENCE.md §2). The nested inputs stay typed ``*Args``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import recoveryservices as rs

#: ASR's fixed name of the Azure side: the target of a forward container mapping and a recovery plan's recovery
#: fabric (a literal string, not an ARM id; PSrec TestV2ARCMContainerMapping, CLI test_site_recovery).
AZURE_CONTAINER = "Microsoft Azure"
AZURE_FABRIC = "Microsoft Azure"
#: Enable-protection input fields ARM does not echo back in that shape (it returns the replication details
#: instead). A diff there must never re-enable protection (= a full initial replication of every disk).
PROTECTED_ITEM_IGNORE_CHANGES = ("properties.providerSpecificDetails", "properties.protectableItemId")


def vault_child_kwargs(vault_name: pulumi.Input[str], resource_group_name: pulumi.Input[str], **fields: Any) -> dict[str, Any]:
    """Keyword arguments of a ``recoveryservices.Replication*`` resource: the vault as ``resource_name_``."""
    return {"resource_name_": vault_name, "resource_group_name": resource_group_name, **fields}


def container_id(vault_id: pulumi.Input[str], fabric_name: str, protection_container_name: str) -> pulumi.Output[str]:
    """ARM id of a protection container: a child of the vault's fabric."""
    return pulumi.Output.concat(
        vault_id, "/replicationFabrics/", fabric_name, "/replicationProtectionContainers/", protection_container_name
    )


@dataclass(frozen=True, kw_only=True)
class ProtectionArgsBase:
    """What both architectures' phase-2 protection takes: the vault, the forward policy, the cache account and where
    failed-over VMs land (the args of ``Protection`` and ``RcmProtection`` extend it)."""

    vault_name: pulumi.Input[str]
    """Required. Recovery Services vault name."""
    vault_id: pulumi.Input[str]
    """Required. ARM id of the vault (the fabric and container ids are children of it)."""
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    replication_policy_id: pulumi.Input[str]
    """Required. ARM id of the forward replication policy (InMageAzureV2, InMageRcm) the container mapping
    associates."""
    cache_storage_account_id: pulumi.Input[str]
    """Required. ARM id of the cache storage account: the log storage account of every replicated disk."""
    target_resource_group_id: pulumi.Input[str]
    """Required. ARM id of the resource group failed-over VMs are created in."""
    target_network_id: pulumi.Input[str]
    """Required. ARM id of the recovery VNet."""
    disk_type: str
    """Required. Managed disk type of the replicas (Standard_LRS, StandardSSD_LRS, Premium_LRS)."""
    mapping_name: str = "asr-container-mapping-azure"
    """Optional. Name of the forward container mapping. Default asr-container-mapping-azure."""


@dataclass(frozen=True)
class RegisteredContainer:
    """The protection container ASR created when the on-prem servers registered (never created by asrctl): where
    the container mappings and the protected items live."""

    vault_name: pulumi.Input[str]
    """Required. Recovery Services vault name."""
    vault_id: pulumi.Input[str]
    """Required. ARM id of the vault (the fabric and container ids are children of it)."""
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    fabric_name: str
    """Required. The fabric the registration created (registration.fabricName)."""
    protection_container_name: str
    """Required. Its protection container (registration.protectionContainerName)."""

    @property
    def id(self) -> pulumi.Output[str]:
        return container_id(self.vault_id, self.fabric_name, self.protection_container_name)

    def child_kwargs(self, **fields: Any) -> dict[str, Any]:
        """Keyword arguments of a resource inside the container (a mapping, a protected item)."""
        return vault_child_kwargs(
            self.vault_name,
            self.resource_group_name,
            fabric_name=self.fabric_name,
            protection_container_name=self.protection_container_name,
            **fields,
        )


def forward_container_mapping(
    name: str, container: RegisteredContainer, mapping_name: str, policy_id: pulumi.Input[str], parent: pulumi.Resource
) -> rs.ReplicationProtectionContainerMapping:
    """``{name}-container-mapping``: the forward replication policy associated with the container, target Azure;
    ``protect``ed like every mapping and protected item."""
    return rs.ReplicationProtectionContainerMapping(
        f"{name}-container-mapping",
        **container.child_kwargs(
            mapping_name=mapping_name,
            properties=rs.CreateProtectionContainerMappingInputPropertiesArgs(
                policy_id=policy_id,
                target_protection_container_id=AZURE_CONTAINER,
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, protect=True),
    )


def protected_item(
    name: str,
    container: RegisteredContainer,
    machine_name: str,
    properties: rs.EnableProtectionInputPropertiesArgs,
    mapping: rs.ReplicationProtectionContainerMapping,
    parent: pulumi.Resource,
) -> rs.ReplicationProtectedItem:
    """``{name}-item-{machine_name}``: one machine's protected item in the container (enable protection with the
    architecture's typed provider input in ``properties``); never deleted by accident, never re-enabled for a
    field ARM rewrites."""
    return rs.ReplicationProtectedItem(
        f"{name}-item-{machine_name}",
        **container.child_kwargs(replicated_protected_item_name=machine_name, properties=properties),
        opts=pulumi.ResourceOptions(
            parent=parent,
            protect=True,
            ignore_changes=list(PROTECTED_ITEM_IGNORE_CHANGES),
            # Enable protection needs the policy associated with the container first.
            depends_on=[mapping],
        ),
    )

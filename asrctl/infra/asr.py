"""ASR's fixed names and the keyword form every vault child resource is created with (shared by both architectures).

The typed ``*Args`` classes of the ``Replication*`` resources cannot be used: their ``resource_name`` field (the
vault) collides with the constructor's own ``resource_name`` (the Pulumi logical name), which is why the keyword
form spells the vault ``resource_name_`` (REFERENCE.md §2). The nested inputs stay typed ``*Args``.
"""

from __future__ import annotations

from typing import Any

import pulumi

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

"""The resource group that holds every Azure resource of one DR site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import resources


@dataclass(frozen=True)
class DrResourceGroupArgs:
    name: str
    """Required. Azure name of the resource group (CAF ``rg-`` prefix, see :mod:`asrctl.infra.naming`)."""
    location: str
    """Required. Azure region of the vault and of everything in the group, e.g. westeurope."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Optional. Tags applied to the group. Default none."""


class DrResourceGroup(pulumi.ComponentResource):
    """One resource group per DR site; deleting it would delete the vault, so it inherits the vault's care."""

    name: pulumi.Output[str]
    """Azure name of the group; every other building block deploys into it."""
    location: pulumi.Output[str]
    """Region of the group; the cache storage account and networks must match the vault's region."""
    id: pulumi.Output[str]
    """ARM id of the group; consumed by protected items as the target resource group of failed-over VMs."""

    def __init__(self, name: str, args: DrResourceGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:DrResourceGroup", name, None, opts)
        group = resources.ResourceGroup(
            f"{name}-rg",
            resources.ResourceGroupArgs(resource_group_name=args.name, location=args.location, tags=dict(args.tags)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = group.name
        self.location = group.location
        self.id = group.id
        self.register_outputs({"name": self.name, "location": self.location, "id": self.id})

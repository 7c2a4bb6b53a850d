"""The cache storage account: where the process server uploads replication logs before ASR processes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import storage


@dataclass(frozen=True)
class CacheStorageArgs:
    name: str
    """Required. Azure name of the account (CAF ``st`` prefix, 3-24 lowercase letters and digits)."""
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    location: pulumi.Input[str]
    """Required. Region of the vault: ASR only accepts a cache account in the vault's region."""
    sku: str = "Standard_LRS"
    """Optional. Standard general purpose v2 SKU (ASR rejects premium cache accounts). Default Standard_LRS."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Optional. Tags of the account. Default none."""


class CacheStorage(pulumi.ComponentResource):
    """A StorageV2 account with secure defaults: HTTPS only, TLS 1.2 minimum, no public blob access, no
    cross-tenant replication. Shared-key access stays on because the classic process server authenticates with
    the account key that ASR hands it."""

    name: pulumi.Output[str]
    """Azure name of the account."""
    id: pulumi.Output[str]
    """ARM id of the account; protected items pass it as the (log) storage account id."""

    def __init__(self, name: str, args: CacheStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:CacheStorage", name, None, opts)
        account = storage.StorageAccount(
            f"{name}-st",
            storage.StorageAccountArgs(
                account_name=args.name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                kind=storage.Kind.STORAGE_V2,
                sku=storage.SkuArgs(name=args.sku),
                access_tier=storage.AccessTier.HOT,
                enable_https_traffic_only=True,
                minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
                allow_blob_public_access=False,
                allow_cross_tenant_replication=False,
                tags=dict(args.tags),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = account.name
        self.id = account.id
        self.register_outputs({"name": self.name, "id": self.id})

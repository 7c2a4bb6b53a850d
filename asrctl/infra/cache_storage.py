"""The cache storage account: where the process server uploads replication logs before ASR processes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, storage

# Built-in role ids (identical in every tenant). Microsoft's guidance for a vault with a managed identity grants it
# both on Resource Manager storage accounts that ASR writes to: Contributor for the account itself, Storage Blob
# Data Contributor for the blobs once shared-key access is off.
CONTRIBUTOR_ROLE = "b24988ac-6180-42a0-ab88-20f7382dd24c"
STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


@dataclass(frozen=True)
class CacheStorageArgs:
    name: str
    """Required. Azure name of the account (CAF ``st`` prefix, 3-24 lowercase letters and digits)."""
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    location: pulumi.Input[str]
    """Required. Region of the vault: ASR only accepts a cache account in the vault's region."""
    subscription_id: str
    """Required. Subscription of the vault: role definition ids are subscription-scoped."""
    vault_principal_id: pulumi.Input[str]
    """Required. Object id of the vault's system-assigned identity: ASR reaches the account with it, not a key."""
    sku: str = "Standard_LRS"
    """Optional. Standard general purpose v2 SKU (ASR rejects premium cache accounts). Default Standard_LRS."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Optional. Tags of the account. Default none."""


class CacheStorage(pulumi.ComponentResource):
    """A StorageV2 account with secure defaults: HTTPS only, TLS 1.2 minimum, no public blob access, no
    cross-tenant replication, and no shared-key access: the vault's managed identity holds the two roles ASR needs
    on the account, so the account key is an unaudited credential nobody should use."""

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
                allow_shared_key_access=False,
                tags=dict(args.tags),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # From config, not from the account's id: a known value at preview time lets policy packs check the roles
        # before the account exists.
        subscription = f"/subscriptions/{args.subscription_id}"
        for suffix, role in (("contributor", CONTRIBUTOR_ROLE), ("blob-data", STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE)):
            authorization.RoleAssignment(
                f"{name}-vault-{suffix}",
                authorization.RoleAssignmentArgs(
                    scope=account.id,
                    principal_id=args.vault_principal_id,
                    # Set explicitly: ARM otherwise looks the principal up in Entra ID, which can lag behind a
                    # freshly created vault identity and fail the assignment.
                    principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                    role_definition_id=f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}",
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.name = account.name
        self.id = account.id
        self.register_outputs({"name": self.name, "id": self.id})

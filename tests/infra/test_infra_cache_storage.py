"""The cache storage account: StorageV2, SKU from config, HTTPS/TLS 1.2/no public blobs, vault's region."""

from __future__ import annotations

import pytest
from infra_previews import one, preview

from asrctl.config import load_stack

ACCOUNT = "azure-native:storage:StorageAccount"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cache_account_security_settings(stack: str) -> None:
    result = preview(stack)
    account = next(r for r in result.of_type(ACCOUNT) if r.name.endswith("-cache-st"))
    given = account.inputs
    assert given["kind"] == "StorageV2", account.urn
    assert given["sku"]["name"] == load_stack(stack).cache_storage.sku, account.urn
    assert given["enableHttpsTrafficOnly"] is True, account.urn
    assert given["minimumTlsVersion"] == "TLS1_2", account.urn
    assert given["allowBlobPublicAccess"] is False, account.urn
    assert given["allowSharedKeyAccess"] is False, account.urn


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_vault_identity_holds_the_roles_asr_needs_on_the_cache_account(stack: str) -> None:
    """With shared keys off, ASR can only reach the account through the vault's identity: both roles must exist,
    scoped to this account, for that identity, with subscription-scoped role definition ids."""
    result = preview(stack)
    account = next(r for r in result.of_type(ACCOUNT) if r.name.endswith("-cache-st"))
    vault = one(result, "azure-native:recoveryservices:Vault")
    assignments = result.of_type("azure-native:authorization:RoleAssignment")
    subscription = account.outputs["id"].split("/resourceGroups/")[0]
    roles = {a.inputs["roleDefinitionId"] for a in assignments if a.inputs["scope"] == account.outputs["id"]}
    assert roles == {
        f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    }
    for a in assignments:
        assert a.inputs["principalId"] == vault.outputs["identity"]["principalId"], a.urn
        assert a.inputs["principalType"] == "ServicePrincipal", a.urn


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cache_account_is_in_the_vault_region_and_named_by_rule(stack: str) -> None:
    result = preview(stack)
    account = next(r for r in result.of_type(ACCOUNT) if r.name.endswith("-cache-st"))
    vault = one(result, "azure-native:recoveryservices:Vault")
    assert account.inputs["location"] == vault.inputs["location"], account.urn
    assert vault.urn in account.dependencies, f"{account.urn} takes its location from the vault"
    assert account.inputs["accountName"] == f"stasrcache{stack}weu", account.urn
    assert account.outputs["id"].endswith(f"/providers/Microsoft.Storage/storageAccounts/stasrcache{stack}weu")

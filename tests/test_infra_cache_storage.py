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


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cache_account_is_in_the_vault_region_and_named_by_rule(stack: str) -> None:
    result = preview(stack)
    account = next(r for r in result.of_type(ACCOUNT) if r.name.endswith("-cache-st"))
    vault = one(result, "azure-native:recoveryservices:Vault")
    assert account.inputs["location"] == vault.inputs["location"], account.urn
    assert vault.urn in account.dependencies, f"{account.urn} takes its location from the vault"
    assert account.inputs["accountName"] == f"stasrcache{stack}weu", account.urn
    assert account.outputs["id"].endswith(f"/providers/Microsoft.Storage/storageAccounts/stasrcache{stack}weu")

"""The Recovery Services vault and the resource group: secure defaults, protection, names."""

from __future__ import annotations

import pytest
from infra_previews import one, preview

VAULT = "azure-native:recoveryservices:Vault"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_vault_has_soft_delete_identity_and_monitor_alerts(stack: str) -> None:
    vault = one(preview(stack), VAULT)
    props = vault.inputs["properties"]
    soft_delete = props["securitySettings"]["softDeleteSettings"]
    assert soft_delete["softDeleteState"] == "Enabled", vault.urn
    assert soft_delete["softDeleteRetentionPeriodInDays"] >= 14, vault.urn
    assert vault.inputs["identity"]["type"] == "SystemAssigned", vault.urn
    alerts = props["monitoringSettings"]["azureMonitorAlertSettings"]
    assert alerts["alertsForAllReplicationIssues"] == "Enabled", vault.urn
    assert alerts["alertsForAllFailoverIssues"] == "Enabled", vault.urn
    assert vault.inputs["sku"]["name"] == "Standard", vault.urn
    # the mock computes the identity Azure would assign; role assignments consume its principal id
    assert len(vault.outputs["identity"]["principalId"]) == 36, vault.urn


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_vault_is_protected_and_a_child_of_its_component(stack: str) -> None:
    result = preview(stack)
    vault = one(result, VAULT)
    assert vault.protect is True, f"{vault.urn} must be protected: deleting it drops every replicated item"
    component = result.by_urn(vault.parent)
    assert component.type == "asrctl:dr:RecoveryVault" and component.custom is False, vault.urn
    assert vault.name.startswith(component.name + "-"), f"{vault.urn}: child names derive from the component"


def test_vault_and_group_are_named_by_caf_rule_in_the_stack_region() -> None:
    result = preview("dev")
    vault = one(result, VAULT)
    group = one(result, "azure-native:resources:ResourceGroup")
    assert vault.inputs["vaultName"] == "rsv-asr-dev-weu", vault.urn
    assert group.inputs["resourceGroupName"] == "rg-asr-dev-weu", group.urn
    assert vault.inputs["location"] == group.inputs["location"] == "westeurope", vault.urn
    assert vault.inputs["resourceGroupName"] == "rg-asr-dev-weu", vault.urn
    assert group.urn in vault.dependencies, f"{vault.urn} must depend on its resource group"


def test_every_azure_resource_is_tagged_with_owner_and_environment() -> None:
    result = preview("dev")
    for r in result.resources:
        if r.custom and r.type.startswith("azure-native:") and "tags" in r.inputs:
            assert r.inputs["tags"]["environment"] == "dev", r.urn
            assert r.inputs["tags"]["owner"] == "dr-team@contoso.com", r.urn


def test_immutability_follows_the_policy_setting() -> None:
    vault = one(preview("dev"), VAULT)
    # dev: policy.requireImmutability false → immutability stays off (Locked would be irreversible).
    assert vault.inputs["properties"]["securitySettings"]["immutabilitySettings"]["state"] == "Disabled", vault.urn

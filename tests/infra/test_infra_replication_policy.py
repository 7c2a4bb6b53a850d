"""Replication (InMageAzureV2) and failback (InMage) policies carry the stack's replication settings."""

from __future__ import annotations

import pytest
from infra_previews import one, preview

from asrctl.config import load_stack

POLICY = "azure-native:recoveryservices:ReplicationPolicy"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_forward_policy_values_come_from_config(stack: str) -> None:
    cfg = load_stack(stack).replication
    policy = one(preview(stack), POLICY, "-replication")
    given = policy.inputs["properties"]["providerSpecificInput"]
    assert given["instanceType"] == "InMageAzureV2", policy.urn
    assert given["recoveryPointThresholdInMinutes"] == cfg.rpo_threshold_minutes, policy.urn
    assert given["recoveryPointHistory"] == cfg.recovery_point_retention_hours * 60, policy.urn
    assert given["appConsistentFrequencyInMinutes"] == cfg.app_consistent_frequency_minutes, policy.urn
    assert given["crashConsistentFrequencyInMinutes"] == 5, policy.urn
    assert given["multiVmSyncStatus"] == ("Enable" if cfg.multi_vm_sync else "Disable"), policy.urn
    # Numbers travel as doubles through protobuf; the harness must hand back ints.
    assert isinstance(given["recoveryPointHistory"], int), policy.urn


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_failback_policy_mirrors_the_forward_policy(stack: str) -> None:
    result = preview(stack)
    forward = one(result, POLICY, "-replication").inputs["properties"]["providerSpecificInput"]
    failback_res = one(result, POLICY, "-failback")
    failback = failback_res.inputs["properties"]["providerSpecificInput"]
    assert failback["instanceType"] == "InMage", failback_res.urn
    for key in ("recoveryPointThresholdInMinutes", "recoveryPointHistory", "appConsistentFrequencyInMinutes"):
        assert failback[key] == forward[key], f"{failback_res.urn}: {key}"
    assert "crashConsistentFrequencyInMinutes" not in failback, failback_res.urn


def test_policies_name_their_vault_through_resource_name() -> None:
    result = preview("prod")
    vault = one(result, "azure-native:recoveryservices:Vault")
    for policy in result.of_type(POLICY):
        assert policy.inputs["resourceName"] == vault.inputs["vaultName"], policy.urn
        assert policy.inputs["resourceGroupName"] == vault.inputs["resourceGroupName"], policy.urn
        assert vault.urn in policy.dependencies, f"{policy.urn} must wait for the vault"
        assert policy.outputs["id"].startswith(vault.outputs["id"] + "/replicationPolicies/"), policy.urn

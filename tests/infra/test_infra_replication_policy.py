"""Replication and failback policies carry the stack's replication settings: InMageRcm / InMageRcmFailback on the
modernized stacks (dev, prod), InMageAzureV2 / InMage on the classic one (legacy)."""

from __future__ import annotations

import pytest
from infra_previews import one, preview

from asrctl.config import load_stack

POLICY = "azure-native:recoveryservices:ReplicationPolicy"


@pytest.mark.parametrize("stack", ["legacy"])
def test_classic_forward_policy_values_come_from_config(stack: str) -> None:
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


@pytest.mark.parametrize("stack", ["legacy"])
def test_classic_failback_policy_mirrors_the_forward_policy(stack: str) -> None:
    result = preview(stack)
    forward = one(result, POLICY, "-replication").inputs["properties"]["providerSpecificInput"]
    failback_res = one(result, POLICY, "-failback")
    failback = failback_res.inputs["properties"]["providerSpecificInput"]
    assert failback["instanceType"] == "InMage", failback_res.urn
    for key in ("recoveryPointThresholdInMinutes", "recoveryPointHistory", "appConsistentFrequencyInMinutes"):
        assert failback[key] == forward[key], f"{failback_res.urn}: {key}"
    assert "crashConsistentFrequencyInMinutes" not in failback, failback_res.urn


@pytest.mark.parametrize("stack", ["prod", "legacy"])
def test_policies_name_their_vault_through_resource_name(stack: str) -> None:
    result = preview(stack)
    vault = one(result, "azure-native:recoveryservices:Vault")
    for policy in result.of_type(POLICY):
        assert policy.inputs["resourceName"] == vault.inputs["vaultName"], policy.urn
        assert policy.inputs["resourceGroupName"] == vault.inputs["resourceGroupName"], policy.urn
        assert vault.urn in policy.dependencies, f"{policy.urn} must wait for the vault"
        assert policy.outputs["id"].startswith(vault.outputs["id"] + "/replicationPolicies/"), policy.urn


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_modernized_forward_policy_is_inmagercm_with_the_documented_inputs(stack: str) -> None:
    cfg = load_stack(stack).replication
    policy = one(preview(stack), POLICY, "-replication")
    given = policy.inputs["properties"]["providerSpecificInput"]
    # Exactly what InMageRcmPolicyCreationInput takes: history in minutes, crash fixed at 5, the multi-VM flag as a
    # string, and no classic field (InMageRcm has no RPO threshold: the alert carries it).
    assert given == {
        "instanceType": "InMageRcm",
        "recoveryPointHistoryInMinutes": cfg.recovery_point_retention_hours * 60,
        "crashConsistentFrequencyInMinutes": 5,
        "appConsistentFrequencyInMinutes": cfg.app_consistent_frequency_minutes,
        "enableMultiVmSync": "true" if cfg.multi_vm_sync else "false",
    }, policy.urn
    assert isinstance(given["enableMultiVmSync"], str)
    assert policy.inputs["policyName"] == f"pol-asr-replication-{stack}-weu"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_modernized_failback_policy_is_inmagercmfailback(stack: str) -> None:
    cfg = load_stack(stack).replication
    result = preview(stack)
    failback = one(result, POLICY, "-failback")
    assert failback.inputs["properties"]["providerSpecificInput"] == {
        "instanceType": "InMageRcmFailback",
        "crashConsistentFrequencyInMinutes": 5,
        "appConsistentFrequencyInMinutes": cfg.app_consistent_frequency_minutes,
    }
    forward = one(result, POLICY, "-replication")
    assert forward.urn in failback.dependencies  # ASR serialises policy writes per vault
    assert result.outputs["failback_policy_id"] == failback.outputs["id"]


def test_rcm_policy_component_refuses_what_asr_rejects() -> None:
    from asrctl.infra.modernized.replication_policy import RcmReplicationPoliciesArgs

    base = dict(vault_name="v", resource_group_name="g", replication_policy_name="p", failback_policy_name="f")
    assert RcmReplicationPoliciesArgs(**base, recovery_point_history_minutes=0, app_consistent_frequency_minutes=0)
    for history, app in ((21601, 60), (60, 30), (60, 120), (4320, 721)):
        with pytest.raises(ValueError):
            RcmReplicationPoliciesArgs(**base, recovery_point_history_minutes=history, app_consistent_frequency_minutes=app)
    with pytest.raises(ValueError, match="fixed at 5"):
        RcmReplicationPoliciesArgs(**base, recovery_point_history_minutes=60, app_consistent_frequency_minutes=0,
                                   crash_consistent_frequency_minutes=10)

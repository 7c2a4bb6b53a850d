"""Plan operations → ASR SDK inputs (directions, recovery point types, network ids) and ASR states → asrctl's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.mgmt.recoveryservicessiterecovery import models as m

from asrctl.config import load_stack
from asrctl.errors import BadInput
from asrctl.recovery.providers.azure.asr import (
    client_request_id,
    machine_state,
    operation_request,
    pick_recovery_point,
    recovery_plan_context,
    stack_azure_ids,
)
from asrctl.recovery.providers.protocol import OperationRejected


@pytest.fixture
def prod():
    cfg = load_stack("legacy")
    return cfg, stack_azure_ids(cfg)


def wire(model) -> dict:
    return model.as_dict() if model is not None else None


def test_names_follow_the_pulumi_program(prod):
    cfg, ids = prod
    assert ids.resource_group == "rg-asr-legacy-weu" and ids.vault == "rsv-asr-legacy-weu"
    assert ids.test_network_id == (
        f"/subscriptions/{cfg.subscription_id}/resourceGroups/rg-asr-legacy-weu/providers/Microsoft.Network/"
        "virtualNetworks/vnet-asr-test-legacy-weu"
    )
    assert ids.failback_policy_id.endswith("/vaults/rsv-asr-legacy-weu/replicationPolicies/pol-asr-failback-legacy-weu")


def test_test_failover_goes_to_the_isolated_test_network(prod):
    cfg, ids = prod
    action, body = operation_request("test-failover", cfg, ids, direction="primary-to-recovery")
    props = wire(body)["properties"]
    assert action == "testFailover"
    assert props["networkType"] == "VmNetworkAsInput" and props["networkId"] == ids.test_network_id
    assert props["failoverDirection"] == "PrimaryToRecovery"
    assert props["providerSpecificDetails"] == {"instanceType": "InMageAzureV2"}  # latest: no point id


@pytest.mark.parametrize(
    ("operation", "source_site"), [("planned-failover", "Required"), ("unplanned-failover", "NotRequired")]
)
def test_planned_is_unplanned_with_source_shutdown_for_vmware(prod, operation, source_site):
    cfg, ids = prod
    action, body = operation_request(operation, cfg, ids, direction="primary-to-recovery", recovery_point_id="rp-1")
    props = wire(body)["properties"]
    assert action == "unplannedFailover" and props["sourceSiteOperations"] == source_site
    assert props["providerSpecificDetails"] == {"instanceType": "InMageAzureV2", "recoveryPointId": "rp-1"}


@pytest.mark.parametrize(("point_type", "asr"), [("latest", "LatestTime"), ("latest-app-consistent", "LatestTag")])
def test_failback_is_recovery_to_primary_with_inmage_point_type(prod, point_type, asr):
    cfg, ids = prod
    action, body = operation_request(
        "failback", cfg, ids, direction="recovery-to-primary", recovery_point_type=point_type
    )
    props = wire(body)["properties"]
    assert action == "unplannedFailover" and props["failoverDirection"] == "RecoveryToPrimary"
    assert props["providerSpecificDetails"] == {"instanceType": "InMage", "recoveryPointType": asr}


def test_commit_has_no_body_and_bad_direction_is_bad_input(prod):
    cfg, ids = prod
    assert operation_request("commit", cfg, ids, direction="primary-to-recovery") == ("failoverCommit", None)
    with pytest.raises(BadInput, match="direction"):
        operation_request("commit", cfg, ids, direction="sideways")


def test_reprotect_needs_registration_and_failback_settings():
    dev = load_stack("dev")  # phase 1: no registration, failback disabled
    with pytest.raises(BadInput, match="registration"):
        operation_request("reprotect", dev, stack_azure_ids(dev), direction="recovery-to-primary")


def point(name: str, kind: str, minutes_ago: int) -> m.RecoveryPoint:
    t = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return m.RecoveryPoint(
        id=name, properties=m.RecoveryPointProperties(recovery_point_time=t, recovery_point_type=kind)
    )


def test_recovery_point_types_pick_the_newest_point_of_their_kind():
    points = [
        point("app-old", "ApplicationConsistent", 300),
        point("app-new", "ApplicationConsistent", 60),
        point("crash-new", "CrashConsistent", 2),
        point("crash-old", "CrashConsistent", 7),
    ]
    assert pick_recovery_point(points, "latest") is None
    assert pick_recovery_point(points, "latest-processed") == "crash-new"
    assert pick_recovery_point(points, "latest-app-consistent") == "app-new"
    assert pick_recovery_point(points, "latest-crash-consistent") == "crash-new"
    with pytest.raises(OperationRejected):
        pick_recovery_point(points[2:], "latest-app-consistent")


def props(**kw) -> m.ReplicationProtectedItemProperties:
    details = kw.pop("details", m.InMageAzureV2ReplicationDetails())
    return m.ReplicationProtectedItemProperties(provider_specific_details=details, **kw)


def test_asr_item_states_map_onto_asrctl_states():
    inmage = m.InMageReplicationDetails()
    cases = [
        (props(protection_state="Protected", active_location="Primary", allowed_operations=["TestFailover"]),
         "protected"),
        (props(test_failover_state="TestFailoverCompleted", allowed_operations=["TestFailoverCleanup"]),
         "test-failed-over"),
        (props(protection_state="UnplannedFailoverCompleted", active_location="Recovery", allowed_operations=["Commit"]),
         "failed-over"),
        (props(protection_state="UnplannedFailoverCommitted", active_location="Recovery",
               allowed_operations=["ReverseReplicate"]), "committed"),
        (props(protection_state="Protected", active_location="Recovery", details=inmage), "reprotected"),
        (props(protection_state="UnplannedFailoverCommitted", active_location="Primary", details=inmage),
         "failed-back"),
    ]  # fmt: skip
    assert [machine_state(p) for p, _ in cases] == [expected for _, expected in cases]


def test_request_ids_are_stable_guids_and_context_has_asr_shape(prod):
    _, ids = prod
    assert client_request_id("run-1/a") == client_request_id("run-1/a") != client_request_id("run-2/a")
    assert len(client_request_id("x")) == 36
    ctx = recovery_plan_context(
        {"plan": "erp", "operation": "failback", "direction": "recovery-to-primary", "group": "db",
         "machines": [{"name": "erp-sql01", "recovery_ip": "10.70.1.11"}]}, ids,
    )  # fmt: skip
    assert ctx["FailoverType"] == "Unplanned" and ctx["FailoverDirection"] == "SecondaryToPrimary"
    assert ctx["VmMap"]["erp-sql01"]["ResourceGroupName"] == "rg-asr-legacy-weu"
    assert ctx["VmMap"]["erp-sql01"]["IPAddress"] == "10.70.1.11"

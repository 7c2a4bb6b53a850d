"""The pure mappings: ASR's item fields → asrctl's machine state (every row of the state table), job scenarios →
operations, and every request body per operation, architecture and target validated with the SDK's own models
(the stand-in's validator) — no network."""

from __future__ import annotations

import pytest
from azure.mgmt.recoveryservicessiterecovery import models as m
from standin.asr import ITEM_BODIES, PLAN_BODIES
from standin.validation import validate

from asrctl.config import load_stack_file
from asrctl.recovery.operations import OPERATIONS
from asrctl.recovery.providers.azure.asr import ITEM_STATES, machine_state, operation_of_scenario, stack_azure_ids
from asrctl.recovery.providers.azure.inputs import (
    ClassicReenable,
    ClassicReprotect,
    ModernizedReenable,
    ModernizedReprotect,
    item_request,
    plan_request,
)


def props(provider: str, protection: str, location: str = "Primary", allowed: tuple[str, ...] = (),
          tfo: str = "None") -> m.ReplicationProtectedItemProperties:  # fmt: skip
    details = {"InMageRcm": m.InMageRcmReplicationDetails, "InMageRcmFailback": m.InMageRcmFailbackReplicationDetails,
               "InMageAzureV2": m.InMageAzureV2ReplicationDetails, "InMage": m.InMageReplicationDetails}[provider]()
    return m.ReplicationProtectedItemProperties(protection_state=protection, active_location=location,
                                                allowed_operations=list(allowed), test_failover_state=tfo,
                                                provider_specific_details=details)  # fmt: skip


@pytest.mark.parametrize("row", ITEM_STATES, ids=lambda r: f"{r.provider}-{r.protection_state}")
def test_every_state_row_maps_and_names_its_source(row):
    assert row.source
    assert machine_state(props(row.provider, row.protection_state)) == row.state


def test_marked_for_deletion_after_a_cleanup_is_protected_not_test_failed_over():
    after_cleanup = props("InMageAzureV2", "Protected", allowed=("TestFailover", "UnplannedFailover",
                                                                 "DisableProtection"), tfo="MarkedForDeletion")
    assert machine_state(after_cleanup) == "protected"
    up = props("InMageRcm", "Protected", allowed=("TestFailoverCleanup",), tfo="WaitingForCompletion")
    assert machine_state(up) == "test-failed-over"
    cleaning = props("InMageRcm", "Protected", tfo="WaitingForCompletion")  # a cleanup job owns it: nothing allowed
    assert machine_state(cleaning) == "test-failed-over"


def test_a_reprotected_classic_item_is_reprotected_not_failed_back():
    state = machine_state(props("InMage", "Protected", allowed=("UnplannedFailover", "DisableProtection")))
    assert state == "reprotected"


def test_unknown_protection_states_fall_back_on_location_and_what_asr_offers():
    assert machine_state(props("InMageRcm", "SomethingNew", "Recovery", ("Commit",))) == "failed-over"
    assert machine_state(props("InMageRcm", "SomethingNew", "Recovery", ("SwitchProtection",))) == "committed"
    assert machine_state(props("InMageRcmFailback", "SomethingNew", "Recovery", ("CancelFailover",))) == \
        "failback-pending"
    assert machine_state(props("InMage", "SomethingNew", "Primary")) == "reprotected"


@pytest.mark.parametrize(("scenario", "architecture", "state", "operation"), [
    ("SwitchReplicationGroupProtection", "modernized", "committed", "reprotect"),
    ("SwitchReplicationGroupProtection", "modernized", "failed-back", "reenable"),
    ("SwitchReplicationGroupProtection", "classic", "failed-back", "reenable"),
    ("CommitFailover", "modernized", "failed-over", "commit"),
    ("CommitFailover", "classic", "failback-pending", "commit-failback"),
    ("UnplannedFailover", "classic", "reprotected", "failback"),
    ("PlannedFailover", "modernized", "reprotected", "failback"),
    ("CancelFailover", "modernized", "failback-pending", "cancel-failback"),
    ("TestFailoverCleanup", "classic", "test-failed-over", "cleanup-test-failover"),
])  # fmt: skip
def test_a_running_jobs_scenario_names_its_operation(scenario, architecture, state, operation):
    assert operation_of_scenario(scenario, architecture, state) == operation


@pytest.fixture
def ids(tmp_path):
    import yaml

    from recovery.azure.lab import DEFAULT_MACHINES, stack_doc

    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(yaml.safe_dump(stack_doc("modernized", "azm", DEFAULT_MACHINES, multi_vm_sync=True,
                                             registration=None)))
    return stack_azure_ids(load_stack_file(path))


REVERSE = {
    ("reprotect", "modernized"): ModernizedReprotect("agent", "datastore1", "/sub/st", "/pol/failback"),
    ("reprotect", "classic"): ClassicReprotect("ps", "mt", "E:\\", "datastore1", "/pol/failback"),
    ("reenable", "modernized"): ModernizedReenable("ps", "/pol/forward"),
    ("reenable", "classic"): ClassicReenable("ps", "ps", "/pol/forward"),
}
# The migration's operations are not item-body operations of a recovery run: switch-provider is the move itself,
# recreate-recovery-plans is one request for the whole run (scope "run").
ITEM_CASES = [(op, arch) for op, o in OPERATIONS.items() for arch in o.architectures
              if op != "switch-provider" and o.scope == "machine"]


@pytest.mark.parametrize(("operation", "architecture"), ITEM_CASES)
def test_every_item_body_is_a_valid_sdk_input_with_the_tables_direction(operation, architecture, ids):
    action, body = item_request(operation, architecture, ids, recovery_point_id="/rp/1",
                                reverse=REVERSE.get((operation, architecture)))
    names = OPERATIONS[operation].asr[architecture]
    assert action == names.action
    model = ITEM_BODIES[action]
    if model is None:
        assert body is None
        return
    wire = body.as_dict()
    checked = validate(model, wire)
    assert checked.ok, checked.problems
    assert not checked.unknown
    assert wire["properties"].get("failoverDirection") == names.asr_direction


@pytest.mark.parametrize(("operation", "architecture"),
                         [(op, arch) for op, arch in ITEM_CASES if OPERATIONS[op].asr[arch].plan_action])
def test_every_plan_body_is_valid_with_plan_level_direction_and_inputs(operation, architecture, ids):
    action, body = plan_request(operation, architecture, ids, recovery_point="latest-app-consistent",
                                multi_vm_sync_point=True)
    model = PLAN_BODIES[action]
    if model is None:
        assert body is None
        return
    wire = body.as_dict()
    checked = validate(model, wire)
    assert checked.ok and not checked.unknown, checked.problems
    direction = wire["properties"].get("failoverDirection")
    assert direction in (None, "PrimaryToRecovery" if OPERATIONS[operation].direction == "primary-to-recovery"
                         else "RecoveryToPrimary")  # fmt: skip
    for entry in wire["properties"].get("providerSpecificDetails") or []:
        reverse = operation == "failback"
        expected = {("modernized", False): "InMageRcm", ("modernized", True): "InMageRcmFailback",
                    ("classic", False): "InMageAzureV2", ("classic", True): "InMage"}[(architecture, reverse)]
        assert entry["instanceType"] == expected
        if "useMultiVmSyncPoint" in entry:
            assert entry["useMultiVmSyncPoint"] == "true"


def test_reprotect_and_reenable_have_no_plan_form(ids):
    from asrctl.recovery.providers.protocol import OperationRejected

    for operation in ("reprotect", "reenable"):
        for architecture in ("modernized", "classic"):
            with pytest.raises(OperationRejected, match="no recovery-plan form"):
                plan_request(operation, architecture, ids)

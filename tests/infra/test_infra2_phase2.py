"""Phase 2 under mocks: container mapping, one protected item per machine, recovery plans in the files' order."""

from __future__ import annotations

from pathlib import Path

import yaml
from infra_previews import one, preview

from asrctl.config import load_stack
from asrctl.infra.recovery_plans import FAILOVER_TYPES, failover_types, iso_duration
from asrctl.plans import ManualAction, RunbookAction, ScriptAction

PROJECT = Path(__file__).resolve().parents[2]
ITEM = "azure-native:recoveryservices:ReplicationProtectedItem"
PLAN = "azure-native:recoveryservices:ReplicationRecoveryPlan"
MAPPING = "azure-native:recoveryservices:ReplicationProtectionContainerMapping"
DEFAULT_TYPES = ["TestFailover", "PlannedFailover", "UnplannedFailover"]


def test_container_mapping_targets_azure_with_the_replication_policy() -> None:
    result = preview("prod")
    mapping = one(result, MAPPING)
    assert mapping.inputs["fabricName"] == "asr-cs-prod01-fabric"
    assert mapping.inputs["protectionContainerName"] == "cloud_7c6f4a0e-2f44-4b8f-9a6e-3e1d5c9b8a21"
    assert mapping.inputs["resourceName"] == "rsv-asr-prod-weu"
    assert mapping.inputs["properties"]["targetProtectionContainerId"] == "Microsoft Azure"
    assert mapping.inputs["properties"]["policyId"] == result.outputs["replication_policy_id"]
    assert mapping.protect


def test_one_protected_item_per_machine_protected_and_ignoring_rewritten_fields() -> None:
    result = preview("prod")
    cfg = load_stack("prod")
    items = {i.inputs["replicatedProtectedItemName"]: i for i in result.of_type(ITEM)}
    assert sorted(items) == sorted(m.name for m in cfg.machines)
    subnet_ids = result.outputs["recovery_subnet_ids"]
    for m in cfg.machines:
        item = items[m.name]
        assert item.protect, m.name
        assert "properties.providerSpecificDetails" in item.ignore_changes
        props = item.inputs["properties"]
        assert props["policyId"] == result.outputs["replication_policy_id"]
        # the VM as ASR discovered it: the container's protectable item named in registration.protectableItems
        assert props["protectableItemId"].endswith(
            f"/replicationProtectionContainers/{cfg.registration.protection_container_name}"
            f"/replicationProtectableItems/{cfg.registration.protectable_items[m.name]}"
        ), item.urn
        details = props["providerSpecificDetails"]
        assert details["instanceType"] == "InMageAzureV2"
        assert details["processServerId"] == cfg.registration.process_server_id
        assert details["masterTargetId"] == cfg.registration.master_target_id
        assert details["runAsAccountId"] == "1"
        assert details["logStorageAccountId"] == result.outputs["cache_storage_account_id"]
        assert details["diskType"] == "StandardSSD_LRS"
        assert details["targetAzureNetworkId"] == result.outputs["recovery_vnet_id"]
        assert details["targetAzureSubnetId"] == subnet_ids[m.target_subnet]
        assert details["targetAzureVmName"] == m.name and details["targetVmSize"] == m.target_vm_size
        assert details["targetAzureV2ResourceGroupId"].endswith("/resourceGroups/rg-asr-prod-weu")
    # multiVmSync is on: each machine's consistency group is its recovery plan.
    assert items["erp-sql01"].inputs["properties"]["providerSpecificDetails"]["multiVmGroupName"] == "erp"
    assert items["portal-web05"].inputs["properties"]["providerSpecificDetails"]["multiVmGroupName"] == "portal"


def _yaml_plans() -> dict[str, dict]:
    plans = {}
    for path in sorted((PROJECT / "runbooks" / "plans").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        plans[doc["name"]] = doc
    return plans


def _expected_actions(actions: list[dict]) -> list[tuple[str, str]]:
    """(kind, text) of the actions ASR keeps, in file order: scripts and ASR-less operations are left out."""
    out = []
    for a in actions or []:
        if "script" in a:
            continue
        kind = "manual" if "manual" in a else "runbook"
        when = a.get("when") or ["test-failover", "planned-failover", "unplanned-failover", "failback"]
        if not any(FAILOVER_TYPES[op] for op in when):
            continue
        out.append((kind, a["manual"] if kind == "manual" else a["runbook"]))
    return out


def _item_name(item_id: str) -> str:
    return item_id.rsplit("/", 1)[-1]


def test_one_recovery_plan_per_plan_file_in_the_yaml_order() -> None:
    result = preview("prod")
    runbook_ids = result.outputs["runbook_ids"]
    plans = {p.inputs["recoveryPlanName"]: p for p in result.of_type(PLAN)}
    files = _yaml_plans()
    assert sorted(plans) == sorted(files) == ["crm", "erp", "hr", "portal"]
    for name, doc in files.items():
        props = plans[name].inputs["properties"]
        assert props["recoveryFabricId"] == "Microsoft Azure"
        assert props["primaryFabricId"].endswith("/replicationFabrics/asr-cs-prod01-fabric")
        groups = props["groups"]
        assert [g["groupType"] for g in groups] == ["Shutdown", "Failover"] + ["Boot"] * len(doc["groups"])
        for asr_group, yaml_group in zip(groups[2:], doc["groups"], strict=True):
            assert [_item_name(i["id"]) for i in asr_group["replicationProtectedItems"]] == yaml_group["machines"]
            for side, key in (("before", "startGroupActions"), ("after", "endGroupActions")):
                actual = asr_group.get(key) or []
                expected = _expected_actions(yaml_group.get(side))
                got = []
                for action in actual:
                    assert action["failoverTypes"] and action["failoverDirections"] == ["PrimaryToRecovery"]
                    details = action["customDetails"]
                    if details["instanceType"] == "ManualActionDetails":
                        got.append(("manual", details["description"]))
                    else:
                        assert details["instanceType"] == "AutomationRunbookActionDetails"
                        runbook = next(n for n, i in runbook_ids.items() if i == details["runbookId"])
                        got.append(("runbook", runbook))
                        assert details["fabricLocation"] == "Recovery"
                assert got == expected, f"{name}/{yaml_group['name']}/{side}"


def test_action_failover_types_follow_when() -> None:
    plan = one(preview("prod"), PLAN, "-erp").inputs["properties"]
    db_before = plan["groups"][2]["startGroupActions"]
    # erp database before: manual, when [planned-failover, failback] → only PlannedFailover reaches ASR.
    assert db_before[0]["failoverTypes"] == ["PlannedFailover"]
    web_after = plan["groups"][4]["endGroupActions"]
    assert web_after[0]["failoverTypes"] == ["TestFailover"]  # ASR-AddPublicIp, when [test-failover]
    assert web_after[1]["failoverTypes"] == DEFAULT_TYPES  # manual smoke test, no when
    assert web_after[0]["customDetails"]["timeout"] == "PT30M"


def test_client_side_scripts_are_left_out_with_a_note() -> None:
    notes = preview("prod").notes
    assert any(
        "plan erp group database after[0]: script runbooks/actions/wait_for_port.py runs client-side only" in n
        for n in notes
    )
    plan = one(preview("prod"), PLAN, "-erp").inputs["properties"]
    assert plan["groups"][3].get("endGroupActions") in (None, [])  # application: only a script


def test_mapping_helpers() -> None:
    assert failover_types(ManualAction(manual="x")) == DEFAULT_TYPES
    assert failover_types(RunbookAction(runbook="ASR-X", when=("failback", "reenable"))) == []
    assert failover_types(ScriptAction(script="a.py", when=("commit", "reprotect"))) == ["Commit", "ReverseReplicate"]
    assert iso_duration(3600) == "PT1H" and iso_duration(600) == "PT10M" and iso_duration(5430) == "PT1H30M30S"


def test_dev_has_no_phase_2_resources_and_notes_the_next_step() -> None:
    result = preview("dev")
    for type_token in (ITEM, PLAN, MAPPING):
        assert result.of_type(type_token) == []
    note = next(n for n in result.notes if n.startswith("phase 2 not configured"))
    assert "register the configuration server asr-cs-dev01 (10.10.5.10)" in note
    # Nothing in the guest applies the static IP (no vApp IP properties in Microsoft's OVF): the note says so.
    assert "static IP in Windows" in note and "10.10.5.10/24, gateway 10.10.5.1, DNS 10.10.0.10, 10.10.0.11" in note
    assert "guestinfo.asr.ipaddress" in note
    for key in ("fabricName", "protectionContainerName", "processServerId", "masterTargetId", "protectableItems"):
        assert key in note
    assert "vmware-azure-dr:registration" in note and "asrctl discover --stack dev" in note
    assert "protected_item_ids" not in result.outputs

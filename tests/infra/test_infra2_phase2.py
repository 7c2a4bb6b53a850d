"""Phase 2 under mocks: container mapping, one protected item per machine (classic: legacy), recovery plans in the
files' order and one per multi-VM consistency group (both architectures). InMageRcm items: test_infra_modernized.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from infra_previews import one, preview

from asrctl.config import load_stack
from asrctl.infra.recovery_plans import FAILOVER_TYPES, failover_types, iso_duration
from asrctl.mockmode import run_program
from asrctl.plans import ManualAction, RunbookAction, ScriptAction, load_plans_for_stack

PROJECT = Path(__file__).resolve().parents[2]
ITEM = "azure-native:recoveryservices:ReplicationProtectedItem"
PLAN = "azure-native:recoveryservices:ReplicationRecoveryPlan"
MAPPING = "azure-native:recoveryservices:ReplicationProtectionContainerMapping"
DEFAULT_TYPES = ["TestFailover", "PlannedFailover", "UnplannedFailover"]


def test_container_mapping_targets_azure_with_the_replication_policy() -> None:
    result = preview("legacy")
    mapping = one(result, MAPPING)
    assert mapping.inputs["fabricName"] == "asr-cs-prod01-fabric"
    assert mapping.inputs["protectionContainerName"] == "cloud_7c6f4a0e-2f44-4b8f-9a6e-3e1d5c9b8a21"
    assert mapping.inputs["resourceName"] == "rsv-asr-legacy-weu"
    assert mapping.inputs["properties"]["targetProtectionContainerId"] == "Microsoft Azure"
    assert mapping.inputs["properties"]["policyId"] == result.outputs["replication_policy_id"]
    assert mapping.protect


def test_one_protected_item_per_machine_protected_and_ignoring_rewritten_fields() -> None:
    result = preview("legacy")
    cfg = load_stack("legacy")
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
        assert details["targetAzureV2ResourceGroupId"].endswith("/resourceGroups/rg-asr-legacy-weu")
    # multiVmSync is on: each machine's consistency group is its plan group (two or more machines fail over together).
    assert items["erp-sql01"].inputs["properties"]["providerSpecificDetails"]["multiVmGroupName"] == "erp-database"
    assert items["portal-web05"].inputs["properties"]["providerSpecificDetails"]["multiVmGroupName"] == "portal-web"


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


def _file_plan_names(stack: str) -> set[str]:
    return {f"dr-recovery-plans-{name}" for name in _yaml_plans()}


@pytest.mark.parametrize(("stack", "fabric"), [("prod", "rsv-asr-prod-weu-vmwarefabric"), ("legacy", "asr-cs-prod01-fabric")])
def test_one_recovery_plan_per_plan_file_in_the_yaml_order(stack: str, fabric: str) -> None:
    result = preview(stack)
    runbook_ids = result.outputs["runbook_ids"]
    plans = {p.inputs["recoveryPlanName"]: p for p in result.of_type(PLAN) if p.name in _file_plan_names(stack)}
    files = _yaml_plans()
    assert sorted(plans) == sorted(files) == ["crm", "erp", "hr", "portal"]
    assert result.outputs["recovery_plan_ids"] == {n: p.outputs["id"] for n, p in plans.items()}
    for name, doc in files.items():
        props = plans[name].inputs["properties"]
        assert props["recoveryFabricId"] == "Microsoft Azure"
        assert props["primaryFabricId"].endswith(f"/replicationFabrics/{fabric}")
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
    plan = one(preview("prod"), PLAN, "plans-erp").inputs["properties"]
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
    plan = one(preview("prod"), PLAN, "plans-erp").inputs["properties"]
    assert plan["groups"][3].get("endGroupActions") in (None, [])  # application: only a script


def test_mapping_helpers() -> None:
    assert failover_types(ManualAction(manual="x")) == DEFAULT_TYPES
    assert failover_types(RunbookAction(runbook="ASR-X", when=("failback", "reenable"))) == []
    assert failover_types(ScriptAction(script="a.py", when=("commit", "reprotect"))) == ["Commit", "ReverseReplicate"]
    assert iso_duration(3600) == "PT1H" and iso_duration(600) == "PT10M" and iso_duration(5430) == "PT1H30M30S"


def test_classic_phase_1_notes_the_next_step(stack_variant) -> None:
    def unregistered(config: dict) -> None:
        del config["vmware-azure-dr:registration"]

    result = run_program(stack_variant("legacy", "phase1", unregistered))
    for type_token in (ITEM, PLAN, MAPPING):
        assert result.of_type(type_token) == []
    note = next(n for n in result.notes if n.startswith("phase 2 not configured"))
    assert "register the configuration server asr-cs-prod01 (10.20.5.10)" in note
    # Nothing in the guest applies the static IP (no vApp IP properties in Microsoft's OVF): the note says so.
    assert "static IP in Windows" in note and "10.20.5.10/24, gateway 10.20.5.1, DNS 10.20.0.10, 10.20.0.11" in note
    assert "guestinfo.asr.ipaddress" in note
    for key in ("fabricName", "protectionContainerName", "processServerId", "masterTargetId", "protectableItems"):
        assert key in note
    assert "vmware-azure-dr:registration" in note and "asrctl discover --stack phase1" in note
    assert "protected_item_ids" not in result.outputs


@pytest.mark.parametrize("stack", ["prod", "legacy"])
def test_each_multi_machine_plan_group_has_its_own_recovery_plan(stack: str) -> None:
    """One ASR recovery plan per consistency group: just that group's machines in one Boot group, no actions."""
    result = preview(stack)
    items = {i.inputs["replicatedProtectedItemName"]: i for i in result.of_type(ITEM)}
    group_plans = {p.inputs["recoveryPlanName"]: p for p in result.of_type(PLAN) if "-group-" in p.name}
    expected = {
        f"{doc['name']}-{g['name']}": g["machines"]
        for doc in _yaml_plans().values() for g in doc["groups"] if len(g["machines"]) >= 2
    }
    assert set(group_plans) == set(expected) and len(expected) == 12
    for name, machines in expected.items():
        props = group_plans[name].inputs["properties"]
        assert [g["groupType"] for g in props["groups"]] == ["Shutdown", "Failover", "Boot"]
        boot = props["groups"][2]
        assert [_item_name(i["id"]) for i in boot["replicationProtectedItems"]] == machines
        assert not boot.get("startGroupActions") and not boot.get("endGroupActions")
        for m in machines:  # the plan's machines are exactly its multi-VM group
            assert items[m].inputs["properties"]["providerSpecificDetails"]["multiVmGroupName"] == name
            assert items[m].urn in group_plans[name].dependencies
    assert result.outputs["group_recovery_plan_ids"] == {n: p.outputs["id"] for n, p in group_plans.items()}


def test_consistency_group_names_stay_within_the_limit_and_apart() -> None:
    from asrctl.infra.consistency_groups import MAX_NAME_LENGTH, consistency_group_name, machine_groups
    from asrctl.infra.consistency_groups import consistency_groups as groups_of

    assert consistency_group_name("erp", "database") == "erp-database"
    long = consistency_group_name("p" * 40, "g" * 40)
    assert len(long) == MAX_NAME_LENGTH and long != consistency_group_name("p" * 40, "g" * 41)
    assert consistency_group_name("erp", "Web Tier") != consistency_group_name("erp", "web-tier")
    assert re.fullmatch(r"[a-z0-9-]+", consistency_group_name("ERP", "Web Tier"))
    plans = load_plans_for_stack(load_stack("prod"), "prod")
    groups = groups_of(plans)
    assert all(len(g.machines) >= 2 for g in groups)
    owner, warnings = machine_groups(groups + groups[:1])
    assert owner["erp-sql01"] == "erp-database" and len(warnings) == 2 and "stays in crm-database" in warnings[0]


def test_multi_vm_groups_need_multi_vm_sync(stack_variant) -> None:
    def no_sync(config: dict) -> None:
        config["vmware-azure-dr:replication"]["multiVmSync"] = False

    result = run_program(stack_variant("prod", "nosync", no_sync))
    assert [p.inputs["recoveryPlanName"] for p in result.of_type(PLAN)] == ["crm", "erp", "hr", "portal"]
    for item in result.of_type(ITEM):
        assert "multiVmGroupName" not in item.inputs["properties"]["providerSpecificDetails"], item.urn
    assert "group_recovery_plan_ids" not in result.outputs

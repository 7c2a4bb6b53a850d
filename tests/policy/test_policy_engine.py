"""The in-process evaluator and the stack context, on synthetic captured resources (no program run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from asrctl.errors import BadInput
from asrctl.policy.context import merge_policy_config, multi_vm_groups, stack_policy_config
from asrctl.policy.evaluate import effective_levels, evaluate
from asrctl.policy.rules import RULES, RULES_BY_NAME


@dataclass(frozen=True)
class Captured:
    """Shaped like asrctl.mockmode.CapturedResource."""

    type: str
    name: str
    inputs: dict[str, Any]
    parent: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    custom: bool = True

    @property
    def urn(self) -> str:
        return f"urn:pulumi:t::vmware-azure-dr::{self.type}::{self.name}"


TAGS = {"owner": "o", "environment": "t", "drTier": "tier-1"}


def _storage(**props: Any) -> Captured:
    base = {"kind": "StorageV2", "sku": {"name": "Standard_GRS"}, "enableHttpsTrafficOnly": True,
            "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False, "tags": TAGS}
    return Captured("azure-native:storage:StorageAccount", "st", {**base, **props})


def test_unknown_value_is_not_evaluated_rather_than_failing() -> None:
    report = evaluate("t", [_storage(minimumTlsVersion="[unknown]")], {})
    assert "storage-minimum-tls-1-2" not in {v.rule for v in report.violations}
    [skipped] = [n for n in report.not_evaluated if n.rule == "storage-minimum-tls-1-2"]
    assert "minimumTlsVersion" in skipped.reason and skipped.urn.endswith("::st")


def test_violations_carry_level_severity_and_resource() -> None:
    report = evaluate("t", [_storage(minimumTlsVersion="TLS1_0")], {})
    [v] = [v for v in report.violations if v.rule == "storage-minimum-tls-1-2"]
    assert (v.level, v.severity, v.resource, v.resource_type) == (
        "mandatory", "high", "st", "azure-native:storage:StorageAccount")
    assert not report.passed


def test_disabled_rule_does_not_run_and_advisory_does_not_fail() -> None:
    bad = [_storage(minimumTlsVersion="TLS1_0")]
    assert "storage-minimum-tls-1-2" not in {
        v.rule for v in evaluate("t", bad, {"storage-minimum-tls-1-2": {"enforcementLevel": "disabled"}}).violations}
    advisory = evaluate("t", bad, {"storage-minimum-tls-1-2": {"enforcementLevel": "advisory"}})
    assert [v.level for v in advisory.violations if v.rule == "storage-minimum-tls-1-2"] == ["advisory"]
    assert advisory.passed


def test_components_are_not_resource_checked_but_stack_rules_see_dependencies() -> None:
    component = Captured("asrctl:dr:Protection", "prot", {}, custom=False)
    item = Captured("azure-native:recoveryservices:ReplicationProtectedItem", "vm1", {"replicatedProtectedItemName": "vm1"})
    plan = Captured("azure-native:recoveryservices:ReplicationRecoveryPlan", "plan",
                    {"properties": {"groups": [{"groupType": "Boot", "replicationProtectedItems": [{"id": "[unknown]"}]}]}},
                    dependencies=(item.urn,))
    report = evaluate("t", [component, item, plan], {}, rules=[RULES_BY_NAME["protected-items-covered-by-plan"]])
    assert report.violations == []
    orphan = evaluate("t", [component, item], {}, rules=[RULES_BY_NAME["protected-items-covered-by-plan"]])
    assert [v.resource for v in orphan.violations] == ["vm1"]


def test_effective_levels_precedence_and_bad_level() -> None:
    levels = effective_levels(RULES, {"all": {"enforcementLevel": "advisory"},
                                      "storage-https-only": {"enforcementLevel": "mandatory"}})
    assert levels["storage-https-only"] == "mandatory" and levels["vault-managed-identity"] == "advisory"
    assert effective_levels(RULES, {})["vault-immutability-enabled"] == "advisory"
    with pytest.raises(BadInput, match="enforcementLevel 'loud'"):
        effective_levels(RULES, {"storage-https-only": {"enforcementLevel": "loud"}})


def test_user_all_beats_stack_levels_but_not_user_rule_levels() -> None:
    stack = {"vault-immutability-enabled": {"enforcementLevel": "mandatory"},
             "replication-rpo-threshold-within-bound": {"maxRpoThresholdMinutes": 30}}
    merged = merge_policy_config(stack, {"all": "advisory", "storage-https-only": "mandatory"})
    assert merged["vault-immutability-enabled"]["enforcementLevel"] == "advisory"
    assert merged["storage-https-only"]["enforcementLevel"] == "mandatory"
    assert merged["replication-rpo-threshold-within-bound"] == {"maxRpoThresholdMinutes": 30}
    merged = merge_policy_config(stack, {"replication-rpo-threshold-within-bound": {"maxRpoThresholdMinutes": 15}})
    assert merged["replication-rpo-threshold-within-bound"]["maxRpoThresholdMinutes"] == 15


def test_stack_context_from_config_and_plans() -> None:
    from asrctl.config import load_stack
    from asrctl.plans import load_plans_for_stack

    dev, prod, legacy = load_stack("dev"), load_stack("prod"), load_stack("legacy")
    dev_config = stack_policy_config(dev, load_plans_for_stack(dev, "dev"))
    assert dev_config["replication-rpo-threshold-within-bound"] == {"maxRpoThresholdMinutes": 60}
    assert dev_config["vault-immutability-enabled"] == {"enforcementLevel": "advisory"}
    # modernized failback pulls from on-prem: nothing inbound from the recovery VNet is needed
    assert dev_config["nsg-allow-only-asr-ports-from-on-prem"]["allowedSourceRanges"] == ["10.10.0.0/16"]
    assert "erp/database" in dev_config["replication-multi-vm-sync-only-when-used"]["multiVmSyncUsedBy"]
    # modernized: ASR's own 15 days
    assert dev_config["replication-retention-within-bound"] == {"maxRetentionHours": 360}
    prod_config = stack_policy_config(prod, load_plans_for_stack(prod, "prod"))
    assert prod_config["vault-immutability-enabled"] == {"enforcementLevel": "mandatory"}
    assert prod_config["failback-connectivity-present"] == {"failbackEnabled": True, "architecture": "modernized"}
    assert prod_config["replication-appliances-sufficient"] == {
        "architecture": "modernized", "protectedMachines": 40, "protectedDisks": 74, "failbackEnabled": True}
    assert prod_config["modernized-vault-dedicated"] == {"architecture": "modernized",
                                                         "classicVaultNames": ["rsv-asr-legacy-weu"]}
    legacy_config = stack_policy_config(legacy, load_plans_for_stack(legacy, "legacy"))
    # classic failback: failed-over VMs send to the temporary Azure process server in the recovery VNet
    assert legacy_config["nsg-allow-only-asr-ports-from-on-prem"]["allowedSourceRanges"] == [
        "10.20.0.0/16", "172.20.0.0/16", "10.70.0.0/16"]
    assert legacy_config["replication-retention-within-bound"] == {"maxRetentionHours": 72}
    assert legacy_config["modernized-no-classic-resources"] == {"architecture": "classic"}
    premium = legacy.model_copy(
        update={"replication": legacy.replication.model_copy(update={"target_disk_type": "Premium_LRS"})}
    )
    assert stack_policy_config(premium, [])["replication-retention-within-bound"] == {"maxRetentionHours": 24}


def test_every_context_property_is_declared_by_its_rule() -> None:
    """CrossGuard validates a rule's config against its schema: the stack context may only pass declared keys."""
    from asrctl.config import load_stack
    from asrctl.plans import load_plans_for_stack
    from asrctl.policy.rules import RULES_BY_NAME

    for stack in ("dev", "prod", "legacy"):
        cfg = load_stack(stack)
        for rule, entry in stack_policy_config(cfg, load_plans_for_stack(cfg, stack)).items():
            declared = set(RULES_BY_NAME[rule].config)
            assert set(entry) - {"enforcementLevel"} <= declared, (stack, rule)


def test_multi_vm_groups_are_groups_of_two_or_more() -> None:
    @dataclass
    class G:
        name: str
        machines: tuple[str, ...]

    @dataclass
    class P:
        name: str
        groups: tuple[G, ...]

    plans = [P("erp", (G("db", ("a", "b")), G("web", ("c",)))), P("solo", (G("one", ("d",)),))]
    assert multi_vm_groups(plans) == ["erp/db"]
    assert multi_vm_groups([P("solo", (G("one", ("d",)),))]) == []


def test_every_rule_is_documented() -> None:
    for rule in RULES:
        assert rule.name == rule.name.lower() and " " not in rule.name and "_" not in rule.name
        assert rule.description.split()[0] in ("Requires", "Prohibits", "Recommends"), rule.name
        assert rule.remediation and rule.severity in ("low", "medium", "high", "critical")
        assert rule.enforcement in ("advisory", "mandatory")
        for key, schema in rule.config.items():
            assert schema.get("type") and schema.get("description"), (rule.name, key)


def test_example_policy_config_is_valid() -> None:
    """policy/config.example.json is what the README shows for --config and --policy-pack-config."""
    from pathlib import Path

    from asrctl.policy.config_file import load_policy_config

    example = Path(__file__).resolve().parents[2] / "policy" / "config.example.json"
    config = load_policy_config(example, RULES)
    assert config["storage-geo-redundant"] == {"enforcementLevel": "disabled"}
    assert effective_levels(RULES, config)["vault-immutability-enabled"] == "mandatory"


def test_reports_never_echo_secret_values() -> None:
    import base64
    import json

    from asrctl.policy.output import render_json, render_text

    leaked = base64.b64encode(b"setup.exe /passphrase Hunter2-Secret").decode()
    vm = Captured("azure-native:compute:VirtualMachine", "dr-failback-ps-vm",
                  {"osProfile": {"customData": leaked, "adminPassword": "[secret]"}, "tags": TAGS})
    report = evaluate("t", [vm], {})
    assert "vm-no-password-in-custom-data" in {v.rule for v in report.violations}
    for text in (render_text(report), json.dumps(render_json(report))):
        assert "Hunter2-Secret" not in text and leaked not in text


def test_remediate_level_from_a_pulumi_config_is_mandatory(tmp_path) -> None:
    """`remediate` is valid in --policy-pack-config; with no remediations the engine reports it as mandatory."""
    from asrctl.policy.config_file import load_policy_config

    path = tmp_path / "policy.json"
    path.write_text('{"all": "remediate", "storage-https-only": {"enforcementLevel": "remediate"}}')
    config = load_policy_config(path, RULES)
    levels = effective_levels(RULES, config)
    assert levels["storage-https-only"] == "mandatory" and levels["vault-immutability-enabled"] == "mandatory"

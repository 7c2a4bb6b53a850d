"""Classic failback infrastructure (legacy: on; dev, prod: none), RPO alerting and Automation runbooks under mocks."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from infra_previews import one, preview

from asrctl.config import load_stack
from asrctl.errors import BadInput
from asrctl.infra.automation import (
    BUILTIN_RUNBOOKS_DIR,
    collect_runbooks,
    runbook_content,
    runbook_name,
    script_stem,
)
from asrctl.infra.monitoring import MODERNIZED_REPLICATION_PROVIDERS, rpo_query
from asrctl.plans import load_plans_for_stack

PROJECT = Path(__file__).resolve().parents[2]
FAILBACK_TYPES = (
    "azure-native:compute:VirtualMachine",
    "azure-native:network:NetworkInterface",
    "azure-native:network:PublicIPAddress",
    "azure-native:network:VirtualNetworkGateway",
    "azure-native:network:LocalNetworkGateway",
    "azure-native:network:VirtualNetworkGatewayConnection",
)


# -- Failback -----------------------------------------------------------------------------------------------------


def test_vpn_connection_shared_key_is_a_secret_input() -> None:
    connection = one(preview("legacy"), "azure-native:network:VirtualNetworkGatewayConnection")
    assert connection.inputs["sharedKey"] == "[secret]"
    assert connection.inputs["connectionType"] == "IPsec"
    gateway = one(preview("legacy"), "azure-native:network:VirtualNetworkGateway")
    local = one(preview("legacy"), "azure-native:network:LocalNetworkGateway")
    assert connection.inputs["virtualNetworkGateway1"]["id"] == gateway.outputs["id"]
    assert connection.inputs["localNetworkGateway2"]["id"] == local.outputs["id"]
    assert local.inputs["gatewayIpAddress"] == "203.0.113.10"
    assert local.inputs["localNetworkAddressSpace"]["addressPrefixes"] == ["10.20.0.0/16", "172.20.0.0/16"]


def test_gateway_sits_in_gatewaysubnet_of_the_recovery_vnet() -> None:
    result = preview("legacy")
    gw_subnet = [s for s in result.of_type("azure-native:network:Subnet") if s.inputs["subnetName"] == "GatewaySubnet"]
    assert len(gw_subnet) == 1
    assert gw_subnet[0].inputs["virtualNetworkName"] == "vnet-asr-recovery-legacy-weu"
    assert gw_subnet[0].inputs["addressPrefix"] == "10.70.255.0/27"
    gateway = one(result, "azure-native:network:VirtualNetworkGateway")
    ipconf = gateway.inputs["ipConfigurations"][0]
    assert ipconf["subnet"]["id"] == gw_subnet[0].outputs["id"]
    pip = one(result, "azure-native:network:PublicIPAddress")
    assert ipconf["publicIPAddress"]["id"] == pip.outputs["id"]
    assert gateway.inputs["gatewayType"] == "Vpn" and gateway.inputs["sku"]["name"] == "VpnGw2"


def test_temporary_process_server_is_private_with_managed_disks_and_static_ip() -> None:
    result = preview("legacy")
    vm = one(result, "azure-native:compute:VirtualMachine")
    nic = one(result, "azure-native:network:NetworkInterface")
    assert vm.inputs["hardwareProfile"]["vmSize"] == "Standard_D8s_v5"
    assert vm.inputs["securityProfile"]["encryptionAtHost"] is True
    # The admin password is a secret, so the whole OS profile is a secret input.
    assert vm.inputs["osProfile"] == "[secret]"
    assert vm.inputs["storageProfile"]["osDisk"]["managedDisk"]["storageAccountType"]
    assert vm.inputs["networkProfile"]["networkInterfaces"][0]["id"] == nic.outputs["id"]
    ipconf = nic.inputs["ipConfigurations"][0]
    assert "publicIPAddress" not in ipconf
    assert ipconf["privateIPAllocationMethod"] == "Static" and ipconf["privateIPAddress"] == "10.70.2.250"
    assert ipconf["subnet"]["id"].endswith("/subnets/snet-app-legacy-weu")
    assert result.outputs["failback_process_server_ip"] == "10.70.2.250"


def test_every_failback_resource_is_tagged_temporary_with_expiry() -> None:
    result = preview("legacy")
    for type_token in FAILBACK_TYPES:
        for r in result.of_type(type_token):
            assert r.inputs["tags"]["temporary"] == "true", r.name
            assert r.inputs["tags"]["expiresOn"] == "2027-03-31", r.name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_modernized_stacks_have_no_classic_failback_infrastructure(stack: str) -> None:
    # dev: failback off; prod: failback on, but modernized failback needs no Azure process server and no VPN.
    result = preview(stack)
    for type_token in FAILBACK_TYPES:
        assert result.of_type(type_token) == [], type_token
    assert not [s for s in result.of_type("azure-native:network:Subnet") if s.inputs["subnetName"] == "GatewaySubnet"]
    assert result.of_type("asrctl:dr:FailbackInfrastructure") == []


# -- RPO alerting --------------------------------------------------------------------------------------------------


def test_vault_diagnostics_send_site_recovery_logs_to_the_workspace() -> None:
    result = preview("prod")
    workspace = one(result, "azure-native:operationalinsights:Workspace")
    settings = result.of_type("azure-native:monitor:DiagnosticSetting")
    for setting in settings:
        assert setting.inputs["resourceUri"] == result.outputs["vault_id"]
        assert setting.inputs["workspaceId"] == workspace.outputs["id"]
    # The RPO alert queries AzureDiagnostics: the AzureSiteRecovery* categories must be sent in Azure diagnostics
    # mode (a Dedicated setting sends nothing there), the resource-specific-only ASR* ones in Dedicated mode.
    by_mode: dict[str, set[str]] = {}
    for setting in settings:
        mode = setting.inputs.get("logAnalyticsDestinationType") or "AzureDiagnostics"
        by_mode.setdefault(mode, set()).update(log["category"] for log in setting.inputs["logs"] if log["enabled"])
    assert {
        "AzureSiteRecoveryReplicatedItems",
        "AzureSiteRecoveryReplicationStats",
        "AzureSiteRecoveryJobs",
        "AzureSiteRecoveryEvents",
    } <= by_mode["AzureDiagnostics"]
    assert not any(c.startswith("ASR") for c in by_mode["AzureDiagnostics"])
    assert by_mode.get("Dedicated") == {"ASRJobs", "ASRReplicatedItems"}
    assert "AzureDiagnostics" in one(result, "azure-native:monitor:ScheduledQueryRule").inputs["criteria"]["allOf"][0][
        "query"
    ]


def test_rpo_alert_fires_above_the_threshold_and_emails_the_recipients() -> None:
    result = preview("prod")
    rule = one(result, "azure-native:monitor:ScheduledQueryRule")
    group = one(result, "azure-native:monitor:ActionGroup")
    workspace = one(result, "azure-native:operationalinsights:Workspace")
    condition = rule.inputs["criteria"]["allOf"][0]
    # prod (modernized): rpoThresholdMinutes 15 → 900 seconds; forward and reverse replication of InMageRcm items.
    assert condition["query"] == rpo_query(15, MODERNIZED_REPLICATION_PROVIDERS)
    assert 'replicationProviderName_s in ("InMageRcm", "InMageRcmFailback")' in condition["query"]
    assert "rpoInSeconds_d > 900" in condition["query"]
    assert condition["operator"] == "GreaterThan" and condition["threshold"] == 0
    assert rule.inputs["scopes"] == [workspace.outputs["id"]]
    assert rule.inputs["actions"]["actionGroups"] == [group.outputs["id"]]
    # The threshold travels as a tag too: the RPO-threshold policy rule reads it (InMageRcm has no threshold field).
    assert rule.inputs["tags"]["rpoThresholdMinutes"] == "15"
    emails = [r["emailAddress"] for r in group.inputs["emailReceivers"]]
    assert emails == ["dr-team@contoso.com", "noc@contoso.com"]
    dev_rule = one(preview("dev"), "azure-native:monitor:ScheduledQueryRule")
    assert "rpoInSeconds_d > 1800" in dev_rule.inputs["criteria"]["allOf"][0]["query"]
    classic = one(preview("legacy"), "azure-native:monitor:ScheduledQueryRule").inputs["criteria"]["allOf"][0]["query"]
    assert classic == rpo_query(15) and 'replicationProviderName_s == "InMageAzureV2"' in classic


# -- Automation ----------------------------------------------------------------------------------------------------


def test_automation_account_has_a_system_identity() -> None:
    account = one(preview("prod"), "azure-native:automation:AutomationAccount")
    assert account.inputs["identity"]["type"] == "SystemAssigned"
    assert account.inputs["automationAccountName"] == "aa-asr-prod-weu"


def test_runbook_content_lives_in_a_separate_private_artifacts_account() -> None:
    result = preview("prod")
    accounts = {a.inputs["accountName"]: a for a in result.of_type("azure-native:storage:StorageAccount")}
    assert set(accounts) == {"stasrcacheprodweu", "stasrartprodweu"}
    artifacts = accounts["stasrartprodweu"]
    assert artifacts.inputs["allowBlobPublicAccess"] is False
    assert artifacts.inputs["enableHttpsTrafficOnly"] is True
    assert artifacts.inputs["minimumTlsVersion"] == "TLS1_2"
    container = one(result, "azure-native:storage:BlobContainer")
    assert container.inputs["publicAccess"] == "None"
    for blob in result.of_type("azure-native:storage:Blob"):
        assert blob.inputs["accountName"] == "stasrartprodweu"


def _expected_runbooks() -> dict[str, Path]:
    scripts = sorted((PROJECT / "runbooks" / "actions").glob("*.py"))
    # _helpers.py modules are imported by scripts, not published as runbooks.
    expected = {runbook_name(p.stem): p for p in scripts if not p.stem.startswith("_")}
    for name in ("ASR-AddPublicIp", "ASR-RestartAppPool"):  # named by the erp/portal and crm plans
        expected.setdefault(name, BUILTIN_RUNBOOKS_DIR / f"{script_stem(name)}.py")
    return expected


def test_every_action_script_and_plan_runbook_is_published_as_python3_with_its_hash() -> None:
    result = preview("prod")
    expected = _expected_runbooks()
    runbooks = {r.inputs["runbookName"]: r for r in result.of_type("azure-native:automation:Runbook")}
    assert set(runbooks) == set(expected)
    blobs = {b.inputs["blobName"] for b in result.of_type("azure-native:storage:Blob")}
    for name, path in expected.items():
        digest = hashlib.sha256(runbook_content(path).encode()).hexdigest()
        assert runbooks[name].inputs["runbookType"] == "Python3"
        # The link carries a SAS: the whole content link is a secret input.
        assert runbooks[name].inputs["publishContentLink"] == "[secret]"
        assert f"{name}-{digest[:16]}.py" in blobs
        assert digest[:16] in runbooks[name].inputs["description"]
    assert set(result.outputs["runbook_ids"]) == set(expected)


def test_published_runbooks_carry_the_helpers_they_import(tmp_path: Path) -> None:
    # Automation runs a runbook as one file: the scripts' `from _context import read_context` must not need a
    # sibling _context.py there. Run each published content alone, without a context: it must reach read_context.
    sources = collect_runbooks(PROJECT / "runbooks" / "actions", [])
    importing = [s for s in sources if "from _context import" in s.path.read_text()]
    assert importing, "expected action scripts that import the _context helper"
    arguments = {"ASR-SwitchDns": ["--zone", "z", "--record", "r"], "ASR-WaitForPort": ["--port", "1"]}
    for source in importing:
        alone = tmp_path / f"{source.name}.py"
        alone.write_text(source.content)
        env = {k: v for k, v in os.environ.items() if k != "ASRCTL_CONTEXT"}
        run = subprocess.run(
            [sys.executable, str(alone), *arguments.get(source.name, [])],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
        )
        assert "ModuleNotFoundError" not in run.stderr, run.stderr
        assert "no run context" in run.stderr, run.stderr
        assert source.sha256 == hashlib.sha256(source.content.encode()).hexdigest()


def test_changed_helper_republishes_the_scripts_that_import_it(tmp_path: Path) -> None:
    actions = tmp_path / "actions"
    actions.mkdir()
    (actions / "_helper.py").write_text("from __future__ import annotations\nVALUE = 1\n")
    (actions / "uses_helper.py").write_text("from __future__ import annotations\nfrom _helper import VALUE\nprint(VALUE)\n")
    first = collect_runbooks(actions, [])
    (actions / "_helper.py").write_text("from __future__ import annotations\nVALUE = 2\n")
    second = collect_runbooks(actions, [])
    assert [s.name for s in first] == ["ASR-UsesHelper"]
    assert first[0].blob_name != second[0].blob_name
    alone = tmp_path / "alone.py"
    alone.write_text(second[0].content)
    run = subprocess.run([sys.executable, str(alone)], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "2", run.stderr


def test_changed_script_gets_a_new_blob_name(tmp_path: Path) -> None:
    actions = tmp_path / "actions"
    actions.mkdir()
    (actions / "ping_host.py").write_text("print('v1')\n")
    first = collect_runbooks(actions, [])
    (actions / "ping_host.py").write_text("print('v2')\n")
    second = collect_runbooks(actions, [])
    assert [s.name for s in first] == ["ASR-PingHost"]
    assert first[0].blob_name != second[0].blob_name


def test_empty_actions_directory_publishes_only_what_plans_name(tmp_path: Path) -> None:
    cfg = load_stack("prod")
    plans = load_plans_for_stack(cfg, "prod")
    sources = collect_runbooks(tmp_path / "missing-dir", plans)
    assert sorted(s.name for s in sources) == ["ASR-AddPublicIp", "ASR-RestartAppPool"]
    assert collect_runbooks(tmp_path / "missing-dir", []) == []


def test_plan_runbook_without_a_script_is_bad_input_naming_the_plan_line(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "project"
    shutil.copytree(PROJECT / "stacks", root / "stacks")
    shutil.copytree(PROJECT / "runbooks", root / "runbooks")
    plan = root / "runbooks" / "plans" / "erp.yaml"
    plan.write_text(plan.read_text().replace("runbook: ASR-AddPublicIp", "runbook: ASR-OpenFirewall"))
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(root))
    plans = load_plans_for_stack(load_stack("dev"), "dev")
    line = next(i for i, text in enumerate(plan.read_text().splitlines(), 1) if "ASR-OpenFirewall" in text)
    with pytest.raises(BadInput, match=rf"erp\.yaml:{line}: runbook 'ASR-OpenFirewall' has no script; add .*open_firewall\.py"):
        collect_runbooks(root / "runbooks" / "actions", plans)


# -- ExpressRoute instead of a VPN (dev stack variant) -----------------------------------------------------------


CIRCUIT = (
    "/subscriptions/3f2b6c1e-8d4a-4b7e-9c21-5a6d7e8f9a01/resourceGroups/rg-er/providers/"
    "Microsoft.Network/expressRouteCircuits/er-ams"
)


def test_expressroute_failback_connects_the_circuit_without_a_local_gateway(stack_variant) -> None:
    from asrctl.mockmode import run_program

    def expressroute(config: dict) -> None:
        config["vmware-azure-dr:failback"] = {
            "enabled": True, "connectivity": "expressroute", "expressRouteCircuitId": CIRCUIT, "expiresOn": "2027-01-31",
        }
        del config["vmware-azure-dr:vpnSharedKey"]

    result = run_program(stack_variant("legacy", "er", expressroute))
    connection = one(result, "azure-native:network:VirtualNetworkGatewayConnection")
    assert connection.inputs["connectionType"] == "ExpressRoute"
    assert connection.inputs["peer"]["id"] == CIRCUIT
    assert "sharedKey" not in connection.inputs
    assert result.of_type("azure-native:network:LocalNetworkGateway") == []
    assert one(result, "azure-native:network:VirtualNetworkGateway").inputs["gatewayType"] == "ExpressRoute"
    assert connection.inputs["tags"]["expiresOn"] == "2027-01-31"


def test_expressroute_without_gateway_subnet_is_bad_input(stack_variant) -> None:
    from asrctl.mockmode import run_program

    def no_prefix(config: dict) -> None:
        config["vmware-azure-dr:failback"] = {
            "enabled": True, "connectivity": "expressroute", "expressRouteCircuitId": CIRCUIT, "expiresOn": "2027-01-31",
        }
        del config["vmware-azure-dr:vpnSharedKey"]
        del config["vmware-azure-dr:network"]["gatewaySubnetPrefix"]

    name = stack_variant("legacy", "er2", no_prefix)
    with pytest.raises(BadInput, match=r"^vmware-azure-dr:network\.gatewaySubnetPrefix: missing; failback needs"):
        run_program(name)


def test_secrets_never_reach_notes_or_outputs() -> None:
    result = preview("legacy")
    text = repr(result.notes) + repr(result.outputs)
    for key in ("csPassphrase", "vcenterPassword", "vpnSharedKey", "failbackAdminPassword"):
        assert f"mock-{key}-placeholder" not in text
    secret_inputs = [r.name for r in result.resources if "[secret]" in repr(r.inputs)]
    # the resources that take a secret: vCenter provider, failback VM (admin password), VPN connection
    assert {"dr-vsphere-vcenter", "dr-failback-ps-vm", "dr-failback-connection"} <= set(secret_inputs)


def test_modernized_secret_reaches_only_the_vsphere_provider() -> None:
    result = preview("prod")
    assert "mock-vcenterPassword-placeholder" not in repr(result.notes) + repr(result.outputs)
    secret_inputs = {r.name for r in result.resources if "[secret]" in repr(r.inputs)}
    # the vCenter password, and each runbook's content link (a SAS URL): nothing of the classic secrets
    assert {n for n in secret_inputs if not n.startswith("dr-automation-runbook-")} == {"dr-vsphere-vcenter"}

"""The mock-mode harness itself: capture, JSON safety, ARM ids, repeat runs, and the errors it reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from infra_previews import preview

from asrctl import mockmode
from asrctl.errors import BadInput, OperationFailed
from asrctl.infra import mock_inventory
from asrctl.mockmode import SECRET_MARK, UNKNOWN_MARK, arm_id, json_safe, run_program

PROJECT = Path(__file__).resolve().parents[2]
SUB = "3f2b6c1e-8d4a-4b7e-9c21-5a6d7e8f9a01"


@pytest.fixture
def project_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of the project's stacks with a custom ``__main__.py``; returns a function taking the program text."""

    def make(program: str) -> Path:
        shutil.copytree(PROJECT / "stacks", tmp_path / "stacks")
        shutil.copy(PROJECT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
        (tmp_path / "__main__.py").write_text(program)
        monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(tmp_path))
        return tmp_path

    return make


SMALL_PROGRAM = """
import pulumi
from pulumi_azure_native import resources, storage

cfg = pulumi.Config("vmware-azure-dr")
secret = cfg.require_secret("vcenterPassword")
group = resources.ResourceGroup("g", resource_group_name="rg-x", location=cfg.require("location"))
account = storage.StorageAccount(
    "acct", account_name="stx", resource_group_name=group.name, kind="StorageV2", sku={"name": "Standard_LRS"},
    tags={"passphrase": secret}, opts=pulumi.ResourceOptions(ignore_changes=["tags"], depends_on=[group]),
)
pulumi.log.info("phase 2 not configured: just a test")
pulumi.log.warn("something to look at")
pulumi.export("group_id", group.id)
pulumi.export("passphrase", secret)
pulumi.export("count", 3)
"""


def test_captures_dependencies_options_notes_and_masks_secrets(project_with, monkeypatch) -> None:
    project_with(SMALL_PROGRAM)
    monkeypatch.setenv("ASRCTL_VCENTER_PASSWORD", "correct-horse-battery")
    result = run_program("dev")
    group = result.of_type("azure-native:resources:ResourceGroup")[0]
    account = result.of_type("azure-native:storage:StorageAccount")[0]
    assert group.outputs["id"] == f"/subscriptions/{SUB}/resourceGroups/rg-x"
    assert group.inputs["location"] == "westeurope"
    assert group.urn in account.dependencies
    assert account.ignore_changes == ("tags",)
    assert account.custom is True and account.protect is False and account.parent is None
    # Pulumi pushes secretness up to the enclosing map, so the whole tags value is masked.
    assert account.inputs["tags"] == SECRET_MARK
    assert account.inputs["accountName"] == "stx"
    assert result.outputs == {"group_id": group.outputs["id"], "passphrase": SECRET_MARK, "count": 3}
    assert result.notes == ("phase 2 not configured: just a test", "warning: something to look at")
    dumped = json.dumps([r.__dict__ for r in result.resources]) + json.dumps(result.outputs)
    assert "correct-horse-battery" not in dumped


def test_a_second_run_in_the_same_process_starts_fresh(project_with) -> None:
    project_with(SMALL_PROGRAM)
    first = run_program("dev")
    second = run_program("dev")
    assert [r.urn for r in first.resources] == [r.urn for r in second.resources]
    assert len(second.resources) == 2
    assert second.notes == first.notes  # not accumulated across runs


def test_the_real_program_runs_twice_with_identical_results() -> None:
    first, second = preview("dev"), run_program("dev")  # the cached run may come from another test; fine either way
    assert [(r.urn, r.inputs) for r in first.resources] == [(r.urn, r.inputs) for r in second.resources]
    assert first.outputs == second.outputs


def test_duplicate_logical_names_are_rejected(project_with) -> None:
    project_with(
        "from pulumi_azure_native import resources\n"
        "resources.ResourceGroup('same', resource_group_name='rg-a')\n"
        "resources.ResourceGroup('same', resource_group_name='rg-b')\n"
    )
    with pytest.raises(OperationFailed, match="two resources of type azure-native:resources:ResourceGroup named 'same'"):
        run_program("dev")


def test_unknown_invoke_token_names_the_token_and_the_fix(project_with) -> None:
    project_with("import pulumi\npulumi.runtime.invoke('acme:index/getThing:getThing', {})\n")
    with pytest.raises(OperationFailed, match=r"'acme:index/getThing:getThing'.*mock_inventory\.py"):
        run_program("dev")


def test_invoke_is_dispatched_and_its_bad_input_reaches_the_caller(project_with, monkeypatch) -> None:
    seen: list[dict] = []

    def lookup(args: dict) -> dict:
        seen.append(args)
        if args["name"] == "missing":
            raise BadInput("vmware-azure-dr:vcenter.datastore: 'missing' does not exist in vCenter")
        return {"id": "datastore-1", "name": args["name"]}

    monkeypatch.setitem(mock_inventory.INVOKES, "test:index/getStore:getStore", lookup)
    project_with(
        "import pulumi\n"
        "r = pulumi.runtime.invoke('test:index/getStore:getStore', {'name': 'DS1'})\n"
        "pulumi.export('store', r.value['id'])\n"
    )
    assert run_program("dev").outputs == {"store": "datastore-1"}
    assert seen == [{"name": "DS1"}]
    (Path(__import__("os").environ["ASRCTL_PROJECT_DIR"]) / "__main__.py").write_text(
        "import pulumi\npulumi.runtime.invoke('test:index/getStore:getStore', {'name': 'missing'})\n"
    )
    with pytest.raises(BadInput, match="'missing' does not exist"):
        run_program("dev")


def test_bad_input_raised_by_the_program_propagates(project_with) -> None:
    project_with("from asrctl.errors import BadInput\nraise BadInput('vmware-azure-dr:x: broken')\n")
    with pytest.raises(BadInput, match="vmware-azure-dr:x: broken"):
        run_program("dev")


def test_invalid_stack_value_is_reported_with_file_and_line_before_running(project_with) -> None:
    root = project_with("raise SystemExit('the program must not run for an invalid stack')\n")
    stack_file = root / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("rpoThresholdMinutes: 30", "rpoThresholdMinutes: -5"))
    with pytest.raises(BadInput, match=r"Pulumi\.dev\.yaml:\d+: vmware-azure-dr:replication\.rpoThresholdMinutes"):
        run_program("dev")


def test_missing_program_is_bad_input(project_with) -> None:
    root = project_with("")
    (root / "__main__.py").unlink()
    with pytest.raises(BadInput, match="__main__.py"):
        run_program("dev")


def test_json_safe_handles_secrets_unknowns_floats_and_references() -> None:
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "s3cret"}
    ref = {"4dabf18193072939515e22adb298388d": "5cf8f73096256a8f31e491e813e4eb8e", "urn": "urn:x", "id": "i"}
    raw = {
        "a": 30.0, "b": 2.5, "c": [secret, "04da6b54-80e4-46f7-96ec-b56ff0331ba9"], "d": ref, "e": True,
        "f": "prefix-hunter2-suffix",
    }
    assert json_safe(raw, ("hunter2",)) == {
        "a": 30, "b": 2.5, "c": [SECRET_MARK, UNKNOWN_MARK], "d": "urn:x", "e": True, "f": SECRET_MARK,
    }
    assert isinstance(json_safe(30.0), int)


def test_arm_ids_follow_the_azure_resource_id_shape() -> None:
    vault = arm_id("azure-native:recoveryservices:Vault", "v", {"vaultName": "rsv-a", "resourceGroupName": "rg-a"}, SUB)
    assert vault == f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.RecoveryServices/vaults/rsv-a"
    item = arm_id(
        "azure-native:recoveryservices:ReplicationProtectedItem", "item",
        {"resourceName": "rsv-a", "fabricName": "f1", "protectionContainerName": "c1",
         "replicatedProtectedItemName": "vm1", "resourceGroupName": "rg-a"}, SUB,
    )
    assert item.endswith(
        "/vaults/rsv-a/replicationFabrics/f1/replicationProtectionContainers/c1/replicationProtectedItems/vm1"
    )
    subnet = arm_id("azure-native:network:Subnet", "s", {"subnetName": "snet-a", "virtualNetworkName": "vnet-a",
                                                          "resourceGroupName": "rg-a"}, SUB)
    assert subnet.endswith("/providers/Microsoft.Network/virtualNetworks/vnet-a/subnets/snet-a")


RG = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers"


@pytest.mark.parametrize(
    ("token", "inputs", "expected"),
    [
        # the Azure name, in ARM's plural type segment (not publicIPAddress/<logical name>)
        ("azure-native:network:PublicIPAddress", {"publicIpAddressName": "pip-a"},
         f"{RG}/Microsoft.Network/publicIPAddresses/pip-a"),
        ("azure-native:compute:VirtualMachine", {"vmName": "asrps01"}, f"{RG}/Microsoft.Compute/virtualMachines/asrps01"),
        # a gateway connection is Microsoft.Network/connections
        ("azure-native:network:VirtualNetworkGatewayConnection", {"virtualNetworkGatewayConnectionName": "con-a"},
         f"{RG}/Microsoft.Network/connections/con-a"),
        # a blob container hangs below the account's default blob service
        ("azure-native:storage:BlobContainer", {"accountName": "sta", "containerName": "runbooks"},
         f"{RG}/Microsoft.Storage/storageAccounts/sta/blobServices/default/containers/runbooks"),
        ("azure-native:automation:Runbook", {"automationAccountName": "aa-a", "runbookName": "ASR-X"},
         f"{RG}/Microsoft.Automation/automationAccounts/aa-a/runbooks/ASR-X"),
        ("azure-native:monitor:ScheduledQueryRule", {"ruleName": "alert-a"}, f"{RG}/Microsoft.Insights/scheduledQueryRules/alert-a"),
    ],
)
def test_arm_ids_use_the_azure_name_the_plural_type_and_the_parent_chain(token: str, inputs: dict, expected: str) -> None:
    assert arm_id(token, "logical-name", {**inputs, "resourceGroupName": "rg-a"}, SUB) == expected


def test_extension_resources_hang_below_their_scope() -> None:
    account = f"{RG}/Microsoft.Storage/storageAccounts/sta"
    assignment = arm_id("azure-native:authorization:RoleAssignment", "ra", {"scope": account}, SUB)
    assert assignment.startswith(f"{account}/providers/Microsoft.Authorization/roleAssignments/")
    guid = assignment.rsplit("/", 1)[1]
    assert len(guid) == 36 and guid == arm_id("azure-native:authorization:RoleAssignment", "ra", {"scope": account}, SUB).rsplit("/", 1)[1]
    vault = f"{RG}/Microsoft.RecoveryServices/vaults/rsv-a"
    setting = arm_id("azure-native:monitor:DiagnosticSetting", "d", {"name": "to-law", "resourceUri": vault}, SUB)
    assert setting == f"{vault}/providers/Microsoft.Insights/diagnosticSettings/to-law"
    assert "unknown-rg" not in assignment + setting


@pytest.mark.parametrize("stack", ["dev", "prod", "legacy"])
def test_every_created_azure_resource_has_an_id_as_arm_forms_it(stack: str) -> None:
    result = preview(stack)
    for r in result.resources:
        if not (r.custom and r.type.startswith("azure-native:")):
            continue
        assert r.type in mockmode.ARM_TYPES, r.type
        rid = r.outputs["id"]
        namespace = mockmode.ARM_TYPES[r.type].namespace
        assert rid.startswith("/subscriptions/") and "unknown-rg" not in rid, rid
        if namespace:
            assert f"/providers/{namespace}/" in rid, rid
        # the resource's own name is the Azure name the program chose (a GUID for a role assignment), never the
        # Pulumi logical name
        assert rid.rsplit("/", 1)[1] == r.outputs["name"] != r.name, rid


def test_an_azure_type_without_an_arm_rule_fails_the_preview_naming_the_fix(project_with) -> None:
    project_with(
        "from pulumi_azure_native import keyvault\n"
        "keyvault.Vault('kv', vault_name='kv-a', resource_group_name='rg-a', properties={'tenantId': 't', "
        "'sku': {'family': 'A', 'name': 'standard'}})\n"
    )
    with pytest.raises(OperationFailed, match=r"cannot form the ARM id of azure-native:keyvault:Vault .*ARM_TYPES"):
        run_program("dev")


def test_preview_json_is_identical_run_to_run(cli) -> None:
    first = cli("preview", "--stack", "dev", "--json")
    second = cli("preview", "--stack", "dev", "--json")
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout
    doc = json.loads(first.stdout)
    assert all(r["dependencies"] == sorted(r["dependencies"]) for r in doc["resources"])


def test_module_imports_without_pulumi_loaded() -> None:
    # `asrctl --help` must stay instant: the harness defers every Pulumi import to run time.
    source = Path(mockmode.__file__).read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top_level if "pulumi" in line], top_level


def test_garbage_collector_is_back_on_after_a_run_even_a_failing_one(project_with) -> None:
    import gc

    project_with("from asrctl.errors import BadInput\nraise BadInput('vmware-azure-dr:x: broken')\n")
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with pytest.raises(BadInput):
        run_program("dev")
    assert gc.isenabled()
    # A long-lived process (this test run) collects the run's garbage: nothing was frozen.
    assert gc.get_freeze_count() == frozen


def test_the_one_shot_cli_freezes_the_heap_after_a_run(tmp_path: Path) -> None:
    """The asrctl executable leaves the run's heap frozen (no collection rescans it before exit); output unchanged."""
    import os
    import subprocess
    import sys

    probe = (
        "import gc, json, sys\n"
        "from asrctl import gcpolicy\n"
        "mode = sys.argv[1]\n"
        "if mode == 'one-shot':\n"
        "    gcpolicy.declare_one_shot_process()\n"
        "from asrctl.mockmode import run_program\n"
        "result = run_program('dev')\n"
        "print(json.dumps({'frozen': gc.get_freeze_count(), 'enabled': gc.isenabled(), 'resources': len(result.resources)}))\n"
    )
    env = {**os.environ, "ASRCTL_PROJECT_DIR": str(PROJECT), "ASRCTL_HOME": str(tmp_path)}
    runs = {
        mode: json.loads(subprocess.run([sys.executable, "-c", probe, mode], env=env, capture_output=True, text=True,
                                        check=True, cwd=PROJECT).stdout)
        for mode in ("one-shot", "library")
    }
    assert runs["one-shot"]["frozen"] > 10_000 and runs["library"]["frozen"] == 0
    assert runs["one-shot"]["enabled"] and runs["library"]["enabled"]
    assert runs["one-shot"]["resources"] == runs["library"]["resources"]


def test_a_run_after_a_failed_run_does_not_await_its_leftovers(project_with) -> None:
    root = project_with(
        "import pulumi\nfrom pulumi_azure_native import resources\nfrom asrctl.errors import BadInput\n"
        "g = resources.ResourceGroup('g', resource_group_name='rg-a')\n"
        "g.name.apply(lambda n: n.upper())\n"
        "raise BadInput('vmware-azure-dr:x: broken after registering')\n"
    )
    with pytest.raises(BadInput, match="broken after registering"):
        run_program("dev")
    (root / "__main__.py").write_text(SMALL_PROGRAM)
    assert len(run_program("dev").resources) == 2

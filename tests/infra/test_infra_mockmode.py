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
secret = cfg.require_secret("csPassphrase")
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
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "correct-horse-battery")
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


def test_module_imports_without_pulumi_loaded() -> None:
    # `asrctl --help` must stay instant: the harness defers every Pulumi import to run time.
    source = Path(mockmode.__file__).read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top_level if "pulumi" in line], top_level


def test_garbage_collector_is_back_on_after_a_run_even_a_failing_one(project_with) -> None:
    import gc

    project_with("from asrctl.errors import BadInput\nraise BadInput('vmware-azure-dr:x: broken')\n")
    assert gc.isenabled()
    with pytest.raises(BadInput):
        run_program("dev")
    assert gc.isenabled()


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

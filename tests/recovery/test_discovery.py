"""`asrctl discover` end to end: the CLI, the real SDK and azure-core pipeline, against the ASR stand-in serving the
vault of a stack of the test's own (modernized: the InMageRcm fabric, the VMware site's OffAzure machines and
run-as accounts; classic: the configuration server's fabric and protectable items), and on the simulator."""

from __future__ import annotations

import json

import pytest
import yaml

from asrctl.config import ModernizedRegistration, Registration


def snippet(stdout: str) -> dict:
    doc = yaml.safe_load(stdout)
    assert list(doc) == ["vmware-azure-dr:registration"]
    return doc["vmware-azure-dr:registration"]


def lab_registration(lab) -> dict:
    return yaml.safe_load(lab.stack_path.read_text())["config"]["vmware-azure-dr:registration"]


def no_secret(lab, result) -> None:
    assert lab.arm.token not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


# -- modernized ----------------------------------------------------------------------------------------------------
def test_modernized_block_from_the_fabric_and_the_vmware_site(make_lab, cli):
    lab = make_lab(architecture="modernized")
    lab.arm.page_size = 1  # ASR's lists come in pages: the SDK pager follows nextLink
    result = cli("discover", "--stack", lab.stack)
    assert result.exit_code == 0, result.stderr
    no_secret(lab, result)
    block = snippet(result.stdout)
    expected = lab_registration(lab)
    assert {k: block[k] for k in expected} == expected  # fabric, container, site, appliances, machines
    assert block["failbackDatastore"] == "datastore1"  # vcenter.datastore, reachable by the reprotect agent
    assert "runAsAccountId" not in block
    assert "2 guest run-as accounts (windows-guest (WindowsGuest), linux-guest (LinuxGuest))" in result.stderr
    assert list(block) == ["fabricName", "protectionContainerName", "vmwareSiteId", "appliances", "failbackDatastore",
                           "discoveredMachines"]  # fmt: skip
    assert ModernizedRegistration.model_validate(block).appliances["appliance01"].reprotect_agent_id
    [offazure] = lab.arm.calls("GET", r"/Microsoft\.OffAzure/VMwareSites/[^/]+/machines$")
    assert offazure.param("api-version") == "2020-01-01"  # what the Azure CLI's site-recovery test uses
    assert all(r.method == "GET" for r in lab.arm.requests)  # read-only


def test_modernized_ambiguous_and_missing_machines_are_reported_with_the_rest_printed(make_lab, cli):
    lab = make_lab(architecture="modernized")
    fabric = lab.fabric
    lab.world.add_machine(fabric, "ERP-SQL01-clone", display_name="ERP-SQL01")  # a live twin in vCenter
    lab.world.add_machine(fabric, "erp-app01-old", display_name="erp-app01", deleted=True)  # gone: ignored
    next(m for m in fabric.machines if m.name == "erp-web01").display_name = "erp-web01-renamed"
    result = cli("discover", "--stack", lab.stack, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    missing = {m["key"]: m for m in data["missing"]}
    assert set(missing) == {"discoveredMachines.erp-sql01", "discoveredMachines.erp-web01"}
    assert "2 live VMs named ERP-SQL01" in missing["discoveredMachines.erp-sql01"]["reason"]
    assert "is not among the" in missing["discoveredMachines.erp-web01"]["reason"]
    machines = data["registration"]["discoveredMachines"]
    assert set(machines) == {"erp-sql02", "erp-app01"}
    assert machines["erp-app01"] == lab_registration(lab)["discoveredMachines"]["erp-app01"]  # not the deleted twin
    text = cli("discover", "--stack", lab.stack)
    assert "      # erp-web01: not discovered yet (vmName erp-web01)" in text.stdout
    assert text.stderr.strip().splitlines()[-1].startswith(f"error: stack {lab.stack}: 2 registration value(s)")


def test_modernized_unregistered_appliance_and_missing_reprotect_agent(make_lab, cli):
    lab = make_lab(architecture="modernized")
    lab.fabric.appliances[0].reprotect_agent = False
    data = json.loads(cli("discover", "--stack", lab.stack, "--json").stdout)
    assert data["registration"]["appliances"] == {"appliance01": {"processServerId": lab.fabric.appliances[0].id}}
    assert any("no reprotect agent registered" in w for w in data["warnings"])
    lab.fabric.appliances[0].name = "some-other-appliance"
    result = cli("discover", "--stack", lab.stack, "--json")
    assert result.exit_code == 1
    [missing] = json.loads(result.stdout)["missing"]
    assert missing["key"] == "appliances.appliance01" and "some-other-appliance" in missing["reason"]


def test_modernized_vault_without_an_appliance_says_register_first(make_lab, cli):
    lab = make_lab(architecture="modernized")
    lab.world.fabrics.clear()
    result = cli("discover", "--stack", lab.stack, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["missing"][0]["key"] == "fabricName" and "no replication appliance has registered" in \
        data["missing"][0]["reason"]


# -- classic ---------------------------------------------------------------------------------------------------------
def test_classic_block_with_the_linux_master_target(make_lab, cli):
    lab = make_lab(architecture="classic")
    result = cli("discover", "--stack", lab.stack, "--json")
    assert result.exit_code == 0, result.stderr
    no_secret(lab, result)
    data = json.loads(result.stdout)
    block = data["registration"]
    expected = {k: v for k, v in lab_registration(lab).items() if k != "runAsAccountId"}
    assert block == expected
    assert block["linuxMasterTargetId"] == next(t.id for t in lab.fabric.master_targets if t.os == "Linux")
    assert any("3 run-as accounts" in w for w in data["warnings"])
    assert Registration.model_validate(block).retention_drive == "E:\\"


def test_classic_discover_of_a_modernized_vault_points_at_the_architecture(make_lab, cli):
    lab = make_lab(architecture="classic")
    lab.world.fabrics.clear()
    lab.world.add_modernized_fabric()
    data = json.loads(cli("discover", "--stack", lab.stack, "--json").stdout)
    fabric = data["missing"][0]
    assert fabric["key"] == "fabricName" and "architecture: modernized" in fabric["reason"]


def test_classic_machine_not_discovered_is_named_and_exits_1(make_lab, cli):
    lab = make_lab(architecture="classic")
    lab.fabric.machines = [m for m in lab.fabric.machines if m.name != "erp-app01"]
    result = cli("discover", "--stack", lab.stack)
    assert result.exit_code == 1
    assert "      # erp-app01: not discovered yet (vmName erp-app01)" in result.stdout
    assert "vCenter account can see it" in result.stderr


# -- the simulator, credentials, stacks -------------------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ["modernized", "classic"])
def test_simulator_ids_make_the_whole_flow_run_without_azure(make_lab, cli, architecture):
    lab = make_lab(architecture=architecture)
    doc = yaml.safe_load(lab.stack_path.read_text())
    del doc["config"]["vmware-azure-dr:registration"]
    lab.stack_path.write_text(yaml.safe_dump(doc, sort_keys=False))  # phase 1: nothing registered yet
    requests = len(lab.arm.requests)
    result = cli("discover", "--stack", lab.stack, "--provider", "simulator")
    assert result.exit_code == 0, result.stderr
    assert len(lab.arm.requests) == requests  # no Azure
    block = snippet(result.stdout)
    model = ModernizedRegistration if architecture == "modernized" else Registration
    assert model.model_validate(block)
    again = snippet(cli("discover", "--stack", lab.stack, "--provider", "simulator").stdout)
    assert again == block  # the simulated vault's own, stable ids
    doc["config"]["vmware-azure-dr:registration"] = block
    lab.stack_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    drill = cli("drill", lab.plan_name, "--stack", lab.stack, "--auto-approve")
    assert drill.exit_code == 0, drill.stderr


def test_no_credentials_is_one_line_exit_2(make_lab, cli, monkeypatch):
    modern = make_lab(architecture="modernized")
    from azure.identity import CredentialUnavailableError

    class NoCredential:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def get_token(self, *scopes, **kwargs):
            raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token from the environment")

    monkeypatch.delenv("ASRCTL_ARM_TOKEN")
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", NoCredential)
    result = cli("discover", "--stack", modern.stack)
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: asrctl discover: no usable Azure credential") and "az login" in line
    assert not modern.arm.requests


def test_rejected_token_is_exit_2_and_never_printed(make_lab, cli):
    modern = make_lab(architecture="modernized")
    modern.arm.valid_tokens = {"another-token"}
    result = cli("discover", "--stack", modern.stack, "--json")
    assert result.exit_code == 2
    no_secret(modern, result)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Azure Resource Manager rejected the credential")


def test_unknown_stack_and_provider_are_exit_2(cli):
    result = cli("discover", "--stack", "nope")
    assert result.exit_code == 2 and "unknown stack" in result.stderr
    result = cli("discover", "--stack", "nope", "--provider", "somewhere")
    assert result.exit_code == 2


def test_stale_registration_block_in_the_stack_does_not_stop_discovery(make_lab, cli):
    """A registration block without discoveredMachines makes the stack invalid; discover is how it gets fixed."""
    lab = make_lab(architecture="modernized")
    doc = yaml.safe_load(lab.stack_path.read_text())
    del doc["config"]["vmware-azure-dr:registration"]["discoveredMachines"]
    lab.stack_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = cli("discover", "--stack", lab.stack, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert "registration block is ignored" in data["warnings"][0] and "discoveredMachines" in data["warnings"][0]
    assert len(data["registration"]["discoveredMachines"]) == len(lab.machines)

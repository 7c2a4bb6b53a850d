"""`asrctl discover` end to end: the CLI, the real SDK and azure-core pipeline, against the local HTTPS fake of ARM
serving a registered classic configuration server for the prod stack (40 machines, failback enabled, a separate
master target)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fake_arm import FakeArm

from asrctl.config import Registration, load_stack
from asrctl.recovery.providers.azure.asr import stack_azure_ids

TOKEN = "discover-secret-token-7f3a"
PAGE_SIZE = 16
EXTRA_VMS = ("jumpbox01", "tpl-ws2016-asr", "asr-cs-prod01")  # in vCenter but not in the stack


@pytest.fixture
def cfg():
    return load_stack("legacy")


@pytest.fixture
def fake(tmp_path: Path, cfg, monkeypatch: pytest.MonkeyPatch):
    """The vault after the prod configuration server registered: ids as the prod stack already records them."""
    ids = stack_azure_ids(cfg)
    arm = FakeArm(tmp_path, subscription=cfg.subscription_id, resource_group=ids.resource_group, vault=ids.vault)
    arm.valid_tokens = {TOKEN}
    arm.page_size = PAGE_SIZE
    reg, cs = cfg.registration, cfg.configuration_server
    arm.add_fabric("Azure", instance_type="Azure", containers=[])  # other fabric kinds are ignored
    arm.add_fabric(
        reg.fabric_name,
        friendly_name=cs.name,
        ip_address=cs.ip,
        host_name=f"{cs.name}.corp.contoso.com",
        process_servers=[
            {"id": reg.process_server_id, "friendly_name": cs.name, "ip_address": cs.ip},
            {"id": "0a1b2c3d-ps-scale-out-1", "friendly_name": f"{cs.name}-ps1", "ip_address": "10.20.5.11"},
            {
                "id": reg.failback_process_server_id,
                "friendly_name": "asrpsprod",
                "ip_address": cfg.failback.process_server_ip,
            },
        ],
        master_targets=[
            {
                "id": "built-in-mt-on-the-cs",
                "name": cs.name.upper(),
                "ip_address": cs.ip,
                "os_type": "Windows",
                "retention_volumes": ["F:\\"],
            },
            {
                "id": reg.master_target_id,
                "name": f"{cs.name}-mt.corp.contoso.com",
                "ip_address": "10.20.5.12",
                "os_type": "Windows",
                "retention_volumes": [reg.retention_drive],
            },
            {
                "id": "linux-mt",
                "name": f"{cs.name}-mt-linux",
                "ip_address": "10.20.5.13",
                "os_type": "Linux",
                "retention_volumes": ["/mnt/retention"],
            },
        ],
        run_as_accounts=[{"account_id": reg.run_as_account_id, "account_name": "svc-asr-push"}],
        containers=[reg.protection_container_name],
    )
    for machine in cfg.machines:
        arm.add_protectable(reg.fabric_name, reg.protection_container_name, machine.vm_name,
                            name=reg.protectable_items[machine.name], ip_address=machine.ip)  # fmt: skip
    for vm in EXTRA_VMS:
        arm.add_protectable(reg.fabric_name, reg.protection_container_name, vm)
    arm.start()
    monkeypatch.setenv("ASRCTL_ARM_TOKEN", TOKEN)
    monkeypatch.setenv("ASRCTL_ARM_ENDPOINT", arm.endpoint)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(arm.cert_path))  # trust the fake's self-signed certificate
    yield arm
    arm.stop()


def expected_registration(cfg) -> dict:
    block = cfg.registration.model_dump(by_alias=True, exclude_none=True)
    block["protectableItems"] = dict(sorted(block["protectableItems"].items()))
    return block


def snippet(stdout: str) -> dict:
    doc = yaml.safe_load(stdout)
    assert list(doc) == ["vmware-azure-dr:registration"]
    return doc["vmware-azure-dr:registration"]


def no_secret(result) -> None:
    assert TOKEN not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_all_found_prints_the_block_to_paste_and_exits_0(cli, fake, cfg):
    result = cli("discover", "--stack", "legacy")
    assert result.exit_code == 0, result.stderr
    no_secret(result)
    assert result.stdout.startswith("  vmware-azure-dr:registration:\n    fabricName: ")
    block = snippet(result.stdout)
    # The snippet is exactly what the prod stack records (and validates as the stack's Registration model).
    assert block == expected_registration(cfg)
    assert Registration.model_validate(block) == cfg.registration
    assert list(block["protectableItems"]) == sorted(m.name for m in cfg.machines)
    assert block["runAsAccountId"] == "1" and "runAsAccountId: '1'" in result.stdout  # a string, not YAML's int
    assert block["masterTargetId"] == cfg.registration.master_target_id  # the separate -mt, not the built-in one
    assert block["retentionDrive"] == "E:\\"
    assert "protectable items for 40 of 40 machine(s)" in result.stderr
    assert "missing" not in result.stderr and "warnings" not in result.stderr
    # 43 protectable items at 16 a page: the SDK pager followed nextLink twice.
    pages = fake.lists("/replicationProtectableItems")
    assert len(pages) == 3
    assert [p.query.get("$skiptoken") for p in pages] == [None, ["16"], ["32"]]
    assert all(p.query["api-version"] == ["2025-08-01"] for p in pages)
    assert all(r.method == "GET" for r in fake.requests)  # read-only


def test_all_found_json(cli, fake, cfg):
    result = cli("discover", "--stack", "legacy", "--json")
    assert result.exit_code == 0, result.stderr
    no_secret(result)
    data = json.loads(result.stdout)
    assert data == {"registration": expected_registration(cfg), "missing": [], "warnings": []}


def test_machine_not_discovered_is_named_and_exits_1_with_the_rest_printed(cli, fake, cfg):
    gone = cfg.machines[3]
    fake.protectable = [p for p in fake.protectable if p.vm_name != gone.vm_name]
    result = cli("discover", "--stack", "legacy")
    assert result.exit_code == 1
    no_secret(result)
    block = snippet(result.stdout)
    assert gone.name not in block["protectableItems"] and len(block["protectableItems"]) == 39
    assert f"      # {gone.name}: not discovered yet (vmName {gone.vm_name})" in result.stdout
    assert block["fabricName"] == cfg.registration.fabric_name  # everything else still printed
    assert f"protectableItems.{gone.name} (vmName {gone.vm_name}): VM {gone.vm_name} is not among" in result.stderr
    assert "vCenter account can see it" in result.stderr and "powered on" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: stack legacy: 1 registration value(s) not found")

    data = json.loads(cli("discover", "--stack", "legacy", "--json").stdout)
    assert [m["key"] for m in data["missing"]] == [f"protectableItems.{gone.name}"]
    assert data["missing"][0]["machine"] == gone.name and data["missing"][0]["vmName"] == gone.vm_name
    assert len(data["registration"]["protectableItems"]) == 39


def test_two_protection_containers_exit_1_naming_both_and_the_key(cli, fake, cfg):
    fabric = fake.fabrics[cfg.registration.fabric_name]
    fabric.containers.append("cloud_00000000-0000-4000-8000-000000000002")
    result = cli("discover", "--stack", "legacy", "--json")
    assert result.exit_code == 1
    no_secret(result)
    data = json.loads(result.stdout)
    keys = [m["key"] for m in data["missing"]]
    assert keys == ["protectionContainerName", "protectableItems"]
    reason = data["missing"][0]["reason"]
    assert "2 protection containers" in reason and "registration.protectionContainerName" in reason
    assert all(c in reason for c in fabric.containers)
    reg = data["registration"]
    assert "protectionContainerName" not in reg and reg["protectableItems"] == {}
    assert reg["processServerId"] == cfg.registration.process_server_id  # what was found is still there
    assert not fake.lists("/replicationProtectableItems")

    text = cli("discover", "--stack", "legacy")
    assert text.exit_code == 1
    assert "    # protectionContainerName: not found" in text.stdout
    assert "2 protection containers" in text.stderr


def test_no_credentials_is_one_line_exit_2(cli, fake, monkeypatch):
    from azure.identity import CredentialUnavailableError

    class NoCredential:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def get_token(self, *scopes, **kwargs):
            raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token from the environment")

    monkeypatch.delenv("ASRCTL_ARM_TOKEN")
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", NoCredential)
    result = cli("discover", "--stack", "legacy")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: asrctl discover: no usable Azure credential")
    assert "az login" in line and "ASRCTL_ARM_TOKEN" in line
    assert not fake.requests


def test_rejected_token_is_exit_2_and_never_printed(cli, fake):
    fake.valid_tokens = {"another-token"}
    result = cli("discover", "--stack", "legacy", "--json")
    assert result.exit_code == 2
    no_secret(result)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Azure Resource Manager rejected the credential")


def test_unknown_stack_is_exit_2(cli):
    result = cli("discover", "--stack", "nope")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --stack nope: unknown stack, no stacks/Pulumi.nope.yaml (known stacks: dev, legacy, prod)"
    ]


def test_unregistered_vault_exit_1_says_register_first(cli, fake, cfg):
    del fake.fabrics[cfg.registration.fabric_name]
    fake.add_fabric("rcm-fabric", instance_type="InMageRcm", containers=[])
    result = cli("discover", "--stack", "legacy", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["registration"] == {"protectableItems": {}}
    fabric = data["missing"][0]
    assert (
        fabric["key"] == "fabricName" and "has not registered" in fabric["reason"] and "modernized" in fabric["reason"]
    )
    assert [m["key"] for m in data["missing"][1:]] == [
        "protectionContainerName", "processServerId", "masterTargetId", "protectableItems"]  # fmt: skip


def test_optional_keys_left_out_with_warnings_still_exit_0(cli, fake, cfg):
    fabric = fake.fabrics[cfg.registration.fabric_name]
    fabric.run_as_accounts.append({"account_id": "2", "account_name": "svc-asr-linux"})
    fabric.process_servers = [
        p for p in fabric.process_servers if p["id"] != cfg.registration.failback_process_server_id
    ]
    result = cli("discover", "--stack", "legacy", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert "runAsAccountId" not in data["registration"] and "failbackProcessServerId" not in data["registration"]
    text = "\n".join(data["warnings"])
    assert "2 run-as accounts: 1 (svc-asr-push), 2 (svc-asr-linux)" in text
    assert f"no process server with IP {cfg.failback.process_server_ip}" in text


def test_missing_master_target_lists_the_registered_ones(cli, fake, cfg):
    fabric = fake.fabrics[cfg.registration.fabric_name]
    fabric.master_targets = [t for t in fabric.master_targets if t["id"] != cfg.registration.master_target_id]
    data = json.loads(cli("discover", "--stack", "legacy", "--json").stdout)
    [missing] = data["missing"]
    assert missing["key"] == "masterTargetId"
    assert "named asr-cs-prod01-mt" in missing["reason"] and "built-in-mt-on-the-cs" in missing["reason"]


def test_stale_registration_block_in_the_stack_does_not_stop_discovery(cli, fake, cfg, tmp_path, monkeypatch):
    """A registration block without protectableItems makes the stack invalid; discover is how it gets fixed."""
    project = Path(__file__).resolve().parents[2]
    doc = yaml.safe_load((project / "stacks" / "Pulumi.legacy.yaml").read_text())
    del doc["config"]["vmware-azure-dr:registration"]["protectableItems"]
    (tmp_path / "proj" / "stacks").mkdir(parents=True)
    (tmp_path / "proj" / "stacks" / "Pulumi.legacy.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(tmp_path / "proj"))
    result = cli("discover", "--stack", "legacy", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["registration"] == expected_registration(cfg)
    assert "registration block is ignored" in data["warnings"][0] and "protectableItems" in data["warnings"][0]

"""On-prem ASR servers of the classic architecture under mocks (stack legacy): vCenter provider, configuration server
from OVF, scale-out servers, lookups. The modernized appliances are in test_infra_modernized.py."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from infra_previews import assert_components_own, one, preview

from asrctl.errors import BadInput
from asrctl.mockmode import run_program

PROJECT = Path(__file__).resolve().parents[2]
VM = "vsphere:index/virtualMachine:VirtualMachine"


def _vms(stack: str) -> dict[str, dict]:
    return {r.inputs["name"]: r for r in preview(stack).of_type(VM)}


@pytest.mark.parametrize("stack", ["prod", "legacy"])
def test_vsphere_provider_uses_the_vcenter_config_and_a_secret_password(stack: str) -> None:
    provider = one(preview(stack), "pulumi:providers:vsphere")
    assert provider.inputs["vsphereServer"] == "vcsa-prod.corp.contoso.com"
    assert provider.inputs["user"] == "svc-asr@vsphere.local"
    assert provider.inputs["password"] == "[secret]"


def test_configuration_server_is_deployed_from_the_ovf_sized_by_the_table() -> None:
    cs = _vms("legacy")["asr-cs-prod01"]
    ovf = cs.inputs["ovfDeploy"]
    assert ovf["remoteOvfUrl"] == "https://aka.ms/asrconfigurationserver"
    assert ovf["diskProvisioning"] == "eagerZeroedThick"
    network_id = cs.inputs["networkInterfaces"][0]["networkId"]
    assert ovf["ovfNetworkMap"] == {"VM Network": network_id}
    assert cs.inputs["networkInterfaces"][0]["adapterType"] == "vmxnet3"
    # legacy: 40 machines, 987 GB/day → 12 vCPU / 18 GB / 600 GB cache.
    assert cs.inputs["numCpus"] == 12 and cs.inputs["memory"] == 18 * 1024
    disks = {d["label"]: d for d in cs.inputs["disks"]}
    assert disks["cache"]["size"] == 600
    assert all(d["eagerlyScrub"] and not d["thinProvisioned"] for d in disks.values())
    assert cs.inputs["extraConfig"]["guestinfo.asr.ipaddress"] == "10.20.5.10"
    assert cs.inputs["extraConfig"]["guestinfo.asr.dns"] == "10.20.0.10,10.20.0.11"
    assert cs.inputs["folder"] == "ASR"
    # Placement comes from the lookups: datastore, cluster pool and host are the looked-up ids.
    assert cs.inputs["datastoreId"].startswith("datastore-") and cs.inputs["resourcePoolId"].startswith("resgroup-")
    assert cs.inputs["hostSystemId"].startswith("host-")
    assert cs.protect and "ovfDeploy" in cs.ignore_changes


def test_legacy_master_targets_have_disk_uuid_and_lsi_logic() -> None:
    vms = _vms("legacy")
    assert not [n for n in vms if "-ps" in n], "legacy's churn needs no scale-out process server"
    for name, template in (("asr-cs-prod01-mt", "tpl-ws2016-asr"), ("asr-cs-prod01-mt-linux", "tpl-ubuntu2004-asr-mt")):
        mt = vms[name]
        assert mt.inputs["extraConfig"] == {"disk.EnableUUID": "TRUE"}
        assert mt.inputs["scsiType"] == "lsilogic"
        assert mt.inputs["clone"]["templateUuid"] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"vsphere-template:{template}"))
    assert vms["asr-cs-prod01-mt-linux"].inputs["guestId"] == "ubuntu64Guest"
    outputs = preview("legacy").outputs
    assert outputs["master_target_names"] == ["asr-cs-prod01-mt", "asr-cs-prod01-mt-linux"]
    assert outputs["configuration_server_ip"] == "10.20.5.10"


def test_configured_process_servers_are_cloned_with_the_sized_shape(stack_variant) -> None:
    def two_process_servers(config: dict) -> None:
        config["vmware-azure-dr:configurationServer"]["processServers"] = 2
        config["vmware-azure-dr:configurationServer"]["separateMasterTarget"] = False
        del config["vmware-azure-dr:configurationServer"]["linuxMasterTargetTemplate"]
        # One plan's machines only (erp: 6 machines, 205 GB/day), failback off.
        config["vmware-azure-dr:machines"] = [
            m for m in config["vmware-azure-dr:machines"] if m["name"].startswith("erp-")
        ]
        config["vmware-azure-dr:failback"] = {"enabled": False}
        del config["vmware-azure-dr:registration"]

    vms = {r.inputs["name"]: r for r in run_program(stack_variant("legacy", "scale", two_process_servers)).of_type(VM)}
    assert set(vms) == {"asr-cs-prod01", "asr-cs-prod01-ps1", "asr-cs-prod01-ps2"}
    ps = vms["asr-cs-prod01-ps1"]
    # 205 GB/day → the smallest scale-out tier: 4 vCPU / 8 GB / 300 GB cache.
    assert (ps.inputs["numCpus"], ps.inputs["memory"]) == (4, 8192)
    assert {d["label"]: d["size"] for d in ps.inputs["disks"]}["cache"] == 300
    assert "extraConfig" not in ps.inputs or "disk.EnableUUID" not in (ps.inputs.get("extraConfig") or {})


def test_missing_vsphere_object_is_one_line_exit_2_naming_the_key(cli, tmp_path: Path, monkeypatch) -> None:
    # dev is modernized: the lookups are shared by the appliances and the classic servers.
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "datacenters": ["DC-Amsterdam"],
                "clusters": ["CL-Dev"],
                "datastores": ["DS-Other"],
                "networks": ["PG-Servers-VLAN105"],
                "hosts": ["esx-dev-01.corp.contoso.com"],
                "templates": ["tpl-ws2016-asr"],
            }
        )
    )
    monkeypatch.setenv("ASRCTL_MOCK_VSPHERE_INVENTORY", str(inventory))
    result = cli("preview", "--stack", "dev")
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert "vmware-azure-dr:vcenter.datastore: 'DS-Dev-01' was not found in vCenter vcsa01.corp.contoso.com" in message
    assert "fix the name in the stack file" in message


def test_missing_template_names_the_configuration_server_key(tmp_path: Path, monkeypatch) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "datacenters": ["DC-Amsterdam"],
                "clusters": ["CL-Prod-01"],
                "datastores": ["DS-Prod-VMFS-01"],
                "networks": ["PG-Servers-VLAN205"],
                "hosts": ["esx-prod-03.corp.contoso.com"],
                "templates": ["tpl-ws2016-asr"],
            }
        )
    )
    monkeypatch.setenv("ASRCTL_MOCK_VSPHERE_INVENTORY", str(inventory))
    with pytest.raises(BadInput, match=r"configurationServer\.linuxMasterTargetTemplate: 'tpl-ubuntu2004-asr-mt'"):
        run_program("legacy")


def test_components_own_their_children_and_use_the_project_type_prefix() -> None:
    assert_components_own(preview("legacy"), {
        "dr-config-server-vm": "asrctl:dr:ConfigurationServerVm",
        "dr-scale-out-mt": "asrctl:dr:ScaleOutServers",
        "dr-vsphere-vcenter": "asrctl:dr:VSpherePlacement",
        "dr-failback-connection": "asrctl:dr:FailbackInfrastructure",
        "dr-rpo-alerting-rpo-alert": "asrctl:dr:RpoAlerting",
        "dr-automation-account": "asrctl:dr:RunbookAutomation",
        "dr-protection-container-mapping": "asrctl:dr:Protection",
        "dr-recovery-plans-erp": "asrctl:dr:RecoveryPlans",
    })

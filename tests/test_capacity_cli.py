"""``asrctl capacity``: text and JSON, the reason for each line, and exit 1 for a machine ASR cannot replicate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tmp_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's stacks and plans that a test may edit."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT / "stacks", root / "stacks")
    shutil.copytree(PROJECT / "runbooks", root / "runbooks")
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(root))
    return root


def _edit(root: Path, source: str, name: str, edit) -> None:
    doc = yaml.safe_load((root / "stacks" / f"Pulumi.{source}.yaml").read_text())
    edit(doc["config"])
    (root / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def test_capacity_modernized_text_names_each_decision_and_its_reason(cli) -> None:
    result = cli("capacity", "--stack", "prod")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Capacity for stack prod (modernized): 40 machines, 74 disks, 987 GB/day total churn" in out
    assert "Replication appliances needed: 1" in out and "40 machines ≤ 200" in out
    assert "Size: standard row: 8 vCPU / 16 GB RAM / 80 GB OS + 620 GB data disk, Windows Server 2022" in out
    assert "Dedicated failback appliance: yes" in out
    assert "failback of 74 disks exceeds the 60 disks one appliance fails back" in out
    assert "asr-ra-prod01 (replication): 40 machines, 74 disks, 987 GB/day" in out
    assert "asr-ra-prod02 (failback): 0 machines" in out
    assert "200 machines and 2048 GB/day per appliance, 60 disks per appliance in failback, 54 MB/s" in out
    assert "Configuration server" not in out and "CANNOT REPLICATE" not in out


def test_capacity_classic_text_names_each_decision_and_its_reason(cli) -> None:
    result = cli("capacity", "--stack", "legacy")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "(classic): 40 machines, 74 disks, 987 GB/day total churn" in out
    assert "Configuration server asr-cs-prod01: 12 vCPU / 18 GB RAM / 600 GB cache disk" in out
    assert "987 GB/day > 500 GB/day" in out
    assert "Scale-out process servers: 0" in out
    assert "Separate master target: yes" in out and "separateMasterTarget is true" in out
    assert "Linux master target: yes" in out
    assert "2048 GB/day per process server" in out and "54 MB/s per VM" in out
    assert "CANNOT REPLICATE" not in out


def test_capacity_json(cli) -> None:
    result = cli("capacity", "--stack", "dev", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["stack"], data["architecture"]) == ("dev", "modernized")
    assert data["replication_appliances"]["count"] == 1
    assert (data["size"]["vcpus"], data["size"]["memory_gb"], data["size"]["cache_disk_gb"]) == (8, 16, 620)
    assert "205 GB/day" in data["size"]["reason"]
    assert data["failback_appliance"] == {"needed": False, "reason": "failback is disabled: no failback appliance"}
    assert [a["name"] for a in data["appliances"]] == ["asr-ra-dev01"]
    assert [m["name"] for m in data["machine_loads"]][:2] == ["erp-sql01", "erp-sql02"]
    assert data["unreplicable"] == []
    classic = json.loads(cli("capacity", "--stack", "legacy", "--json").stdout)
    assert classic["architecture"] == "classic" and classic["configuration_server"]["vcpus"] == 12


@pytest.mark.parametrize("source", ["dev", "legacy"])
def test_capacity_exits_1_and_names_a_machine_over_the_per_vm_limit(cli, tmp_project: Path, source: str) -> None:
    def hot(config: dict) -> None:
        config["vmware-azure-dr:machines"][0]["peakChurnMbPerS"] = 60
        config["vmware-azure-dr:machines"][1]["churnGbPerDay"] = 2500

    _edit(tmp_project, source, "hot", hot)
    result = cli("capacity", "--stack", "hot")
    assert result.exit_code == 1, result.stderr
    assert "CANNOT REPLICATE erp-sql01: peak churn 60.0 MB/s exceeds ASR's 54 MB/s per VM" in result.stdout
    assert "CANNOT REPLICATE erp-sql02" in result.stdout
    if source == "legacy":
        # 2500 GB/day on top of the rest is over one process server: one scale-out process server is added.
        assert "Scale-out process servers: 1" in result.stdout
    else:
        # No number of appliances makes a 2500 GB/day machine replicate: its churn asks for none.
        assert "Replication appliances needed: 1" in result.stdout
    as_json = json.loads(cli("capacity", "--stack", "hot", "--json").stdout)
    assert as_json["unreplicable"] == ["erp-sql01", "erp-sql02"]


def test_capacity_of_a_stack_with_too_few_appliances_is_bad_input(cli, tmp_project: Path) -> None:
    _edit(tmp_project, "prod", "short", lambda c: c["vmware-azure-dr:replicationAppliances"]["appliances"].pop())
    result = cli("capacity", "--stack", "short")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "add an appliance with role: failback" in result.stderr


def test_capacity_unknown_stack_is_bad_input(cli) -> None:
    result = cli("capacity", "--stack", "nope")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "unknown stack" in result.stderr
    assert "Traceback" not in result.stderr

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


def _edit_dev(root: Path, name: str, edit) -> None:
    doc = yaml.safe_load((root / "stacks" / "Pulumi.dev.yaml").read_text())
    edit(doc["config"])
    (root / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def test_capacity_text_names_each_decision_and_its_reason(cli) -> None:
    result = cli("capacity", "--stack", "prod")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "40 machines, 74 disks, 987 GB/day total churn" in out
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
    assert data["stack"] == "dev"
    assert data["configuration_server"]["vcpus"] == 8
    assert data["configuration_server"]["memory_gb"] == 16
    assert data["configuration_server"]["cache_disk_gb"] == 300
    assert "205 GB/day" in data["configuration_server"]["reason"]
    assert data["process_servers"]["count"] == 0
    assert data["separate_master_target"]["needed"] is False
    assert [m["name"] for m in data["machine_loads"]][:2] == ["erp-sql01", "erp-sql02"]
    assert data["unreplicable"] == []


def test_capacity_exits_1_and_names_a_machine_over_the_per_vm_limit(cli, tmp_project: Path) -> None:
    def hot(config: dict) -> None:
        config["vmware-azure-dr:machines"][0]["peakChurnMbPerS"] = 60
        config["vmware-azure-dr:machines"][1]["churnGbPerDay"] = 2500

    _edit_dev(tmp_project, "hot", hot)
    result = cli("capacity", "--stack", "hot")
    assert result.exit_code == 1
    assert "CANNOT REPLICATE erp-sql01: peak churn 60.0 MB/s exceeds ASR's 54 MB/s per VM" in result.stdout
    assert "CANNOT REPLICATE erp-sql02" in result.stdout
    # 2500 + 110 GB/day is over one process server: one scale-out process server is added.
    assert "Scale-out process servers: 1" in result.stdout
    as_json = json.loads(cli("capacity", "--stack", "hot", "--json").stdout)
    assert as_json["unreplicable"] == ["erp-sql01", "erp-sql02"]


def test_capacity_unknown_stack_is_bad_input(cli) -> None:
    result = cli("capacity", "--stack", "nope")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "unknown stack" in result.stderr
    assert "Traceback" not in result.stderr

"""Sizing table boundaries (REFERENCE.md §1): each tier edge, scale-out, master target and per-VM limits."""

from __future__ import annotations

import pytest

from asrctl.config import Disk, Machine, load_stack
from asrctl.sizing import (
    CONFIGURATION_SERVER_TIERS,
    PROCESS_SERVER_TIERS,
    machine_load,
    plan_capacity,
    size_servers,
    tier_for,
)


@pytest.mark.parametrize(
    ("churn", "machines", "shape"),
    [
        (0, 1, (8, 16, 300)),
        (500, 99, (8, 16, 300)),  # top edge of the small tier
        (501, 99, (12, 18, 600)),  # churn one GB over → medium
        (500, 100, (12, 18, 600)),  # machine count 100 → medium
        (1024, 150, (12, 18, 600)),  # top edge of the medium tier
        (1025, 150, (16, 32, 1024)),  # churn over 1 TB → large
        (1024, 151, (16, 32, 1024)),
        (2048, 200, (16, 32, 1024)),  # top edge of the large tier
    ],
)
def test_configuration_server_tier_edges(churn: float, machines: int, shape: tuple[int, int, int]) -> None:
    plan = size_servers(machines, churn)
    cs = plan.configuration_server
    assert (cs.vcpus, cs.memory_gb, cs.cache_disk_gb) == shape
    assert plan.process_servers == 0
    assert plan.additional_configuration_servers == 0


def test_beyond_two_tb_adds_scale_out_process_servers() -> None:
    assert size_servers(200, 2048).process_servers == 0
    one = size_servers(200, 2049)
    assert one.process_servers == 1
    assert "scale-out" in one.process_servers_reason
    assert size_servers(200, 4096).process_servers == 1
    assert size_servers(200, 4097).process_servers == 2
    assert one.process_server_capacity_gb_per_day == 4096


def test_beyond_200_machines_adds_a_configuration_server() -> None:
    assert size_servers(200, 100).additional_configuration_servers == 0
    plan = size_servers(201, 100)
    assert plan.additional_configuration_servers == 1
    assert any("201 machines exceed 200" in w for w in plan.warnings)
    assert size_servers(401, 100).additional_configuration_servers == 2


@pytest.mark.parametrize(
    ("churn", "machines", "shape"),
    [
        (250, 85, (4, 8, 300)),
        (251, 85, (8, 12, 600)),
        (250, 86, (8, 12, 600)),
        (1024, 150, (8, 12, 600)),
        (1025, 150, (12, 24, 1024)),
        (2048, 225, (12, 24, 1024)),
    ],
)
def test_process_server_tier_edges(churn: float, machines: int, shape: tuple[int, int, int]) -> None:
    tier = tier_for(PROCESS_SERVER_TIERS, churn, machines)
    assert tier is not None and (tier.vcpus, tier.memory_gb, tier.cache_disk_gb) == shape


def test_no_tier_beyond_the_table() -> None:
    assert tier_for(PROCESS_SERVER_TIERS, 2049, 10) is None
    assert tier_for(PROCESS_SERVER_TIERS, 10, 226) is None
    assert tier_for(CONFIGURATION_SERVER_TIERS, 10, 201) is None


def test_explicit_process_server_count_wins_and_warns_when_too_low() -> None:
    plan = size_servers(50, 5000, process_servers=1)
    assert plan.process_servers == 1
    assert any("below the 2" in w for w in plan.warnings)
    assert size_servers(50, 100, process_servers=3).process_servers == 3


def test_master_target_auto_follows_the_60_disk_limit_only_with_failback() -> None:
    assert size_servers(10, 100, total_disks=61, failback_enabled=True).separate_master_target is True
    assert size_servers(10, 100, total_disks=60, failback_enabled=True).separate_master_target is False
    assert size_servers(10, 100, total_disks=61, failback_enabled=False).separate_master_target is False
    assert size_servers(10, 100, total_disks=10, separate_master_target=True).separate_master_target is True


def _machine(churn: float, peak: float) -> Machine:
    return Machine(
        name="m1", os="linux", os_version="RHEL 8", ip="10.0.0.1", vm_name="m1", target_vm_size="Standard_D2s_v5",
        target_subnet="app", recovery_ip="10.1.0.1", churn_gb_per_day=churn, peak_churn_mb_per_s=peak,
        disks=[Disk(size_gb=10)],
    )


def test_per_vm_limits() -> None:
    assert machine_load(_machine(100, 54)).replicable
    over = machine_load(_machine(100, 54.1))
    assert not over.replicable and "54.1 MB/s exceeds" in over.reason
    too_much = machine_load(_machine(2049, 10))
    assert not too_much.replicable and "2048 GB/day" in too_much.reason
    # Peak unknown: the daily average decides (4608 GB/day = 54.6 MB/s).
    unknown_peak = machine_load(_machine(4608, 0))
    assert not unknown_peak.replicable and "average" in unknown_peak.reason


def test_stack_sizing_matches_the_stack_files() -> None:
    dev = plan_capacity(load_stack("dev"))
    assert (dev.machines, dev.total_churn_gb_per_day) == (6, 205)
    assert dev.configuration_server.vcpus == 8 and not dev.separate_master_target and not dev.linux_master_target
    prod = plan_capacity(load_stack("prod"))
    assert (prod.machines, prod.total_churn_gb_per_day) == (40, 987)
    # 987 GB/day is over the small tier's 500 GB/day although 40 machines are under 100.
    assert prod.configuration_server.vcpus == 12 and "987 GB/day > 500 GB/day" in prod.configuration_server_reason
    assert prod.process_servers == 0
    assert prod.separate_master_target and prod.linux_master_target
    assert prod.unreplicable == ()

"""Sizing table boundaries: classic (REFERENCE.md §1: each tier edge, scale-out, master target) and modernized
(REFERENCE-modernized §2.2, §5: appliances per 200 machines, size rows, the 60-disk failback rule), per-VM limits."""

from __future__ import annotations

import pytest

from asrctl.config import Disk, Machine, load_stack
from asrctl.sizing import (
    APPLIANCE_SIZES,
    CONFIGURATION_SERVER_TIERS,
    PROCESS_SERVER_TIERS,
    appliance_size_for,
    machine_load,
    plan_appliances,
    plan_capacity,
    size_appliances,
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
    legacy = plan_capacity(load_stack("legacy"))
    assert (legacy.machines, legacy.total_churn_gb_per_day) == (40, 987)
    # 987 GB/day is over the small tier's 500 GB/day although 40 machines are under 100.
    assert legacy.configuration_server.vcpus == 12 and "987 GB/day > 500 GB/day" in legacy.configuration_server_reason
    assert legacy.process_servers == 0
    assert legacy.separate_master_target and legacy.linux_master_target
    assert legacy.unreplicable == ()


# -- Modernized: replication appliances ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("machines", "count", "row"),
    [
        (40, 1, "standard"),  # the prod stack's size
        (150, 1, "standard"),  # top edge of the standard row
        (151, 1, "large"),  # the large row starts at 151 machines
        (200, 1, "large"),  # one appliance replicates at most 200
        (201, 2, "standard"),  # 2 appliances, 101 machines each
        (1000, 5, "large"),  # 200 each
        (1001, 6, "large"),  # 167 each
    ],
)
def test_appliance_count_and_row_by_machines(machines: int, count: int, row: str) -> None:
    plan = size_appliances(machines, 0)
    assert (plan.replication_appliances, plan.size.row) == (count, row)
    if count > 1:
        assert f"{machines} machines exceed 200 per appliance" in plan.replication_appliances_reason
    else:
        assert "one appliance replicates them all" in plan.replication_appliances_reason


def test_appliance_rows_are_the_documented_shapes() -> None:
    standard, large = APPLIANCE_SIZES
    assert (standard.vcpus, standard.memory_gb, standard.os_disk_gb, standard.cache_disk_gb) == (8, 16, 80, 620)
    assert (large.vcpus, large.memory_gb, large.cache_disk_gb, large.max_machines) == (16, 32, 1024, 200)
    assert "Windows Server 2022" in standard.label and "[V]" in large.source and "[U]" in standard.source
    assert appliance_size_for(100, 1024) is standard and appliance_size_for(100, 1025) is large
    assert appliance_size_for(201, 0) is None and appliance_size_for(10, 2049) is None


def test_appliance_count_by_churn() -> None:
    assert size_appliances(10, 2048).replication_appliances == 1
    plan = size_appliances(10, 2049)
    assert plan.replication_appliances == 2 and "exceeds 2048 GB/day per appliance" in plan.replication_appliances_reason
    # 1024.5 GB/day per appliance is just over the standard row's 1 TB: the large row, and the reason says why.
    assert plan.size.row == "large" and "the standard row is too small: 1024.5 GB/day" in plan.size_reason


@pytest.mark.parametrize(
    ("disks", "failback", "needed"),
    [(60, True, False), (61, True, True), (500, False, False), (74, True, True)],
)
def test_dedicated_failback_appliance_beyond_60_disks(disks: int, failback: bool, needed: bool) -> None:
    plan = size_appliances(40, 100, total_disks=disks, failback_enabled=failback)
    assert plan.failback_appliance is needed
    if needed:
        assert f"failback of {disks} disks exceeds the 60 disks one appliance fails back" in plan.failback_appliance_reason
    elif not failback:
        assert plan.failback_appliance_reason == "failback is disabled: no failback appliance"


def test_failback_beyond_what_the_appliances_carry_at_once_is_said() -> None:
    plan = size_appliances(1000, 100, total_disks=2000, failback_enabled=True)
    assert plan.replication_appliances == 5 and plan.failback_appliance
    assert "fails back at most 360 disks at once" in plan.failback_appliance_reason


def test_an_unreplicable_machine_asks_for_no_appliance() -> None:
    hot = machine_load(_machine(2500, 10))
    plan = size_appliances(6, 2705, machine_loads=(hot,))
    assert plan.replication_appliances == 1 and plan.unreplicable == (hot,)
    assert plan.total_churn_gb_per_day == 2705


def test_appliance_plan_of_the_sample_stacks() -> None:
    prod = plan_appliances(load_stack("prod"))
    assert (prod.machines, prod.total_disks, prod.replication_appliances, prod.failback_appliance) == (40, 74, 1, True)
    by_name = {a.name: a for a in prod.appliances}
    assert (by_name["asr-ra-prod01"].machines, by_name["asr-ra-prod01"].size.row) == (40, "standard")
    assert by_name["asr-ra-prod02"].role == "failback" and by_name["asr-ra-prod02"].machines == 0
    dev = plan_appliances(load_stack("dev"))
    assert (dev.replication_appliances, dev.failback_appliance, dev.size.row) == (1, False, "standard")
    assert dev.to_json()["replication_appliances"]["count"] == 1

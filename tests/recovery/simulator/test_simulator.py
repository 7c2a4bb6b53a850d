"""The ASR simulator: transitions, recovery points, RPO, persistence, faults, API call counts."""

from __future__ import annotations

import pytest

from asrctl.config import load_stack
from asrctl.errors import BadInput
from asrctl.recovery.providers.protocol import (
    AmbiguousResult,
    OperationRejected,
    OperationRequest,
    RecoveryProvider,
    Throttled,
    WorldChanged,
)
from asrctl.recovery.providers.simulator import Fault, SimulatorProvider, load_faults

SPEED = 1e6  # a 10-minute job takes under a millisecond


def start(sim: SimulatorProvider, machine: str | tuple[str, ...], operation: str, request_id: str, **kw):
    machines = (machine,) if isinstance(machine, str) else machine
    return sim.start_operation(OperationRequest(operation, machines, request_id, **kw))


def request(machine: str, operation: str, request_id: str) -> OperationRequest:
    return OperationRequest(operation, (machine,), request_id)


def per_machine(stack):
    return stack.model_copy(update={"replication": stack.replication.model_copy(update={"multi_vm_sync": False})})


@pytest.fixture
def dev():
    """dev without multi-VM sync: single machines take per-item jobs (multi-VM groups have their own tests)."""
    return per_machine(load_stack("dev"))


@pytest.fixture
def prod():
    return per_machine(load_stack("prod"))


def finish(sim: SimulatorProvider, job) -> str:
    while True:
        status = sim.get_job(job)
        if status.done:
            return status.state
        sim.clock.sleep(60)


def test_implements_the_protocol(dev):
    sim = SimulatorProvider(dev, "dev", speed=SPEED, faults=[], multi_vm_groups={})
    assert isinstance(sim, RecoveryProvider)
    sim.close()


def test_transitions_follow_asr(dev):
    sim = SimulatorProvider(dev, "dev", speed=SPEED, faults=[], multi_vm_groups={})
    with pytest.raises(OperationRejected, match="erp-sql01 is protected, and commit failover needs failed-over"):
        start(sim, "erp-sql01", "commit", "r0")
    job = start(sim, "erp-sql01", "test-failover", "r1")
    with pytest.raises(OperationRejected, match="still in progress"):
        start(sim, "erp-sql01", "cleanup-test-failover", "r1b")
    assert finish(sim, job) == "Succeeded"
    assert sim.describe_machines(["erp-sql01"])["erp-sql01"].state == "test-failed-over"
    with pytest.raises(OperationRejected, match="a test failover is still up"):
        start(sim, "erp-sql01", "unplanned-failover", "r2")
    assert finish(sim, start(sim, "erp-sql01", "cleanup-test-failover", "r3")) == "Succeeded"
    assert finish(sim, start(sim, "erp-sql01", "unplanned-failover", "r4")) == "Succeeded"
    assert finish(sim, start(sim, "erp-sql01", "commit", "r6")) == "Succeeded"
    with pytest.raises(OperationRejected, match="needs the failback path, which stack dev does not have"):
        start(sim, "erp-sql01", "reprotect", "r7")
    assert sim.describe_machines(["erp-sql01"])["erp-sql01"].allowed_operations == ()  # dev has no failback
    sim.close()


def test_failback_chain_on_a_stack_with_failback_infrastructure(prod):
    sim = SimulatorProvider(prod, "prod", speed=SPEED, faults=[], multi_vm_groups={})
    assert finish(sim, start(sim, "hr-db01", "planned-failover", "p")) == "Succeeded"
    with pytest.raises(OperationRejected, match="hr-db01 is failed-over, and failback to on-premises needs"):
        start(sim, "hr-db01", "failback", "p1")
    for i, op in enumerate(("commit", "reprotect", "failback", "commit-failback", "reenable")):
        assert op in sim.describe_machines(["hr-db01"])["hr-db01"].allowed_operations
        assert finish(sim, start(sim, "hr-db01", op, f"p{i + 2}")) == "Succeeded"
    assert sim.describe_machines(["hr-db01"])["hr-db01"].state == "protected"
    sim.close()


def test_world_persists_across_instances_and_the_clock_never_goes_back(prod):
    sim = SimulatorProvider(prod, "prod", speed=SPEED, faults=[], multi_vm_groups={})
    finish(sim, start(sim, "crm-db01", "test-failover", "a"))
    later = sim.clock.now()
    sim.close()
    again = SimulatorProvider(prod, "prod", speed=SPEED, faults=[], multi_vm_groups={})
    assert again.clock.now() >= later
    status = again.describe_machines(["crm-db01", "crm-db02"])
    assert status["crm-db01"].state == "test-failed-over" and status["crm-db02"].state == "protected"
    world = again.snapshot()
    ops = {m["name"]: [o["name"] for o in m["operations"]] for m in world["machines"]}
    assert ops["crm-db01"] == ["test-failover"] and ops["crm-db02"] == []
    again.close()


def test_recovery_points_and_rpo(dev):
    # simulated time moves only when someone waits: every read below sees the same instant
    sim = SimulatorProvider(dev, "dev", speed=SPEED, faults=[], multi_vm_groups={})
    status = sim.describe_machines(["erp-sql01"])["erp-sql01"]
    points = status.recovery_points
    now = sim.clock.now()
    crash, app = points["crash-consistent"].timestamp(), points["app-consistent"].timestamp()
    assert now - 300 - status.rpo_seconds - 1 <= crash <= now  # one every 5 minutes
    app_interval = dev.replication.app_consistent_frequency_minutes * 60
    assert now - app_interval - status.rpo_seconds - 1 <= app <= crash
    assert 0 < status.rpo_seconds < 300 and status.replication_health == "Normal"
    # an unplanned failover to the latest app-consistent point recovers from exactly that point
    job = start(sim, "erp-sql01", "unplanned-failover", "u", recovery_point="latest-app-consistent")
    finish(sim, job)
    result = sim.get_job(job)
    assert abs(result.recovery_point_times["erp-sql01"].timestamp() - app) < 1
    sim.close()


def test_same_request_id_returns_the_same_job(dev):
    sim = SimulatorProvider(dev, "dev", speed=SPEED, faults=[], multi_vm_groups={})
    first = start(sim, "erp-web01", "test-failover", "same")
    assert start(sim, "erp-web01", "test-failover", "same") == first
    assert sim.find_job(request("erp-web01", "test-failover", "same")) == first
    assert sim.find_job(request("erp-web01", "test-failover", "other")) is None
    sim.close()


def test_faults_fail_hang_throttle_lose_response(dev):
    faults = [
        Fault(0, "erp-sql01", "test-failover", "fail", 1),
        Fault(1, "erp-sql02", "test-failover", "hang", 1),
        Fault(2, "erp-app01", "test-failover", "throttle", 2),
        Fault(3, "erp-app02", "test-failover", "lose-response", 1),
    ]
    sim = SimulatorProvider(dev, "dev", speed=SPEED, faults=faults, multi_vm_groups={})
    failed = start(sim, "erp-sql01", "test-failover", "f1")
    assert finish(sim, failed) == "Failed" and "simulated fault" in sim.get_job(failed).error
    assert sim.describe_machines(["erp-sql01"])["erp-sql01"].state == "protected"  # a failed job changes nothing
    assert finish(sim, start(sim, "erp-sql01", "test-failover", "f2")) == "Succeeded"  # times: 1

    hung = start(sim, "erp-sql02", "test-failover", "h1")
    sim.clock.sleep(10 * 3600)
    assert sim.get_job(hung).state == "InProgress"

    for _ in range(2):
        with pytest.raises(Throttled) as exc:
            start(sim, "erp-app01", "test-failover", "t1")
        assert exc.value.retry_after == 20
    assert sim.find_job(request("erp-app01", "test-failover", "t1")) is None  # a 429 accepted nothing
    start(sim, "erp-app01", "test-failover", "t1")

    with pytest.raises(AmbiguousResult):
        start(sim, "erp-app02", "test-failover", "l1")
    assert sim.find_job(request("erp-app02", "test-failover", "l1")) is not None  # accepted despite the lost response
    calls = sim.snapshot()["api_calls"]
    assert calls["by_call"]["start_operation"] == 7 and calls["writes"] == 7
    assert calls["reads"] == sum(v for k, v in calls["by_call"].items() if k != "start_operation")
    sim.close()


def test_fault_file_errors_name_file_and_line(tmp_path):
    path = tmp_path / "faults.yaml"
    path.write_text("faults:\n  - machine: erp-sql01\n    operation: test-failover\n    effect: explode\n")
    with pytest.raises(BadInput, match=r"faults.yaml:4: effect 'explode' must be one of fail, hang, throttle"):
        load_faults(str(path))
    path.write_text("faults:\n  - machine: a\n    operation: commit\n    effect: fail\n    times: 0\n")
    with pytest.raises(BadInput, match=r"faults.yaml:5: times must be a positive integer"):
        load_faults(str(path))
    path.write_text("faults:\n  - machine: a\n    operation: commit\n    effect: hang\n")
    assert load_faults(str(path)) == [Fault(0, "a", "commit", "hang", None)]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("  - machine: erp-app01\n    operation: failover\n    effect: fail\n",
         r"faults.yaml:3: operation 'failover' is not an ASR operation"),
        ("  - machine: erp-ap01\n    operation: test-failover\n    effect: fail\n",
         r"faults.yaml:2: machine 'erp-ap01' is not in stack dev"),
    ],
)
def test_a_fault_that_could_never_fire_is_refused(tmp_path, monkeypatch, dev, fault, message):
    path = tmp_path / "faults.yaml"
    path.write_text("faults:\n" + fault)
    monkeypatch.setenv("ASRCTL_SIM_FAULTS", str(path))
    with pytest.raises(BadInput, match=message):
        SimulatorProvider(dev, "dev", speed=SPEED)
    # a fault on a runbook names the runbook and no machine: any name is fine there
    path.write_text("faults:\n  - operation: ASR-AddPublicIp\n    effect: fail\n")
    sim = SimulatorProvider(dev, "dev", speed=SPEED)
    assert sim.faults == [Fault(0, None, "ASR-AddPublicIp", "fail", None)]
    sim.close()


def test_a_missing_fault_file_names_the_variable(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ASRCTL_SIM_FAULTS", str(tmp_path / "nope.yaml"))
    result = cli("drill", "erp", "--stack", "dev", "--auto-approve")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ASRCTL_SIM_FAULTS: ") and "nope.yaml: file not found" in result.stderr


def test_service_endpoint_is_open_only_while_the_vm_runs(dev):
    import socket

    sim = SimulatorProvider(dev, "dev", speed=SPEED, faults=[Fault(0, "erp-web02", "test-failover", "hang", 1)],
                           multi_vm_groups={})
    host, port = sim.service_endpoint("erp-web01").split(":")
    socket.create_connection((host, int(port)), timeout=1).close()
    start(sim, "erp-web02", "test-failover", "x")
    host, port = sim.service_endpoint("erp-web02").split(":")
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()
    sim.close()


def test_multi_vm_members_fail_over_only_together_through_their_recovery_plan():
    stack = load_stack("dev")  # multiVmSync: the erp groups of two machines are multi-VM groups
    sim = SimulatorProvider(stack, "dev", speed=SPEED, faults=[])
    with pytest.raises(OperationRejected, match="erp-sql01: is in multi-VM group erp-database"):
        start(sim, "erp-sql01", "test-failover", "single")
    with pytest.raises(OperationRejected, match="erp-app01: is not in recovery plan erp-database"):
        start(sim, ("erp-sql01", "erp-app01"), "test-failover", "mixed", recovery_plan="erp-database")
    job = start(sim, ("erp-sql01", "erp-sql02"), "test-failover", "group", recovery_plan="erp-database")
    assert job.machines == ("erp-sql01", "erp-sql02")
    status = sim.describe_machines(["erp-sql01", "erp-sql02"])
    assert status["erp-sql01"].current_job == status["erp-sql02"].current_job == job  # one job for both
    assert finish(sim, job) == "Succeeded"
    assert {s.state for s in sim.describe_machines(["erp-sql01", "erp-sql02"]).values()} == {"test-failed-over"}
    points = sim.get_job(job).recovery_point_times
    assert set(points) == {"erp-sql01", "erp-sql02"}
    sim.close()


def test_durations_depend_only_on_seed_machine_and_operation(tmp_path, dev):
    def took(home):
        sim = SimulatorProvider(dev, "dev", speed=SPEED, faults=[], multi_vm_groups={}, path=home / "w.db")
        job = start(sim, "erp-web01", "test-failover", f"any-request-id-{home.name}")
        finish(sim, job)
        status = sim.get_job(job)
        sim.close()
        return (status.finished_at - status.started_at).total_seconds()

    # Each world starts its clock at its own creation time, and job times are datetimes (microseconds): the same
    # duration read back from two epochs can differ in the last microsecond, never more.
    assert took(tmp_path / "a") == pytest.approx(took(tmp_path / "b"), abs=2e-6)


def test_a_deleted_or_replaced_world_is_detected(dev):
    sim = SimulatorProvider(dev, "dev", speed=SPEED, faults=[], multi_vm_groups={})
    identity = sim.identity()
    assert identity.startswith("simulator:dev:")
    sim.path.unlink()
    with pytest.raises(WorldChanged, match="was deleted or replaced while in use"):
        sim.describe_machines(["erp-sql01"])
    with pytest.raises(WorldChanged):
        start(sim, "erp-sql01", "test-failover", "after-delete")
    sim.close()
    fresh = SimulatorProvider(dev, "dev", speed=SPEED, faults=[], multi_vm_groups={})
    assert fresh.identity() != identity  # a new world is a new identity: runs of the old one refuse it
    fresh.close()

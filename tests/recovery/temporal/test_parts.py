"""The team-mode parts that need no server: the workflow's store behaves like the journal, what crosses the wire
comes back the same, and the connection settings resolve (and keep the API key secret) as documented."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from asrctl.errors import BadInput
from asrctl.recovery.journal import Journal
from asrctl.recovery.providers.protocol import (
    AmbiguousResult,
    JobRef,
    JobStatus,
    MachineStatus,
    NotReady,
    OperationRejected,
    OperationRequest,
    Throttled,
    WorldChanged,
)
from asrctl.recovery.records import RunRecord, RunSpec
from asrctl.recovery.temporal import messages as wire
from asrctl.recovery.temporal.settings import TeamSettings
from asrctl.recovery.temporal.store import MemoryStore, record_from_snapshot

SPEC = RunSpec(command="drill", command_key="drill", stages=("test-failover", "cleanup-test-failover"),
               engine="temporal")
RUN = {"run_id": "erp-20250314T090000-ab12", "plan": "erp", "stack": "dev", "operation": "test-failover",
       "command": "drill", "provider": "simulator", "engine": "temporal", "status": "pending",
       "created_at": "2025-03-14T09:00:00.000Z", "plan_path": "runbooks/plans/erp.yaml", "plan_sha256": "ab" * 32,
       "spec": SPEC.model_dump(mode="json"), "readiness": [], "clock": "simulated",
       "targets": {"rto_seconds": 1800, "rpo_seconds": 900}}


def drive(store) -> None:
    """The same calls the interpreter makes for a one-machine drill's first stage."""
    rid = RUN["run_id"]
    store.update_run(rid, "run-started", {}, status="running", started_at="2025-03-14T09:00:01.000Z")
    store.ensure_step(rid, "s0", stage=0, operation="test-failover", kind="stage", name="test-failover",
                      phase="primary-to-recovery")
    store.update_step(rid, "s0", "stage-started", status="running", started_at="2025-03-14T09:00:01.000Z")
    store.ensure_step(rid, "s0/g0", stage=0, operation="test-failover", group_index=0, group_name="database",
                      kind="group", name="database")
    store.ensure_step(rid, "s0/g0/m/erp-sql01", stage=0, operation="test-failover", group_index=0,
                      group_name="database", kind="machine", name="erp-sql01", recovery_ip="10.160.1.11")
    store.intent(rid, "s0/g0/m/erp-sql01", {"call": "start_operation"}, status="running", attempts=1,
                 request_id=f"{rid}/s0/g0/m/erp-sql01#1", started_at="2025-03-14T09:00:02.000Z")
    store.result(rid, "s0/g0/m/erp-sql01", {"job_id": "job-1"}, job_id="job-1")
    store.update_step(rid, "s0/g0/m/erp-sql01", "machine-succeeded", status="succeeded",
                      finished_at="2025-03-14T09:08:02.000Z", rpo_seconds=42.0)
    store.update_step(rid, "s0/g0/m/erp-nope", "stray", status="failed")  # never ensured: not created
    store.update_run(rid, "failed", {"error": "x"}, status="failed", error="x", finished_at="2025-03-14T09:09:00Z",
                     rto_seconds=None, api_reads=3, api_writes=1)


def test_the_memory_store_keeps_what_the_journal_keeps(tmp_path):
    journal = Journal(tmp_path / "journal.db")
    journal.create_run(run_id=RUN["run_id"], plan="erp", stack="dev", spec=SPEC, provider="simulator",
                       plan_path=RUN["plan_path"], plan_sha256=RUN["plan_sha256"], clock="simulated",
                       targets=RUN["targets"], readiness=[])
    statuses: list[str] = []
    memory = MemoryStore(RUN, on_status=lambda s: statuses.append(s.get_run(RUN["run_id"]).status))
    drive(journal)
    drive(memory)
    rid = RUN["run_id"]
    assert memory.steps(rid) == journal.steps(rid)
    assert memory.step(rid, "s0/g0/m/erp-nope") is None
    from_journal = RunRecord.from_journal(journal.get_run(rid), journal.steps(rid)).document()
    from_memory = memory.record().document()
    assert from_memory == from_journal
    assert [e["type"] for e in memory.events] == [e["type"] for e in journal.events(rid)][1:]  # minus "created"
    assert statuses == ["running", "failed"]  # what the workflow publishes to its memo
    assert record_from_snapshot(memory.snapshot()).document() == from_memory
    with pytest.raises(ValueError, match="unknown step fields"):
        memory.update_step(rid, "s0", bogus=1)
    with pytest.raises(KeyError):
        memory.get_run("another-run")
    journal.close()


def test_provider_records_cross_the_wire_unchanged():
    at = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    job = JobRef("job-1", "test-failover", ("a", "b"), "token")
    status = JobStatus("job-1", "Succeeded", None, {"a": at}, at, at, "out")
    machine = MachineStatus("a", "protected", "Protected", "Normal", 30.0, at, {"crash-consistent": at},
                            ("test-failover",), job, "classic")
    request = OperationRequest("test-failover", ("a", "b"), "run/s0/g0/plan#1", "latest", "erp-database", True)
    assert wire.job_ref_from_wire(wire.job_ref_to_wire(job)) == job
    assert wire.job_status_from_wire(wire.job_status_to_wire(status)) == status
    assert wire.machine_status_from_wire(wire.machine_status_to_wire(machine)) == machine
    assert wire.request_from_wire(wire.request_to_wire(request)) == request


@pytest.mark.parametrize("error", [Throttled("429", retry_after=20), NotReady("busy", retry_after=3),
                                   AmbiguousResult("reset"), OperationRejected("no"), WorldChanged("gone")])
def test_provider_errors_come_back_as_the_same_class(error):
    back = wire.error_from_wire(wire.error_type(error), str(error), wire.error_details(error))
    assert type(back) is type(error) and str(back) == str(error)
    if isinstance(error, Throttled):
        assert back.retry_after == error.retry_after


def test_settings_come_from_the_environment_then_the_stack_then_the_defaults():
    from asrctl.config import Team, load_stack

    assert TeamSettings.resolve(None, {}) == TeamSettings()
    cfg = load_stack("dev").model_copy(update={"team": Team(address="temporal.corp:7233", namespace="dr",
                                                             task_queue="dr-dev")})
    from_stack = TeamSettings.resolve(cfg, {})
    assert (from_stack.address, from_stack.namespace, from_stack.task_queue) == ("temporal.corp:7233", "dr", "dr-dev")
    env = {"ASRCTL_TEMPORAL_ADDRESS": "other:7233", "ASRCTL_TEMPORAL_API_KEY": "s3cr3t-key-value"}
    from_env = TeamSettings.resolve(cfg, env)
    assert from_env.address == "other:7233" and from_env.namespace == "dr"
    assert from_env.uses_tls  # an API key goes over TLS
    assert "s3cr3t" not in repr(from_env) and "s3cr3t" not in from_env.describe()
    with pytest.raises(BadInput, match="go together"):
        TeamSettings.resolve(None, {"ASRCTL_TEMPORAL_TLS_CERT": "/x.pem"})
    with pytest.raises(BadInput, match="ASRCTL_TEMPORAL_ACTIVITY_TIMEOUT"):
        TeamSettings.resolve(None, {"ASRCTL_TEMPORAL_ACTIVITY_TIMEOUT": "soon"})


def test_the_team_secrets_never_reach_a_script():
    from asrctl.childenv import child_environment

    env = child_environment(base={"ASRCTL_TEMPORAL_API_KEY": "k", "ASRCTL_TEMPORAL_TLS_KEY": "/key.pem",
                                  "ASRCTL_TEMPORAL_ADDRESS": "a:1"})
    assert env == {"ASRCTL_TEMPORAL_ADDRESS": "a:1"}


def test_a_stack_can_choose_the_temporal_engine(cli, project_copy, monkeypatch):
    from asrctl.cli.common import engine_choice

    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + "  vmware-azure-dr:team:\n    engine: temporal\n    address: 127.0.0.1:1\n")
    monkeypatch.delenv("ASRCTL_ENGINE", raising=False)
    assert engine_choice(None, "dev") == "temporal" and engine_choice("local", "dev") == "local"
    assert engine_choice(None, "prod") == "local"
    # nothing listens there: one line naming the service and the fix, exit 2, nothing recorded
    result = cli("drill", "erp", "--stack", "dev", "--auto-approve")
    assert result.exit_code == 2 and "cannot reach Temporal at 127.0.0.1:1" in result.stderr
    bad = stack.read_text().replace("address: 127.0.0.1:1", "address: nowhere")
    stack.write_text(bad)
    result = cli("drill", "erp", "--stack", "dev", "--engine", "temporal")
    assert result.exit_code == 2 and "team" in result.stderr and "host:port" in result.stderr


def test_a_scheduled_drills_reports_are_redacted(tmp_path, monkeypatch):
    # A secret that reached a run's text (an error echoing a token) stays out of both files a schedule writes.
    from asrctl.recovery.temporal.activities import write_report

    planted = "tok-5f1e2d3c4b5a69788796a5b4"
    monkeypatch.setenv("ASRCTL_ARM_TOKEN", planted)
    memory = MemoryStore(RUN)
    drive(memory)
    rid = RUN["run_id"]
    memory.update_run(rid, "failed", {}, error=f"ARM refused the request sent with {planted}")
    written = write_report({"snapshot": memory.snapshot(), "report_dir": str(tmp_path),
                            "schedule": {"id": "drill-dev-erp"}})
    texts = {kind: Path(path).read_text(encoding="utf-8") for kind, path in written.items()}
    assert set(texts) == {"html", "json"}
    assert "ARM refused the request" in texts["json"] and "ARM refused the request" in texts["html"]
    assert all(planted not in text for text in texts.values())
    assert not list(tmp_path.glob(".*.partial"))  # written atomically

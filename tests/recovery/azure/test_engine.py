"""The engine's drill and failover through AzureProvider against the HTTPS fake of ARM (no Azure, no simulator).

This is the CLI path a user takes with ``--provider azure``: ASRCTL_ARM_ENDPOINT + ASRCTL_ARM_TOKEN select the
endpoint and a static token, and REQUESTS_CA_BUNDLE trusts the fake's private certificate.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
from fake_arm import FakeArm, Fault

from asrctl.config import load_stack
from asrctl.errors import RunPaused
from asrctl.recovery import runner
from asrctl.recovery.journal import Journal
from asrctl.recovery.providers.azure.asr import stack_azure_ids
from asrctl.recovery.providers.azure.provider import AzureProvider

MACHINES = ["erp-sql01", "erp-app01", "erp-web01"]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project_copy: Path):
    # The ad-hoc plan below regroups erp machines: per-item jobs, so without multi-VM sync (ASR would refuse
    # per-item failover of a multi-VM member).
    stack = project_copy / "stacks" / "Pulumi.legacy.yaml"
    stack.write_text(stack.read_text().replace("multiVmSync: true", "multiVmSync: false"))
    cfg = load_stack("legacy")
    ids = stack_azure_ids(cfg)
    arm = FakeArm(tmp_path, subscription=cfg.subscription_id, resource_group=ids.resource_group, vault=ids.vault)
    for name in MACHINES:
        arm.add_item(cfg.machines_by_name[name].vm_name)
    arm.vnets.add(ids.test_network_id.split("/")[-1])
    arm.start()
    monkeypatch.setenv("ASRCTL_ARM_ENDPOINT", arm.endpoint)
    monkeypatch.setenv("ASRCTL_ARM_TOKEN", "token-1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(arm.cert_path))
    monkeypatch.setattr(AzureProvider, "capabilities", replace(AzureProvider.capabilities, poll_interval=0.05))
    # A plan without client-side scripts: they would probe real recovery IPs that do not exist here.
    plan = tmp_path / "azdrill.yaml"
    plan.write_text(
        "name: azdrill\n"
        "groups:\n"
        "  - name: database\n    machines: [erp-sql01]\n"
        "  - name: app\n    machines: [erp-app01, erp-web01]\n"
        "    after:\n      - runbook: ASR-AddPublicIp\n        parameters: {nsg: nsg-erp-web}\n"
        "        when: [test-failover]\n"
    )
    yield arm, plan
    arm.stop()


def test_drill_runs_test_failover_runbook_and_cleanup_through_azure(world):
    arm, plan = world
    run = runner.start("drill", str(plan), "legacy", "azure", auto_approve=True)
    assert run.status == "succeeded", run.error
    assert len(arm.posts("testFailover")) == 3 and len(arm.posts("testFailoverCleanup")) == 3
    assert {j.scenario for j in arm.jobs.values()} == {"TestFailover", "TestFailoverCleanup"}
    assert all(j.state == "Succeeded" for j in arm.jobs.values())
    assert len(arm.automation_jobs) == 1
    assert all(r.headers["Authorization"] == "Bearer token-1" for r in arm.requests)
    assert all(i.test_failover_state == "None" for i in arm.items.values())
    # The achieved RPO comes from the recovery point each test VM was created from (the fake: 120 s old).
    machines = [mm for g in run.groups for mm in g.machines if mm.rpo_seconds is not None]
    assert machines and all(115 <= mm.rpo_seconds <= 130 for mm in machines)
    # every side effect carried a request id, and each one was distinct
    rids = [r.headers["x-ms-client-request-id"] for r in arm.requests if r.method in ("POST", "PUT")]
    assert len(rids) == len(set(rids)) == 7


def test_failover_with_a_500_after_accept_fails_over_each_machine_exactly_once(world):
    arm, plan = world
    arm.faults.append(Fault("POST", r"/unplannedFailover$", 500, after_accept=True))
    run = runner.start("failover", str(plan), "legacy", "azure", planned=False, auto_approve=True)
    assert run.status == "succeeded", run.error
    failovers = arm.posts("unplannedFailover")
    assert len(failovers) == 3  # one per machine: the ambiguous one was reconciled, not re-sent
    assert {p.path.split("/")[-2] for p in failovers} == set(arm.items)
    assert all(i.active_location == "Recovery" for i in arm.items.values())


def test_failback_through_azure_reprotects_fails_back_commits_and_reenables(world):
    arm, plan = world
    cfg = load_stack("legacy")
    arm.process_servers = [cfg.registration.failback_process_server_id]
    arm.master_targets = [cfg.registration.master_target_id]
    for command, options in (("failover", {"planned": True}), ("commit", {})):
        assert runner.start(command, str(plan), "legacy", "azure", auto_approve=True, **options).status == "succeeded"
    run = runner.start("failback", str(plan), "legacy", "azure", auto_approve=True)
    assert run.status == "succeeded", run.error
    for item in arm.items.values():
        assert (item.provider, item.protection_state, item.active_location) == ("InMageAzureV2", "Protected", "Primary")
        actions = [r.path.split("/")[-1] for r in arm.requests if r.method == "POST" and f"/{item.name}/" in r.path]
        # Each machine: failover, commit, then failback's reprotect, failover to VMware, commit, re-protect to Azure.
        assert actions == ["unplannedFailover", "failoverCommit", "reProtect", "unplannedFailover", "failoverCommit",
                           "reProtect"], item.machine  # fmt: skip


def test_app_consistent_failover_missing_a_point_fails_readiness_before_any_machine_fails_over(world, cli):
    arm, plan = world
    arm.item_by_machine("erp-web01").app_point_age_s = None  # the app tier has only crash-consistent points
    result = cli("failover", str(plan), "--stack", "legacy", "--provider", "azure", "--unplanned",
                 "--recovery-point", "latest-app-consistent", "--auto-approve")  # fmt: skip
    assert result.exit_code == 1 and "erp-web01: no app-consistent recovery point" in result.stderr
    assert not [r for r in arm.requests if r.method != "GET"]  # not even the database group failed over
    check = cli("readiness", str(plan), "--stack", "legacy", "--provider", "azure", "--operation", "unplanned-failover",
                "--recovery-point", "latest-app-consistent", "--json")  # fmt: skip
    assert check.exit_code == 1
    failed = [(c["name"], c["machine"]) for c in json.loads(check.stdout)["checks"] if c["status"] == "fail"]
    assert failed == [("recovery-point-type", "erp-web01")]


def test_readiness_cli_through_azure_reads_the_vault(world, cli):
    import json

    arm, plan = world
    result = cli("readiness", str(plan), "--stack", "legacy", "--provider", "azure", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["provider"] == "azure" and report["ok"]
    assert {c["machine"] for c in report["checks"] if c["name"] == "app-consistent-point"} == {"erp-sql01"}
    assert not [r for r in arm.requests if r.method != "GET"]  # readiness only reads

    arm.item_by_machine("ERP-SQL01").health = "Critical"
    failed = cli("readiness", str(plan), "--stack", "legacy", "--provider", "azure")
    assert failed.exit_code == 1 and "replication-health" in failed.stdout
    # The failback infrastructure is configured in prod but its servers have not registered in the fake vault.
    failback = cli(
        "readiness", str(plan), "--stack", "legacy", "--provider", "azure", "--operation", "failback", "--json"
    )
    checks = {c["name"]: c for c in json.loads(failback.stdout)["checks"] if c["machine"] is None}
    assert failback.exit_code == 1 and checks["failback-infrastructure"]["status"] == "fail"


def test_no_credentials_exits_2_with_one_line_naming_what_was_tried(world, cli, monkeypatch, tmp_path):
    _, plan = world
    monkeypatch.delenv("ASRCTL_ARM_TOKEN")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no az, pwsh or azd to fall back on
    for var in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                "IDENTITY_ENDPOINT", "MSI_ENDPOINT", "AZURE_USERNAME"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    result = cli("readiness", str(plan), "--stack", "legacy", "--provider", "azure")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "managed identity" in lines[0] and "az login" in lines[0] and "ASRCTL_ARM_TOKEN" in lines[0]


def test_paused_failover_resumes_with_a_fresh_provider_without_repeating_finished_machines(world):
    arm, plan = world
    plan.write_text(
        "name: azdrill\n"
        "groups:\n"
        "  - name: database\n    machines: [erp-sql01]\n"
        "  - name: app\n    machines: [erp-app01, erp-web01]\n"
        "    before:\n      - manual: Confirm the database is up.\n"
    )
    with pytest.raises(RunPaused):
        runner.start("failover", str(plan), "legacy", "azure", planned=True)
    journal = Journal()
    [summary] = [r for r in journal.summaries() if r.plan == "azdrill"]
    run = journal.get_run(summary.run_id)
    assert run.status == "paused"
    assert len(arm.posts("unplannedFailover")) == 1  # only the database group so far
    # Discovery is journaled with the run: the resumed run acts on the same items even if a VM is renamed meanwhile.
    assert set(run.spec.provider_state["item_map"]) == set(MACHINES)
    arm.item_by_machine("erp-web01").machine = "erp-web01-renamed-in-vcenter"
    # The job and its LRO continuation token are journaled on the step that started it, without a credential.
    started = [e for e in journal.events(run.run_id) if e["type"] == "job-started"]
    [step] = [s for s in journal.steps(run.run_id) if s.kind == "machine" and s.job_token]
    journal.close()
    assert len(started) == 1 and "/replicationJobs/" in started[0]["data"]["job_id"]
    assert step.step_id.endswith("/m/erp-sql01")
    token = base64.b64decode(step.job_token)
    assert b"/unplannedFailover" in token and b"token-1" not in token and b"uthorization" not in token

    resumed = runner.resume(run.run_id, approve=True, by="tester", comment="db is up")
    assert resumed.status == "succeeded", resumed.error
    failovers = arm.posts("unplannedFailover")
    assert len(failovers) == 3 and len({f.path for f in failovers}) == 3  # each machine exactly once
    assert all(f.body["properties"]["sourceSiteOperations"] == "Required" for f in failovers)

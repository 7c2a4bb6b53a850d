"""The engine's drill and failover through AzureProvider against the HTTPS fake of ARM (no Azure, no simulator).

This is the CLI path a user takes with ``--provider azure``: ASRCTL_ARM_ENDPOINT + ASRCTL_ARM_TOKEN select the
endpoint and a static token, and REQUESTS_CA_BUNDLE trusts the fake's private certificate.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_arm import FakeArm, Fault

from asrctl.config import load_stack
from asrctl.recovery import runner
from asrctl.recovery.azure_inputs import stack_azure_ids
from asrctl.recovery.azure_provider import AzureProvider

MACHINES = ["erp-sql01", "erp-app01", "erp-web01"]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = load_stack("prod")
    ids = stack_azure_ids(cfg)
    arm = FakeArm(tmp_path, subscription=cfg.subscription_id, resource_group=ids.resource_group, vault=ids.vault)
    for name in MACHINES:
        arm.add_item(cfg.machines_by_name[name].vm_name)
    arm.vnets.add(ids.test_network_id.split("/")[-1])
    arm.start()
    monkeypatch.setenv("ASRCTL_ARM_ENDPOINT", arm.endpoint)
    monkeypatch.setenv("ASRCTL_ARM_TOKEN", "token-1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(arm.cert_path))
    monkeypatch.setattr(AzureProvider, "poll_interval", 0.05)
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
    run = runner.start("drill", str(plan), "prod", "azure", auto_approve=True)
    assert run["status"] == "succeeded", run.get("error")
    assert len(arm.posts("testFailover")) == 3 and len(arm.posts("testFailoverCleanup")) == 3
    assert {j.scenario for j in arm.jobs.values()} == {"TestFailover", "TestFailoverCleanup"}
    assert all(j.state == "Succeeded" for j in arm.jobs.values())
    assert len(arm.automation_jobs) == 1
    assert all(r.headers["Authorization"] == "Bearer token-1" for r in arm.requests)
    assert all(i.test_failover_state == "None" for i in arm.items.values())
    # every side effect carried a request id, and each one was distinct
    rids = [r.headers["x-ms-client-request-id"] for r in arm.requests if r.method in ("POST", "PUT")]
    assert len(rids) == len(set(rids)) == 7


def test_failover_with_a_500_after_accept_fails_over_each_machine_exactly_once(world):
    arm, plan = world
    arm.faults.append(Fault("POST", r"/unplannedFailover$", 500, after_accept=True))
    run = runner.start("failover", str(plan), "prod", "azure", planned=False, auto_approve=True)
    assert run["status"] == "succeeded", run.get("error")
    failovers = arm.posts("unplannedFailover")
    assert len(failovers) == 3  # one per machine: the ambiguous one was reconciled, not re-sent
    assert {p.path.split("/")[-2] for p in failovers} == set(arm.items)
    assert all(i.active_location == "Recovery" for i in arm.items.values())

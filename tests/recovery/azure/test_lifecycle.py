"""Whole lifecycles through the engine with ``--provider azure`` against the ASR stand-in, per architecture:
drill → failover → commit → reprotect → failback (cancel included), every request body validated by the stand-in
with the SDK's own models and ASR's rules; multi-VM groups through their recovery plans (exactly one plan job per
group and operation), and a plan job suspended at a manual action pausing the run until approved."""

from __future__ import annotations

from collections import Counter

import pytest

from asrctl.errors import RunPaused
from asrctl.recovery import runner


def posts(lab, action: str) -> list:
    return lab.arm.posts(action)


def item_actions(lab, machine: str) -> list[str]:
    item = lab.item(machine)
    return [r.path.rsplit("/", 1)[1] for r in lab.arm.requests
            if r.method == "POST" and f"/replicationProtectedItems/{item.name}/" in r.path and r.status == 202]


def assert_valid_bodies(lab) -> None:
    """Nothing was refused, and no body carried a field the SDK models do not declare."""
    refused = [(r.method, r.path, r.status) for r in lab.arm.requests if r.status >= 400]
    assert not refused, refused
    assert not [r.unknown_fields for r in lab.arm.requests if r.unknown_fields]
    assert not lab.arm.job_lists(filtered=False)  # never every job of the vault


def test_modernized_lifecycle_with_a_cancelled_failback(modern):
    lab = modern
    assert lab.run("drill").status == "succeeded"
    # A drill leaves the items MarkedForDeletion with TestFailover/UnplannedFailover allowed: the failover may go.
    assert {lab.item(m.name).tfo for m in lab.machines} == {"cleaned"}
    run = lab.run("failover", planned=True)
    assert run.status == "succeeded", run.error
    assert all(lab.world.recovery_vm(m.vm_name) is not None for m in lab.machines)
    shutdown = [p.body["properties"]["providerSpecificDetails"] for p in posts(lab, "unplannedFailover")]
    assert {d["instanceType"] for d in shutdown} == {"InMageRcm"} and {d["performShutdown"] for d in shutdown} == {"true"}
    assert lab.run("commit").status == "succeeded"
    assert lab.run("reprotect").status == "succeeded"
    assert {lab.item(m.name).provider for m in lab.machines} == {"InMageRcmFailback"}
    reprotect = posts(lab, "reProtect")[0].body["properties"]
    agent = lab.fabric.appliances[0]
    assert reprotect["failoverDirection"] == "RecoveryToPrimary"
    assert reprotect["providerSpecificDetails"] == {
        "instanceType": "InMageRcm", "reprotectAgentId": agent.id, "datastoreName": "datastore1",
        "logStorageAccountId": lab.ids.cache_storage_id, "policyId": lab.world.policy_id(lab.ids.failback_policy_id.rsplit("/", 1)[1])}  # fmt: skip

    # Fail back, but stop before the commit (an approval nobody gives here), then cancel the pending failback.
    lab.plan_path.write_text(lab.plan_path.read_text() + "  after:\n  - manual: Confirm the on-premises VMs are "
                             "healthy before committing.\n    when: [failback]\n")  # on the last group
    with pytest.raises(RunPaused) as paused:
        lab.run("failback", auto_approve=False)
    assert {lab.item(m.name).state for m in lab.machines} == {"failed_over"}  # planned failover finished
    runner.cancel(paused.value.record.run_id, wait_seconds=0)
    run = lab.run("failback", cancel=True)
    assert run.status == "succeeded", run.error
    assert {(lab.item(m.name).provider, lab.item(m.name).state) for m in lab.machines} == {("InMageRcmFailback",
                                                                                            "protected")}
    assert all(lab.world.recovery_vm(m.vm_name) is not None for m in lab.machines)  # the Azure VMs run again

    # Now the whole failback: planned failover back (no direction on the item), commit, re-protect to Azure.
    run = lab.run("failback", auto_approve=True)
    assert run.status == "succeeded", run.error
    assert {(lab.item(m.name).provider, lab.item(m.name).state) for m in lab.machines} == {("InMageRcm", "protected")}
    failbacks = [p.body["properties"] for p in posts(lab, "plannedFailover")]
    assert all(b.get("failoverDirection") is None for b in failbacks)
    assert {b["providerSpecificDetails"]["recoveryPointType"] for b in failbacks} == {"CrashConsistent"}
    reenable = posts(lab, "reProtect")[-1].body["properties"]
    assert reenable["failoverDirection"] == "PrimaryToRecovery"
    assert reenable["providerSpecificDetails"] == {
        "instanceType": "InMageRcmFailback", "processServerId": agent.id, "policyId": lab.world.policy_id(
            lab.ids.replication_policy_id.rsplit("/", 1)[1])}  # fmt: skip
    for m in lab.machines:
        assert item_actions(lab, m.name) == [
            "testFailover", "testFailoverCleanup", "unplannedFailover", "failoverCommit", "reProtect",
            "plannedFailover", "failoverCancel", "plannedFailover", "failoverCommit", "reProtect"], m.name
    assert_valid_bodies(lab)


def test_classic_lifecycle_reprotect_failback_and_reenable(classic):
    lab = classic
    for command, options in (("drill", {}), ("failover", {"planned": False}), ("commit", {})):
        run = lab.run(command, **options)
        assert run.status == "succeeded", (command, run.error)
    run = lab.run("failback")
    assert run.status == "succeeded", run.error
    fabric = lab.fabric
    linux_mt = next(t for t in fabric.master_targets if t.os == "Linux")
    by_item = {r.path.split("/")[-2]: r.body["properties"] for r in posts(lab, "reProtect")}
    for m in lab.machines:
        item = lab.item(m.name)
        assert (item.provider, item.state) == ("InMageAzureV2", "protected"), m.name
        reprotect, reenable = [r.body["properties"] for r in posts(lab, "reProtect") if f"/{item.name}/" in r.path]
        details = reprotect["providerSpecificDetails"]
        assert details["instanceType"] == "InMage" and reprotect["failoverDirection"] == "RecoveryToPrimary"
        if m.os == "linux":
            assert (details["masterTargetId"], details["retentionDrive"], details["datastoreName"]) == (
                linux_mt.id, "/mnt/retention", "datastore-linux")
        else:
            assert (details["retentionDrive"], details["datastoreName"]) == ("E:\\", "datastore1")
        assert reenable["failoverDirection"] == "RecoveryToPrimary"
        assert reenable["providerSpecificDetails"]["instanceType"] == "InMageAzureV2"
        assert not {"storageAccountId", "logStorageAccountId"} & set(reenable["providerSpecificDetails"])
        assert item_actions(lab, m.name) == ["testFailover", "testFailoverCleanup", "unplannedFailover",
                                             "failoverCommit", "reProtect", "unplannedFailover", "failoverCommit",
                                             "reProtect"], m.name  # fmt: skip
    failback = [p.body["properties"] for p in posts(lab, "unplannedFailover")][-len(lab.machines):]
    assert {b["failoverDirection"] for b in failback} == {"PrimaryToRecovery"}  # InMage accepts only this
    assert len(by_item) == len(lab.machines)
    assert_valid_bodies(lab)


@pytest.mark.parametrize("architecture", ["modernized", "classic"])
def test_multi_vm_groups_fail_over_through_their_recovery_plans(make_lab, architecture):
    lab = make_lab(architecture=architecture, multi_vm_sync=True)
    [(plan, members)] = {p: ms for p, ms in _plans(lab).items()}.items()
    for command, options in (("drill", {}), ("failover", {"planned": True}), ("commit", {}), ("failback", {})):
        run = lab.run(command, **options)
        assert run.status == "succeeded", (command, run.error)
    plan_jobs = Counter(j.scenario for j in lab.world.jobs.values() if j.target_type == "RecoveryPlan"
                        and j.plan == plan)  # fmt: skip
    failback = "PlannedFailover" if architecture == "modernized" else "UnplannedFailover"
    expected = Counter({"TestFailover": 1, "TestFailoverCleanup": 1, "UnplannedFailover": 1, "CommitFailover": 2})
    expected[failback] += 1
    assert plan_jobs == expected  # exactly one plan job per group and operation
    for m in members:  # the members only ever reprotect per item (PS refuses plan reprotect)
        assert set(item_actions(lab, m)) == {"reProtect"}, m
    others = [m.name for m in lab.machines if m.name not in members]
    assert all("unplannedFailover" in item_actions(lab, m) for m in others)
    plan_posts = lab.arm.calls("POST", rf"/replicationRecoveryPlans/{plan}/")
    bodies = [r.body for r in plan_posts if r.body]
    forward = "InMageRcm" if architecture == "modernized" else "InMageAzureV2"
    tfo = next(b for b in bodies if b["properties"].get("networkType"))["properties"]
    assert tfo["networkId"] == lab.ids.test_network_id
    assert tfo["providerSpecificDetails"] == [{"instanceType": forward, "recoveryPointType": "Latest",
                                               "useMultiVmSyncPoint": "true"}]  # fmt: skip
    back = [b["properties"] for b in bodies if b["properties"].get("failoverDirection") == "RecoveryToPrimary"]
    assert len(back) == 1
    assert back[0]["providerSpecificDetails"][0]["instanceType"] == (
        "InMageRcmFailback" if architecture == "modernized" else "InMage")
    assert all(lab.item(m).state == "protected" for m in members)
    assert_valid_bodies(lab)


def _plans(lab) -> dict[str, list[str]]:
    groups = lab.multi_vm_groups()
    out: dict[str, list[str]] = {}
    for machine, plan in groups.items():
        out.setdefault(plan, []).append(machine)
    return out


def test_a_plan_job_suspended_at_a_manual_action_pauses_the_run_until_approved(make_lab):
    lab = make_lab(architecture="modernized", multi_vm_sync=True)
    [plan] = set(lab.multi_vm_groups().values())
    asr_plan = lab.world.plans[plan]
    from standin.world import PlanAction

    asr_plan.groups[-1].start_actions.append(PlanAction(
        "confirm-batch", "manual", ["UnplannedFailover"], ["PrimaryToRecovery"],
        {"instanceType": "ManualActionDetails", "description": "Stop the batch jobs"}))  # fmt: skip
    with pytest.raises(RunPaused) as paused:
        lab.run("failover", planned=False, auto_approve=False)
    run_id = paused.value.record.run_id
    [job] = [j for j in lab.world.jobs.values() if j.plan == plan and j.scenario == "UnplannedFailover"]
    assert job.state == "Suspended"
    assert "is suspended waiting for a manual action" in str(paused.value)
    assert paused.value.record.paused_step.kind == "machine"
    resumed = lab.resume(run_id, approve=True, by="oncall", comment="batch stopped at 02:10")
    assert resumed.status == "succeeded", resumed.error
    assert job.state == "Succeeded" and job.resume_comments == ["batch stopped at 02:10"]
    assert len(lab.arm.posts("resume")) == 1
    assert len([j for j in lab.world.jobs.values() if j.plan == plan and j.scenario == "UnplannedFailover"]) == 1

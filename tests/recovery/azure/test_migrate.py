"""``asrctl migrate --provider azure``: a classic stack's machines move to a modernized stack's vault through ASR's
switchProvider (in batches of at most 10), then the recovery plans are re-created in that vault — against the
ARM/ASR stand-in serving both vaults (:mod:`recovery.azure.lab`, ``migrate_to=True``).

The CLI tests run the stand-in's clock in auto mode (simulated seconds per real second) because the CLI's provider
uses the wall clock; they poll every 0.05 s instead of ASR's 30 s (as ``crash_child.py`` does). The in-process tests
use the lab's engine clock, so the run's times are the stand-in's own."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from recovery.azure.lab import DEFAULT_MACHINES, LabMachine

CHILD = Path(__file__).with_name("crash_child.py")
PROJECT = Path(__file__).resolve().parents[3]
# 12 machines: batches of 10 and 2. The plan's groups: a multi-VM database pair, a large application tier, a web VM.
MACHINES = DEFAULT_MACHINES + tuple(LabMachine(f"erp-app{n:02d}", "linux", "app", 30 + n) for n in range(2, 10))
GROUPS = (("database", ("erp-sql01", "erp-sql02")),
          ("application", ("erp-app01", *(f"erp-app{n:02d}" for n in range(2, 10)))),
          ("web", ("erp-web01",)))  # fmt: skip


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    from asrctl.recovery.providers.azure import AzureProvider

    monkeypatch.setattr(AzureProvider, "capabilities", replace(AzureProvider.capabilities, poll_interval=0.05))


def migration_lab(make_lab, **options):
    options.setdefault("machines", MACHINES)
    options.setdefault("groups", GROUPS)
    return make_lab(architecture="classic", migrate_to=True, **options)


def switches(lab) -> Counter[str]:
    """switchProvider POSTs ASR acted on, per classic item: answered 202, or accepted with the answer lost (0)."""
    return Counter(r.path.split("/")[-2] for r in lab.arm.posts("switchProvider") if r.status in (202, 0))


def assert_moved_once(lab) -> None:
    """Every classic item was switched exactly once, nothing was refused, and each is InMageRcm Protected in the
    target vault; job lookups were always filtered."""
    assert switches(lab) == Counter({lab.item(m.name).name: 1 for m in lab.machines})
    assert [(r.path, r.status) for r in lab.arm.posts("switchProvider") if r.status >= 400] == []
    for m in lab.machines:
        moved = lab.moved_item(m.name)
        assert moved is not None and (moved.provider, moved.state) == ("InMageRcm", "protected"), m.name
        assert lab.item(m.name).state == "switched", m.name
    assert not lab.arm.job_lists(filtered=False)


def assert_plans_recreated(lab) -> None:
    """The target vault holds the stack's recovery plans, with the moved items in the plan file's groups and order
    (and, with multi-VM sync, one plan per consistency group), built on its InMageRcm fabric."""
    world = lab.target_world
    expected = {"azlab": [list(ms) for _, ms in GROUPS]}
    if lab.multi_vm_sync:
        expected |= {f"azlab-{g}": [list(ms)] for g, ms in GROUPS if len(ms) >= 2}
    assert sorted(world.plans) == sorted(expected)
    for name, groups in expected.items():
        plan = world.plans[name]
        assert plan.primary_fabric == lab.target_fabric.name
        assert [g.group_type for g in plan.groups] == ["Shutdown", "Failover"] + ["Boot"] * len(groups)
        boots = [g.items for g in plan.groups if g.group_type == "Boot"]
        assert boots == [[lab.moved_item(m).name for m in group] for group in groups], name


def batches_one_after_another(lab) -> list[set[str]]:
    """The switch jobs in the order the stand-in ran them, grouped by overlap: returns the machines of each wave."""
    world = lab.world
    jobs = sorted(world.jobs_of("SwitchProvider"), key=lambda j: j.start)
    waves: list[tuple[dt.datetime, set[str]]] = []
    for job in jobs:
        machine = world.find_item(job.items[0]).machine.name
        if waves and job.start < waves[-1][0]:  # starts before the wave's last job ended: the same wave
            waves[-1] = (max(waves[-1][0], job.end), waves[-1][1] | {machine})
        else:
            waves.append((job.end, {machine}))
    return [w for _, w in waves]


def test_migrate_through_the_cli_moves_every_machine_once_in_batches_and_recreates_the_plans(make_lab, cli,
                                                                                           fast_polls):
    lab = migration_lab(make_lab, multi_vm_sync=True, auto_speed=3000)
    result = cli("migrate", "--stack", lab.stack, "--to-stack", lab.target_stack, "--provider", "azure",
                 "--auto-approve", "--json")
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)
    assert (run["command"], run["provider"], run["status"]) == ("migrate", "azure", "succeeded")
    assert [s["operation"] for s in run["stages"]] == ["switch-provider", "recreate-recovery-plans"]
    assert [(g["name"], len(g["machines"])) for g in run["groups"]] == [("batch-1", 10), ("batch-2", 2)]

    assert_moved_once(lab)
    assert_plans_recreated(lab)
    # batches strictly one after another, none larger than 10, in stack order
    waves = batches_one_after_another(lab)
    vms = [m.vm_name for m in MACHINES]
    assert waves == [set(vms[:10]), set(vms[10:])]
    # what the body said: the target stack's vault, its InMageRcm fabric, the machine's appliance there
    fabric = lab.target_fabric
    for r in lab.arm.posts("switchProvider"):
        assert r.body["properties"]["providerSpecificDetails"] == {
            "instanceType": "InMageAzureV2", "targetVaultID": lab.target_ids.vault_id,
            "targetFabricID": f"{lab.target_ids.vault_id}/replicationFabrics/{fabric.name}",
            "targetApplianceID": fabric.appliances[0].id}  # fmt: skip
    # runs show --json tells the truth: every machine succeeded once, in its batch
    shown = json.loads(cli("runs", "show", run["run_id"], "--json").stdout)
    assert (shown["status"], shown["verdict"]) == ("succeeded", run["verdict"])
    machines = [(g["name"], m["name"], m["status"], m["attempts"]) for g in shown["groups"] for m in g["machines"]]
    names = [m.name for m in MACHINES]
    assert machines == [("batch-1", n, "succeeded", 1) for n in names[:10]] + [("batch-2", n, "succeeded", 1)
                                                                               for n in names[10:]]


def test_the_switch_provider_body_is_the_sdk_model_with_the_target_stacks_ids(make_lab):
    from azure.mgmt.recoveryservicessiterecovery import models as m
    from standin.validation import validate

    from asrctl.recovery.providers.protocol import OperationRequest

    lab = migration_lab(make_lab)
    provider = lab.provider(migration_target=(lab.target_cfg, lab.target_stack))
    try:
        job = provider.start_operation(OperationRequest("switch-provider", ("erp-web01",), "run-1/0.2.erp-web01/1"))
    finally:
        provider.close()
    [sent] = lab.arm.posts("switchProvider")
    checked = validate(m.SwitchProviderInput, sent.body)
    assert checked.ok and checked.unknown == [], checked.problems
    assert sent.body["properties"]["targetInstanceType"] == "InMageRcm"
    assert set(sent.body["properties"]["providerSpecificDetails"]) == {"instanceType", "targetVaultID",
                                                                         "targetFabricID", "targetApplianceID"}
    assert sent.path.endswith(f"/replicationProtectedItems/{lab.item('erp-web01').name}/switchProvider")
    assert job.id.lower().endswith(lab.world.jobs_of("SwitchProvider")[0].name.lower())


def test_the_run_times_are_the_vaults_and_a_lost_answer_is_reconciled_not_resent(make_lab):
    lab = migration_lab(make_lab, multi_vm_sync=True)  # three plans to save: the lost answer is on the first
    victim = lab.item("erp-app05").name
    lab.arm.fault("POST", rf"/{victim}/switchProvider$", 0, after_accept=True)  # accepted, the answer lost
    lab.arm.fault("PUT", r"/replicationRecoveryPlans/azlab$", 0, after_accept=True)
    record = lab.migrate()
    assert record.status == "succeeded", record.error
    assert_moved_once(lab)
    assert [r.status for r in lab.arm.posts("switchProvider") if victim in r.path] == [0]  # never sent again
    assert_plans_recreated(lab)
    jobs = {lab.world.find_item(j.items[0]).machine.name: j for j in lab.world.jobs_of("SwitchProvider")}
    for group in record.groups:
        for machine in group.machines:
            job = jobs[next(x.vm_name for x in MACHINES if x.name == machine.name)]
            assert abs(dt.datetime.fromisoformat(machine.finished_at) - job.end) <= dt.timedelta(seconds=1)
            assert dt.datetime.fromisoformat(machine.started_at) <= job.start + dt.timedelta(seconds=1)
    # the lost switch was adopted from the item's current job (it carries the request id); the lost plan save was
    # looked for in the target vault's filtered job list, not found whole, and saved again (a PUT by name)
    assert any(lab.target_ids.vault in r.path for r in lab.arm.job_lists(filtered=True))
    assert [r.status for r in lab.arm.calls("PUT", r"/replicationRecoveryPlans/azlab$")] == [0, 202]
    assert [r.status for r in lab.arm.calls("PUT", r"/replicationRecoveryPlans/azlab-database$")] == [202]


CRASHES = ["intent#3", "job#4", "result#10", "intent#11", "intent#13", "sent#13"]


@pytest.mark.parametrize("boundary", CRASHES)
def test_a_migration_killed_mid_batch_resumes_and_switches_nothing_twice(make_lab, cli, fast_polls, boundary):
    lab = migration_lab(make_lab, auto_speed=3000)
    env = {**os.environ, "ASRCTL_TEST_CRASH_AT": boundary, "PYTHONPATH": str(PROJECT)}
    proc = subprocess.run([sys.executable, str(CHILD), "migrate", "--stack", lab.stack, "--to-stack",
                           lab.target_stack, "--provider", "azure", "--auto-approve"],  # fmt: skip
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr[-2000:]
    [summary] = json.loads(cli("runs", "list", "--json").stdout)["runs"]
    assert (summary["command"], summary["status"]) == ("migrate", "running")  # what a killed process leaves
    resumed = cli("runs", "resume", summary["run_id"], "--json")
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "succeeded"
    assert_moved_once(lab)
    assert_plans_recreated(lab)


def test_a_target_without_registration_is_refused_before_anything_is_sent(make_lab, cli):
    lab = migration_lab(make_lab, target_registered=False)
    result = cli("migrate", "--stack", lab.stack, "--to-stack", lab.target_stack, "--provider", "azure",
                 "--auto-approve")
    assert result.exit_code == 2, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert f"stack {lab.target_stack} has no registered appliance" in line
    assert f"asrctl discover --stack {lab.target_stack}" in line
    assert [r for r in lab.arm.requests if r.method != "GET"] == []
    assert json.loads(cli("runs", "list", "--json").stdout)["runs"] == []


def test_a_machine_in_critical_health_fails_readiness_and_nothing_moves(make_lab, cli):
    lab = migration_lab(make_lab)
    lab.item("erp-app03").health = "Critical"
    result = cli("migrate", "--stack", lab.stack, "--to-stack", lab.target_stack, "--provider", "azure",
                 "--auto-approve", "--json")
    assert result.exit_code == 1, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "failed" and "erp-app03" in run["error"] and "nothing was sent" in run["error"]
    assert [r for r in lab.arm.requests if r.method != "GET"] == []
    assert lab.target_world.items == {} and lab.target_world.plans == {}


def test_readiness_reads_the_configuration_server_and_target_appliance_versions(make_lab):
    from asrctl.recovery.readiness import ReadinessReport, migration_checks

    lab = migration_lab(make_lab)
    lab.fabric.cs_version = "9.48.0.0"
    lab.target_fabric.appliances[0].versions["rcm_proxies"] = "1.35.8000.1"
    lab.item("erp-web01").agent_version = "9.49.1.1"
    provider = lab.provider(migration_target=(lab.target_cfg, lab.target_stack))
    report = ReadinessReport(plan="migrate-azcls", stack=lab.stack, operation="switch-provider", provider="azure")
    try:
        migration_checks(report, lab.cfg, lab.target_cfg, lab.target_stack, provider)
    finally:
        provider.close()
    checks = {(c.reason, c.machine): c.status for c in report.checks if c.name == "component-version"}
    assert checks[("the configuration server (and its process servers) is 9.48.0.0, below 9.50", None)] == "fail"
    assert checks[("the appliance's proxy server is 1.35.8000.1, below 1.35.8419.34591", None)] == "fail"
    assert checks[("the appliance's process server 9.62.7096.1", None)] == "pass"
    assert checks[("the appliance's recovery services agent 2.0.9249.0", None)] == "pass"
    assert checks[("the appliance's replication service 1.35.8433.24227", None)] == "pass"
    assert checks[("Mobility agent 9.49.1.1 is below 9.50", "erp-web01")] == "fail"
    assert sum(1 for (_, machine), status in checks.items() if machine and status == "fail") == 1
    assert report.state_failures  # below a minimum: the move is refused (exit 2)


PLAN_WITH_ACTIONS = """\
name: azlab
groups:
  - name: database
    machines: [erp-sql01, erp-sql02]
    before:
      - manual: Stop the nightly batch jobs.
        when: [planned-failover, failback]
    after:
      - script: runbooks/actions/wait_for_port.py
        args: [--port, "1433"]
  - name: application
    machines: [erp-app01, erp-app02, erp-app03, erp-app04, erp-app05, erp-app06, erp-app07, erp-app08, erp-app09]
  - name: web
    machines: [erp-web01]
    after:
      - runbook: ASR-AddPublicIp
        parameters: {nsg: nsg-erp-web}
        timeout: 10m
        when: [test-failover]
      - manual: Log in as the smoke-test user.
        timeout: 1h
"""


def test_the_recreated_plans_carry_the_plan_files_actions_as_phase_2_renders_them(make_lab):
    lab = migration_lab(make_lab, plan_text=PLAN_WITH_ACTIONS)
    record = lab.migrate()
    assert record.status == "succeeded", record.error
    assert_plans_recreated(lab)
    database, application, web = [g for g in lab.target_world.plans["azlab"].groups if g.group_type == "Boot"]
    [manual] = database.start_actions
    assert (manual.name, manual.kind, manual.failover_types, manual.failover_directions) == (
        "database-pre-1-manual", "manual", ["PlannedFailover"], ["PrimaryToRecovery"])  # failback has no ASR type
    assert manual.details["description"] == "Stop the nightly batch jobs."
    assert database.end_actions == [] and application.start_actions == application.end_actions == []  # scripts
    runbook, smoke = web.end_actions  # file order
    assert (runbook.name, runbook.kind, runbook.failover_types) == ("web-post-1-runbook", "runbook", ["TestFailover"])
    assert runbook.details["runbookId"] == lab.target_ids.runbook_id("ASR-AddPublicIp")
    assert (runbook.details["fabricLocation"], runbook.details["timeout"]) == ("Recovery", "PT10M")
    assert (smoke.name, smoke.kind) == ("web-post-2-manual", "manual")
    assert not [r for r in lab.arm.calls("PUT") if r.unknown_fields]  # every body held only what the SDK declares


def test_a_second_migration_moves_nothing_again_and_saves_the_same_plans(make_lab):
    lab = migration_lab(make_lab)
    assert lab.migrate().status == "succeeded"
    first = {name: [g.items for g in plan.groups] for name, plan in lab.target_world.plans.items()}
    again = lab.migrate()
    assert again.status == "succeeded", again.error
    assert_moved_once(lab)  # still one switch per item: every machine was found moved and skipped
    skipped = {m.status for g in again.groups for m in g.machines}
    assert skipped == {"skipped"}
    assert {name: [g.items for g in plan.groups] for name, plan in lab.target_world.plans.items()} == first


def test_the_provider_refuses_a_move_to_a_stack_without_registration_in_one_line(make_lab):
    from asrctl.recovery.providers.protocol import OperationRejected, OperationRequest

    lab = migration_lab(make_lab, target_registered=False)
    provider = lab.provider(migration_target=(lab.target_cfg, lab.target_stack))
    try:
        with pytest.raises(OperationRejected) as refused:
            provider.start_operation(OperationRequest("switch-provider", ("erp-web01",), "run-1/0.0.erp-web01/1"))
    finally:
        provider.close()
    message = str(refused.value)
    assert len(message.splitlines()) == 1
    assert f"stack {lab.target_stack} has no registration" in message
    assert f"`asrctl discover --stack {lab.target_stack}`" in message
    assert lab.arm.posts("switchProvider") == []


def test_plan_saves_are_one_job_failed_if_one_failed():
    from asrctl.recovery.providers.azure.jobs import PlanSaves
    from asrctl.recovery.providers.protocol import JobStatus

    vault = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
    saves = PlanSaves(vault, ("job-a", "job-b"))
    assert PlanSaves.parse(saves.ref_id) == saves and PlanSaves.parse(f"{vault}/replicationJobs/job-a") is None
    t0, t1 = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, 10, 5, tzinfo=dt.UTC)
    done = JobStatus("a", "Succeeded", started_at=t0, finished_at=t0)
    running = JobStatus("b", "InProgress", started_at=t0)
    failed = JobStatus("b", "Failed", error="plan item not found", started_at=t0, finished_at=t1)
    assert saves.status(saves.ref_id, [done, running]).state == "InProgress"
    both = saves.status(saves.ref_id, [done, JobStatus("b", "Succeeded", started_at=t0, finished_at=t1)])
    assert (both.state, both.started_at, both.finished_at) == ("Succeeded", t0, t1)
    broken = saves.status(saves.ref_id, [done, failed])
    assert (broken.state, broken.error) == ("Failed", "plan item not found")

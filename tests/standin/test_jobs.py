"""Jobs on the clock, the recorded 202/operation-status shapes, job queries, manual actions of plan jobs,
cancellation, injected job failures, ARM faults and the request log."""

from __future__ import annotations

import datetime as dt

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from standin import Clock, Failure, MachineSpec, modernized_world
from standin import helpers as h
from standin.client import start


@pytest.fixture
def v(serve, sdk):
    world = modernized_world([MachineSpec("app01"), MachineSpec("app02"), MachineSpec("db01")])
    arm = serve(world)
    return h.Vault(arm, sdk(arm))


def _ufo(v: h.Vault, machine: str = "app01", **kw: object):
    return start(v.items.begin_unplanned_failover, *v.item_args(v.world.item(machine)), h.ufo_rcm(), **kw)


def test_jobs_advance_with_the_clock_not_with_reads(v):
    _, name = _ufo(v)
    for _ in range(20):
        assert v.jobs.get(v.rg, v.name, name).properties.state == "InProgress"
        v.get(v.world.item("app01"))
    v.arm.advance(899)
    assert v.jobs.get(v.rg, v.name, name).properties.state == "InProgress"
    v.arm.advance(1)
    job = v.jobs.get(v.rg, v.name, name).properties
    assert (job.state, job.state_description, job.allowed_actions) == ("Succeeded", "Completed", [])
    assert job.end_time - job.start_time == dt.timedelta(seconds=900)
    assert (job.scenario_name, job.friendly_name, job.target_instance_type) == ("UnplannedFailover", "Failover", "ProtectionEntity")
    assert job.tasks[0].state == "Succeeded"


def test_durations_are_per_scenario_and_adjustable(v):
    v.world.durations["UnplannedFailover"] = 60
    _, name = _ufo(v)
    v.arm.advance(60)
    assert v.jobs.get(v.rg, v.name, name).properties.state == "Succeeded"


def test_activity_id_carries_the_client_request_id(v):
    _, name = _ufo(v, request_id="5b2f7c0e-6d1e-4a8e-9d7b-1c2d3e4f5a6b")
    activity = v.jobs.get(v.rg, v.name, name).properties.activity_id
    assert activity.startswith("5b2f7c0e-6d1e-4a8e-9d7b-1c2d3e4f5a6b ActivityId: ")
    assert v.arm.posts("unplannedFailover")[0].client_request_id == "5b2f7c0e-6d1e-4a8e-9d7b-1c2d3e4f5a6b"


def test_202_points_at_operation_status_and_operationresults_as_recorded(v):
    item = v.world.item("app01")
    status, headers = None, None

    def hook(response):
        nonlocal status, headers
        if status is None:
            status, headers = response.http_response.status_code, response.http_response.headers

    v.items.begin_unplanned_failover(*v.item_args(item), h.ufo_rcm(), raw_response_hook=hook)
    job = next(iter(v.world.jobs))
    assert status == 202
    stamp = "t=2026-12-01T08%3A00%3A00"
    assert headers["Azure-AsyncOperation"] == f"{v.arm.endpoint}{v.world.vault_id}/replicationOperationStatus/{job}?api-version=2025-08-01&{stamp}"
    assert "/replicationJobs/" not in headers["Azure-AsyncOperation"]  # the job id is not in this header (CLIrec)
    assert headers["Location"] == f"{v.arm.endpoint}{v.world.item_id(item)}/operationresults/{job}?api-version=2025-08-01&{stamp}"
    assert headers["Retry-After"] == "0"
    operation = v.raw("GET", f"{v.world.vault_id}/replicationOperationStatus/{job}", {"api-version": "2025-08-01"}).json()
    assert set(operation) == {"error", "id", "name", "properties", "status", "startTime", "endTime", "percentComplete"}
    assert (operation["name"], operation["status"], operation["endTime"]) == (job, "InProgress", None)
    pending = v.raw("GET", f"{v.world.item_id(item)}/operationresults/{job}", {"api-version": "2025-08-01"})
    assert pending.status_code == 202
    v.arm.advance(900)
    operation = v.raw("GET", f"{v.world.vault_id}/replicationOperationStatus/{job}", {"api-version": "2025-08-01"}).json()
    assert operation["status"] == "Succeeded" and operation["endTime"]
    done = v.raw("GET", f"{v.world.item_id(item)}/operationresults/{job}", {"api-version": "2025-08-01"})
    assert done.status_code == 200 and done.json()["properties"]["protectionState"] == "UnplannedFailoverCommitPendingStatesBegin"


def test_job_list_filter_is_honoured(v):
    world = v.world
    _ufo(v, "app01")
    v.arm.advance(1000)
    since = world.now()
    _ufo(v, "app02")
    every = list(v.jobs.list(v.rg, v.name))
    assert len(every) == 2
    later = list(v.jobs.list(v.rg, v.name, filter=f"StartTime eq '{since.isoformat()}'"))
    assert [j.properties.target_object_name for j in later] == ["app02"]
    running = list(v.jobs.list(v.rg, v.name, filter="JobStatus eq 'InProgress' and AffectedObjectTypes eq 'ProtectionEntity'"))
    assert [j.properties.target_object_name for j in running] == ["app02"]
    assert v.arm.job_lists(filtered=False) and len(v.arm.job_lists(filtered=True)) == 2
    with pytest.raises(HttpResponseError) as info:
        list(v.jobs.list(v.rg, v.name, filter="Colour eq 'blue'"))
    assert info.value.response.json()["error"]["details"][0]["code"] == "InvalidFilter"


def test_lists_page_with_next_link(serve, sdk):
    world = modernized_world([MachineSpec(f"vm{n:02}") for n in range(5)])
    arm = serve(world, page_size=2)
    v = h.Vault(arm, sdk(arm))
    names = [i.properties.friendly_name for i in v.items.list(v.rg, v.name)]
    assert names == [f"vm{n:02}" for n in range(5)]
    pages = arm.calls("GET", r"/replicationProtectedItems$")
    assert len(pages) == 3 and [p.param("$skiptoken") for p in pages] == [None, "2", "4"]
    assert all(p.param("api-version") == "2025-08-01" for p in pages)


def test_plan_job_suspends_at_a_manual_action_until_resumed(v):
    world = v.world
    fabric = next(iter(world.fabrics.values()))
    poller, _ = start(v.plans.begin_create, v.rg, v.name, "erp",
                      h.create_plan(world, fabric.name, [[world.item("db01")], [world.item("app01")]], manual_before=1))  # fmt: skip
    v.arm.advance(10)
    poller.result()
    net = next(x.id for x in world.vnets.values() if x.name == "vnet-dr-test")
    poller, name = start(v.plans.begin_test_failover, v.rg, v.name, "erp", h.plan_tfo(net))
    v.arm.advance(600)  # group 1 done, the manual action before group 2 is reached
    job = v.jobs.get(v.rg, v.name, name).properties
    assert (job.state, job.state_description) == ("Suspended", "WaitingForManualAction")
    assert "Resume" in job.allowed_actions
    manual = next(t for t in job.tasks if t.task_type == "ManualActionTaskDetails")
    assert (manual.state, manual.custom_details.instructions) == ("InProgress", "Stop the batch jobs")
    assert world.item("db01").tfo == "active" and world.item("app01").tfo == "none"
    v.arm.advance(3600)  # a waiting job does not move on with time
    assert v.jobs.get(v.rg, v.name, name).properties.state == "Suspended"
    status = v.raw("GET", f"{world.vault_id}/replicationOperationStatus/{name}", {"api-version": "2025-08-01"}).json()
    assert status["status"] == "InProgress"
    import azure.mgmt.recoveryservicessiterecovery.models as m

    resumer, resumed = start(v.jobs.begin_resume, v.rg, v.name, name,
                             m.ResumeJobParams(properties=m.ResumeJobParamsProperties(comments="batch stopped by ops")))  # fmt: skip
    assert resumed == name
    v.arm.advance(600)
    job = resumer.result().properties
    assert job.state == "Succeeded"
    assert next(t for t in job.tasks if t.task_type == "ManualActionTaskDetails").custom_details.observation == "batch stopped by ops"
    assert world.item("app01").tfo == "active"
    assert len([j for j in world.jobs.values() if j.target_type == "RecoveryPlan" and j.scenario == "TestFailover"]) == 1
    poller.result()


def test_per_item_jobs_never_suspend_so_resume_is_refused(v):
    import azure.mgmt.recoveryservicessiterecovery.models as m

    _, name = _ufo(v)
    with pytest.raises(HttpResponseError) as info:
        v.jobs.begin_resume(v.rg, v.name, name, m.ResumeJobParams(properties=m.ResumeJobParamsProperties(comments="x")))
    assert info.value.response.json()["error"]["details"][0]["code"] == "JobNotSuspended"


def test_cancel_leaves_the_item_as_it_was(v):
    item = v.world.item("app01")
    _, name = _ufo(v)
    start(v.jobs.begin_cancel, v.rg, v.name, name)
    v.arm.advance(900)
    assert v.jobs.get(v.rg, v.name, name).properties.state == "Cancelled"
    assert (item.state, item.current_job) == ("protected", None)


def test_injected_job_failure_fails_the_lro_and_leaves_asrs_failed_state(v):
    v.world.failures.append(Failure("UnplannedFailover", machine="app01"))
    poller, name = _ufo(v)
    v.arm.advance(900)
    with pytest.raises(HttpResponseError):
        poller.result()
    job = v.jobs.get(v.rg, v.name, name).properties
    assert job.state == "Failed" and job.errors[0].service_error_details.message
    props = v.get(v.world.item("app01")).properties
    assert (props.protection_state, props.active_location) == ("UnplannedFailoverFailed", "Primary")  # LearnREST
    assert "UnplannedFailover" in props.allowed_operations  # it can be retried
    assert v.world.recovery_vm("app01") is None


# -- ARM faults and the request log --------------------------------------------------------------------------------------
def test_throttling_answers_429_with_retry_after(v):
    v.arm.fault("GET", r"/replicationProtectedItems$", 429, retry_after=7)
    with pytest.raises(HttpResponseError) as info:
        list(v.items.list(v.rg, v.name))
    assert info.value.status_code == 429 and info.value.response.headers["Retry-After"] == "7"
    assert len(list(v.items.list(v.rg, v.name))) == 3  # the fault was for one request


def test_5xx_after_accept_still_started_exactly_one_job(v):
    v.arm.fault("POST", r"/unplannedFailover$", 500, after_accept=True)
    item = v.world.item("app01")
    with pytest.raises(HttpResponseError) as info:
        v.items.begin_unplanned_failover(*v.item_args(item), h.ufo_rcm(), request_id="8f0c6b7a-0000-4000-8000-000000000001")
    assert info.value.status_code == 500
    jobs = list(v.jobs.list(v.rg, v.name, filter="JobStatus eq 'InProgress'"))
    assert len(jobs) == 1 and jobs[0].properties.activity_id.startswith("8f0c6b7a-0000-4000-8000-000000000001 ")
    assert item.current_job == jobs[0].name


def test_lost_response_after_the_side_effect(v):
    v.arm.fault("POST", r"/unplannedFailover$", 0, after_accept=True)
    item = v.world.item("app01")
    with pytest.raises((ServiceResponseError, ServiceRequestError)):
        v.items.begin_unplanned_failover(*v.item_args(item), h.ufo_rcm())
    assert item.current_job is not None and v.arm.posts("unplannedFailover")[0].status == 0


def test_request_log_records_what_was_sent(v):
    item = v.world.item("app01")
    _ufo(v)
    post = v.arm.posts("unplannedFailover")[0]
    assert post.path.endswith(f"/replicationProtectedItems/{item.name}/unplannedFailover")
    assert post.param("api-version") == "2025-08-01"
    assert post.body["properties"]["providerSpecificDetails"] == {"instanceType": "InMageRcm", "performShutdown": "true"}
    assert post.headers["authorization"] == f"Bearer {v.arm.token}"
    assert post.status == 202 and post.client_request_id


# -- the clock --------------------------------------------------------------------------------------------------------------------
def test_auto_mode_clock_runs_at_speed():
    ticks = iter([100.0, 100.0, 101.5])
    clock = Clock(speed=60, monotonic=lambda: next(ticks))
    start_at = clock.now()
    assert clock.now() - start_at == dt.timedelta(seconds=90)  # 1.5 real seconds × 60
    with pytest.raises(ValueError):
        clock.advance(-1)


# -- Azure Automation jobs -----------------------------------------------------------------------------------------------------------
def test_automation_jobs_run_on_the_clock(v):
    from azure.core.exceptions import ResourceExistsError
    from azure.core.pipeline.policies import RetryPolicy
    from azure.mgmt.automation import AutomationClient
    from azure.mgmt.automation import models as am

    from standin.client import StaticToken

    world = v.world
    world.runbook_seconds["ASR-AddPublicIp"] = 120
    world.failing_runbooks.add("ASR-Broken")
    client = AutomationClient(StaticToken(v.arm.token), world.subscription, base_url=v.arm.endpoint,
                              connection_verify=str(v.arm.cert_path), retry_policy=RetryPolicy(retry_total=0))  # fmt: skip
    create = am.JobCreateParameters(runbook=am.RunbookAssociationProperty(name="ASR-AddPublicIp"), parameters={"nsg": "nsg-web"})
    created = client.job.create(world.resource_group, world.automation_account, "job-1", create)
    assert created.properties.status == "New"
    with pytest.raises(ResourceExistsError):
        client.job.create(world.resource_group, world.automation_account, "job-1", create)
    v.arm.advance(30)
    assert client.job.get(world.resource_group, world.automation_account, "job-1").properties.status == "Running"
    v.arm.advance(90)
    done = client.job.get(world.resource_group, world.automation_account, "job-1").properties
    assert (done.status, done.parameters) == ("Completed", {"nsg": "nsg-web"})
    broken = am.JobCreateParameters(runbook=am.RunbookAssociationProperty(name="ASR-Broken"))
    client.job.create(world.resource_group, world.automation_account, "job-2", broken)
    v.arm.advance(60)
    assert client.job.get(world.resource_group, world.automation_account, "job-2").properties.status == "Failed"


def test_recovery_points_follow_the_clock_and_stop_at_failover(v):
    item = v.world.item("app01")
    points = list(v.client.recovery_points.list_by_replication_protected_items(*v.item_args(item)))
    crash = [p for p in points if p.properties.recovery_point_type == "CrashConsistent"]
    app = [p for p in points if p.properties.recovery_point_type == "ApplicationConsistent"]
    assert len(crash) == 12 and len(app) == 3  # every 5 min (fixed); app-consistent per policy (240 min)
    newest = max(p.properties.recovery_point_time for p in crash)
    assert v.world.now() - newest >= dt.timedelta(seconds=item.rpo_seconds)
    v.arm.advance(600)
    moved = max(p.properties.recovery_point_time for p in v.client.recovery_points.list_by_replication_protected_items(*v.item_args(item)))
    assert moved - newest == dt.timedelta(minutes=10)
    poller, _ = _ufo(v)
    v.arm.advance(900)
    poller.result()
    frozen = max(p.properties.recovery_point_time for p in v.client.recovery_points.list_by_replication_protected_items(*v.item_args(item)))
    v.arm.advance(3600)
    again = max(p.properties.recovery_point_time for p in v.client.recovery_points.list_by_replication_protected_items(*v.item_args(item)))
    assert frozen == again
    one = v.client.recovery_points.get(*v.item_args(item), points[0].name)
    assert one.id == points[0].id

"""AzureProvider at the HTTP boundary: the real SDK and azure-core pipeline against the ASR stand-in — what is sent
once, what is retried by whom, how a lost answer is reconciled, what ASR's fields mean, what readiness reads."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from asrctl.errors import BadInput
from asrctl.recovery.providers.azure.asr import client_request_id
from asrctl.recovery.providers.protocol import (
    AmbiguousResult,
    JobRef,
    OperationRejected,
    OperationRequest,
    ProviderError,
    Throttled,
)
from asrctl.recovery.retry import read_with_retries


def start(provider, operation: str, machine: str, request_id: str, **kw):
    return provider.start_operation(OperationRequest(operation, (machine,), request_id, **kw))


class RotatingCredential:
    """Hands out ``current``; a test rotates it to model a token that expired server-side mid-run."""

    def __init__(self, token: str) -> None:
        self.current = token
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: object):
        from azure.core.credentials import AccessToken

        self.calls += 1
        return AccessToken(self.current, 4_000_000_000)


# -- reads ---------------------------------------------------------------------------------------------------------
def test_describe_reads_asr_fields_per_architecture(modern):
    lab = modern
    provider = lab.provider()
    statuses = provider.describe_machines([m.name for m in lab.machines] + ["not-in-vault"])
    assert sorted(statuses) == sorted(m.name for m in lab.machines)
    sql = statuses["erp-sql01"]
    assert (sql.state, sql.architecture, sql.protection_state) == ("protected", "modernized", "Protected")
    assert sql.replication_health == "Warning"  # 161011 "No successful test failover", as ASR reports it
    assert sql.rpo_seconds == 180 and sql.last_heartbeat is not None
    assert set(sql.recovery_points) == {"app-consistent", "crash-consistent"}
    assert set(sql.allowed_operations) == {"test-failover", "planned-failover", "unplanned-failover"}
    assert sql.agent_version == "9.62.7096.1" and sql.current_job is None
    mapping = provider.export_state()
    assert mapping["item_map"]["erp-sql01"]["item"] == lab.item("erp-sql01").name
    assert mapping["since"].endswith("Z")


def test_describe_gets_items_one_by_one_when_that_is_cheaper_than_listing(make_lab):
    lab = make_lab(architecture="modernized")
    lab.arm.page_size = 1  # the vault's list takes one page per item
    provider = lab.provider()
    provider.describe_machines(["erp-sql01"])  # discovery: the whole list, 4 pages
    lists = len(lab.arm.calls("GET", r"/replicationProtectedItems$"))
    assert lists == 4
    provider.describe_machines(["erp-sql01", "erp-web01"])
    assert len(lab.arm.calls("GET", r"/replicationProtectedItems$")) == lists  # 2 GETs instead of 4 pages
    assert len(lab.arm.calls("GET", rf"/replicationProtectedItems/{lab.item('erp-web01').name}$")) == 1


def test_reads_are_sent_once_and_the_one_retry_layer_honours_retry_after(modern):
    lab = modern
    provider = lab.provider()
    lab.arm.fault("GET", r"/replicationProtectedItems$", 429, times=2, retry_after=17)
    with pytest.raises(Throttled) as info:  # the provider itself never retries
        provider.describe_machines(["erp-sql01"])
    assert info.value.retry_after == 17
    before = lab.clock.now()
    statuses = read_with_retries(lambda: provider.describe_machines(["erp-sql01"]), provider.clock, "describe")
    assert "erp-sql01" in statuses
    assert lab.clock.now() - before == pytest.approx(17, abs=0.01)  # exactly Retry-After on the 429, on its clock
    assert provider.api_calls["list_protected_items"] == 3
    lab.arm.fault("GET", r"/recoveryPoints$", 503)
    from asrctl.recovery.providers.protocol import TransientError

    with pytest.raises(TransientError):
        provider.describe_machines(["erp-sql02"])


def test_test_failover_sends_once_with_the_request_id_and_reports_the_job_of_its_202(modern):
    lab = modern
    provider = lab.provider()
    started = []
    provider.on_job_started = lambda rid, job: started.append((rid, job))
    job = start(provider, "test-failover", "erp-web01", "run-1/0/2/m/erp-web01/1")
    [post] = lab.arm.posts("testFailover")
    assert post.client_request_id == client_request_id("run-1/0/2/m/erp-web01/1")
    body = post.body["properties"]
    assert body["networkId"] == lab.ids.test_network_id and body["failoverDirection"] == "PrimaryToRecovery"
    assert body["providerSpecificDetails"] == {"instanceType": "InMageRcm", "networkId": lab.ids.test_network_id}
    [asr_job] = lab.world.jobs_of("TestFailover")
    assert job.id == f"{lab.ids.vault_id}/replicationJobs/{asr_job.name}" and started == [("run-1/0/2/m/erp-web01/1",
                                                                                          job)]  # fmt: skip
    assert job.token and lab.arm.token not in job.token  # the continuation token never holds the bearer token
    assert provider.get_job(job).state == "InProgress"
    during = provider.describe_machines(["erp-web01"])["erp-web01"]
    assert during.current_job == JobRef(job.id, "test-failover", ("erp-web01",)) and during.allowed_operations == ()
    lab.arm.advance(600)
    status = provider.get_job(job)
    assert status.state == "Succeeded" and status.recovery_point_times["erp-web01"] <= status.started_at
    assert provider.describe_machines(["erp-web01"])["erp-web01"].state == "test-failed-over"


def test_500_after_accept_is_ambiguous_sent_once_and_reconciled_on_the_items_job(modern):
    lab = modern
    provider = lab.provider()
    lab.arm.fault("POST", r"/unplannedFailover$", 500, after_accept=True)
    request = OperationRequest("unplanned-failover", ("erp-web01",), "run-2/0/2/m/erp-web01/1")
    with pytest.raises(AmbiguousResult):
        provider.start_operation(request)
    assert len(lab.arm.posts("unplannedFailover")) == 1  # azure-core's POST retry on 500 is off
    fresh = lab.provider()  # another process: nothing remembered
    found = fresh.find_job(request)
    [asr_job] = lab.world.jobs_of("UnplannedFailover")
    assert found is not None and found.id.endswith(asr_job.name) and found.operation == "unplanned-failover"
    assert not lab.arm.job_lists()  # the item's current job named it: no job list at all
    assert fresh.find_job(OperationRequest("unplanned-failover", ("erp-web01",), "run-2/0/2/m/erp-web01/2")) is None
    assert lab.arm.job_lists(filtered=False) == []


def test_lost_response_is_ambiguous_and_found_in_a_job_list_filtered_since_the_run_started(modern):
    lab = modern
    provider = lab.provider()
    state = provider.export_state()
    lab.arm.advance(120)
    lab.arm.fault("POST", r"/reProtect$", 0, after_accept=True)
    lab.world.set_state("ERP-SQL01", "InMageRcm", "committed")
    request = OperationRequest("reprotect", ("erp-sql01",), "run-3/0/0/m/erp-sql01/1")
    with pytest.raises(AmbiguousResult):
        provider.start_operation(request)
    lab.arm.advance(4000)  # the reprotect finished: only the job list remembers it
    resumed = lab.provider(state=state)
    found = resumed.find_job(request)
    [job] = lab.world.jobs_of("SwitchReplicationGroupProtection")
    assert found is not None and found.id.endswith(job.name)
    [listed] = lab.arm.job_lists(filtered=True)
    since = state["since"].replace(".000", "")
    assert "StartTime eq '" in listed.param("$filter") and "ProtectionEntity" in listed.param("$filter")
    assert listed.param("$filter").split("'")[1] <= since  # from the journaled start, less the skew margin
    assert len(lab.arm.posts("reProtect")) == 1


def test_429_on_a_side_effect_is_throttled_and_nothing_started(modern):
    lab = modern
    lab.arm.fault("POST", r"/unplannedFailover$", 429, retry_after=9)
    with pytest.raises(Throttled) as info:
        start(lab.provider(), "unplanned-failover", "erp-web01", "r4")
    assert info.value.retry_after == 9 and not lab.world.jobs_of("UnplannedFailover")


def test_a_transition_asr_forbids_is_rejected_with_asrs_reason(modern):
    with pytest.raises(OperationRejected, match="OperationNotAllowedInState|isn't allowed"):
        start(modern.provider(), "commit", "erp-web01", "r5")
    assert not modern.world.jobs_of("CommitFailover")


def test_per_item_failover_of_a_multi_vm_member_is_refused_by_asr(make_lab):
    lab = make_lab(architecture="modernized", multi_vm_sync=True)
    with pytest.raises(OperationRejected, match="multi-VM consistency group"):
        start(lab.provider(), "unplanned-failover", "erp-sql01", "r-member")


def test_a_plan_that_holds_other_machines_is_refused_before_anything_is_sent(make_lab):
    lab = make_lab(architecture="modernized", multi_vm_sync=True)
    [plan] = set(lab.multi_vm_groups().values())
    lab.world.plans[plan].groups[-1].items.append(lab.item("erp-web01").name)
    request = OperationRequest("test-failover", ("erp-sql01", "erp-sql02"), "r-plan", recovery_plan=plan)
    with pytest.raises(OperationRejected, match="does not hold exactly"):
        lab.provider().start_operation(request)
    del lab.world.plans[plan]
    with pytest.raises(OperationRejected, match="pulumi up"):
        lab.provider().start_operation(request)
    assert not lab.arm.calls("POST")


def test_token_expiry_mid_run_refreshes_once_and_continues(modern, monkeypatch):
    lab = modern
    monkeypatch.delenv("ASRCTL_ARM_TOKEN")
    credential = RotatingCredential(lab.arm.token)
    provider = lab.provider(credential=credential)
    provider.describe_machines(["erp-web01"])
    lab.arm.valid_tokens = {"token-2"}
    credential.current = "token-2"
    start(provider, "unplanned-failover", "erp-web01", "r6")
    tokens = [r.headers["authorization"] for r in lab.arm.posts("unplannedFailover")]
    assert tokens == [f"Bearer {lab.arm.token}", "Bearer token-2"]  # rejected with 401, re-sent with the new one
    assert len(lab.world.jobs_of("UnplannedFailover")) == 1


def test_static_token_from_the_environment_is_sent_and_never_in_errors(modern):
    lab = modern
    provider = lab.provider()
    assert provider.describe_machines(["erp-web01"])
    assert lab.arm.requests[0].headers["authorization"] == f"Bearer {lab.arm.token}"
    lab.arm.valid_tokens = set()
    with pytest.raises(BadInput) as info:
        lab.provider().describe_machines(["erp-web01"])
    assert lab.arm.token not in str(info.value)


def test_plain_http_endpoint_and_no_credential_are_bad_input(modern, monkeypatch):
    monkeypatch.setenv("ASRCTL_ARM_ENDPOINT", "http://127.0.0.1:1")
    with pytest.raises(BadInput, match="https"):
        modern.provider()
    monkeypatch.setenv("ASRCTL_ARM_ENDPOINT", modern.arm.endpoint)
    from azure.identity import CredentialUnavailableError

    class NoCredential:
        def get_token(self, *scopes, **kwargs):
            raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token")

    requests = len(modern.arm.requests)
    with pytest.raises(BadInput, match="az login") as info:
        modern.provider(credential=NoCredential()).describe_machines(["erp-web01"])
    assert "managed identity" in str(info.value) and len(modern.arm.requests) == requests


def test_unknown_job_is_a_one_line_provider_error(modern):
    provider = modern.provider()
    with pytest.raises(ProviderError, match="not found") as info:
        provider.get_job(JobRef(f"{modern.ids.vault_id}/replicationJobs/does-not-exist", "commit"))
    assert "\n" not in str(info.value)


def test_runbook_job_carries_parameters_and_recovery_plan_context_and_is_idempotent(modern):
    lab = modern
    provider = lab.provider()
    context = {"plan": "azlab", "operation": "test-failover", "direction": "primary-to-recovery", "group": "web",
               "machines": [{"name": "erp-web01", "recovery_ip": "10.160.3.31"}]}  # fmt: skip
    job = provider.start_runbook("ASR-AddPublicIp", {"nsg": "nsg-erp-web"}, context, "run-1/0/2/after/0")
    [put] = lab.arm.calls("PUT", r"/jobs/")
    assert put.client_request_id == client_request_id("run-1/0/2/after/0")
    params = put.body["properties"]["parameters"]
    rpc = json.loads(params["RecoveryPlanContext"])
    assert (rpc["RecoveryPlanName"], rpc["FailoverType"], rpc["GroupId"]) == ("azlab", "Test", "web")
    assert rpc["VmMap"]["erp-web01"]["IPAddress"] == "10.160.3.31" and params["nsg"] == "nsg-erp-web"
    lab.arm.advance(120)
    assert provider.get_job(job).state == "Succeeded"
    again = provider.start_runbook("ASR-AddPublicIp", {"nsg": "nsg-erp-web"}, context, "run-1/0/2/after/0")
    assert again.id == job.id and len(lab.world.automation_jobs) == 1  # same name: ARM answered 409
    assert provider.find_runbook_job("ASR-AddPublicIp", "never-sent") is None


# -- what readiness reads ---------------------------------------------------------------------------------------------
def test_modernized_environment_reports_appliance_components_and_the_failback_path(modern):
    lab = modern
    env = lab.provider().describe_environment()
    assert env.test_network_present and env.failback_ready and env.problems == ()
    [appliance] = env.appliances
    assert appliance.name == "appliance01" and appliance.health == "Normal" and appliance.reprotect_agent
    assert set(appliance.components) == {"process-server", "rcm-proxy", "push-installer", "replication-agent",
                                         "reprotect-agent", "mars-agent", "dra"}  # fmt: skip
    assert appliance.datastores == ("datastore1", "datastore2") and appliance.versions["process-server"]
    lab.fabric.appliances[0].reprotect_agent = False
    lab.fabric.appliances[0].health = "Critical"
    env = lab.provider().describe_environment()
    assert not env.failback_ready and env.appliances[0].health == "Critical"
    assert env.problems == ("appliance appliance01 has no reprotect agent registered (failback reprotects through "
                            "it)",)


def test_readiness_through_azure_refuses_failback_without_a_reprotect_agent(modern, cli):
    lab = modern
    for command, options in (("failover", {"planned": True}), ("commit", {})):
        assert lab.run(command, **options).status == "succeeded"
    lab.fabric.appliances[0].reprotect_agent = False
    result = cli("readiness", "azlab", "--stack", lab.stack, "--provider", "azure", "--operation", "reprotect",
                 "--json")
    report = json.loads(result.stdout)
    checks = {(c["name"], c["status"]) for c in report["checks"] if c["machine"] is None}
    assert result.exit_code == 1 and ("reprotect-agent", "fail") in checks and ("appliance-health", "pass") in checks
    refused = cli("reprotect", "azlab", "--stack", lab.stack, "--provider", "azure")
    assert refused.exit_code == 2 and "appliance appliance01 has no reprotect agent registered" in refused.stderr
    assert not lab.arm.posts("reProtect")


def test_readiness_fails_a_planned_failover_on_a_critical_appliance_but_only_warns_a_drill(modern, cli):
    lab = modern
    lab.fabric.appliances[0].health = "Critical"
    drill = json.loads(cli("readiness", "azlab", "--stack", lab.stack, "--provider", "azure", "--json").stdout)
    assert {c["status"] for c in drill["checks"] if c["name"] == "appliance-health"} == {"warn"} and drill["ok"]
    planned = cli("readiness", "azlab", "--stack", lab.stack, "--provider", "azure", "--operation",
                  "planned-failover", "--json")
    report = json.loads(planned.stdout)
    [check] = [c for c in report["checks"] if c["name"] == "appliance-health"]
    assert planned.exit_code == 1 and check["status"] == "fail" and "process-server Critical" in check["reason"]


def test_readiness_warns_about_an_outdated_mobility_agent(modern, cli, monkeypatch):
    lab = modern
    from azure.mgmt.recoveryservicessiterecovery import models as m
    from standin import render

    original = m.InMageRcmMobilityAgentDetails

    def old_agent(**fields):
        fields["version"] = "9.55.6765.1"
        return original(**fields)

    monkeypatch.setattr(render.m, "InMageRcmMobilityAgentDetails", old_agent)
    provider = lab.provider()
    provider.describe_environment()  # the appliance's version is known from here on
    assert provider.describe_machines(["erp-web01"])["erp-web01"].agent_latest_version == "9.62.7096.1"
    report = json.loads(cli("readiness", "azlab", "--stack", lab.stack, "--provider", "azure", "--json").stdout)
    agents = [c for c in report["checks"] if c["name"] == "agent-version"]
    assert agents and {c["status"] for c in agents} == {"warn"}
    assert "9.55.6765.1 is older than 9.62.7096.1" in agents[0]["reason"]


def test_classic_environment_needs_a_linux_master_target_for_linux_machines(classic):
    lab = classic
    fabric = lab.fabric
    assert lab.provider().describe_environment().failback_ready
    fabric.master_targets = [t for t in fabric.master_targets if t.os != "Linux"]
    env = lab.provider().describe_environment()
    assert not env.failback_ready and any("no Linux master target" in p for p in env.problems)


def test_a_resumed_provider_polls_the_same_job_from_the_journaled_ref(modern):
    lab = modern
    provider = lab.provider()
    state = provider.export_state()
    job = start(provider, "test-failover", "erp-web01", "r8")
    saved = JobRef(job.id, job.operation, job.machines, job.token)
    fresh = lab.provider(state=state)
    lists = len(lab.arm.calls("GET", r"/replicationProtectedItems$"))
    lab.arm.advance(600)
    assert fresh.get_job(saved).state == "Succeeded"
    assert len(lab.arm.calls("GET", r"/replicationProtectedItems$")) == lists  # nothing rediscovered
    assert len(lab.world.jobs_of("TestFailover")) == 1


def test_capabilities_say_plan_jobs_and_suspension(modern):
    from asrctl.recovery.providers.azure import AzureProvider

    caps = AzureProvider.capabilities
    assert caps.group_jobs and caps.jobs_can_suspend
    assert replace(caps, poll_interval=1).group_jobs

"""AzureProvider at the HTTP boundary: the real SDK and azure-core pipeline against a local HTTPS fake of ARM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_arm import FakeArm, Fault

from asrctl.config import load_stack
from asrctl.errors import BadInput
from asrctl.recovery.providers.azure.asr import client_request_id, stack_azure_ids
from asrctl.recovery.providers.azure.provider import AzureProvider
from asrctl.recovery.providers.protocol import AmbiguousResult, JobRef, OperationRejected, OperationRequest, Throttled
from asrctl.recovery.retry import read_with_retries


class FakeClock:
    """Sleeps are recorded, not waited: Retry-After handling is asserted without slowing the suite."""

    kind = "fake"

    def __init__(self) -> None:
        self.t = 1_800_000_000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    async def wait(self, seconds: float) -> None:
        self.sleep(seconds)

    def add_real_wait(self, seconds: float) -> None:
        pass


class RotatingCredential:
    """Hands out ``current``; a test rotates it to model a token that expired server-side mid-run."""

    def __init__(self) -> None:
        self.current = "token-1"
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: object):
        from azure.core.credentials import AccessToken

        self.calls += 1
        return AccessToken(self.current, 4_000_000_000)


@pytest.fixture
def cfg():
    return load_stack("legacy")


@pytest.fixture
def fake(tmp_path: Path, cfg):
    ids = stack_azure_ids(cfg)
    arm = FakeArm(tmp_path, subscription=cfg.subscription_id, resource_group=ids.resource_group, vault=ids.vault)
    # ASR shows VMware items under their vSphere VM names, not asrctl's machine names.
    for machine in cfg.machines[:5]:
        arm.add_item(machine.vm_name)
    arm.start()
    yield arm
    arm.stop()


@pytest.fixture
def cred() -> RotatingCredential:
    return RotatingCredential()


@pytest.fixture
def provider(cfg, fake: FakeArm, cred: RotatingCredential):
    p = AzureProvider(
        cfg, "legacy", endpoint=fake.endpoint, credential=cred, connection_verify=str(fake.cert_path), clock=FakeClock()
    )
    yield p
    p.close()


def start(provider, machine: str, operation: str, request_id: str, recovery_point: str = "latest"):
    return provider.start_operation(OperationRequest(operation, (machine,), request_id, recovery_point=recovery_point))


def find(provider, machine: str, operation: str, request_id: str):
    return provider.find_job(OperationRequest(operation, (machine,), request_id))


def names(cfg, n: int = 5) -> list[str]:
    return [m.name for m in cfg.machines[:n]]


def drive(provider: AzureProvider, job, limit: int = 10):
    for _ in range(limit):
        status = provider.get_job(job)
        if status.done or status.state == "Suspended":
            return status
    raise AssertionError(f"job {job.id} never finished")


def test_discovers_items_by_vm_name_across_pages_and_reads_replication_status(provider, fake, cfg):
    statuses = provider.describe_machines(names(cfg) + ["not-in-vault"])
    assert sorted(statuses) == sorted(names(cfg))
    first = statuses[cfg.machines[0].name]
    assert first.state == "protected"
    assert first.replication_health == "Normal"
    assert first.rpo_seconds == 120
    assert set(first.recovery_points) == {"app-consistent", "crash-consistent"}
    assert first.recovery_points["app-consistent"] < first.recovery_points["crash-consistent"]
    # 5 items at a page size of 2: the pager followed nextLink twice.
    lists = [r for r in fake.requests if r.path.endswith("/replicationProtectedItems")]
    assert len(lists) == 3
    mapping = provider.export_state()["item_map"][cfg.machines[0].name]
    assert mapping["fabric"] == "fabric-1" and mapping["item"] == fake.item_by_machine(cfg.machines[0].vm_name).name


def test_test_failover_lro_202_job_in_progress_then_succeeded_with_request_id(provider, fake, cfg):
    machine = cfg.machines[0]
    fake.job_polls = 2
    job = start(provider, machine.name, "test-failover", "run-1/test-failover/erp-sql01/1")
    posts = fake.posts("testFailover")
    assert len(posts) == 1
    assert posts[0].headers["x-ms-client-request-id"] == client_request_id("run-1/test-failover/erp-sql01/1")
    body = posts[0].body["properties"]
    assert body["networkId"] == stack_azure_ids(cfg).test_network_id
    assert body["networkType"] == "VmNetworkAsInput" and body["failoverDirection"] == "PrimaryToRecovery"
    assert "/replicationJobs/" in job.id and job.machines == (machine.name,)
    assert job.token and "token-1" not in job.token  # never a bearer token
    states = [provider.get_job(job).state for _ in range(3)]
    assert states == ["InProgress", "InProgress", "Succeeded"]
    assert provider.describe_machines([machine.name])[machine.name].state == "test-failed-over"


def test_500_after_accept_on_failover_is_ambiguous_sent_once_and_reconciled(provider, fake, cfg):
    machine = cfg.machines[1]
    fake.faults.append(Fault("POST", r"/unplannedFailover$", 500, after_accept=True))
    rid = "run-2/unplanned-failover/erp-sql02/1"
    with pytest.raises(AmbiguousResult):
        start(provider, machine.name, "unplanned-failover", rid)
    assert len(fake.posts("unplannedFailover")) == 1  # azure-core's POST retry on 500 is off
    found = find(provider, machine.name, "unplanned-failover", rid)
    assert found is not None
    assert len(fake.jobs) == 1 and found.id.endswith(next(iter(fake.jobs)))
    assert drive(provider, found).state == "Succeeded"
    assert len(fake.posts("unplannedFailover")) == 1
    assert find(provider, machine.name, "unplanned-failover", "run-2/unplanned-failover/erp-sql02/2") is None


def test_lost_response_after_send_is_ambiguous_and_not_resent(provider, fake, cfg):
    machine = cfg.machines[2]
    fake.faults.append(Fault("POST", r"/testFailover$", 0, after_accept=True))
    with pytest.raises(AmbiguousResult):
        start(provider, machine.name, "test-failover", "r3")
    assert len(fake.posts("testFailover")) == 1
    assert find(provider, machine.name, "test-failover", "r3") is not None


def test_reads_are_sent_once_and_the_one_retry_layer_honours_retry_after_and_backs_off(provider, fake, cfg):
    fake.faults.append(Fault("GET", r"/replicationProtectedItems$", 429, times=2, retry_after=17))
    fake.faults.append(Fault("GET", r"/recoveryPoints$", 503, times=1))
    with pytest.raises(Throttled):  # the provider itself never retries
        provider.describe_machines(names(cfg, 1))
    statuses = read_with_retries(lambda: provider.describe_machines(names(cfg, 1)), provider.clock, "describe")
    assert cfg.machines[0].name in statuses
    assert provider.clock.sleeps[0] == 17.0  # exactly Retry-After on the 429
    assert provider.clock.sleeps[1] >= 2.0  # a backoff on the 503
    # one per HTTP attempt, nothing hidden inside: 429 (direct), 429, 200 + the 503 on its points, 200 again
    assert provider.api_calls["list_protected_items"] == 4


def test_read_throttled_past_the_budget_raises_throttled_with_retry_after(provider, fake, cfg):
    fake.faults.append(Fault("GET", r"/replicationProtectedItems$", 429, times=99, retry_after=42))
    with pytest.raises(Throttled) as info:
        provider.describe_machines(names(cfg, 1))
    assert info.value.retry_after == 42


def test_429_on_a_side_effect_is_throttled_and_nothing_started(provider, fake, cfg):
    fake.faults.append(Fault("POST", r"/unplannedFailover$", 429, retry_after=9))
    with pytest.raises(Throttled) as info:
        start(provider, cfg.machines[0].name, "unplanned-failover", "r4")
    assert info.value.retry_after == 9
    assert not fake.jobs and len(fake.posts("unplannedFailover")) == 1


def test_forbidden_transition_is_operation_rejected(provider, fake, cfg):
    with pytest.raises(OperationRejected, match="OperationNotAllowed"):
        start(provider, cfg.machines[0].name, "commit", "r5")
    assert not fake.jobs


def test_token_expiry_mid_run_refreshes_once_and_continues(provider, fake, cfg, cred):
    machine = cfg.machines[0]
    provider.describe_machines([machine.name])
    cred.current = "token-2"
    fake.valid_tokens = {"token-2"}  # ARM now rejects the cached token-1
    job = start(provider, machine.name, "unplanned-failover", "r6")
    tokens = [r.headers["Authorization"] for r in fake.posts("unplannedFailover")]
    assert tokens == ["Bearer token-1", "Bearer token-2"]  # rejected with 401, then re-sent with the new token
    assert len(fake.jobs) == 1
    assert drive(provider, job).state == "Succeeded"


def test_suspended_job_waiting_for_manual_action_is_reported_and_resumable(provider, fake, cfg):
    machine = cfg.machines[0]
    fake.suspend_scenarios = {"UnplannedFailover"}
    job = start(provider, machine.name, "planned-failover", "r7")
    status = drive(provider, job)
    assert status.state == "Suspended" and status.output == "WaitingForManualAction" and not status.done
    assert provider.describe_machines([machine.name])[machine.name].current_job.id == job.id  # same spelling
    provider.resume_job(job, "batch jobs stopped", request_id="r7-resume")
    assert drive(provider, job).state == "Succeeded"
    assert provider.describe_machines([machine.name])[machine.name].state == "failed-over"


def test_resumed_provider_polls_the_same_job_from_the_journaled_ref(provider, fake, cfg, cred):
    machine = cfg.machines[0]
    fake.job_polls = 3
    job = start(provider, machine.name, "test-failover", "r8")
    saved = {"id": job.id, "operation": job.operation, "machines": job.machines, "state": provider.export_state()}
    provider.close()
    fresh = AzureProvider(cfg, "legacy", endpoint=fake.endpoint, credential=cred, state=saved["state"],
                          connection_verify=str(fake.cert_path), clock=FakeClock())  # fmt: skip
    before = len([r for r in fake.requests if r.path.endswith("/replicationProtectedItems")])
    assert drive(fresh, JobRef(saved["id"], saved["operation"], saved["machines"])).state == "Succeeded"
    assert len(fake.jobs) == 1
    assert len([r for r in fake.requests if r.path.endswith("/replicationProtectedItems")]) == before
    fresh.close()


def test_full_failover_and_failback_cycle_reaches_each_state(provider, fake, cfg):
    machine = cfg.machines[0].name
    steps = [
        ("unplanned-failover", "failed-over"),
        ("commit", "committed"),
        ("reprotect", "reprotected"),
        ("failback", "failback-pending"),
        ("commit-failback", "failed-back"),
        ("reenable", "protected"),
    ]
    for i, (operation, expected) in enumerate(steps):
        job = start(provider, machine, operation, f"cycle-{i}")
        assert drive(provider, job).state == "Succeeded", operation
        assert provider.describe_machines([machine])[machine].state == expected, operation
    actions = [r.path.split("/")[-1] for r in fake.requests if r.method == "POST"]
    assert actions == ["unplannedFailover", "failoverCommit", "reProtect", "unplannedFailover", "failoverCommit",
                       "reProtect"]  # fmt: skip
    assert fake.posts("failoverCommit")[1].headers["x-ms-client-request-id"] == client_request_id("cycle-4")
    reprotect = fake.posts("reProtect")[0].body["properties"]
    assert reprotect["failoverDirection"] == "RecoveryToPrimary"
    details = reprotect["providerSpecificDetails"]
    reg = cfg.registration
    assert details["instanceType"] == "InMage"
    assert details["processServerId"] == reg.failback_process_server_id
    assert details["masterTargetId"] == reg.master_target_id and details["retentionDrive"] == reg.retention_drive
    assert details["profileId"] == stack_azure_ids(cfg).failback_policy_id
    reenable = fake.posts("reProtect")[1].body["properties"]["providerSpecificDetails"]
    assert reenable["instanceType"] == "InMageAzureV2" and reenable["processServerId"] == reg.process_server_id


def test_app_consistent_failover_sends_the_newest_app_consistent_point(provider, fake, cfg):
    machine = cfg.machines[0]
    start(provider, machine.name, "unplanned-failover", "r9", "latest-app-consistent")
    details = fake.posts("unplannedFailover")[0].body["properties"]["providerSpecificDetails"]
    assert details["recoveryPointId"].split("/")[-1].startswith("rp-app-")


def test_missing_app_consistent_point_is_rejected_before_sending(provider, fake, cfg):
    fake.item_by_machine(cfg.machines[0].vm_name).app_point_age_s = None
    with pytest.raises(OperationRejected, match="latest-app-consistent"):
        start(provider, cfg.machines[0].name, "test-failover", "r10", "latest-app-consistent")
    assert not fake.posts("testFailover")


def test_environment_reads_test_vnet_and_failback_servers(provider, fake, cfg):
    env = provider.describe_environment()
    assert not env.test_network_present and not env.failback_ready
    ids = stack_azure_ids(cfg)
    fake.vnets.add(ids.test_network_id.split("/")[-1])
    fake.process_servers = [cfg.registration.failback_process_server_id]
    fake.master_targets = [cfg.registration.master_target_id]
    env = provider.describe_environment()
    assert env.test_network_present and env.failback_ready and env.problems == ()


def test_runbook_job_carries_parameters_and_recovery_plan_context_and_is_idempotent(provider, fake, cfg):
    context = {"plan": "erp", "operation": "test-failover", "direction": "primary-to-recovery", "group": "web",
               "machines": [{"name": "erp-web01", "ip": "10.170.3.31"}]}  # fmt: skip
    job = provider.start_runbook("ASR-AddPublicIp", {"nsg": "nsg-erp-web"}, context, "run-1/web/after/0")
    [put] = [r for r in fake.requests if r.method == "PUT"]
    # Automation's own clientRequestId and ARM's x-ms-client-request-id both carry the id derived from run and step.
    assert (
        put.headers["x-ms-client-request-id"]
        == put.headers["clientRequestId"]
        == client_request_id("run-1/web/after/0")
    )
    params = put.body["properties"]["parameters"]
    assert put.body["properties"]["runbook"]["name"] == "ASR-AddPublicIp" and params["nsg"] == "nsg-erp-web"
    rpc = json.loads(params["RecoveryPlanContext"])
    assert rpc["RecoveryPlanName"] == "erp" and rpc["FailoverType"] == "Test"
    assert rpc["FailoverDirection"] == "PrimaryToSecondary" and rpc["GroupId"] == "web"
    assert "erp-web01" in rpc["VmMap"]
    assert drive(provider, job).state == "Succeeded"
    # Re-sending the same request id cannot start a second job: same name, ARM answers 409.
    again = provider.start_runbook("ASR-AddPublicIp", {"nsg": "nsg-erp-web"}, context, "run-1/web/after/0")
    assert again.id == job.id and len(fake.automation_jobs) == 1
    assert provider.find_runbook_job("ASR-AddPublicIp", "run-1/web/after/0").id.endswith(job.id.split("/")[-1])
    assert provider.find_runbook_job("ASR-AddPublicIp", "never-sent") is None


def test_static_token_from_environment_is_sent_and_never_in_errors(cfg, fake, monkeypatch):
    monkeypatch.setenv("ASRCTL_ARM_TOKEN", "token-1")
    monkeypatch.setenv("ASRCTL_ARM_ENDPOINT", fake.endpoint)
    p = AzureProvider(cfg, "legacy", connection_verify=str(fake.cert_path), clock=FakeClock())
    assert p.describe_machines(names(cfg, 1))
    assert fake.requests[0].headers["Authorization"] == "Bearer token-1"
    fake.valid_tokens = set()
    with pytest.raises(BadInput) as info:
        p.describe_machines(names(cfg, 1))
    assert "token-1" not in str(info.value)
    p.close()


def test_plain_http_endpoint_is_bad_input(cfg, monkeypatch):
    monkeypatch.setenv("ASRCTL_ARM_ENDPOINT", "http://127.0.0.1:1")
    with pytest.raises(BadInput, match="https"):
        AzureProvider(cfg, "legacy")


def test_no_credentials_is_bad_input_naming_the_sources(cfg, fake, monkeypatch, tmp_path):
    from azure.identity import CredentialUnavailableError

    class NoCredential:
        def get_token(self, *scopes, **kwargs):
            raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token")

    p = AzureProvider(cfg, "legacy", endpoint=fake.endpoint, credential=NoCredential())
    with pytest.raises(BadInput, match="az login.*ASRCTL_ARM_TOKEN|ASRCTL_ARM_TOKEN.*az login") as info:
        p.describe_machines(names(cfg, 1))
    assert "managed identity" in str(info.value)
    assert not fake.requests


def test_unknown_job_is_a_one_line_provider_error_not_an_sdk_exception(provider, fake):
    from asrctl.recovery.providers.protocol import ProviderError

    missing = JobRef(id=f"{fake.vault_path}/replicationJobs/does-not-exist", operation="commit")
    with pytest.raises(ProviderError, match="not found") as info:
        provider.get_job(missing)
    assert type(info.value).__module__.startswith("asrctl") and "\n" not in str(info.value)

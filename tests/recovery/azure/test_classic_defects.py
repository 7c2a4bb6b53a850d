"""Issue 13's classic-path defects, one stand-in-backed test each. Every test names what the code before the fix
did and how the stand-in (ASR's rules, each with its source) refused it or where it went wrong; each was run
against that code and failed there."""

from __future__ import annotations

import pytest

from asrctl.recovery.providers.protocol import OperationRequest
from recovery.azure.lab import DEFAULT_MACHINES

WINDOWS_ONLY = tuple(m for m in DEFAULT_MACHINES if m.os == "windows")


def start(provider, operation: str, machine: str, request_id: str):
    return provider.start_operation(OperationRequest(operation, (machine,), request_id))


def finish(lab, provider, job, seconds: float = 3600):
    lab.arm.advance(seconds)
    status = provider.get_job(job)
    assert status.state == "Succeeded", status.error
    return status


def test_classic_failback_is_primary_to_recovery_on_the_inmage_item(classic):
    """Before: failback sent ``RecoveryToPrimary``; the stand-in refuses it (PS: "RecoveryToPrimary Direction is
    Invalid for InMage"; Microsoft's script fails back with PrimaryToRecovery)."""
    lab = classic
    lab.world.set_state("ERP-SQL01", "InMage", "protected")
    provider = lab.provider()
    finish(lab, provider, start(provider, "failback", "erp-sql01", "r-failback"))
    [post] = lab.arm.posts("unplannedFailover")
    body = post.body["properties"]
    assert body["failoverDirection"] == "PrimaryToRecovery"
    assert body["providerSpecificDetails"] == {"instanceType": "InMage", "recoveryPointType": "LatestTime"}
    assert lab.item("erp-sql01").state == "failed_over" and lab.world.recovery_vm("ERP-SQL01") is None


def test_classic_reenable_is_recovery_to_primary_without_storage_fields(classic):
    """Before: re-enable sent ``PrimaryToRecovery`` and the cache account as ``storageAccountId`` (the *target*
    storage of unmanaged disks); the stand-in refuses both (REFERENCE §5, PS InMage branch)."""
    lab = classic
    lab.world.set_state("ERP-SQL01", "InMage", "committed")
    provider = lab.provider()
    finish(lab, provider, start(provider, "reenable", "erp-sql01", "r-reenable"))
    [post] = lab.arm.posts("reProtect")
    body = post.body["properties"]
    details = body["providerSpecificDetails"]
    assert body["failoverDirection"] == "RecoveryToPrimary" and details["instanceType"] == "InMageAzureV2"
    assert "storageAccountId" not in details and "logStorageAccountId" not in details
    assert details["processServerId"] == lab.cfg.registration.process_server_id
    assert lab.item("erp-sql01").provider == "InMageAzureV2" and lab.item("erp-sql01").state == "protected"


def test_reprotect_takes_its_profile_from_the_failback_container_mapping(classic):
    """Before: reprotect sent the failback policy id asrctl's naming predicts, whatever the vault's failback mapping
    holds; with the failback policy created under another name (the portal's) the stand-in refuses it
    (FailbackPolicyNotAssociated: the InMage policy must be mapped from the container to itself)."""
    lab = classic
    world, fabric = lab.world, lab.fabric
    for name in [n for n, mp in world.mappings.items() if world.policies[mp.policy].provider == "InMage"]:
        del world.mappings[name]
    portal = world.add_policy("failback-policy-portal", "InMage", app_frequency_minutes=60)
    world.add_mapping("portal-failback-mapping", fabric, portal, target=world.container_id(fabric.name, fabric.container))
    world.set_state("ERP-SQL01", "InMageAzureV2", "committed")
    provider = lab.provider()
    finish(lab, provider, start(provider, "reprotect", "erp-sql01", "r-reprotect"))
    [post] = lab.arm.posts("reProtect")
    assert post.body["properties"]["providerSpecificDetails"]["profileId"] == world.policy_id("failback-policy-portal")
    assert lab.item("erp-sql01").provider == "InMage"


def test_reprotect_without_the_failback_mapping_is_refused_before_anything_is_sent(classic):
    lab = classic
    world = lab.world
    for name in [n for n, mp in world.mappings.items() if world.policies[mp.policy].provider == "InMage"]:
        del world.mappings[name]
    world.set_state("ERP-SQL01", "InMageAzureV2", "committed")
    from asrctl.recovery.providers.protocol import OperationRejected

    with pytest.raises(OperationRejected, match="no failback container mapping"):
        start(lab.provider(), "reprotect", "erp-sql01", "r-reprotect")
    assert not lab.arm.posts("reProtect")
    env = lab.provider().describe_environment()
    assert not env.failback_ready and any("failback policy is not mapped" in p for p in env.problems)


def test_linux_machine_reprotects_through_the_linux_master_target(classic):
    """Before: every machine was reprotected through the one (Windows) master target with its retention drive; the
    stand-in refuses a Linux VM there (MasterTargetOsMismatch, REFERENCE §1/§5)."""
    lab = classic
    lab.world.set_state("erp-app01", "InMageAzureV2", "committed")
    provider = lab.provider()
    finish(lab, provider, start(provider, "reprotect", "erp-app01", "r-linux"))
    details = lab.arm.posts("reProtect")[0].body["properties"]["providerSpecificDetails"]
    linux = next(t for t in lab.fabric.master_targets if t.os == "Linux")
    assert (details["masterTargetId"], details["retentionDrive"], details["datastoreName"]) == (
        linux.id, linux.retention_volumes[0], linux.datastores[0])


def test_grouped_classic_machines_fail_over_through_their_recovery_plan(make_lab):
    """Before: the engine failed multi-VM group members over one by one (the provider had no group jobs); the
    stand-in refuses per-item failover of a member (PS: grouped items fail over only through a recovery plan)."""
    lab = make_lab(architecture="classic", multi_vm_sync=True)
    run = lab.run("failover", planned=False)
    assert run.status == "succeeded", run.error
    [plan] = set(lab.multi_vm_groups().values())
    assert len(lab.arm.calls("POST", rf"/replicationRecoveryPlans/{plan}/unplannedFailover$")) == 1
    members = [m for m, p in lab.multi_vm_groups().items() if p == plan]
    assert all(lab.item(m).state == "failed_over" for m in members)


def test_drill_vms_land_in_the_named_test_subnet_and_failovers_at_the_recovery_ip(make_lab):
    """Before: no recovery or test IP was ever applied in ASR, and the test subnets are named unlike the recovery
    subnets (``snet-test-db-…``), so ASR put every drill VM in the alphabetically first test subnet with a dynamic
    address (the stand-in places VMs as ASR does). ``asrctl apply-nics`` sets them on each item's NICs."""
    lab = make_lab(architecture="classic", test_subnets_like_recovery=False)
    from asrctl.recovery.providers.azure.nics import apply_nics

    results = apply_nics(lab.provider())
    assert {r.status for r in results} == {"updated"}
    assert lab.run("drill", cleanup=False).status == "succeeded"
    for m in lab.machines:
        machine = lab.cfg.machines_by_name[m.name]
        vm = lab.world.test_vm(m.vm_name)
        assert (vm.subnet, vm.ip) == (lab.subnet(m.tier, "test"), lab.cfg.test_failover_ip(machine)), m.name
    assert lab.run("cleanup").status == "succeeded"
    assert lab.run("failover", planned=True).status == "succeeded"
    for m in lab.machines:
        vm = lab.world.recovery_vm(m.vm_name)
        assert (vm.subnet, vm.ip) == (lab.subnet(m.tier), lab.cfg.machines_by_name[m.name].recovery_ip), m.name


def test_the_job_comes_from_the_202_and_no_job_list_is_unfiltered(classic):
    """Before: the job id was looked for as ``/replicationJobs/`` in the 202's headers (they point at
    ``operationresults`` and ``replicationOperationStatus``), so every start was followed by a list of every job of
    the vault; and reconciliation listed them unfiltered too."""
    lab = classic
    provider = lab.provider()
    job = start(provider, "test-failover", "erp-sql01", "r-tfo")
    [post] = lab.arm.posts("testFailover")
    [asr_job] = lab.world.jobs_of("TestFailover")
    assert job.id.endswith(f"/replicationJobs/{asr_job.name}") and asr_job.client_request_id == post.client_request_id
    lab.arm.fault("POST", r"/testFailover$", 500, after_accept=True)
    from asrctl.recovery.providers.protocol import AmbiguousResult

    request = OperationRequest("test-failover", ("erp-sql02",), "r-tfo-2")
    with pytest.raises(AmbiguousResult):
        provider.start_operation(request)
    lab.arm.advance(3600)  # the job is over: the item no longer names it, only the job list does
    found = provider.find_job(request)
    [second] = [j for j in lab.world.jobs_of("TestFailover") if j.name != asr_job.name]
    assert found is not None and found.id.endswith(second.name)
    assert not lab.arm.job_lists(filtered=False)
    [listed] = lab.arm.job_lists(filtered=True)
    assert "AffectedObjectTypes eq 'ProtectionEntity'" in listed.param("$filter")


def test_a_failover_after_a_drill_is_not_refused(classic):
    """Before: after a drill's cleanup ASR keeps ``testFailoverState: MarkedForDeletion`` (TestFailover and
    UnplannedFailover allowed again); asrctl read it as "test-failed-over" and refused every failover."""
    lab = classic
    assert lab.run("drill").status == "succeeded"
    assert {lab.item(m.name).tfo for m in lab.machines} == {"cleaned"}
    status = lab.provider().describe_machines(["erp-sql01"])["erp-sql01"]
    assert status.state == "protected" and "unplanned-failover" in status.allowed_operations
    run = lab.run("failover", planned=False)
    assert run.status == "succeeded", run.error


def test_a_reprotected_classic_item_is_failed_back_not_skipped(make_lab):
    """Before: a reprotected item (InMage, Protected, activeLocation Primary) was read as "failed-back": failback
    skipped the failover to VMware and sent the re-enable to VMs still running in Azure (refused)."""
    lab = make_lab(architecture="classic", machines=WINDOWS_ONLY,
                   groups=(("database", ("erp-sql01", "erp-sql02")),))
    for command, options in (("failover", {"planned": True}), ("commit", {}), ("reprotect", {})):
        assert lab.run(command, **options).status == "succeeded", command
    assert lab.provider().describe_machines(["erp-sql01"])["erp-sql01"].state == "reprotected"
    assert all(lab.world.recovery_vm(m.vm_name) is not None for m in lab.machines)
    run = lab.run("failback")
    assert run.status == "succeeded", run.error
    for m in lab.machines:
        item = lab.item(m.name)
        assert (item.provider, item.state) == ("InMageAzureV2", "protected")
        assert lab.world.recovery_vm(m.vm_name) is None
    assert len(lab.arm.posts("unplannedFailover")) == 2 * len(lab.machines)  # to Azure, then back to VMware

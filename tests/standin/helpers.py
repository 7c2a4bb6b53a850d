"""Request bodies the self-tests send, built with the SDK's models the way PowerShell and the CLI build them
(REFERENCE-modernized §3, REFERENCE §5), and small wrappers around the SDK client."""

from __future__ import annotations

from typing import Any

from azure.mgmt.recoveryservicessiterecovery import models as m

from .server import Standin
from .world import Item, World


class Vault:
    """The SDK client bound to one stand-in's vault: ``v.items.begin_…(*v.item_args(item), body)``."""

    def __init__(self, arm: Standin, client: Any) -> None:
        self.arm = arm
        self.world: World = arm.world
        self.client = client
        self.rg = arm.world.resource_group
        self.name = arm.world.vault

    @property
    def items(self) -> Any:
        return self.client.replication_protected_items

    @property
    def plans(self) -> Any:
        return self.client.replication_recovery_plans

    @property
    def jobs(self) -> Any:
        return self.client.replication_jobs

    def item_args(self, item: Item) -> tuple[str, str, str, str, str]:
        return self.rg, self.name, item.fabric, item.container, item.name

    def get(self, item: Item) -> Any:
        return self.items.get(*self.item_args(item))

    def raw(self, method: str, path: str, params: dict[str, str] | None = None) -> Any:
        from azure.core.rest import HttpRequest

        return self.client.send_request(HttpRequest(method, f"{self.arm.endpoint}{path}", params=params or {}))


# -- per-item bodies ------------------------------------------------------------------------------------------------
def tfo(network_id: str, provider: str = "InMageRcm") -> m.TestFailoverInput:
    details: Any = m.InMageRcmTestFailoverInput(network_id=network_id) if provider == "InMageRcm" else m.InMageAzureV2TestFailoverInput()
    return m.TestFailoverInput(properties=m.TestFailoverInputProperties(
        failover_direction="PrimaryToRecovery", network_type="VmNetworkAsInput", network_id=network_id, provider_specific_details=details))  # fmt: skip


def cleanup(comment: str = "drill done") -> m.TestFailoverCleanupInput:
    return m.TestFailoverCleanupInput(properties=m.TestFailoverCleanupInputProperties(comments=comment))


def ufo_rcm(direction: str = "PrimaryToRecovery", shutdown: str = "true") -> m.UnplannedFailoverInput:
    return m.UnplannedFailoverInput(properties=m.UnplannedFailoverInputProperties(
        failover_direction=direction, source_site_operations="Required",
        provider_specific_details=m.InMageRcmUnplannedFailoverInput(perform_shutdown=shutdown)))  # fmt: skip


def ufo_classic(direction: str = "PrimaryToRecovery") -> m.UnplannedFailoverInput:
    return m.UnplannedFailoverInput(properties=m.UnplannedFailoverInputProperties(
        failover_direction=direction, source_site_operations="Required", provider_specific_details=m.InMageAzureV2UnplannedFailoverInput()))  # fmt: skip


def failback_classic(direction: str = "PrimaryToRecovery") -> m.UnplannedFailoverInput:
    return m.UnplannedFailoverInput(properties=m.UnplannedFailoverInputProperties(
        failover_direction=direction, source_site_operations="Required",
        provider_specific_details=m.InMageUnplannedFailoverInput(recovery_point_type="LatestTime")))  # fmt: skip


def reprotect_rcm(agent_id: str, datastore: str, log_storage: str, policy_id: str | None = None,
                  direction: str | None = "RecoveryToPrimary") -> m.ReverseReplicationInput:  # fmt: skip
    return m.ReverseReplicationInput(properties=m.ReverseReplicationInputProperties(
        failover_direction=direction, provider_specific_details=m.InMageRcmReprotectInput(
            reprotect_agent_id=agent_id, datastore_name=datastore, log_storage_account_id=log_storage, policy_id=policy_id)))  # fmt: skip


def planned_failback(point: str = "CrashConsistent", direction: str | None = None) -> m.PlannedFailoverInput:
    return m.PlannedFailoverInput(properties=m.PlannedFailoverInputProperties(
        failover_direction=direction, provider_specific_details=m.InMageRcmFailbackPlannedFailoverProviderInput(recovery_point_type=point)))  # fmt: skip


def reprotect_to_azure(process_server_id: str, policy_id: str, direction: str | None = None) -> m.ReverseReplicationInput:
    return m.ReverseReplicationInput(properties=m.ReverseReplicationInputProperties(
        failover_direction=direction, provider_specific_details=m.InMageRcmFailbackReprotectInput(
            process_server_id=process_server_id, policy_id=policy_id)))  # fmt: skip


def reprotect_classic(world: World, item: Item, *, master_target: str, retention: str, datastore: str | None,
                      profile_id: str, process_server: str) -> m.ReverseReplicationInput:  # fmt: skip
    return m.ReverseReplicationInput(properties=m.ReverseReplicationInputProperties(
        failover_direction="RecoveryToPrimary", provider_specific_details=m.InMageReprotectInput(
            master_target_id=master_target, process_server_id=process_server, retention_drive=retention,
            datastore_name=datastore, profile_id=profile_id)))  # fmt: skip


def reenable_classic(process_server: str, policy_id: str, storage: str | None = None,
                     direction: str = "RecoveryToPrimary") -> m.ReverseReplicationInput:  # fmt: skip
    return m.ReverseReplicationInput(properties=m.ReverseReplicationInputProperties(
        failover_direction=direction, provider_specific_details=m.InMageAzureV2ReprotectInput(
            process_server_id=process_server, policy_id=policy_id, storage_account_id=storage)))  # fmt: skip


# -- recovery-plan bodies -------------------------------------------------------------------------------------------
def plan_tfo(network_id: str, provider: str = "InMageRcm") -> m.RecoveryPlanTestFailoverInput:
    details = [m.RecoveryPlanInMageRcmFailoverInput(recovery_point_type="LatestProcessed")] if provider == "InMageRcm" else [
        m.RecoveryPlanInMageAzureV2FailoverInput(recovery_point_type="Latest")]
    return m.RecoveryPlanTestFailoverInput(properties=m.RecoveryPlanTestFailoverInputProperties(
        failover_direction="PrimaryToRecovery", network_type="VmNetworkAsInput", network_id=network_id, provider_specific_details=details))  # fmt: skip


def plan_cleanup() -> m.RecoveryPlanTestFailoverCleanupInput:
    return m.RecoveryPlanTestFailoverCleanupInput(properties=m.RecoveryPlanTestFailoverCleanupInputProperties(comments="ok"))


def plan_ufo(provider: str = "InMageRcm", direction: str = "PrimaryToRecovery") -> m.RecoveryPlanUnplannedFailoverInput:
    details: list[Any] = {
        "InMageRcm": [m.RecoveryPlanInMageRcmFailoverInput(recovery_point_type="Latest")],
        "InMageAzureV2": [m.RecoveryPlanInMageAzureV2FailoverInput(recovery_point_type="Latest")],
        "InMage": [m.RecoveryPlanInMageFailoverInput(recovery_point_type="LatestTime")],
    }[provider]
    return m.RecoveryPlanUnplannedFailoverInput(properties=m.RecoveryPlanUnplannedFailoverInputProperties(
        failover_direction=direction, source_site_operations="Required", provider_specific_details=details))  # fmt: skip


def plan_failback(direction: str = "RecoveryToPrimary") -> m.RecoveryPlanPlannedFailoverInput:
    return m.RecoveryPlanPlannedFailoverInput(properties=m.RecoveryPlanPlannedFailoverInputProperties(
        failover_direction=direction, provider_specific_details=[
            m.RecoveryPlanInMageRcmFailbackFailoverInput(recovery_point_type="CrashConsistent", use_multi_vm_sync_point="true")]))  # fmt: skip


def create_plan(world: World, fabric: str, groups: list[list[Item]], manual_before: int | None = None) -> m.CreateRecoveryPlanInput:
    plan_groups = []
    for n, items in enumerate(groups):
        actions = []
        if manual_before == n:
            actions.append(m.RecoveryPlanAction(
                action_name="approve-db", failover_types=["TestFailover", "UnplannedFailover", "PlannedFailover"],
                failover_directions=["PrimaryToRecovery", "RecoveryToPrimary"],
                custom_details=m.RecoveryPlanManualActionDetails(description="Stop the batch jobs")))  # fmt: skip
        plan_groups.append(m.RecoveryPlanGroup(group_type="Boot", start_group_actions=actions, replication_protected_items=[
            m.RecoveryPlanProtectedItem(id=world.item_id(i), virtual_machine_id=i.internal_id) for i in items]))  # fmt: skip
    return m.CreateRecoveryPlanInput(properties=m.CreateRecoveryPlanInputProperties(
        primary_fabric_id=world.fabric_id(fabric), recovery_fabric_id="Microsoft Azure", failover_deployment_model="ResourceManager",
        groups=plan_groups))  # fmt: skip


def error_of(exc: Any) -> dict[str, Any]:
    """ASR's error body of an ``HttpResponseError``: the ``details[0]`` entry (its ASR code and message)."""
    body = exc.response.json()
    return body["error"]["details"][0] if body["error"].get("details") else body["error"]

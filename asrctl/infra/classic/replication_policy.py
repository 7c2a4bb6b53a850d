"""The replication policy (InMageAzureV2, VMware → Azure) and its failback policy (InMage, Azure → VMware)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import recoveryservices


@dataclass(frozen=True)
class ReplicationPoliciesArgs:
    vault_name: pulumi.Input[str]
    """Required. Name of the Recovery Services vault that owns the policies (``resource_name`` in the Args class)."""
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    replication_policy_name: str
    """Required. Name of the forward replication policy."""
    failback_policy_name: str
    """Required. Name of the failback policy that reprotect uses after a failover."""
    rpo_threshold_minutes: int
    """Required. RPO threshold in minutes; above it ASR raises an event (it is monitoring only, not a limit)."""
    recovery_point_retention_hours: int
    """Required. Recovery point history in hours: how far back a failover can go."""
    app_consistent_frequency_minutes: int
    """Required. App-consistent (VSS) snapshot frequency in minutes, 60 to 720, below the retention."""
    crash_consistent_frequency_minutes: int = 5
    """Optional. Crash-consistent frequency in minutes; ASR fixes it at 5. Default 5."""
    multi_vm_sync: bool = False
    """Optional. Multi-VM consistency across a replication group (needs port 20004 between VMs). Default false."""


def _policy_kwargs(
    vault_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    policy_name: str,
    properties: recoveryservices.CreatePolicyInputPropertiesArgs,
) -> dict[str, object]:
    """Keyword arguments of ``ReplicationPolicy``. The typed ``ReplicationPolicyArgs`` cannot be used: its
    ``resource_name`` field (the vault) collides with the constructor's own ``resource_name`` (the logical name),
    which is why the keyword form spells the vault ``resource_name_``."""
    return {
        "resource_name_": vault_name,
        "resource_group_name": resource_group_name,
        "policy_name": policy_name,
        "properties": properties,
    }


class ReplicationPolicies(pulumi.ComponentResource):
    """Both policies of the classic architecture, created together as the portal does, so reprotect always finds
    a failback policy with the same recovery point history and app-consistent frequency as the forward one."""

    replication_policy_id: pulumi.Output[str]
    """ARM id of the forward policy; the protection container mapping references it."""
    replication_policy_name: pulumi.Output[str]
    """Name of the forward policy."""
    failback_policy_id: pulumi.Output[str]
    """ARM id of the failback policy; reprotect passes it as the profile id."""

    def __init__(self, name: str, args: ReplicationPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:ReplicationPolicies", name, None, opts)
        rs = recoveryservices
        sync = rs.SetMultiVmSyncStatus.ENABLE if args.multi_vm_sync else rs.SetMultiVmSyncStatus.DISABLE
        history_minutes = args.recovery_point_retention_hours * 60
        forward = rs.ReplicationPolicy(
            f"{name}-replication",
            **_policy_kwargs(
                vault_name=args.vault_name,
                resource_group_name=args.resource_group_name,
                policy_name=args.replication_policy_name,
                properties=rs.CreatePolicyInputPropertiesArgs(
                    provider_specific_input=rs.InMageAzureV2PolicyInputArgs(
                        instance_type="InMageAzureV2",
                        recovery_point_threshold_in_minutes=args.rpo_threshold_minutes,
                        recovery_point_history=history_minutes,
                        app_consistent_frequency_in_minutes=args.app_consistent_frequency_minutes,
                        crash_consistent_frequency_in_minutes=args.crash_consistent_frequency_minutes,
                        multi_vm_sync_status=sync,
                    )
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        failback = rs.ReplicationPolicy(
            f"{name}-failback",
            **_policy_kwargs(
                vault_name=args.vault_name,
                resource_group_name=args.resource_group_name,
                policy_name=args.failback_policy_name,
                properties=rs.CreatePolicyInputPropertiesArgs(
                    provider_specific_input=rs.InMagePolicyInputArgs(
                        instance_type="InMage",
                        recovery_point_threshold_in_minutes=args.rpo_threshold_minutes,
                        recovery_point_history=history_minutes,
                        app_consistent_frequency_in_minutes=args.app_consistent_frequency_minutes,
                        multi_vm_sync_status=sync,
                    )
                ),
            ),
            # Both policies are written to the same vault; ASR serialises policy operations per vault.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[forward]),
        )
        self.replication_policy_id = forward.id
        self.replication_policy_name = forward.name
        self.failback_policy_id = failback.id
        self.register_outputs(
            {
                "replication_policy_id": self.replication_policy_id,
                "replication_policy_name": self.replication_policy_name,
                "failback_policy_id": self.failback_policy_id,
            }
        )

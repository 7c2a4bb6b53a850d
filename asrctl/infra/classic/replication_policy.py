"""The replication policy (InMageAzureV2, VMware → Azure) and its failback policy (InMage, Azure → VMware)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import recoveryservices as rs

from asrctl.infra.policy_pair import PolicyPairArgs, ReplicationPolicyPair


@dataclass(frozen=True)
class ReplicationPoliciesArgs(PolicyPairArgs):
    """The vault and the policy names (:class:`PolicyPairArgs`), then the classic policies' settings."""

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


class ReplicationPolicies(ReplicationPolicyPair):
    """Both policies of the classic architecture, created together as the portal does, so reprotect always finds
    a failback policy with the same recovery point history and app-consistent frequency as the forward one."""

    def __init__(self, name: str, args: ReplicationPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        sync = rs.SetMultiVmSyncStatus.ENABLE if args.multi_vm_sync else rs.SetMultiVmSyncStatus.DISABLE
        history_minutes = args.recovery_point_retention_hours * 60
        super().__init__(
            "asrctl:dr:ReplicationPolicies",
            name,
            args,
            forward_input=rs.InMageAzureV2PolicyInputArgs(
                instance_type="InMageAzureV2",
                recovery_point_threshold_in_minutes=args.rpo_threshold_minutes,
                recovery_point_history=history_minutes,
                app_consistent_frequency_in_minutes=args.app_consistent_frequency_minutes,
                crash_consistent_frequency_in_minutes=args.crash_consistent_frequency_minutes,
                multi_vm_sync_status=sync,
            ),
            failback_input=rs.InMagePolicyInputArgs(
                instance_type="InMage",
                recovery_point_threshold_in_minutes=args.rpo_threshold_minutes,
                recovery_point_history=history_minutes,
                app_consistent_frequency_in_minutes=args.app_consistent_frequency_minutes,
                multi_vm_sync_status=sync,
            ),
            opts=opts,
        )

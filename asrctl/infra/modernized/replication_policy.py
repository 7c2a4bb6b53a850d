"""The modernized replication policy (InMageRcm, VMware → Azure) and its failback policy (InMageRcmFailback).

Inputs as ASR's own clients send them (REFERENCE-modernized §3.0, §5; SDK ``InMageRcmPolicyCreationInput``):

* recovery point history in **minutes**, 0 to 15 days (21,600 min);
* crash-consistent frequency fixed at 5 minutes for the forward policy (PowerShell hard-codes it);
* app-consistent frequency 0 (off) or 1 to 12 hours, never above the history;
* ``enableMultiVmSync`` is a *string*, ``"true"`` or ``"false"``: a JSON boolean is not what the API declares.

The failback policy has no recovery point history of its own (failback keeps the latest points only); it takes the
same crash- and app-consistent frequencies, as the portal's "crashconsistency-policy-failback" does (5 / 0).
Both are created in phase 1, like the portal does: the failback policy costs nothing until a reprotect uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import recoveryservices as rs

from asrctl.infra.policy_pair import PolicyPairArgs, ReplicationPolicyPair

#: ASR's bounds on the InMageRcm policy (REFERENCE-modernized §5).
MAX_HISTORY_MINUTES = 15 * 24 * 60
CRASH_CONSISTENT_MINUTES = 5
APP_CONSISTENT_RANGE_MINUTES = (60, 720)


def multi_vm_sync_flag(enabled: bool) -> str:
    """``enableMultiVmSync`` as the API takes it: the string ``"true"`` or ``"false"``."""
    return "true" if enabled else "false"


@dataclass(frozen=True)
class RcmReplicationPoliciesArgs(PolicyPairArgs):
    """The vault and the policy names (:class:`PolicyPairArgs`: the InMageRcm policy and the InMageRcmFailback
    policy), then the modernized policies' settings."""

    recovery_point_history_minutes: int
    """Required. Recovery point history in minutes, 0 to 21,600 (15 days): how far back a failover can go."""
    app_consistent_frequency_minutes: int
    """Required. App-consistent snapshot frequency in minutes: 0 (off) or 60 to 720, not above the history."""
    crash_consistent_frequency_minutes: int = CRASH_CONSISTENT_MINUTES
    """Optional. Crash-consistent frequency in minutes; ASR fixes it at 5 for forward replication. Default 5."""
    multi_vm_sync: bool = False
    """Optional. Multi-VM consistency for the machines of one multi-VM group (port 20004 between them). Default
    false."""

    def __post_init__(self) -> None:
        # The stack config validated these already; a component used on its own must not send what ASR rejects.
        low, high = APP_CONSISTENT_RANGE_MINUTES
        if not 0 <= self.recovery_point_history_minutes <= MAX_HISTORY_MINUTES:
            raise ValueError(f"recovery_point_history_minutes must be 0 to {MAX_HISTORY_MINUTES}")
        app = self.app_consistent_frequency_minutes
        if app != 0 and not (low <= app <= high and app <= self.recovery_point_history_minutes):
            raise ValueError("app_consistent_frequency_minutes must be 0 or 60 to 720, not above the history")
        if self.crash_consistent_frequency_minutes != CRASH_CONSISTENT_MINUTES:
            raise ValueError("crash_consistent_frequency_minutes is fixed at 5 for InMageRcm")


class RcmReplicationPolicies(ReplicationPolicyPair):
    """Both policies of the modernized architecture, created together as the portal does."""

    def __init__(self, name: str, args: RcmReplicationPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            "asrctl:dr:RcmReplicationPolicies",
            name,
            args,
            forward_input=rs.InMageRcmPolicyCreationInputArgs(
                instance_type="InMageRcm",
                recovery_point_history_in_minutes=args.recovery_point_history_minutes,
                crash_consistent_frequency_in_minutes=args.crash_consistent_frequency_minutes,
                app_consistent_frequency_in_minutes=args.app_consistent_frequency_minutes,
                enable_multi_vm_sync=multi_vm_sync_flag(args.multi_vm_sync),
            ),
            failback_input=rs.InMageRcmFailbackPolicyCreationInputArgs(
                instance_type="InMageRcmFailback",
                crash_consistent_frequency_in_minutes=args.crash_consistent_frequency_minutes,
                app_consistent_frequency_in_minutes=args.app_consistent_frequency_minutes,
            ),
            opts=opts,
        )

"""A forward replication policy and its failback policy in one vault: what both architectures create the same way.

The architectures differ only in the provider inputs (InMageAzureV2 + InMage for classic, InMageRcm +
InMageRcmFailback for modernized); each subclass in ``classic/`` and ``modernized/replication_policy.py`` builds
those from its own args and hands them to :class:`ReplicationPolicyPair`, which creates the two
``ReplicationPolicy`` resources (``{name}-replication``, ``{name}-failback``) and declares the outputs. Both are
created together, as the portal does, so reprotect always finds a failback policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import recoveryservices as rs

from asrctl.infra.asr import vault_child_kwargs

#: The provider inputs of each architecture's policies (classic, modernized).
ForwardPolicyInput = rs.InMageAzureV2PolicyInputArgs | rs.InMageRcmPolicyCreationInputArgs
FailbackPolicyInput = rs.InMagePolicyInputArgs | rs.InMageRcmFailbackPolicyCreationInputArgs

@dataclass(frozen=True)
class PolicyPairArgs:
    vault_name: pulumi.Input[str]
    """Required. Name of the Recovery Services vault that owns the policies (``resource_name`` in the Args class)."""
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    replication_policy_name: str
    """Required. Name of the forward (VMware → Azure) replication policy."""
    failback_policy_name: str
    """Required. Name of the failback policy that reprotect uses after a failover."""


class ReplicationPolicyPair(pulumi.ComponentResource):
    """The forward and the failback policy of one architecture (subclassed per architecture: its own type token)."""

    replication_policy_id: pulumi.Output[str]
    """ARM id of the forward policy; the forward container mapping references it."""
    replication_policy_name: pulumi.Output[str]
    """Name of the forward policy."""
    failback_policy_id: pulumi.Output[str]
    """ARM id of the failback policy; reprotect passes it as the policy of the reverse replication (modernized: the
    failback container mapping references it too)."""

    def __init__(
        self,
        type_token: str,
        name: str,
        args: PolicyPairArgs,
        forward_input: ForwardPolicyInput,
        failback_input: FailbackPolicyInput,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(type_token, name, None, opts)

        def policy(
            role: str,
            policy_name: str,
            provider_input: ForwardPolicyInput | FailbackPolicyInput,
            after: list[pulumi.Resource] | None,
        ) -> rs.ReplicationPolicy:
            return rs.ReplicationPolicy(
                f"{name}-{role}",
                **vault_child_kwargs(
                    args.vault_name,
                    args.resource_group_name,
                    policy_name=policy_name,
                    properties=rs.CreatePolicyInputPropertiesArgs(provider_specific_input=provider_input),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=after),
            )

        forward = policy("replication", args.replication_policy_name, forward_input, None)
        # Both policies are written to the same vault; ASR serialises policy operations per vault.
        failback = policy("failback", args.failback_policy_name, failback_input, [forward])
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

"""The DR site: every building block of one environment, composed from the validated stack configuration.

The composition is a short list: the Azure foundation both architectures share (resource group, vault, cache
storage, recovery and test-failover networks), then the architecture's own blocks
(:mod:`asrctl.infra.modernized.site_blocks` or :mod:`asrctl.infra.classic.site_blocks`: policies, on-prem servers,
failback, phase-2 protection), then the shared blocks (:mod:`asrctl.infra.site_blocks`: RPO alerting, Automation,
recovery plans). Adding a building block is an additive edit: construct it with ``parent=self`` after the blocks it
needs, keep it on ``self`` so ``__main__.py`` can export its outputs, and add its outputs to the block's
``outputs``. Nothing here may depend on running under mocks: ``pulumi up`` runs the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from asrctl.config import StackConfig
from asrctl.infra.automation import RunbookAutomation
from asrctl.infra.cache_storage import CacheStorage, CacheStorageArgs
from asrctl.infra.classic.config_server import ConfigurationServerVm
from asrctl.infra.classic.failback import FailbackInfrastructure
from asrctl.infra.classic.protection import Protection
from asrctl.infra.classic.replication_policy import ReplicationPolicies
from asrctl.infra.classic.scale_out_servers import ScaleOutServers
from asrctl.infra.classic.site_blocks import add_classic_blocks
from asrctl.infra.consistency_groups import consistency_groups, machine_groups
from asrctl.infra.modernized.appliances import ReplicationApplianceVms
from asrctl.infra.modernized.protection import RcmProtection
from asrctl.infra.modernized.replication_policy import RcmReplicationPolicies
from asrctl.infra.modernized.site_blocks import add_modernized_blocks
from asrctl.infra.monitoring import RpoAlerting
from asrctl.infra.naming import AzureNames
from asrctl.infra.network import DrNetwork, DrNetworkArgs, TierSubnet
from asrctl.infra.recovery_plans import RecoveryPlans
from asrctl.infra.resource_group import DrResourceGroup, DrResourceGroupArgs
from asrctl.infra.site_blocks import SiteBlocks, add_shared_blocks
from asrctl.infra.vault import RecoveryVault, RecoveryVaultArgs
from asrctl.infra.vsphere_provider import VSpherePlacement
from asrctl.plans import load_plans_for_stack


@dataclass(frozen=True)
class DrSiteArgs:
    config: StackConfig
    """Required. The validated stack configuration (``asrctl.config.from_pulumi_config()``)."""


def site_tags(cfg: StackConfig) -> dict[str, str]:
    """Tags on every Azure resource: who owns the DR site and which environment it serves."""
    tags = {"environment": cfg.environment, "owner": cfg.tags.owner, "drTier": cfg.tags.dr_tier, "managedBy": "asrctl"}
    if cfg.tags.cost_center:
        tags["costCenter"] = cfg.tags.cost_center
    return tags


class DrSite(pulumi.ComponentResource):
    """Resource group, vault, cache storage, networks; the architecture's policies, on-prem servers and protection;
    RPO alerting, Automation and recovery plans."""

    # The blocks, each None where the stack's architecture or phase has none (``__main__.py`` exports what exists).
    policies: ReplicationPolicies | RcmReplicationPolicies
    vsphere: VSpherePlacement
    configuration_server: ConfigurationServerVm | None = None
    scale_out_servers: ScaleOutServers | None = None
    failback: FailbackInfrastructure | None = None
    appliances: ReplicationApplianceVms | None = None
    protection: Protection | RcmProtection | None = None
    fabric_name: str | None = None
    rpo_alerting: RpoAlerting
    automation: RunbookAutomation
    recovery_plans: RecoveryPlans | None = None

    def __init__(self, name: str, args: DrSiteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:DrSite", name, None, opts)
        cfg = args.config
        self.config = cfg
        self.names = AzureNames(cfg.environment, cfg.location)
        self.names_suffix = self.names.workload_suffix
        tags = site_tags(cfg)
        child = pulumi.ResourceOptions(parent=self)

        # -- Azure foundation -------------------------------------------------------------------------------
        self.resource_group = DrResourceGroup(
            f"{name}-group",
            DrResourceGroupArgs(name=self.names.resource_group, location=cfg.location, tags=tags),
            opts=child,
        )
        rg_name = self.resource_group.name
        location = self.resource_group.location

        # A vault of the stack's own: a modernized site never shares one with a classic configuration server
        # (policy rule modernized-vault-dedicated).
        self.vault = RecoveryVault(
            f"{name}-vault",
            RecoveryVaultArgs(
                name=self.names.vault,
                resource_group_name=rg_name,
                location=location,
                immutability="Unlocked" if cfg.policy.require_immutability else "Disabled",
                tags=tags,
            ),
            opts=child,
        )

        self.cache_storage = CacheStorage(
            f"{name}-cache",
            CacheStorageArgs(
                name=self.names.storage_account("cache"),
                resource_group_name=rg_name,
                # The vault's own location output: ASR rejects a cache account outside the vault's region.
                location=self.vault.location,
                subscription_id=cfg.subscription_id,
                vault_principal_id=self.vault.principal_id,
                sku=cfg.cache_storage.sku,
                tags=tags,
            ),
            opts=child,
        )

        # -- Networks: where failed-over VMs land, and the isolated drill network -----------------------------
        net = cfg.network
        self.recovery_network = DrNetwork(
            f"{name}-recovery-net",
            DrNetworkArgs(
                role="recovery",
                names=self.names,
                resource_group_name=rg_name,
                location=location,
                address_space=net.recovery.address_space,
                subnets=[TierSubnet(s.name, s.prefix) for s in net.recovery.subnets],
                asr_server_ranges=net.on_prem.asr_server_ranges,
                tags=tags,
            ),
            opts=child,
        )
        self.test_network = DrNetwork(
            f"{name}-test-net",
            DrNetworkArgs(
                role="test",
                names=self.names,
                resource_group_name=rg_name,
                location=location,
                address_space=net.test_failover.address_space,
                subnets=[TierSubnet(s.name, s.prefix) for s in net.test_failover.subnets],
                asr_server_ranges=net.on_prem.asr_server_ranges,
                tags={**tags, "purpose": "test-failover"},
            ),
            opts=child,
        )

        # -- Recovery plans and their multi-VM consistency groups ----------------------------------------------
        plans = load_plans_for_stack(cfg, pulumi.get_stack())
        groups = consistency_groups(plans) if cfg.replication.multi_vm_sync else []
        group_of, group_warnings = machine_groups(groups)
        for warning in group_warnings:
            pulumi.log.warn(warning, self)

        # -- The architecture's blocks, then the shared ones ---------------------------------------------------
        blocks = SiteBlocks(self, name, cfg, tags, child, outputs={})
        add_blocks = add_modernized_blocks if cfg.modernized else add_classic_blocks
        add_blocks(blocks, group_of)
        add_shared_blocks(blocks, plans, groups)
        self.recovery_block_outputs = blocks.outputs

        self.register_outputs(self._declared_outputs())

    def _declared_outputs(self) -> dict[str, object]:
        """The site's outputs as one mapping; each block adds its entries here and in ``__main__.py``."""
        return {
            "resource_group_name": self.resource_group.name,
            "vault_name": self.vault.name,
            "vault_id": self.vault.id,
            "replication_policy_id": self.policies.replication_policy_id,
            "failback_policy_id": self.policies.failback_policy_id,
            "cache_storage_account_id": self.cache_storage.id,
            "recovery_vnet_id": self.recovery_network.vnet_id,
            "recovery_subnet_ids": self.recovery_network.subnet_ids,
            "test_failover_vnet_id": self.test_network.vnet_id,
            **self.recovery_block_outputs,
        }

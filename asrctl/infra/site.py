"""The DR site: every building block of one environment, composed from the validated stack configuration.

Adding a building block is an additive edit: construct it in ``__init__`` after the blocks it needs (with
``parent=self``), keep it on ``self`` so ``__main__.py`` can export its outputs, and add its outputs to
``_declared_outputs``. Nothing here may depend on running under mocks: ``pulumi up`` runs the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from asrctl.config import StackConfig
from asrctl.infra.cache_storage import CacheStorage, CacheStorageArgs
from asrctl.infra.naming import AzureNames
from asrctl.infra.network import DrNetwork, DrNetworkArgs, TierSubnet
from asrctl.infra.replication_policy import ReplicationPolicies, ReplicationPoliciesArgs
from asrctl.infra.resource_group import DrResourceGroup, DrResourceGroupArgs
from asrctl.infra.site_blocks import add_recovery_blocks
from asrctl.infra.vault import RecoveryVault, RecoveryVaultArgs


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
    """Resource group, vault, replication + failback policies, cache storage, recovery and test-failover networks."""

    def __init__(self, name: str, args: DrSiteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:DrSite", name, None, opts)
        cfg = args.config
        self.config = cfg
        self.names = AzureNames(cfg.environment, cfg.location)
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

        rep = cfg.replication
        self.policies = ReplicationPolicies(
            f"{name}-policies",
            ReplicationPoliciesArgs(
                vault_name=self.vault.name,
                resource_group_name=rg_name,
                replication_policy_name=self.names.replication_policy("replication"),
                failback_policy_name=self.names.replication_policy("failback"),
                rpo_threshold_minutes=rep.rpo_threshold_minutes,
                recovery_point_retention_hours=rep.recovery_point_retention_hours,
                app_consistent_frequency_minutes=rep.app_consistent_frequency_minutes,
                crash_consistent_frequency_minutes=rep.crash_consistent_frequency_minutes,
                multi_vm_sync=rep.multi_vm_sync,
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

        # -- On-prem ASR servers, failback, RPO alerting, Automation, phase 2 (asrctl/infra/site_blocks.py) --
        add_recovery_blocks(self, name, cfg, tags, child)

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

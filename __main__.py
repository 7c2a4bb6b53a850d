"""Pulumi program of the vmware-azure-dr project: validate the stack configuration, build the DR site, export.

The same code runs under ``pulumi up`` and under ``asrctl preview`` (in-process Pulumi mocks); keep it thin and
free of mock-only branches. Exports are snake_case, in one block at the end, each with its consumer.
"""

import pulumi

from asrctl.config import from_pulumi_config
from asrctl.infra.site import DrSite, DrSiteArgs

cfg = from_pulumi_config()
site = DrSite("dr", DrSiteArgs(config=cfg))

# -- Stack outputs --------------------------------------------------------------------------------------------
pulumi.export("resource_group_name", site.resource_group.name)  # runbooks (azure provider), humans
pulumi.export("vault_name", site.vault.name)  # runbooks: every ASR call names the vault
pulumi.export("vault_id", site.vault.id)  # alerting, role assignments
pulumi.export("replication_policy_id", site.policies.replication_policy_id)  # container mapping (phase 2)
pulumi.export("failback_policy_id", site.policies.failback_policy_id)  # reprotect (profile id)
pulumi.export("cache_storage_account_id", site.cache_storage.id)  # protected items (log storage account)
pulumi.export("recovery_vnet_id", site.recovery_network.vnet_id)  # protected items, failover runbooks
pulumi.export("recovery_subnet_ids", site.recovery_network.subnet_ids)  # protected items (per tier)
pulumi.export("test_failover_vnet_id", site.test_network.vnet_id)  # drills: test failover network id
pulumi.export("phase", cfg.phase)  # 1 before the configuration server registered, 2 after

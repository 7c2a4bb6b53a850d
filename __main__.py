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
pulumi.export("architecture", cfg.architecture)  # every consumer: which provider (InMageRcm or InMageAzureV2)
pulumi.export("resource_group_name", site.resource_group.name)  # runbooks (azure provider), humans
pulumi.export("vault_name", site.vault.name)  # runbooks: every ASR call names the vault
pulumi.export("vault_id", site.vault.id)  # alerting, role assignments
pulumi.export("replication_policy_id", site.policies.replication_policy_id)  # container mapping (phase 2)
pulumi.export("failback_policy_id", site.policies.failback_policy_id)  # reprotect (profile / policy id)
pulumi.export("cache_storage_account_id", site.cache_storage.id)  # protected items (log storage account)
pulumi.export("recovery_vnet_id", site.recovery_network.vnet_id)  # protected items, failover runbooks
pulumi.export("recovery_subnet_ids", site.recovery_network.subnet_ids)  # protected items (per tier)
pulumi.export("test_failover_vnet_id", site.test_network.vnet_id)  # drills: test failover network id
pulumi.export("phase", cfg.phase)  # 1 before the appliances (classic: configuration server) registered, 2 after
pulumi.export("log_analytics_workspace_id", site.rpo_alerting.workspace_id)  # drill reports: RPO history
pulumi.export("rpo_alert_rule_id", site.rpo_alerting.alert_rule_id)  # humans: where RPO breaches page
pulumi.export("automation_account_id", site.automation.account_id)  # role assignments for the runbook identity
pulumi.export("runbook_ids", site.automation.runbook_ids)  # recovery plans (runbook actions), azure provider
if site.appliances:  # mobility deploy: each machine's appliance endpoint (CSPrime)
    pulumi.export("replication_appliance_ips", site.appliances.ips)
if site.configuration_server:  # mobility deploy: CS endpoint (CSLegacy)
    pulumi.export("configuration_server_ip", site.configuration_server.ip)
if site.scale_out_servers:  # registering the extra servers with the configuration server
    pulumi.export("process_server_names", site.scale_out_servers.process_server_names)
    pulumi.export("master_target_names", site.scale_out_servers.master_target_names)
if site.failback:  # reprotect: the temporary Azure process server; humans: delete after failback
    pulumi.export("failback_process_server_ip", site.failback.process_server_private_ip)
    pulumi.export("failback_gateway_id", site.failback.gateway_id)
if site.protection and site.recovery_plans:  # azure provider: protected items and plans by name
    pulumi.export("protected_item_ids", site.protection.protected_item_ids)
    pulumi.export("recovery_plan_ids", site.recovery_plans.plan_ids)
    if site.recovery_plans.group_plan_ids:  # engine: multi-VM groups fail over through their own plans
        pulumi.export("group_recovery_plan_ids", site.recovery_plans.group_plan_ids)

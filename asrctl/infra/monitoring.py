"""RPO alerting: Log Analytics workspace, the vault's Site Recovery diagnostics, an RPO alert rule and who it e-mails.

The classic replication policy's RPO threshold only raises an ASR event, and the modernized (InMageRcm) policy has
no threshold at all; this turns a breach into an Azure Monitor alert per machine (dimension = replicated item) that
e-mails ``alerts.emails`` and resolves itself when RPO recovers. The rule carries its threshold as the tag
``rpoThresholdMinutes`` so policy as code can check it for either architecture.

Which table the query reads, per architecture:

* ``AzureDiagnostics``, category ``AzureSiteRecoveryReplicatedItems``, fields ``replicationProviderName_s``,
  ``name_s`` and ``rpoInSeconds_d``: the fields Microsoft's "Monitor Site Recovery with Azure Monitor Logs" article
  queries for VMware → Azure RPO [V for InMageAzureV2]. The provider value of modernized items is ``InMageRcm``
  (``InMageRcmFailback`` while they replicate back to VMware), the replicated item's
  ``providerSpecificDetails.instanceType`` [V in the SDK]; that the same category and fields carry RPO for
  InMageRcm items could not be confirmed in the sources [U].
* ``ASRReplicatedItems`` (resource-specific, columns ``ReplicatedItemFriendlyName``, ``RpoInSeconds``,
  ``ReplicationStatus``…) is collected too, but Azure Monitor's table reference says its data is pushed *once a
  day*: too late for an RPO alert, fine for drill reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import monitor, operationalinsights

#: Site Recovery log categories of a Recovery Services vault that land in the AzureDiagnostics table — only when the
#: diagnostic setting is in Azure diagnostics mode (Microsoft's ASR monitoring guide: "select Azure Diagnostics",
#: then every AzureSiteRecovery* category). The RPO query below reads them there.
SITE_RECOVERY_LOG_CATEGORIES: tuple[str, ...] = (
    "AzureSiteRecoveryJobs",
    "AzureSiteRecoveryEvents",
    "AzureSiteRecoveryReplicatedItems",
    "AzureSiteRecoveryReplicationStats",
    "AzureSiteRecoveryRecoveryPoints",
    "AzureSiteRecoveryReplicationDataUploadRate",
    "AzureSiteRecoveryProtectedDiskDataChurn",
)
#: Site Recovery categories that only exist as resource-specific tables (ASRJobs, ASRReplicatedItems): a second
#: setting in Dedicated mode. One setting cannot do both: its destination type applies to all of its categories.
SITE_RECOVERY_RESOURCE_SPECIFIC_CATEGORIES: tuple[str, ...] = ("ASRJobs", "ASRReplicatedItems")
#: Replication providers whose items the RPO alert watches, per architecture: classic forward replication; modernized
#: forward replication and, after reprotect, the replication back to VMware (same item, provider InMageRcmFailback).
CLASSIC_REPLICATION_PROVIDERS: tuple[str, ...] = ("InMageAzureV2",)
MODERNIZED_REPLICATION_PROVIDERS: tuple[str, ...] = ("InMageRcm", "InMageRcmFailback")
#: Tag on the alert rule holding its threshold (read by the replication-rpo-threshold-within-bound policy rule).
RPO_THRESHOLD_TAG = "rpoThresholdMinutes"


def rpo_query(threshold_minutes: int, providers: tuple[str, ...] = CLASSIC_REPLICATION_PROVIDERS) -> str:
    """Machines whose latest reported RPO exceeds the threshold (one row per machine)."""
    provider_filter = (
        f'| where replicationProviderName_s == "{providers[0]}"\n'
        if len(providers) == 1
        else "| where replicationProviderName_s in (" + ", ".join(f'"{p}"' for p in providers) + ")\n"
    )
    return (
        "AzureDiagnostics\n"
        '| where Category == "AzureSiteRecoveryReplicatedItems"\n'
        f"{provider_filter}"
        "| where isnotempty(name_s)\n"
        "| summarize arg_max(TimeGenerated, *) by name_s\n"
        f"| where rpoInSeconds_d > {threshold_minutes * 60}\n"
        "| project Machine = name_s, RpoMinutes = rpoInSeconds_d / 60, TimeGenerated"
    )


@dataclass(frozen=True)
class RpoAlertingArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    location: pulumi.Input[str]
    """Required. Region of the vault (the workspace and the alert rule live there)."""
    vault_id: pulumi.Input[str]
    """Required. ARM id of the Recovery Services vault whose Site Recovery logs are collected."""
    rpo_threshold_minutes: int
    """Required. RPO threshold in minutes (replication.rpoThresholdMinutes; classic: also the policy's)."""
    emails: Sequence[str]
    """Required. Recipients of the RPO alert."""
    workspace_name: str
    """Required. Azure name of the Log Analytics workspace (log-…)."""
    action_group_name: str
    """Required. Azure name of the action group (ag-…)."""
    alert_rule_name: str
    """Required. Azure name of the scheduled query rule."""
    replication_providers: tuple[str, ...] = CLASSIC_REPLICATION_PROVIDERS
    """Optional. Replication providers whose items are watched (MODERNIZED_REPLICATION_PROVIDERS for a modernized
    stack). Default the classic InMageAzureV2."""
    retention_days: int = 30
    """Optional. Log retention in days. Default 30."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Optional. Tags. Default none."""


class RpoAlerting(pulumi.ComponentResource):
    """Workspace + vault diagnostics + RPO alert + e-mail action group."""

    workspace_id: pulumi.Output[str]
    """ARM id of the Log Analytics workspace (consumed by drill reports querying RPO history)."""
    action_group_id: pulumi.Output[str]
    """ARM id of the action group (other alerts, e.g. failover jobs, can reuse it)."""
    alert_rule_id: pulumi.Output[str]
    """ARM id of the RPO alert rule."""

    def __init__(self, name: str, args: RpoAlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:RpoAlerting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        workspace = operationalinsights.Workspace(
            f"{name}-workspace",
            operationalinsights.WorkspaceArgs(
                workspace_name=args.workspace_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
                retention_in_days=args.retention_days,
                tags=tags,
            ),
            opts=child,
        )
        # Azure diagnostics mode (no destination type): the AzureSiteRecovery* categories go to AzureDiagnostics,
        # the table the RPO alert queries. In Dedicated mode they would not reach it and the alert could never fire.
        monitor.DiagnosticSetting(
            f"{name}-vault-diagnostics",
            monitor.DiagnosticSettingArgs(
                name="asr-to-log-analytics",
                resource_uri=args.vault_id,
                workspace_id=workspace.id,
                logs=[monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in SITE_RECOVERY_LOG_CATEGORIES],
            ),
            opts=child,
        )
        monitor.DiagnosticSetting(
            f"{name}-vault-diagnostics-tables",
            monitor.DiagnosticSettingArgs(
                name="asr-to-log-analytics-tables",
                resource_uri=args.vault_id,
                workspace_id=workspace.id,
                log_analytics_destination_type="Dedicated",
                logs=[
                    monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True)
                    for c in SITE_RECOVERY_RESOURCE_SPECIFIC_CATEGORIES
                ],
            ),
            opts=child,
        )
        group = monitor.ActionGroup(
            f"{name}-action-group",
            monitor.ActionGroupInitArgs(
                action_group_name=args.action_group_name,
                resource_group_name=args.resource_group_name,
                location="Global",
                group_short_name="asr-rpo",
                enabled=True,
                email_receivers=[
                    monitor.MicrosoftCommonEmailReceiverArgs(name=f"email-{i}", email_address=e, use_common_alert_schema=True)
                    for i, e in enumerate(args.emails, start=1)
                ],
                tags=tags,
            ),
            opts=child,
        )
        rule = monitor.ScheduledQueryRule(
            f"{name}-rpo-alert",
            monitor.ScheduledQueryRuleArgs(
                rule_name=args.alert_rule_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                kind="LogAlert",
                display_name=f"ASR RPO above {args.rpo_threshold_minutes} minutes",
                description=(
                    f"A replicated machine's RPO exceeded the {args.rpo_threshold_minutes}-minute threshold of the "
                    f"replication policy ({', '.join(args.replication_providers)})."
                    if args.replication_providers == CLASSIC_REPLICATION_PROVIDERS
                    else f"A replicated machine's RPO exceeded the {args.rpo_threshold_minutes}-minute RPO threshold "
                    f"of the stack ({', '.join(args.replication_providers)} items)."
                ),
                severity=2,
                enabled=True,
                scopes=[workspace.id],
                evaluation_frequency="PT5M",
                window_size="PT15M",
                auto_mitigate=True,
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                    all_of=[
                        monitor.ConditionArgs(
                            query=rpo_query(args.rpo_threshold_minutes, args.replication_providers),
                            time_aggregation="Count",
                            # ARM's values for log alerts are Equals/GreaterThan/…; the SDK's enum for this
                            # field holds another API's short forms (gt, eq), so pass the ARM value.
                            operator="GreaterThan",
                            threshold=0,
                            dimensions=[monitor.DimensionArgs(name="Machine", operator="Include", values=["*"])],
                            failing_periods=monitor.ConditionFailingPeriodsArgs(
                                number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                            ),
                        )
                    ]
                ),
                actions=monitor.ActionsArgs(action_groups=[group.id]),
                tags={**tags, RPO_THRESHOLD_TAG: str(args.rpo_threshold_minutes)},
            ),
            opts=child,
        )
        self.workspace_id = workspace.id
        self.action_group_id = group.id
        self.alert_rule_id = rule.id
        self.register_outputs(
            {"workspace_id": self.workspace_id, "action_group_id": self.action_group_id, "alert_rule_id": rule.id}
        )

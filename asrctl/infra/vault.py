"""The Recovery Services vault: where the fabric, protection containers, policies and protected items live."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import recoveryservices


@dataclass(frozen=True)
class RecoveryVaultArgs:
    name: str
    """Required. Azure name of the vault (CAF ``rsv-`` prefix)."""
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    location: pulumi.Input[str]
    """Required. Azure region of the vault; the cache storage account and recovery networks must be in it."""
    soft_delete_retention_days: int = 14
    """Optional. Days a deleted item stays recoverable (14 to 180). Soft delete is always on. Default 14."""
    immutability: str = "Disabled"
    """Optional. Vault immutability: Disabled, Unlocked or Locked (irreversible). Default Disabled."""
    public_network_access: str = "Enabled"
    """Optional. The classic configuration server reaches the vault over public endpoints. Default Enabled."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Optional. Tags of the vault. Default none."""


class RecoveryVault(pulumi.ComponentResource):
    """A Standard Recovery Services vault with secure defaults: soft delete on, a system-assigned managed identity,
    Azure Monitor alerts for every replication and failover issue and job failure, and ``protect=True`` because
    deleting the vault drops every replicated item and forces a full re-replication."""

    name: pulumi.Output[str]
    """Azure name of the vault; the ``resource_name_`` of every Replication* resource and of runbook calls."""
    id: pulumi.Output[str]
    """ARM id of the vault; consumed by alerts and the runbook engine's azure provider."""
    location: pulumi.Output[str]
    """Region of the vault; the cache storage account takes it so both can never drift apart."""
    principal_id: pulumi.Output[str]
    """Object id of the vault's managed identity, for role assignments on the cache storage account."""

    def __init__(self, name: str, args: RecoveryVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:RecoveryVault", name, None, opts)
        rs = recoveryservices
        vault = rs.Vault(
            f"{name}-rsv",
            rs.VaultArgs(
                vault_name=args.name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                sku=rs.SkuArgs(name=rs.SkuName.STANDARD),
                identity=rs.IdentityDataArgs(type=rs.ResourceIdentityType.SYSTEM_ASSIGNED),
                properties=rs.VaultPropertiesArgs(
                    public_network_access=args.public_network_access,
                    security_settings=rs.SecuritySettingsArgs(
                        soft_delete_settings=rs.SoftDeleteSettingsArgs(
                            soft_delete_state=rs.SoftDeleteState.ENABLED,
                            soft_delete_retention_period_in_days=args.soft_delete_retention_days,
                            enhanced_security_state=rs.EnhancedSecurityState.ENABLED,
                        ),
                        immutability_settings=rs.ImmutabilitySettingsArgs(state=args.immutability),
                    ),
                    monitoring_settings=rs.MonitoringSettingsArgs(
                        azure_monitor_alert_settings=rs.AzureMonitorAlertSettingsArgs(
                            alerts_for_all_replication_issues=rs.AlertsState.ENABLED,
                            alerts_for_all_failover_issues=rs.AlertsState.ENABLED,
                            alerts_for_all_job_failures=rs.AlertsState.ENABLED,
                        ),
                        # Classic e-mail alerts are superseded by Azure Monitor alerts; keeping both doubles mail.
                        classic_alert_settings=rs.ClassicAlertSettingsArgs(
                            alerts_for_critical_operations=rs.AlertsState.DISABLED,
                            email_notifications_for_site_recovery=rs.AlertsState.DISABLED,
                        ),
                    ),
                ),
                tags=dict(args.tags),
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.name = vault.name
        self.id = vault.id
        self.location = vault.location
        self.principal_id = vault.identity.apply(lambda i: i.principal_id if i else None)
        self.register_outputs({"name": self.name, "id": self.id, "location": self.location, "principal_id": self.principal_id})

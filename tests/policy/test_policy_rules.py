"""Every rule against synthetic azure-native input shapes: compliant, violating and missing-property cases.

Each case starts from a compliant resource factory and changes one property. Rules run through their real
CrossGuard policy objects (``Rule.to_policy().validate``) with props wrapped exactly as the engine wraps them.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from asrctl.policy.rules import RULES_BY_NAME

DELETE = object()
STACK = "urn:pulumi:dev::vmware-azure-dr::"


def _wrap(props: dict[str, Any]) -> Any:
    from pulumi_policy.deserialize import deserialize_properties
    from pulumi_policy.proxy import unknown_checking_proxy

    return unknown_checking_proxy(deserialize_properties(copy.deepcopy(props)))


def _opts() -> Any:
    import pulumi_policy as pp

    return pp.PolicyResourceOptions(False, [], None, [], pp.PolicyCustomTimeouts(0, 0, 0), [], None)


def urn_of(rtype: str, name: str, parent: str | None = None) -> str:
    chain = f"{parent}${rtype}" if parent else rtype
    return f"{STACK}{chain}::{name}"


def violations(rule: str, rtype: str, props: dict[str, Any], config: dict | None = None, name: str = "res",
               parent: str | None = None) -> list[str]:
    """Messages a resource rule reports for one resource."""
    import pulumi_policy as pp

    found: list[str] = []
    args = pp.ResourceValidationArgs(rtype, _wrap(props), urn_of(rtype, name, parent), name, _opts(), None, config or {})
    RULES_BY_NAME[rule].to_policy().validate(args, lambda msg, urn=None: found.append(msg))
    return found


def res(rtype: str, name: str, props: dict[str, Any], parent: str | None = None, provider_sub: str | None = None,
        dependencies: tuple = ()) -> Any:
    import pulumi_policy as pp

    provider = (
        pp.PolicyProviderResource("pulumi:providers:azure-native", _wrap({"subscriptionId": provider_sub}),
                                  f"{STACK}pulumi:providers:azure-native::p", "p")
        if provider_sub
        else None
    )
    return pp.PolicyResource(rtype, _wrap(props), urn_of(rtype, name, parent), name, _opts(), provider, None,
                             list(dependencies), {})


def stack_violations(rule: str, resources: list[Any], config: dict | None = None) -> list[tuple[str, str | None]]:
    """(message, urn) pairs a stack rule reports."""
    import pulumi_policy as pp

    found: list[tuple[str, str | None]] = []
    RULES_BY_NAME[rule].to_policy().validate(
        pp.StackValidationArgs(resources, config or {}), lambda msg, urn=None: found.append((msg, urn))
    )
    return found


def changed(props: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``props`` with the dotted ``path`` set to ``value`` (or removed with DELETE)."""
    result = copy.deepcopy(props)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is DELETE:
        del node[int(last) if isinstance(node, list) else last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return result


# ---------------------------------------------------------------------------------------------------------------
# Compliant resource factories (shapes as asrctl's components register them, camelCase)

TAGS = {"owner": "dr-team@contoso.com", "environment": "dev", "drTier": "tier-2"}
SA = "azure-native:storage:StorageAccount"
VAULT = "azure-native:recoveryservices:Vault"
NSG = "azure-native:network:NetworkSecurityGroup"
VM = "azure-native:compute:VirtualMachine"
POLICY = "azure-native:recoveryservices:ReplicationPolicy"
PLAN = "azure-native:recoveryservices:ReplicationRecoveryPlan"
GW = "azure-native:network:VirtualNetworkGateway"
CACHE_PARENT = "asrctl:dr:CacheStorage"


def storage_account(**extra: Any) -> dict[str, Any]:
    return {
        "accountName": "stasrartifactsdevweu",
        "kind": "StorageV2",
        "sku": {"name": "Standard_GRS"},
        "location": "westeurope",
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,
        "tags": dict(TAGS),
        **extra,
    }


def cache_account() -> dict[str, Any]:
    return storage_account(sku={"name": "Standard_LRS"}, accountName="stasrcachedevweu")


def vault() -> dict[str, Any]:
    return {
        "vaultName": "rsv-asr-dev-weu",
        "location": "westeurope",
        "sku": {"name": "Standard"},
        "identity": {"type": "SystemAssigned"},
        "tags": dict(TAGS),
        "properties": {
            "publicNetworkAccess": "Disabled",
            "securitySettings": {
                "softDeleteSettings": {"softDeleteState": "Enabled"},
                "immutabilitySettings": {"state": "Unlocked"},
            },
        },
    }


def nsg() -> dict[str, Any]:
    return {
        "tags": dict(TAGS),
        "securityRules": [
            {
                "name": "allow-asr",
                "direction": "Inbound",
                "access": "Allow",
                "protocol": "Tcp",
                "sourceAddressPrefixes": ["10.10.5.0/24"],
                "destinationPortRanges": ["443", "9443"],
                "priority": 100,
            },
            {
                "name": "deny-internet",
                "direction": "Inbound",
                "access": "Deny",
                "sourceAddressPrefix": "Internet",
                "destinationPortRange": "*",
                "priority": 4000,
            },
        ],
    }


def vm() -> dict[str, Any]:
    script = base64.b64encode(b"#!/bin/sh\necho configure process server\n").decode()
    return {
        "tags": {**TAGS, "temporary": "true", "expiresOn": "2027-03-31"},
        "securityProfile": {"encryptionAtHost": True},
        "storageProfile": {
            "osDisk": {"createOption": "FromImage", "managedDisk": {"storageAccountType": "Premium_LRS"}},
            "dataDisks": [{"lun": 0, "createOption": "Empty", "diskSizeGB": 1024, "managedDisk": {}}],
        },
        "osProfile": {"computerName": "asr-ps-az01", "customData": script},
        "networkProfile": {"networkInterfaces": [{"id": "/subscriptions/x/nic"}]},
    }


def replication_policy(instance_type: str = "InMageAzureV2") -> dict[str, Any]:
    return {
        "policyName": "pol-asr-replication-dev-weu",
        "properties": {
            "providerSpecificInput": {
                "instanceType": instance_type,
                "recoveryPointThresholdInMinutes": 30,
                "recoveryPointHistory": 1440,
                "appConsistentFrequencyInMinutes": 240,
                "crashConsistentFrequencyInMinutes": 5,
                "multiVmSyncStatus": "Enable",
            }
        },
    }


def rcm_policy() -> dict[str, Any]:
    """The InMageRcm policy as asrctl registers it (prod: 72 h history, app-consistent every 2 h)."""
    return {
        "policyName": "pol-asr-replication-prod-weu",
        "resourceName": "rsv-asr-prod-weu",
        "properties": {
            "providerSpecificInput": {
                "instanceType": "InMageRcm",
                "recoveryPointHistoryInMinutes": 4320,
                "crashConsistentFrequencyInMinutes": 5,
                "appConsistentFrequencyInMinutes": 120,
                "enableMultiVmSync": "true",
            }
        },
    }


def rcm_failback_policy() -> dict[str, Any]:
    return {
        "policyName": "pol-asr-failback-prod-weu",
        "resourceName": "rsv-asr-prod-weu",
        "properties": {
            "providerSpecificInput": {
                "instanceType": "InMageRcmFailback",
                "crashConsistentFrequencyInMinutes": 5,
                "appConsistentFrequencyInMinutes": 120,
            }
        },
    }


def rpo_alert() -> dict[str, Any]:
    return {
        "ruleName": "alert-asr-prod-weu-rpo",
        "criteria": {"allOf": [{"query": "AzureDiagnostics | where rpoInSeconds_d > 900", "threshold": 0}]},
        "tags": {**TAGS, "rpoThresholdMinutes": "15"},
    }


def _action(name: str) -> dict[str, Any]:
    return {
        "actionName": name,
        "failoverTypes": ["TestFailover", "PlannedFailover", "UnplannedFailover"],
        "failoverDirections": ["PrimaryToRecovery"],
        "customDetails": {"instanceType": "ManualActionDetails", "description": "check"},
    }


def recovery_plan(boot_groups: int = 3, items_per_group: int = 2) -> dict[str, Any]:
    def item(g: int, i: int) -> dict[str, Any]:
        return {"id": f"/subscriptions/x/replicationProtectedItems/m{g}-{i}", "virtualMachineId": f"vm{g}{i}"}

    boots = [
        {
            "groupType": "Boot",
            "replicationProtectedItems": [item(g, i) for i in range(items_per_group)],
            "startGroupActions": [_action(f"before-{g}")],
            "endGroupActions": [_action(f"after-{g}")],
        }
        for g in range(boot_groups)
    ]
    return {
        "properties": {
            "primaryFabricId": "/fabrics/asr-cs-prod01-fabric",
            "recoveryFabricId": "Microsoft Azure",
            "failoverDeploymentModel": "ResourceManager",
            "groups": [
                {"groupType": "Shutdown", "replicationProtectedItems": [], "startGroupActions": [], "endGroupActions": []},
                {"groupType": "Failover", "replicationProtectedItems": [], "startGroupActions": [], "endGroupActions": []},
                *boots,
            ],
        }
    }


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# ---------------------------------------------------------------------------------------------------------------
# Resource rules: (rule, type, compliant factory, path, value, config, expect a violation)

CASES = [
    # storage
    ("storage-https-only", SA, storage_account, None, None, None, False),
    ("storage-https-only", SA, storage_account, "enableHttpsTrafficOnly", False, None, True),
    ("storage-https-only", SA, storage_account, "enableHttpsTrafficOnly", DELETE, None, True),
    ("storage-minimum-tls-1-2", SA, storage_account, None, None, None, False),
    ("storage-minimum-tls-1-2", SA, storage_account, "minimumTlsVersion", "TLS1_3", None, False),
    ("storage-minimum-tls-1-2", SA, storage_account, "minimumTlsVersion", "TLS1_0", None, True),
    ("storage-minimum-tls-1-2", SA, storage_account, "minimumTlsVersion", DELETE, None, True),
    ("storage-no-public-blob-access", SA, storage_account, None, None, None, False),
    ("storage-no-public-blob-access", SA, storage_account, "allowBlobPublicAccess", True, None, True),
    ("storage-no-public-blob-access", SA, storage_account, "allowBlobPublicAccess", DELETE, None, True),
    ("storage-geo-redundant", SA, storage_account, None, None, None, False),
    ("storage-geo-redundant", SA, storage_account, "sku.name", "Standard_LRS", None, True),
    ("storage-geo-redundant", SA, storage_account, "sku", DELETE, None, True),
    # vault
    ("vault-soft-delete-enabled", VAULT, vault, None, None, None, False),
    ("vault-soft-delete-enabled", VAULT, vault, "properties.securitySettings.softDeleteSettings.softDeleteState",
     "AlwaysON", None, False),
    ("vault-soft-delete-enabled", VAULT, vault, "properties.securitySettings.softDeleteSettings.softDeleteState",
     "Disabled", None, True),
    ("vault-soft-delete-enabled", VAULT, vault, "properties.securitySettings", DELETE, None, True),
    ("vault-managed-identity", VAULT, vault, None, None, None, False),
    ("vault-managed-identity", VAULT, vault, "identity.type", "SystemAssigned, UserAssigned", None, False),
    ("vault-managed-identity", VAULT, vault, "identity.type", "None", None, True),
    ("vault-managed-identity", VAULT, vault, "identity", DELETE, None, True),
    ("vault-immutability-enabled", VAULT, vault, None, None, None, False),
    ("vault-immutability-enabled", VAULT, vault, "properties.securitySettings.immutabilitySettings.state", "Disabled",
     None, True),
    ("vault-immutability-enabled", VAULT, vault, "properties.securitySettings.immutabilitySettings", DELETE, None, True),
    # network
    ("nsg-no-inbound-from-internet", NSG, nsg, None, None, None, False),
    ("nsg-no-inbound-from-internet", NSG, nsg, "securityRules.0.sourceAddressPrefixes", ["*"], None, True),
    ("nsg-no-inbound-from-internet", NSG, nsg, "securityRules.0.sourceAddressPrefixes", ["Internet"], None, True),
    ("nsg-no-inbound-from-internet", NSG, nsg, "securityRules.0.sourceAddressPrefixes", ["20.50.0.0/16"], None, True),
    ("nsg-no-inbound-from-internet", NSG, nsg, "securityRules.1.access", "Allow", None, True),
    ("nsg-no-inbound-from-internet", NSG, nsg, "securityRules", DELETE, None, False),
    ("nsg-allow-only-asr-ports-from-on-prem", NSG, nsg, None, None, {"allowedSourceRanges": ["10.10.0.0/16"]}, False),
    ("nsg-allow-only-asr-ports-from-on-prem", NSG, nsg, "securityRules.0.destinationPortRanges", ["443", "3389"],
     None, True),
    ("nsg-allow-only-asr-ports-from-on-prem", NSG, nsg, "securityRules.0.destinationPortRanges", ["*"], None, True),
    ("nsg-allow-only-asr-ports-from-on-prem", NSG, nsg, "securityRules.0.destinationPortRanges", DELETE, None, True),
    ("nsg-allow-only-asr-ports-from-on-prem", NSG, nsg, "securityRules.0.sourceAddressPrefixes", ["10.99.0.0/24"],
     {"allowedSourceRanges": ["10.10.0.0/16"]}, True),
    # without the stack's ranges only ports are checked
    ("nsg-allow-only-asr-ports-from-on-prem", NSG, nsg, "securityRules.0.sourceAddressPrefixes", ["10.99.0.0/24"],
     None, False),
    ("nsg-allow-only-asr-ports-from-on-prem", NSG, nsg, "securityRules", DELETE, None, False),
    ("nic-no-public-ip", "azure-native:network:NetworkInterface", lambda: {"ipConfigurations": [{"name": "ip1"}]},
     None, None, None, False),
    ("nic-no-public-ip", "azure-native:network:NetworkInterface", lambda: {"ipConfigurations": [{"name": "ip1"}]},
     "ipConfigurations.0.publicIPAddress", {"id": "/pip"}, None, True),
    ("nic-no-public-ip", "azure-native:network:NetworkInterface", lambda: {"ipConfigurations": [{"name": "ip1"}]},
     "ipConfigurations", DELETE, None, False),
    # compute
    ("vm-managed-disks", VM, vm, None, None, None, False),
    ("vm-managed-disks", VM, vm, "storageProfile.osDisk.vhd", {"uri": "https://st/vhds/os.vhd"}, None, True),
    ("vm-managed-disks", VM, vm, "storageProfile.dataDisks.0.vhd", {"uri": "https://st/vhds/d.vhd"}, None, True),
    ("vm-managed-disks", VM, vm, "storageProfile", DELETE, None, True),
    ("vm-encryption-at-host-or-disk-encryption", VM, vm, None, None, None, False),
    ("vm-encryption-at-host-or-disk-encryption", VM, vm, "securityProfile.encryptionAtHost", False, None, True),
    ("vm-encryption-at-host-or-disk-encryption", VM, vm, "securityProfile", DELETE, None, True),
    ("vm-no-password-in-custom-data", VM, vm, None, None, None, False),
    ("vm-no-password-in-custom-data", VM, vm, "osProfile.customData", b64("cspsconfigtool /passphrase S3cret!"),
     None, True),
    ("vm-no-password-in-custom-data", VM, vm, "osProfile.customData", b64("ADMIN_PASSWORD=hunter2\n"), None, True),
    ("vm-no-password-in-custom-data", VM, vm, "osProfile.customData", "[secret]", None, True),
    ("vm-no-password-in-custom-data", VM, vm, "osProfile.customData", DELETE, None, False),
    # automation
    ("automation-variables-encrypted", "azure-native:automation:Variable", lambda: {"isEncrypted": True},
     None, None, None, False),
    ("automation-variables-encrypted", "azure-native:automation:Variable", lambda: {"isEncrypted": True},
     "isEncrypted", False, None, True),
    ("automation-variables-encrypted", "azure-native:automation:Variable", lambda: {"isEncrypted": True},
     "isEncrypted", DELETE, None, True),
    # replication policy
    ("replication-rpo-threshold-within-bound", POLICY, replication_policy, None, None,
     {"maxRpoThresholdMinutes": 30}, False),
    ("replication-rpo-threshold-within-bound", POLICY, replication_policy,
     "properties.providerSpecificInput.recoveryPointThresholdInMinutes", 45, {"maxRpoThresholdMinutes": 30}, True),
    # the schema default (60) applies without stack context
    ("replication-rpo-threshold-within-bound", POLICY, replication_policy,
     "properties.providerSpecificInput.recoveryPointThresholdInMinutes", 45, None, False),
    ("replication-rpo-threshold-within-bound", POLICY, replication_policy,
     "properties.providerSpecificInput.recoveryPointThresholdInMinutes", DELETE, None, True),
    ("replication-rpo-threshold-within-bound", POLICY, lambda: replication_policy("InMage"),
     "properties.providerSpecificInput.recoveryPointThresholdInMinutes", 90, None, True),
    ("replication-rpo-threshold-within-bound", POLICY, lambda: replication_policy("InMageRcm"),
     "properties.providerSpecificInput.recoveryPointThresholdInMinutes", 90, None, False),
    ("replication-retention-within-bound", POLICY, replication_policy,
     "properties.providerSpecificInput.recoveryPointHistory", 72 * 60, None, False),
    ("replication-retention-within-bound", POLICY, replication_policy,
     "properties.providerSpecificInput.recoveryPointHistory", 72 * 60 + 1, None, True),
    ("replication-retention-within-bound", POLICY, replication_policy,
     "properties.providerSpecificInput.recoveryPointHistory", 25 * 60, {"maxRetentionHours": 24}, True),
    ("replication-retention-within-bound", POLICY, replication_policy,
     "properties.providerSpecificInput.recoveryPointHistory", 15 * 24 * 60, {"maxRetentionHours": 360}, False),
    ("replication-retention-within-bound", POLICY, replication_policy,
     "properties.providerSpecificInput.recoveryPointHistory", 15 * 24 * 60 + 1, {"maxRetentionHours": 360}, True),
    ("replication-retention-within-bound", POLICY, replication_policy,
     "properties.providerSpecificInput.recoveryPointHistory", DELETE, None, True),
    ("replication-app-consistent-frequency", POLICY, replication_policy, None, None, None, False),
    ("replication-app-consistent-frequency", POLICY, replication_policy,
     "properties.providerSpecificInput.appConsistentFrequencyInMinutes", 30, None, True),
    ("replication-app-consistent-frequency", POLICY, replication_policy,
     "properties.providerSpecificInput.appConsistentFrequencyInMinutes", 721, None, True),
    ("replication-app-consistent-frequency", POLICY, replication_policy,
     "properties.providerSpecificInput.appConsistentFrequencyInMinutes", 1440, {}, True),
    ("replication-app-consistent-frequency", POLICY, replication_policy,
     "properties.providerSpecificInput.appConsistentFrequencyInMinutes", DELETE, None, True),
    ("replication-multi-vm-sync-only-when-used", POLICY, replication_policy, None, None,
     {"multiVmSyncUsedBy": ["erp/database"]}, False),
    ("replication-multi-vm-sync-only-when-used", POLICY, replication_policy, None, None,
     {"multiVmSyncUsedBy": []}, True),
    ("replication-multi-vm-sync-only-when-used", POLICY, replication_policy,
     "properties.providerSpecificInput.multiVmSyncStatus", "Disable", {"multiVmSyncUsedBy": []}, False),
    # undecidable without the plans: silent
    ("replication-multi-vm-sync-only-when-used", POLICY, replication_policy, None, None, None, False),
    ("replication-multi-vm-sync-only-when-used", POLICY, replication_policy,
     "properties.providerSpecificInput.multiVmSyncStatus", DELETE, {"multiVmSyncUsedBy": []}, False),
    # replication policy, modernized (InMageRcm / InMageRcmFailback field names)
    ("replication-retention-within-bound", POLICY, rcm_policy, None, None, {"maxRetentionHours": 360}, False),
    ("replication-retention-within-bound", POLICY, rcm_policy, "properties.providerSpecificInput.recoveryPointHistoryInMinutes", 0,
     {"maxRetentionHours": 360}, False),  # InMageRcm takes 0
    ("replication-retention-within-bound", POLICY, rcm_policy, "properties.providerSpecificInput.recoveryPointHistoryInMinutes", 21601,
     {"maxRetentionHours": 360}, True),
    ("replication-retention-within-bound", POLICY, rcm_policy, "properties.providerSpecificInput.recoveryPointHistoryInMinutes", 4321, None, True),
    ("replication-retention-within-bound", POLICY, rcm_policy, "properties.providerSpecificInput.recoveryPointHistoryInMinutes", DELETE, None, True),
    # the classic field name on an InMageRcm policy is not its history: still missing
    ("replication-retention-within-bound", POLICY, lambda: changed(rcm_policy(), "properties.providerSpecificInput.recoveryPoint" "History", 60),
     "properties.providerSpecificInput.recoveryPointHistoryInMinutes", DELETE, None, True),
    ("replication-retention-within-bound", POLICY, rcm_failback_policy, None, None, None, False),  # has no history
    ("replication-app-consistent-frequency", POLICY, rcm_policy, None, None, None, False),
    ("replication-app-consistent-frequency", POLICY, rcm_policy, "properties.providerSpecificInput.appConsistentFrequencyInMinutes", 0, None, False),
    ("replication-app-consistent-frequency", POLICY, rcm_policy, "properties.providerSpecificInput.appConsistentFrequencyInMinutes", 30, None, True),
    ("replication-app-consistent-frequency", POLICY, lambda: changed(rcm_policy(), "properties.providerSpecificInput.recoveryPointHistoryInMinutes",
                                                                     60), "properties.providerSpecificInput.appConsistentFrequencyInMinutes", 120,
     None, True),  # above the history
    ("replication-app-consistent-frequency", POLICY, rcm_policy, "properties.providerSpecificInput.appConsistentFrequencyInMinutes", DELETE, None,
     True),
    ("replication-app-consistent-frequency", POLICY, rcm_failback_policy, "properties.providerSpecificInput.appConsistentFrequencyInMinutes", 900,
     None, True),
    ("replication-multi-vm-sync-only-when-used", POLICY, rcm_policy, None, None, {"multiVmSyncUsedBy": []}, True),
    ("replication-multi-vm-sync-only-when-used", POLICY, rcm_policy, None, None,
     {"multiVmSyncUsedBy": ["erp/database"]}, False),
    ("replication-multi-vm-sync-only-when-used", POLICY, rcm_policy, "properties.providerSpecificInput.enableMultiVmSync", "false",
     {"multiVmSyncUsedBy": []}, False),
    # InMageRcm has no threshold field: the RPO alert's tag carries it
    ("replication-rpo-threshold-within-bound", "azure-native:monitor:ScheduledQueryRule", rpo_alert, None, None,
     {"maxRpoThresholdMinutes": 30}, False),
    ("replication-rpo-threshold-within-bound", "azure-native:monitor:ScheduledQueryRule", rpo_alert,
     "tags.rpoThresholdMinutes", "45", {"maxRpoThresholdMinutes": 30}, True),
    ("replication-rpo-threshold-within-bound", "azure-native:monitor:ScheduledQueryRule", rpo_alert,
     "tags.rpoThresholdMinutes", DELETE, None, True),
    ("replication-rpo-threshold-within-bound", "azure-native:monitor:ScheduledQueryRule",
     lambda: {"ruleName": "other", "criteria": {"allOf": [{"query": "Heartbeat"}]}}, None, None, None, False),
    ("replication-crash-consistent-every-5-minutes", POLICY, rcm_policy, None, None, None, False),
    ("replication-crash-consistent-every-5-minutes", POLICY, rcm_policy, "properties.providerSpecificInput.crashConsistentFrequencyInMinutes", 10,
     None, True),
    ("replication-crash-consistent-every-5-minutes", POLICY, rcm_policy, "properties.providerSpecificInput.crashConsistentFrequencyInMinutes",
     DELETE, None, True),
    ("replication-crash-consistent-every-5-minutes", POLICY, replication_policy, None, None, None, False),
    ("replication-crash-consistent-every-5-minutes", POLICY, replication_policy, "properties.providerSpecificInput.crashConsistentFrequencyInMinutes",
     15, None, True),
    # the failback policy's frequency is free (Microsoft's CLI test sets 10), but must be set
    ("replication-crash-consistent-every-5-minutes", POLICY, rcm_failback_policy,
     "properties.providerSpecificInput.crashConsistentFrequencyInMinutes", 10, None, False),
    ("replication-crash-consistent-every-5-minutes", POLICY, rcm_failback_policy,
     "properties.providerSpecificInput.crashConsistentFrequencyInMinutes", DELETE, None, True),
    ("replication-crash-consistent-every-5-minutes", POLICY, lambda: replication_policy("InMage"),
     "properties.providerSpecificInput.crashConsistentFrequencyInMinutes", DELETE, None, False),  # InMage has no such field
    ("replication-rcm-multi-vm-sync-is-a-string", POLICY, rcm_policy, None, None, None, False),
    ("replication-rcm-multi-vm-sync-is-a-string", POLICY, rcm_policy, "properties.providerSpecificInput.enableMultiVmSync", "false", None, False),
    ("replication-rcm-multi-vm-sync-is-a-string", POLICY, rcm_policy, "properties.providerSpecificInput.enableMultiVmSync", True, None, True),
    ("replication-rcm-multi-vm-sync-is-a-string", POLICY, rcm_policy, "properties.providerSpecificInput.enableMultiVmSync", "Enable", None, True),
    ("replication-rcm-multi-vm-sync-is-a-string", POLICY, rcm_policy, "properties.providerSpecificInput.enableMultiVmSync", DELETE, None, True),
    ("replication-rcm-multi-vm-sync-is-a-string", POLICY, replication_policy, None, None, None, False),
    # recovery plans
    ("recovery-plan-boot-group-limit", PLAN, lambda: recovery_plan(7), None, None, None, False),
    ("recovery-plan-boot-group-limit", PLAN, lambda: recovery_plan(8), None, None, None, True),
    ("recovery-plan-boot-group-limit", PLAN, recovery_plan, "properties.groups", DELETE, None, False),
    ("recovery-plan-item-limit", PLAN, lambda: recovery_plan(2, 50), None, None, None, False),
    ("recovery-plan-item-limit", PLAN, lambda: recovery_plan(3, 34), None, None, None, True),
    ("recovery-plan-item-limit", PLAN, recovery_plan, "properties", DELETE, None, False),
    ("recovery-plan-group-order", PLAN, recovery_plan, None, None, None, False),
    ("recovery-plan-group-order", PLAN, recovery_plan, "properties.groups.0.groupType", "Boot", None, True),
    ("recovery-plan-group-order", PLAN, recovery_plan, "properties.groups.2.groupType", "Failover", None, True),
    ("recovery-plan-group-order", PLAN, recovery_plan, "properties.groups.3.groupType", DELETE, None, True),
    ("recovery-plan-group-order", PLAN, lambda: recovery_plan(0), None, None, None, True),
    ("recovery-plan-actions-complete", PLAN, recovery_plan, None, None, None, False),
    ("recovery-plan-actions-complete", PLAN, recovery_plan, "properties.groups.2.startGroupActions.0.failoverTypes",
     [], None, True),
    ("recovery-plan-actions-complete", PLAN, recovery_plan,
     "properties.groups.2.endGroupActions.0.failoverDirections", DELETE, None, True),
    ("recovery-plan-actions-complete", PLAN, recovery_plan, "properties.groups.2.endGroupActions.0.customDetails",
     DELETE, None, True),
    # failback (the VPN gateway exists only for failback, so it is always in scope)
    ("failback-resources-tagged-temporary", GW, lambda: {"tags": {"temporary": "true", "expiresOn": "2027-03-31"}},
     None, None, None, False),
    ("failback-resources-tagged-temporary", GW, lambda: {"tags": {"temporary": "true", "expiresOn": "2027-03-31"}},
     "tags.temporary", "false", None, True),
    ("failback-resources-tagged-temporary", GW, lambda: {"tags": {"temporary": "true", "expiresOn": "2027-03-31"}},
     "tags.expiresOn", DELETE, None, True),
    # tags
    ("required-tags", SA, storage_account, None, None, None, False),
    ("required-tags", SA, storage_account, "tags.owner", DELETE, None, True),
    ("required-tags", SA, storage_account, "tags.drTier", "", None, True),
    ("required-tags", SA, storage_account, "tags", DELETE, None, True),
    ("required-tags", SA, storage_account, "tags.drTier", DELETE, {"requiredTags": ["owner"]}, False),
    # not taggable in azure-native, and declares no tags
    ("required-tags", POLICY, replication_policy, None, None, None, False),
    ("required-tags", "vsphere:index/virtualMachine:VirtualMachine", lambda: {"tags": ["urn:vmomi:tag-1"]},
     None, None, None, False),
]


def _case_id(case: tuple) -> str:
    rule, _, _, path, value, config, expect = case
    change = "compliant" if path is None else f"{path}={'<missing>' if value is DELETE else value!r}"
    return f"{rule}-{change}{'-config' if config else ''}-{'violates' if expect else 'passes'}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_resource_rule(case: tuple) -> None:
    rule, rtype, factory, path, value, config, expect = case
    props = factory() if path is None else changed(factory(), path, value)
    found = violations(rule, rtype, props, config)
    assert bool(found) is expect, found


def test_every_resource_rule_has_compliant_violating_and_missing_cases() -> None:
    covered: dict[str, set[str]] = {}
    for rule, _, _, _path, value, _, expect in CASES:
        kinds = covered.setdefault(rule, set())
        kinds.add("missing" if value is DELETE else "violating" if expect else "compliant")
    resource_rules = {r.name for r in RULES_BY_NAME.values() if not r.stack}
    assert set(covered) == resource_rules
    for rule, kinds in covered.items():
        assert kinds == {"compliant", "violating", "missing"}, rule


def test_violation_message_states_the_fix() -> None:
    [message] = violations("storage-minimum-tls-1-2", SA, changed(storage_account(), "minimumTlsVersion", "TLS1_0"))
    assert "TLS1_0" in message and "set minimumTlsVersion: TLS1_2" in message


def test_cache_account_is_waived_from_geo_replication() -> None:
    assert violations("storage-geo-redundant", SA, cache_account(), name="dr-cache-st", parent=CACHE_PARENT) == []
    assert violations("storage-geo-redundant", SA, cache_account(), name="artifacts-st")


def test_nsg_standalone_security_rule_is_checked_like_an_inline_one() -> None:
    rule = {"name": "rdp", "direction": "Inbound", "access": "Allow", "sourceAddressPrefix": "*",
            "destinationPortRange": "3389"}
    assert violations("nsg-no-inbound-from-internet", "azure-native:network:SecurityRule", rule)
    assert violations("nsg-allow-only-asr-ports-from-on-prem", "azure-native:network:SecurityRule", rule)


def test_vm_public_ip_configuration_is_caught() -> None:
    props = {"networkProfile": {"networkInterfaceConfigurations": [
        {"name": "nic", "ipConfigurations": [{"name": "ip", "publicIPAddressConfiguration": {"name": "pip"}}]}]}}
    assert violations("nic-no-public-ip", VM, props)


def test_vm_disk_encryption_set_counts_as_encryption() -> None:
    props = changed(vm(), "securityProfile", DELETE)
    props = changed(props, "storageProfile.osDisk.managedDisk.diskEncryptionSet", {"id": "/des/x"})
    assert violations("vm-encryption-at-host-or-disk-encryption", VM, props) == []


@pytest.mark.parametrize(
    ("tags", "name", "expected"),
    [
        ({"temporary": "true", "expiresOn": "2027-03-31"}, "dr-failback-vpngw", 0),
        ({"temporary": "true"}, "dr-failback-vpngw", 1),
        ({"temporary": "true", "expiresOn": "next spring"}, "dr-failback-vpngw", 1),
        ({}, "dr-failback-vpngw", 2),
        (None, "dr-failback-vpngw", 2),
    ],
    ids=["tagged", "no-expiry", "expiry-not-a-date", "untagged", "tags-missing"],
)
def test_failback_gateway_is_tagged_temporary(tags: dict | None, name: str, expected: int) -> None:
    props = {} if tags is None else {"tags": tags}
    assert len(violations("failback-resources-tagged-temporary", "azure-native:network:VirtualNetworkGateway",
                          props, name=name)) == expected


def test_failback_tags_apply_to_failback_vm_only() -> None:
    untagged = changed(vm(), "tags", dict(TAGS))
    assert violations("failback-resources-tagged-temporary", VM, untagged, name="dr-failback-ps-vm")
    assert violations("failback-resources-tagged-temporary", VM, untagged, name="app-vm") == []
    custom = {"temporaryTag": "lifecycle", "expiryTag": "deleteAfter"}
    tagged = changed(vm(), "tags", {"lifecycle": "true", "deleteAfter": "2027-01-01"})
    assert violations("failback-resources-tagged-temporary", VM, tagged, config=custom, name="dr-failback-ps") == []


# ---------------------------------------------------------------------------------------------------------------
# Stack rules

VAULT_RES = lambda **kw: res(VAULT, "dr-vault-rsv", {**vault(), **kw})  # noqa: E731


def test_shared_key_must_be_off_on_cache_when_vault_has_identity() -> None:
    open_cache = res(SA, "dr-cache-st", changed(cache_account(), "allowSharedKeyAccess", DELETE), CACHE_PARENT)
    closed_cache = res(SA, "dr-cache-st", cache_account(), CACHE_PARENT)
    artifacts = res(SA, "dr-artifacts-st", changed(storage_account(), "allowSharedKeyAccess", True))
    rule = "storage-shared-key-disabled-with-vault-identity"
    [(message, urn)] = stack_violations(rule, [VAULT_RES(), open_cache, artifacts])
    assert urn == open_cache.urn and "allowSharedKeyAccess" in message
    assert stack_violations(rule, [VAULT_RES(), closed_cache, artifacts]) == []
    assert stack_violations(rule, [VAULT_RES(identity={"type": "None"}), open_cache]) == []
    assert stack_violations(rule, [open_cache]) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [(None, None, 0), ("kind", "Storage", 1), ("kind", DELETE, 1), ("sku.name", "Premium_LRS", 1),
     ("location", "northeurope", 1), ("location", DELETE, 1)],
    ids=["compliant", "kind-v1", "kind-missing", "premium", "other-region", "location-missing"],
)
def test_cache_account_profile(path: str | None, value: Any, expected: int) -> None:
    props = cache_account() if path is None else changed(cache_account(), path, value)
    found = stack_violations("cache-storage-account-profile", [VAULT_RES(), res(SA, "dr-cache-st", props, CACHE_PARENT)])
    assert len(found) == expected, found


def _private_endpoint(group: str) -> Any:
    return res("azure-native:network:PrivateEndpoint", f"pe-{group}", {
        "privateLinkServiceConnections": [{"name": "c", "groupIds": [group], "privateLinkServiceId": "/x"}]})


def test_vault_public_access_is_advisory_without_and_mandatory_with_private_endpoint() -> None:
    public = VAULT_RES(properties={**vault()["properties"], "publicNetworkAccess": "Enabled"})
    advisory, mandatory = "vault-public-network-access-disabled", "vault-private-endpoint-public-access-disabled"
    assert len(stack_violations(advisory, [public])) == 1
    assert stack_violations(mandatory, [public]) == []
    # a storage private endpoint is not a vault private endpoint
    assert stack_violations(mandatory, [public, _private_endpoint("blob")]) == []
    assert len(stack_violations(mandatory, [public, _private_endpoint("AzureSiteRecovery")])) == 1
    assert stack_violations(advisory, [public, _private_endpoint("AzureSiteRecovery")]) == []
    assert stack_violations(mandatory, [VAULT_RES(), _private_endpoint("AzureSiteRecovery")]) == []
    assert stack_violations(advisory, [VAULT_RES()]) == []


def _vnet(name: str, prefix: str, **extra: Any) -> Any:
    return res("azure-native:network:VirtualNetwork", name,
               {"virtualNetworkName": name, "addressSpace": {"addressPrefixes": [prefix]}, **extra})


def test_test_failover_network_isolated() -> None:
    rule, config = "test-failover-network-isolated", {"testFailoverAddressSpace": ["10.160.0.0/16"]}
    recovery, test = _vnet("vnet-recovery", "10.60.0.0/16"), _vnet("vnet-drill", "10.160.0.0/16")
    assert stack_violations(rule, [recovery, test], config) == []
    overlapping = _vnet("vnet-drill", "10.60.128.0/17")
    found = stack_violations(rule, [recovery, overlapping], {"testFailoverAddressSpace": ["10.60.128.0/17"]})
    assert len(found) == 1 and "overlaps" in found[0][0]
    peering = res("azure-native:network:VirtualNetworkPeering", "peer",
                  {"virtualNetworkName": "vnet-drill", "remoteVirtualNetwork": {"id": "/vnets/vnet-recovery"}})
    found = stack_violations(rule, [recovery, test, peering], config)
    assert [urn for _, urn in found] == [peering.urn]
    inline = _vnet("vnet-drill", "10.160.0.0/16", virtualNetworkPeerings=[{"name": "p"}])
    assert len(stack_violations(rule, [recovery, inline], config)) == 1
    # without the stack's address space the test network is recognised by name
    assert len(stack_violations(rule, [recovery, _vnet("vnet-test", "10.60.0.0/24")])) == 1


def test_automation_account_in_vault_subscription() -> None:
    rule, auto = "automation-account-in-vault-subscription", "azure-native:automation:AutomationAccount"
    config = {"subscriptionId": "3f2b6c1e-8d4a-4b7e-9c21-5a6d7e8f9a01"}
    assert stack_violations(rule, [VAULT_RES(), res(auto, "aa", {})], config) == []
    other = res(auto, "aa", {}, provider_sub="00000000-0000-0000-0000-000000000001")
    [(message, urn)] = stack_violations(rule, [VAULT_RES(), other], config)
    assert urn == other.urn and "00000000-0000-0000-0000-000000000001" in message
    same = res(auto, "aa", {}, provider_sub=config["subscriptionId"])
    assert stack_violations(rule, [VAULT_RES(), same], config) == []
    assert stack_violations(rule, [other], config) == []  # no vault: nothing to compare with


def _connection(kind: str) -> Any:
    return res("azure-native:network:VirtualNetworkGatewayConnection", f"conn-{kind}", {"connectionType": kind})


def test_failback_connectivity_present() -> None:
    rule = "failback-connectivity-present"
    gateway = res("azure-native:network:VirtualNetworkGateway", "dr-failback-vpngw", {})
    local = res("azure-native:network:LocalNetworkGateway", "dr-failback-lgw", {})
    assert len(stack_violations(rule, [VAULT_RES()], {"failbackEnabled": True})) == 1
    assert stack_violations(rule, [gateway, local, _connection("IPsec")], {"failbackEnabled": True}) == []
    assert len(stack_violations(rule, [gateway, _connection("IPsec")], {"failbackEnabled": True})) == 1
    assert stack_violations(rule, [_connection("ExpressRoute")], {"failbackEnabled": True}) == []
    assert stack_violations(rule, [VAULT_RES()], {"failbackEnabled": False}) == []
    # no stack context: a failback process server in the stack means failback is on
    assert len(stack_violations(rule, [res(VM, "dr-failback-ps-vm", vm())])) == 1


def test_replication_not_over_site_to_site_vpn() -> None:
    rule = "replication-not-over-site-to-site-vpn"
    lgw = "azure-native:network:LocalNetworkGateway"
    on_prem = res(lgw, "lgw", {"localNetworkAddressSpace": {"addressPrefixes": ["10.20.0.0/16"]}})
    tunnel = res(lgw, "lgw", {"localNetworkAddressSpace": {"addressPrefixes": ["10.20.0.0/16", "0.0.0.0/0"]}})
    assert stack_violations(rule, [on_prem]) == []
    assert len(stack_violations(rule, [tunnel])) == 1
    table = res("azure-native:network:RouteTable", "rt", {"routes": [
        {"name": "to-onprem", "addressPrefix": "10.20.0.0/16", "nextHopType": "VirtualNetworkGateway"},
        {"name": "storage", "addressPrefix": "Storage.WestEurope", "nextHopType": "VirtualNetworkGateway"}]})
    [(message, _)] = stack_violations(rule, [table])
    assert "Storage.WestEurope" in message
    route = res("azure-native:network:Route", "r", {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualNetworkGateway"})
    assert len(stack_violations(rule, [route])) == 1
    private_cache = res(SA, "dr-cache-st", {**cache_account(), "publicNetworkAccess": "Disabled"}, CACHE_PARENT)
    assert len(stack_violations(rule, [private_cache])) == 1
    assert stack_violations(rule, [private_cache, _connection("ExpressRoute")]) == []


def test_protected_items_covered_by_plan() -> None:
    rule, item_type = "protected-items-covered-by-plan", "azure-native:recoveryservices:ReplicationProtectedItem"
    covered = res(item_type, "m0-0", {"replicatedProtectedItemName": "m0-0"})
    orphan = res(item_type, "orphan", {"replicatedProtectedItemName": "orphan"})
    plan = res(PLAN, "plan", recovery_plan(1))
    [(message, urn)] = stack_violations(rule, [covered, orphan, plan])
    assert urn == orphan.urn and "orphan" in message
    # ids unknown until deployment: a dependency of the plan on the item counts
    by_dependency = res(PLAN, "plan2", {"properties": {"groups": []}}, dependencies=(orphan,))
    assert stack_violations(rule, [covered, orphan, plan, by_dependency]) == []
    assert stack_violations(rule, [plan]) == []


# ---------------------------------------------------------------------------------------------------------------
# Stack rules: the same three cases for each, table-driven like the resource rules
# (rule, resources factory, config, expected violation count, kind)

CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
BLOB_DATA = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
VAULT_PRINCIPAL = "7ac8e1e4-ed0e-51fb-a0d7-bacda97e8f12"
CACHE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stasrcachedevweu"
RA = "azure-native:authorization:RoleAssignment"


def _vault_with_principal(**identity: Any) -> Any:
    return res(VAULT, "dr-vault-rsv", {**vault(), "identity": {"type": "SystemAssigned", "principalId": VAULT_PRINCIPAL,
                                                             **identity}})


def _closed_cache(**extra: Any) -> Any:
    return res(SA, "dr-cache-st", {**cache_account(), **extra}, CACHE_PARENT)


def _role(role: str, name: str | None = None, **props: Any) -> Any:
    base = {"scope": CACHE_ID, "principalId": VAULT_PRINCIPAL, "principalType": "ServicePrincipal",
            "roleDefinitionId": f"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{role}"}
    return res(RA, name or f"ra-{role[:8]}", {**base, **props}, CACHE_PARENT)


def _provider_without_subscription() -> Any:
    import pulumi_policy as pp

    provider = pp.PolicyProviderResource("pulumi:providers:azure-native", _wrap({}),
                                         f"{STACK}pulumi:providers:azure-native::p", "p")
    return pp.PolicyResource("azure-native:automation:AutomationAccount", _wrap({}),
                             urn_of("azure-native:automation:AutomationAccount", "aa"), "aa", _opts(), provider, None,
                             [], {})


SUB = "3f2b6c1e-8d4a-4b7e-9c21-5a6d7e8f9a01"
LGW = "azure-native:network:LocalNetworkGateway"
CONN = "azure-native:network:VirtualNetworkGatewayConnection"
ITEM = "azure-native:recoveryservices:ReplicationProtectedItem"
PE_ASR = lambda: _private_endpoint("AzureSiteRecovery")  # noqa: E731
PUBLIC = {**vault()["properties"], "publicNetworkAccess": "Enabled"}
NO_PUBLIC_ACCESS = {k: v for k, v in vault()["properties"].items() if k != "publicNetworkAccess"}


SUBNET = "azure-native:network:Subnet"
APPLIANCES = "asrctl:dr:ReplicationAppliances"
VSPHERE_VM = "vsphere:index/virtualMachine:VirtualMachine"
MAPPING = "azure-native:recoveryservices:ReplicationProtectionContainerMapping"
MODERNIZED = {"architecture": "modernized"}


def _subnets(vnet: str, *names: str) -> list[Any]:
    return [res(SUBNET, f"{vnet}-{n}", {"subnetName": n, "virtualNetworkName": vnet}) for n in names]


def _networks(test_names: tuple[str, ...] = ("snet-db", "snet-app")) -> list[Any]:
    return [_vnet("vnet-recovery", "10.70.0.0/16"), *_subnets("vnet-recovery", "snet-db", "snet-app"),
            _vnet("vnet-test", "10.170.0.0/16"), *_subnets("vnet-test", *test_names)]


def _appliance(name: str, role: str | None) -> Any:
    props = {"name": name, "extraConfig": {"guestinfo.asr.role": role} if role else {}}
    return res(VSPHERE_VM, name, props, APPLIANCES)


def _rcm_item(name: str, **details: Any) -> Any:
    base = {"instanceType": "InMageRcm", "targetSubnetName": "snet-db", "testSubnetName": "snet-db"}
    return res(ITEM, name, {"replicatedProtectedItemName": name, "resourceName": "rsv-asr-prod-weu",
                            "properties": {"providerSpecificDetails": {**base, **details}}})


def _rcm_policies(failback: bool = True) -> list[Any]:
    policies = [res(POLICY, "dr-policies-replication", {**rcm_policy(), "id": "/v/replicationPolicies/fwd"})]
    if failback:
        policies.append(res(POLICY, "dr-policies-failback", {**rcm_failback_policy(), "id": "/v/replicationPolicies/fb"}))
    return policies


def _mapping(policy_id: str | None) -> Any:
    props = {"mappingName": "m", "properties": {"policyId": policy_id} if policy_id else {}}
    return res(MAPPING, f"map-{policy_id}", props)


PROD_VAULT = lambda: res(VAULT, "dr-vault-rsv", {**vault(), "vaultName": "rsv-asr-prod-weu"})  # noqa: E731

STACK_CASES = [
    ("automation-account-in-vault-subscription",
     lambda: [VAULT_RES(), res("azure-native:automation:AutomationAccount", "aa", {}, provider_sub=SUB)],
     {"subscriptionId": SUB}, 0, "compliant"),
    ("automation-account-in-vault-subscription",
     lambda: [VAULT_RES(), res("azure-native:automation:AutomationAccount", "aa", {}, provider_sub="other")],
     {"subscriptionId": SUB}, 1, "violating"),
    # a provider without subscriptionId is the stack's subscription, like the default provider
    ("automation-account-in-vault-subscription", lambda: [VAULT_RES(), _provider_without_subscription()],
     {"subscriptionId": SUB}, 0, "missing"),
    ("cache-storage-account-profile", lambda: [VAULT_RES(), _closed_cache()], None, 0, "compliant"),
    ("cache-storage-account-profile", lambda: [VAULT_RES(), _closed_cache(sku={"name": "Premium_LRS"})], None, 1,
     "violating"),
    ("cache-storage-account-profile",
     lambda: [VAULT_RES(), res(SA, "dr-cache-st", changed(cache_account(), "sku", DELETE), CACHE_PARENT)], None, 1,
     "missing"),
    # cache-storage-vault-identity-roles: matched by scope and principal strings ...
    ("cache-storage-vault-identity-roles",
     lambda: [_vault_with_principal(), _closed_cache(), _role(CONTRIBUTOR), _role(BLOB_DATA)], None, 0, "compliant"),
    # ... or by the dependency graph alone (ids unknown during preview never need reading)
    ("cache-storage-vault-identity-roles",
     lambda: (lambda v, c: [v, c,
                            res(RA, "ra-c", {"roleDefinitionId": f"/x/roleDefinitions/{CONTRIBUTOR}"}, CACHE_PARENT,
                                dependencies=(v, c)),
                            res(RA, "ra-b", {"roleDefinitionId": f"/x/roleDefinitions/{BLOB_DATA}"}, CACHE_PARENT,
                                dependencies=(v, c))])(VAULT_RES(), _closed_cache()),
     None, 0, "compliant"),
    ("cache-storage-vault-identity-roles",
     lambda: [_vault_with_principal(), _closed_cache(), _role(CONTRIBUTOR)], None, 1, "violating"),
    ("cache-storage-vault-identity-roles",
     lambda: [_vault_with_principal(), _closed_cache(), _role(CONTRIBUTOR), _role(BLOB_DATA, principalId="someone")],
     None, 1, "violating"),
    ("cache-storage-vault-identity-roles",
     lambda: [_vault_with_principal(), _closed_cache(), _role(CONTRIBUTOR),
              _role(BLOB_DATA, scope=CACHE_ID.replace("stasrcachedevweu", "stother"))], None, 1, "violating"),
    ("cache-storage-vault-identity-roles", lambda: [_vault_with_principal(), _closed_cache()], None, 1, "violating"),
    # a reviewed custom role set
    ("cache-storage-vault-identity-roles", lambda: [_vault_with_principal(), _closed_cache(), _role(BLOB_DATA)],
     {"requiredRoleIds": [BLOB_DATA]}, 0, "compliant"),
    ("cache-storage-vault-identity-roles",
     lambda: [_vault_with_principal(), _closed_cache(), _role(CONTRIBUTOR),
              res(RA, "ra-b", {"scope": CACHE_ID, "principalId": VAULT_PRINCIPAL}, CACHE_PARENT)], None, 1, "missing"),
    # the vault's principal is not known (no identity): string-matched assignments are someone else's
    ("cache-storage-vault-identity-roles",
     lambda: [VAULT_RES(identity={"type": "None"}), _closed_cache(), _role(CONTRIBUTOR), _role(BLOB_DATA)], None, 1,
     "missing"),
    # shared keys still on (allowSharedKeyAccess absent): the account key works, no roles needed
    ("cache-storage-vault-identity-roles",
     lambda: [_vault_with_principal(), res(SA, "dr-cache-st", changed(cache_account(), "allowSharedKeyAccess", DELETE),
                                           CACHE_PARENT)], None, 0, "missing"),
    ("failback-connectivity-present", lambda: [_connection("ExpressRoute")], {"failbackEnabled": True}, 0, "compliant"),
    ("failback-connectivity-present", lambda: [VAULT_RES()], {"failbackEnabled": True}, 1, "violating"),
    ("failback-connectivity-present", lambda: [res(CONN, "conn", {})], {"failbackEnabled": True}, 1, "missing"),
    ("protected-items-covered-by-plan",
     lambda: [res(ITEM, "m0-0", {"replicatedProtectedItemName": "m0-0"}), res(PLAN, "plan", recovery_plan(1))], None, 0,
     "compliant"),
    ("protected-items-covered-by-plan",
     lambda: [res(ITEM, "orphan", {"replicatedProtectedItemName": "orphan"}), res(PLAN, "plan", recovery_plan(1))],
     None, 1, "violating"),
    ("protected-items-covered-by-plan", lambda: [res(ITEM, "m0-0", {}), res(PLAN, "plan", {})], None, 1, "missing"),
    ("replication-not-over-site-to-site-vpn",
     lambda: [res(LGW, "lgw", {"localNetworkAddressSpace": {"addressPrefixes": ["10.20.0.0/16"]}})], None, 0,
     "compliant"),
    ("replication-not-over-site-to-site-vpn",
     lambda: [res(LGW, "lgw", {"localNetworkAddressSpace": {"addressPrefixes": ["0.0.0.0/0"]}})], None, 1, "violating"),
    ("replication-not-over-site-to-site-vpn",
     lambda: [res(LGW, "lgw", {}), res("azure-native:network:Route", "r", {"addressPrefix": "0.0.0.0/0"})], None, 0,
     "missing"),
    ("storage-shared-key-disabled-with-vault-identity", lambda: [VAULT_RES(), _closed_cache()], None, 0, "compliant"),
    ("storage-shared-key-disabled-with-vault-identity",
     lambda: [VAULT_RES(), _closed_cache(allowSharedKeyAccess=True)], None, 1, "violating"),
    ("storage-shared-key-disabled-with-vault-identity",
     lambda: [VAULT_RES(), res(SA, "dr-cache-st", changed(cache_account(), "allowSharedKeyAccess", DELETE),
                               CACHE_PARENT)], None, 1, "missing"),
    ("test-failover-network-isolated",
     lambda: [_vnet("vnet-recovery", "10.60.0.0/16"), _vnet("vnet-drill", "10.160.0.0/16")],
     {"testFailoverAddressSpace": ["10.160.0.0/16"]}, 0, "compliant"),
    ("test-failover-network-isolated",
     lambda: [_vnet("vnet-recovery", "10.60.0.0/16"), _vnet("vnet-test", "10.60.0.0/24")], None, 1, "violating"),
    ("test-failover-network-isolated",
     lambda: [_vnet("vnet-recovery", "10.60.0.0/16"), res("azure-native:network:VirtualNetwork", "vnet-test", {})],
     None, 0, "missing"),
    ("vault-private-endpoint-public-access-disabled", lambda: [VAULT_RES(), PE_ASR()], None, 0, "compliant"),
    ("vault-private-endpoint-public-access-disabled", lambda: [VAULT_RES(properties=PUBLIC), PE_ASR()], None, 1,
     "violating"),
    ("vault-private-endpoint-public-access-disabled", lambda: [VAULT_RES(properties=NO_PUBLIC_ACCESS), PE_ASR()], None,
     1, "missing"),
    ("vault-public-network-access-disabled", lambda: [VAULT_RES()], None, 0, "compliant"),
    ("vault-public-network-access-disabled", lambda: [VAULT_RES(properties=PUBLIC)], None, 1, "violating"),
    ("vault-public-network-access-disabled", lambda: [VAULT_RES(properties=NO_PUBLIC_ACCESS)], None, 1, "missing"),
    # modernized-vault-dedicated: never the vault of a classic stack, never both providers in one vault
    ("modernized-vault-dedicated", lambda: [PROD_VAULT(), *_rcm_policies()],
     {**MODERNIZED, "classicVaultNames": ["rsv-asr-legacy-weu"]}, 0, "compliant"),
    ("modernized-vault-dedicated", lambda: [PROD_VAULT(), *_rcm_policies()],
     {**MODERNIZED, "classicVaultNames": ["rsv-asr-prod-weu"]}, 1, "violating"),
    ("modernized-vault-dedicated",
     lambda: [*_rcm_policies(), res(POLICY, "classic", {**replication_policy(), "resourceName": "rsv-asr-prod-weu"})],
     None, 1, "violating"),
    # a vault without a name, policies without a provider: nothing to compare
    ("modernized-vault-dedicated", lambda: [res(VAULT, "v", {}), res(POLICY, "p", {"resourceName": "rsv-a"})],
     {**MODERNIZED, "classicVaultNames": ["rsv-a"]}, 0, "missing"),
    # replication-appliances-sufficient: one per 200 machines, a failback appliance beyond 60 disks
    ("replication-appliances-sufficient",
     lambda: [_appliance("ra1", "replication"), _appliance("ra2", "failback")],
     {**MODERNIZED, "protectedMachines": 40, "protectedDisks": 74, "failbackEnabled": True}, 0, "compliant"),
    ("replication-appliances-sufficient", lambda: [_appliance("ra1", "replication")],
     {**MODERNIZED, "protectedMachines": 201, "protectedDisks": 74, "failbackEnabled": True}, 2, "violating"),
    ("replication-appliances-sufficient", lambda: [_appliance("ra1", "replication"), _appliance("ra2", "failback")],
     {**MODERNIZED, "protectedMachines": 201, "protectedDisks": 10, "failbackEnabled": True}, 1, "violating"),
    # no role key: an appliance the ReplicationAppliances component built replicates; the machines are the items
    ("replication-appliances-sufficient", lambda: [_appliance("ra1", None), _rcm_item("m1")], None, 0, "missing"),
    ("replication-appliances-sufficient", lambda: [_rcm_item("m1")], None, 1, "missing"),
    # classic stacks are out of scope
    ("replication-appliances-sufficient", lambda: [res(POLICY, "p", replication_policy())],
     {"architecture": "classic", "protectedMachines": 500}, 0, "compliant"),
    # test-failover-subnets-named-like-recovery
    ("test-failover-subnets-named-like-recovery", lambda: [*_networks(), _rcm_item("m1")],
     {"testFailoverAddressSpace": ["10.170.0.0/16"]}, 0, "compliant"),
    ("test-failover-subnets-named-like-recovery", lambda: _networks(("snet-db", "snet-test-app")),
     {"testFailoverAddressSpace": ["10.170.0.0/16"]}, 1, "violating"),
    ("test-failover-subnets-named-like-recovery", lambda: [*_networks(), _rcm_item("m1", testSubnetName="snet-app")],
     {"testFailoverAddressSpace": ["10.170.0.0/16"]}, 1, "violating"),
    # subnets without names, an item without subnet names: nothing to compare, no crash
    ("test-failover-subnets-named-like-recovery",
     lambda: [_vnet("vnet-recovery", "10.70.0.0/16"), res(SUBNET, "s", {"virtualNetworkName": "vnet-recovery"}),
              _vnet("vnet-test", "10.170.0.0/16"), res(ITEM, "i", {"properties": {}})],
     {"testFailoverAddressSpace": ["10.170.0.0/16"]}, 0, "missing"),
    # modernized-no-classic-resources
    ("modernized-no-classic-resources", lambda: [*_rcm_policies(), _rcm_item("m1")], MODERNIZED, 0, "compliant"),
    ("modernized-no-classic-resources",
     lambda: [*_rcm_policies(), res(GW, "vgw", {}), res(POLICY, "old", replication_policy()),
              res(VSPHERE_VM, "cs", {}, "asrctl:dr:ConfigurationServerVm")], MODERNIZED, 3, "violating"),
    # no config: an InMageRcm policy makes the stack modernized
    ("modernized-no-classic-resources", lambda: [*_rcm_policies(), res(LGW, "lgw", {})], None, 1, "violating"),
    # no config, no InMageRcm policy: a classic stack, whose VPN is legitimate; items without details are skipped
    ("modernized-no-classic-resources", lambda: [res(GW, "vgw", {}), res(ITEM, "i", {})], None, 0, "missing"),
    # failback-connectivity-present on a modernized stack: the failback policy and its mapping, no VPN
    ("failback-connectivity-present", lambda: [*_rcm_policies(), _mapping("/v/replicationPolicies/fb"), _rcm_item("m")],
     {**MODERNIZED, "failbackEnabled": True}, 0, "compliant"),
    ("failback-connectivity-present", lambda: [*_rcm_policies(failback=False)], {**MODERNIZED, "failbackEnabled": True},
     1, "violating"),
    ("failback-connectivity-present", lambda: [*_rcm_policies(), _mapping("/v/replicationPolicies/fwd"), _rcm_item("m")],
     {**MODERNIZED, "failbackEnabled": True}, 1, "violating"),
    ("failback-connectivity-present", lambda: [*_rcm_policies(), _mapping(None), _rcm_item("m")],
     {**MODERNIZED, "failbackEnabled": True}, 1, "missing"),
    # phase 1: no protected item yet, so no mapping is expected
    ("failback-connectivity-present", lambda: [*_rcm_policies()], {**MODERNIZED, "failbackEnabled": True}, 0,
     "compliant"),
]



@pytest.mark.parametrize("case", STACK_CASES, ids=[f"{c[0]}-{c[4]}-{i}" for i, c in enumerate(STACK_CASES)])
def test_stack_rule(case: tuple) -> None:
    rule, resources, config, expected, _ = case
    found = stack_violations(rule, resources(), config)
    assert len(found) == expected, found


def test_every_stack_rule_has_compliant_violating_and_missing_cases() -> None:
    covered: dict[str, set[str]] = {}
    for rule, _, _, _, kind in STACK_CASES:
        covered.setdefault(rule, set()).add(kind)
    assert set(covered) == {r.name for r in RULES_BY_NAME.values() if r.stack}
    for rule, kinds in covered.items():
        assert kinds == {"compliant", "violating", "missing"}, rule


def test_cache_roles_violation_names_the_missing_role_and_the_account() -> None:
    [(message, urn)] = stack_violations("cache-storage-vault-identity-roles",
                                        [_vault_with_principal(), _closed_cache(), _role(CONTRIBUTOR)])
    assert urn == _closed_cache().urn
    assert "Storage Blob Data Contributor" in message and "no Contributor" not in message and "RoleAssignment" in message


def test_cache_roles_user_assigned_identity_principal_counts() -> None:
    uai = {"type": "UserAssigned", "principalId": None,
           "userAssignedIdentities": {"/subscriptions/s/uai/asr": {"principalId": "uai-principal"}}}
    vault_res = res(VAULT, "dr-vault-rsv", {**vault(), "identity": uai})
    roles = [_role(CONTRIBUTOR, principalId="uai-principal"), _role(BLOB_DATA, principalId="uai-principal")]
    assert stack_violations("cache-storage-vault-identity-roles", [vault_res, _closed_cache(), *roles]) == []


def _engine_role(role_id: Any, name: str, account: Any, vault_res: Any) -> Any:
    """A RoleAssignment as AnalyzeStack shows it during preview: ids unknown, per-property dependencies known."""
    import pulumi_policy as pp
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    props = {"scope": UNKNOWN_STRING_VALUE, "principalId": UNKNOWN_STRING_VALUE, "principalType": "ServicePrincipal",
             "roleDefinitionId": role_id}
    return pp.PolicyResource(RA, _wrap(props), urn_of(RA, name, CACHE_PARENT), name, _opts(), None, None,
                             [account, vault_res], {"scope": [account], "principalId": [vault_res],
                                                    "roleDefinitionId": [account]})


def test_cache_roles_in_preview_use_property_dependencies_and_never_guess_an_unknown_role() -> None:
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

    rule = "cache-storage-vault-identity-roles"
    vault_res = res(VAULT, "dr-vault-rsv", {**vault(), "identity": {"type": "SystemAssigned",
                                                                    "principalId": UNKNOWN_STRING_VALUE}})
    account = _closed_cache()
    known = [_engine_role(f"/x/roleDefinitions/{r}", f"ra-{r[:4]}", account, vault_res) for r in (CONTRIBUTOR, BLOB_DATA)]
    assert stack_violations(rule, [vault_res, account, *known]) == []
    # a role id computed from the account id is unknown in preview: not evaluated (the engine says so), not a finding
    unknown = [_engine_role(UNKNOWN_STRING_VALUE, f"ra-{r[:4]}", account, vault_res) for r in (CONTRIBUTOR, BLOB_DATA)]
    with pytest.raises(UnknownValueError):
        stack_violations(rule, [vault_res, account, *unknown])

"""Phase 2, protection (classic): the container mapping to Azure and one InMageAzureV2 protected item per machine.

Only after the configuration server has registered: the VMware fabric and its protection container are ASR's
(created at registration), so their names come from ``vmware-azure-dr:registration`` and are never created here.
Every protected item is ``protect``ed and ignores the fields ARM rewrites: re-enabling protection means a new
initial replication of every disk, which no provider upgrade or refactor may ever trigger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import recoveryservices as rs

from asrctl.config import Machine, Registration
from asrctl.infra.asr import ProtectionArgsBase, RegisteredContainer, forward_container_mapping, protected_item

#: The classic VMware → Azure replication provider.
INSTANCE_TYPE = "InMageAzureV2"


@dataclass(frozen=True)
class ProtectedMachine:
    """What one protected item needs beyond the shared settings."""

    machine: Machine
    """Required. The machine from the stack config (recovery-side name, VM size, target subnet)."""
    subnet_id: pulumi.Input[str]
    """Required. ARM id of the recovery subnet the VM fails over into."""
    multi_vm_group_name: str | None = None
    """Optional. Multi-VM consistency group (the machine's plan group of two or more machines, see
    :mod:`asrctl.infra.consistency_groups`) when multi-VM sync is on. Default none."""


@dataclass(frozen=True, kw_only=True)
class ProtectionArgs(ProtectionArgsBase):
    """The vault, policy, cache and targets (:class:`ProtectionArgsBase`; classic VMware has no network mapping, so
    the recovery VNet is set per item), then the registration and the machines."""

    registration: Registration
    """Required. Fabric, protection container, process server, master target and run-as account ASR assigned."""
    machines: Sequence[ProtectedMachine]
    """Required. The machines to protect, in stack order."""


class Protection(pulumi.ComponentResource):
    """Container mapping to Azure + one ReplicationProtectedItem per machine."""

    container_mapping_id: pulumi.Output[str]
    """ARM id of the container mapping."""
    protected_item_ids: Mapping[str, pulumi.Output[str]]
    """ARM id per machine name (consumed by the recovery plans and the runbook engine's azure provider)."""

    def __init__(self, name: str, args: ProtectionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:Protection", name, None, opts)
        reg = args.registration
        container = RegisteredContainer(
            args.vault_name, args.vault_id, args.resource_group_name, reg.fabric_name, reg.protection_container_name
        )
        mapping = forward_container_mapping(name, container, args.mapping_name, args.replication_policy_id, self)
        self.protectable_item_ids: dict[str, pulumi.Output[str]] = {}
        self.items: dict[str, rs.ReplicationProtectedItem] = {}
        discovered_in = container.id
        for pm in args.machines:
            m = pm.machine
            # The protectable item is the VM as the configuration server discovered it; ASR names it with its own id.
            protectable = pulumi.Output.concat(discovered_in, "/replicationProtectableItems/", reg.protectable_items[m.name])
            self.items[m.name] = protected_item(
                name,
                container,
                m.name,
                rs.EnableProtectionInputPropertiesArgs(
                    policy_id=args.replication_policy_id,
                    protectable_item_id=protectable,
                    provider_specific_details=rs.InMageAzureV2EnableProtectionInputArgs(
                        instance_type=INSTANCE_TYPE,
                        process_server_id=reg.process_server_id,
                        master_target_id=reg.master_target_id,
                        run_as_account_id=reg.run_as_account_id,
                        log_storage_account_id=args.cache_storage_account_id,
                        disk_type=args.disk_type,
                        target_azure_v2_resource_group_id=args.target_resource_group_id,
                        target_azure_network_id=args.target_network_id,
                        target_azure_subnet_id=pm.subnet_id,
                        target_azure_vm_name=m.name,
                        target_vm_size=m.target_vm_size,
                        multi_vm_group_name=pm.multi_vm_group_name,
                    ),
                ),
                mapping,
                parent=self,
            )
            self.protectable_item_ids[m.name] = protectable
        self.protected_item_ids = {machine: item.id for machine, item in self.items.items()}
        self.container_mapping_id = mapping.id
        self.register_outputs(
            {"container_mapping_id": self.container_mapping_id, "protected_item_ids": self.protected_item_ids}
        )

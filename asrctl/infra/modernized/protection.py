"""Phase 2, protection (modernized): the container mappings and one InMageRcm protected item per machine.

Only after the appliances have registered: the InMageRcm fabric and its protection container are created by that
registration (REFERENCE-modernized §3.0), so their names come from ``vmware-azure-dr:registration`` and are never
created here.

* **Forward mapping**: the InMageRcm policy associated with the container, target the literal ``"Microsoft
  Azure"`` [V: PSrec TestV2ARCMContainerMapping, CLI test]. azure-native has no InMageRcm provider input for the
  mapping (only A2A and VMwareCbt), so none is sent, as PowerShell does; agent auto-upgrade keeps ASR's default.
* **Failback mapping** (``failback.enabled``): the InMageRcmFailback policy associated with the same container,
  the container mapped to itself. That is the shape the portal-created failback mappings read back with
  (``targetProtectionContainerId`` = the container's own ARM id, no provider details; PSrec
  TestV2ARCMContainerMapping) [V for the read-back]; creating it through ARM was not recorded anywhere, so whether ASR
  accepts this PUT is unverified (REFERENCE-modernized open point 11) [U]. Reprotect finds its policy there.
* **Protected items** (``InMageRcmEnableProtectionInput``): ``fabricDiscoveryMachineId`` (registration.
  discoveredMachines), the ``processServerId`` of the machine's appliance (registration.appliances), target
  resource group, target and test networks with the *same* subnet name (ASR puts a drill VM in the test subnet named
  like its recovery subnet), target VM name and size, ``disksDefault`` with the cache account as log storage of
  every disk and the replica disk type, ``runAsAccountId`` where set, and the machine's multi-VM group.

Every mapping and item is ``protect``ed and ignores the fields ARM rewrites: re-enabling protection means a new
initial replication of every disk, which no provider upgrade or refactor may ever trigger. NIC and static IP
settings are not part of enable protection; they are applied afterwards through the item's update call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import recoveryservices as rs

from asrctl.config import Machine
from asrctl.infra.asr import ProtectionArgsBase, RegisteredContainer, forward_container_mapping, protected_item

#: The modernized VMware → Azure replication provider.
INSTANCE_TYPE = "InMageRcm"


@dataclass(frozen=True)
class RcmProtectedMachine:
    """What one InMageRcm protected item needs beyond the shared settings."""

    machine: Machine
    """Required. The machine from the stack config (recovery-side name, VM size)."""
    fabric_discovery_machine_id: str
    """Required. The machine's Microsoft.OffAzure id, as the appliance discovered it (registration.discoveredMachines)."""
    appliance: str
    """Required. Name of the appliance that replicates it (StackConfig.appliance_assignment)."""
    process_server_id: str
    """Required. The process server id of that appliance (registration.appliances[<appliance>].processServerId)."""
    subnet_name: str
    """Required. Azure name of the machine's recovery subnet; its test subnet has the same name."""
    multi_vm_group_name: str | None = None
    """Optional. Multi-VM consistency group (its plan group of two or more machines) when multi-VM sync is on."""


@dataclass(frozen=True, kw_only=True)
class RcmProtectionArgs(ProtectionArgsBase):
    """The vault, policy, cache and targets (:class:`ProtectionArgsBase`), then what InMageRcm adds."""

    fabric_name: str
    """Required. The InMageRcm fabric the appliance registration created."""
    protection_container_name: str
    """Required. The protection container of that fabric."""
    test_network_id: pulumi.Input[str]
    """Required. ARM id of the isolated test-failover VNet."""
    machines: Sequence[RcmProtectedMachine]
    """Required. The machines to protect, in stack order."""
    failback_policy_id: pulumi.Input[str] | None = None
    """Optional. ARM id of the InMageRcmFailback policy: set when failback is enabled, it gets its own mapping."""
    run_as_account_id: str | None = None
    """Optional. OffAzure run-as account for push installation of the Mobility service. Default none."""
    failback_mapping_name: str = "asr-container-mapping-failback"
    """Optional. Name of the failback container mapping. Default asr-container-mapping-failback."""


class RcmProtection(pulumi.ComponentResource):
    """Forward (and failback) container mapping + one InMageRcm ReplicationProtectedItem per machine."""

    container_mapping_id: pulumi.Output[str]
    """ARM id of the forward container mapping."""
    failback_mapping_id: pulumi.Output[str] | None
    """ARM id of the failback container mapping (None without failback)."""
    protected_item_ids: Mapping[str, pulumi.Output[str]]
    """ARM id per machine name (consumed by the recovery plans and the runbook engine's azure provider)."""

    def __init__(self, name: str, args: RcmProtectionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:RcmProtection", name, None, opts)
        container = RegisteredContainer(
            args.vault_name, args.vault_id, args.resource_group_name, args.fabric_name, args.protection_container_name
        )
        mapping = forward_container_mapping(name, container, args.mapping_name, args.replication_policy_id, self)
        self.failback_mapping_id = None
        if args.failback_policy_id is not None:
            failback = rs.ReplicationProtectionContainerMapping(
                f"{name}-failback-mapping",
                **container.child_kwargs(
                    mapping_name=args.failback_mapping_name,
                    properties=rs.CreateProtectionContainerMappingInputPropertiesArgs(
                        policy_id=args.failback_policy_id,
                        # The container mapped to itself: how portal-created failback mappings read back [U for PUT].
                        target_protection_container_id=container.id,
                    ),
                ),
                # ASR serialises mapping operations per container.
                opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=[mapping]),
            )
            self.failback_mapping_id = failback.id
        self.items: dict[str, rs.ReplicationProtectedItem] = {}
        for pm in args.machines:
            m = pm.machine
            self.items[m.name] = protected_item(
                name,
                container,
                m.name,
                rs.EnableProtectionInputPropertiesArgs(
                    policy_id=args.replication_policy_id,
                    provider_specific_details=rs.InMageRcmEnableProtectionInputArgs(
                        instance_type=INSTANCE_TYPE,
                        fabric_discovery_machine_id=pm.fabric_discovery_machine_id,
                        process_server_id=pm.process_server_id,
                        run_as_account_id=args.run_as_account_id,
                        target_resource_group_id=args.target_resource_group_id,
                        target_network_id=args.target_network_id,
                        target_subnet_name=pm.subnet_name,
                        test_network_id=args.test_network_id,
                        test_subnet_name=pm.subnet_name,
                        target_vm_name=m.name,
                        target_vm_size=m.target_vm_size,
                        disks_default=rs.InMageRcmDisksDefaultInputArgs(
                            log_storage_account_id=args.cache_storage_account_id,
                            disk_type=args.disk_type,
                        ),
                        multi_vm_group_name=pm.multi_vm_group_name,
                    ),
                ),
                mapping,
                parent=self,
            )
        self.protected_item_ids = {machine: item.id for machine, item in self.items.items()}
        self.container_mapping_id = mapping.id
        outputs: dict[str, object] = {
            "container_mapping_id": self.container_mapping_id,
            "protected_item_ids": self.protected_item_ids,
        }
        if self.failback_mapping_id is not None:
            outputs["failback_mapping_id"] = self.failback_mapping_id
        self.register_outputs(outputs)

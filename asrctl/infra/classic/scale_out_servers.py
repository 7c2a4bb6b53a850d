"""Scale-out process servers and separate master target servers, cloned from vSphere templates.

Only built when :mod:`asrctl.sizing` (or the stack config) asks for them: the configuration server already contains
one process server and one master target. Master targets get ``disk.EnableUUID=TRUE`` and an LSI Logic controller
(ASR attaches the failback disks to them); Linux machines fail back through a Linux master target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_vsphere as vsphere

from asrctl.infra.vsphere_provider import VSpherePlacement
from asrctl.sizing import MASTER_TARGET_SIZE, ServerSize

#: ASR requires the guest to see stable disk UUIDs on a master target.
MASTER_TARGET_EXTRA_CONFIG = {"disk.EnableUUID": "TRUE"}
#: ASR requires an LSI Logic controller on master targets.
MASTER_TARGET_SCSI_TYPE = "lsilogic"


@dataclass(frozen=True)
class ScaleOutServersArgs:
    placement: VSpherePlacement
    """Required. vCenter provider and placement (same as the configuration server)."""
    name_prefix: str
    """Required. vCenter VM name prefix, e.g. the configuration server's name (asr-cs-prod01 → asr-cs-prod01-ps1)."""
    server_template: str
    """Required. Windows Server template cloned for process servers and the Windows master target."""
    process_servers: int = 0
    """Optional. Number of scale-out process servers. Default 0."""
    process_server_size: ServerSize | None = None
    """Optional. Process server size from the sizing table; required when process_servers > 0. Default none."""
    separate_master_target: bool = False
    """Optional. Deploy a separate Windows master target (failback of many disks). Default false."""
    linux_master_target_template: str | None = None
    """Optional. Linux template; when set, a Linux master target is deployed (Linux VMs fail back to it)."""
    folder: str | None = None
    """Optional. vCenter VM folder. Default the datacenter root."""


class ScaleOutServers(pulumi.ComponentResource):
    """The extra on-prem ASR servers the sizing asks for."""

    process_server_names: pulumi.Output[list[str]]
    """vCenter names of the scale-out process servers (consumed by the operator registering them)."""
    master_target_names: pulumi.Output[list[str]]
    """vCenter names of the separate master targets (consumed by reprotect: masterTargetId after registration)."""

    def __init__(self, name: str, args: ScaleOutServersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:ScaleOutServers", name, None, opts)
        self._args = args
        self.process_servers: list[vsphere.VirtualMachine] = []
        self.master_targets: list[vsphere.VirtualMachine] = []
        windows = args.placement.template("configurationServer.serverTemplate", args.server_template) if (
            args.process_servers or args.separate_master_target
        ) else None
        if args.process_servers and args.process_server_size is None:
            raise ValueError("process_server_size is required when process_servers > 0")
        for i in range(1, args.process_servers + 1):
            self.process_servers.append(
                self._clone(f"{name}-ps{i}", f"{args.name_prefix}-ps{i}", windows, args.process_server_size, False)
            )
        if args.separate_master_target:
            self.master_targets.append(
                self._clone(f"{name}-mt", f"{args.name_prefix}-mt", windows, MASTER_TARGET_SIZE, True)
            )
        if args.linux_master_target_template:
            linux = args.placement.template(
                "configurationServer.linuxMasterTargetTemplate", args.linux_master_target_template
            )
            self.master_targets.append(
                self._clone(f"{name}-mt-linux", f"{args.name_prefix}-mt-linux", linux, MASTER_TARGET_SIZE, True)
            )
        self.process_server_names = pulumi.Output.all(*[vm.name for vm in self.process_servers])
        self.master_target_names = pulumi.Output.all(*[vm.name for vm in self.master_targets])
        self.register_outputs(
            {"process_server_names": self.process_server_names, "master_target_names": self.master_target_names}
        )

    def _clone(
        self, logical: str, vm_name: str, template: Any, size: ServerSize, master_target: bool
    ) -> vsphere.VirtualMachine:
        p = self._args.placement
        # A clone keeps the template's OS disk (same size, same provisioning); the second disk is the process
        # server's cache or the master target's retention volume, eager-zeroed like the configuration server's.
        os_disk = template.disks[0]
        return vsphere.VirtualMachine(
            logical,
            vsphere.VirtualMachineArgs(
                name=vm_name,
                resource_pool_id=p.resource_pool_id,
                datastore_id=p.datastore_id,
                folder=self._args.folder,
                num_cpus=size.vcpus,
                memory=size.memory_gb * 1024,
                guest_id=template.guest_id,
                firmware=template.firmware,
                scsi_type=MASTER_TARGET_SCSI_TYPE if master_target else template.scsi_type,
                enable_disk_uuid=True if master_target else None,
                extra_config=dict(MASTER_TARGET_EXTRA_CONFIG) if master_target else None,
                network_interfaces=[vsphere.VirtualMachineNetworkInterfaceArgs(network_id=p.network_id, adapter_type="vmxnet3")],
                disks=[
                    vsphere.VirtualMachineDiskArgs(
                        label="os", unit_number=0, size=int(os_disk.size),
                        thin_provisioned=os_disk.thin_provisioned, eagerly_scrub=os_disk.eagerly_scrub,
                    ),
                    vsphere.VirtualMachineDiskArgs(
                        label="retention" if master_target else "cache", unit_number=1, size=size.cache_disk_gb,
                        thin_provisioned=False, eagerly_scrub=True,
                    ),
                ],
                clone=vsphere.VirtualMachineCloneArgs(template_uuid=template.id),
                wait_for_guest_net_timeout=0,
                wait_for_guest_ip_timeout=0,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=p.provider,
                # A template update must not rebuild a registered server.
                ignore_changes=["clone"],
            ),
        )

"""The classic configuration server (with its built-in process server and master target), from Microsoft's OVF.

Sized from :mod:`asrctl.sizing` (vCPU, memory, cache disk), thick-provisioned eager-zeroed as Microsoft recommends,
VMXNET3 on the configured port group, static IP handed to the guest. After ``pulumi up`` the operator registers it
with the vault (phase 2 reads the names ASR assigns then).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_vsphere as vsphere

from asrctl.infra.vsphere_provider import EAGER_ZEROED_THICK, VSpherePlacement, guest_network_settings, lookup
from asrctl.sizing import ServerSize

#: OS disk of the OVF (not confirmed against Microsoft's current template; vSphere only ever grows a disk, so a larger
#: shipped disk fails loudly at `pulumi up` rather than being shrunk). The retention disk of the built-in master
#: target gets the cache disk's size.
OS_DISK_GB = 127


@dataclass(frozen=True)
class ConfigurationServerVmArgs:
    placement: VSpherePlacement
    """Required. vCenter provider and the datacenter/cluster/datastore/port group to deploy into."""
    vm_name: str
    """Required. VM name of the configuration server in vCenter."""
    size: ServerSize
    """Required. vCPU, memory and cache disk from the sizing table (asrctl.sizing)."""
    ip: str
    """Required. Static IPv4 address (the Mobility service and process servers reach it on 443)."""
    prefix_length: int
    """Required. Prefix length of the static IP's subnet."""
    gateway: str
    """Required. Default gateway."""
    dns_servers: tuple[str, ...]
    """Required. DNS servers."""
    ovf_url: str | None = None
    """Optional. URL of Microsoft's configuration server OVF; exactly one of ovf_url and ovf_path. Default none."""
    ovf_path: str | None = None
    """Optional. Local path of the OVF on the machine running `pulumi up`. Default none."""
    ovf_network_name: str = "VM Network"
    """Optional. Network name declared inside the OVF, mapped to the port group. Default VM Network."""
    folder: str | None = None
    """Optional. vCenter VM folder. Default the datacenter root."""


class ConfigurationServerVm(pulumi.ComponentResource):
    """Microsoft's configuration server OVF deployed on vSphere, sized for the protected machines' churn."""

    vm_id: pulumi.Output[str]
    """vSphere managed object id of the VM (consumed by stack exports and the runbooks' readiness checks)."""
    ip: pulumi.Output[str]
    """Static IP (consumed by the Mobility service deployment: CS endpoint)."""

    def __init__(
        self, name: str, args: ConfigurationServerVmArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("asrctl:dr:ConfigurationServerVm", name, None, opts)
        p = args.placement
        if not p.host_system_id:
            pulumi.log.warn(
                "vmware-azure-dr:vcenter.host is not set: vSphere imports an OVF onto an ESXi host, so `pulumi up` "
                f"cannot deploy {args.vm_name} until it names one",
                self,
            )
        ovf_network_map = {args.ovf_network_name: p.network_id}
        # Read the OVF's hardware (guest OS id, firmware, controller) so the VM matches what Microsoft ships.
        template = lookup(
            vsphere.get_ovf_vm_template,
            "configurationServer.ovfUrl" if args.ovf_url else "configurationServer.ovfPath",
            args.ovf_url or args.ovf_path or "",
            p.vcenter.server,
            name=args.vm_name,
            remote_ovf_url=args.ovf_url,
            local_ovf_path=args.ovf_path,
            resource_pool_id=p.ids.resource_pool_id,
            datastore_id=p.ids.datastore_id,
            host_system_id=p.ids.host_system_id,
            folder=args.folder,
            disk_provisioning=EAGER_ZEROED_THICK,
            ovf_network_map={args.ovf_network_name: p.ids.network_id},
            allow_unverified_ssl_cert=p.vcenter.allow_unverified_ssl,
            opts=p.invoke_options,
        )
        size = args.size
        self.vm = vsphere.VirtualMachine(
            f"{name}-vm",
            vsphere.VirtualMachineArgs(
                name=args.vm_name,
                resource_pool_id=p.resource_pool_id,
                datastore_id=p.datastore_id,
                datacenter_id=p.datacenter_id,
                host_system_id=p.host_system_id,
                folder=args.folder,
                num_cpus=size.vcpus,
                memory=size.memory_gb * 1024,
                guest_id=template.guest_id,
                firmware=template.firmware,
                scsi_type=template.scsi_type,
                network_interfaces=[
                    vsphere.VirtualMachineNetworkInterfaceArgs(
                        network_id=p.network_id, adapter_type="vmxnet3", ovf_mapping=args.ovf_network_name
                    )
                ],
                disks=[
                    vsphere.VirtualMachineDiskArgs(
                        label="os", unit_number=0, size=OS_DISK_GB, thin_provisioned=False, eagerly_scrub=True
                    ),
                    vsphere.VirtualMachineDiskArgs(
                        label="cache", unit_number=1, size=size.cache_disk_gb, thin_provisioned=False,
                        eagerly_scrub=True,
                    ),
                    vsphere.VirtualMachineDiskArgs(
                        label="retention", unit_number=2, size=size.cache_disk_gb, thin_provisioned=False,
                        eagerly_scrub=True,
                    ),
                ],
                ovf_deploy=vsphere.VirtualMachineOvfDeployArgs(
                    remote_ovf_url=args.ovf_url,
                    local_ovf_path=args.ovf_path,
                    ovf_network_map=ovf_network_map,
                    disk_provisioning=EAGER_ZEROED_THICK,
                    ip_allocation_policy="STATIC_MANUAL",
                    ip_protocol="IPV4",
                    allow_unverified_ssl_cert=p.vcenter.allow_unverified_ssl,
                ),
                extra_config=guest_network_settings(args.ip, args.prefix_length, args.gateway, args.dns_servers),
                # The Windows setup wizard runs on first boot: don't wait for VMware Tools to report an IP.
                wait_for_guest_net_timeout=0,
                wait_for_guest_ip_timeout=0,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=p.provider,
                # Once registered with the vault, replacing this VM breaks every replicated machine.
                protect=True,
                # The OVF only seeds the VM: a new template URL or vApp defaults must never recreate it.
                ignore_changes=["ovfDeploy", "vapp"],
            ),
        )
        self.vm_id = self.vm.id
        self.ip = pulumi.Output.from_input(args.ip)
        self.register_outputs({"vm_id": self.vm_id, "ip": self.ip})

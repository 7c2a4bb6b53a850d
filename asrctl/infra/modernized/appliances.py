"""The modernized replication appliances: Microsoft's OVF deployed on vSphere, one VM per declared appliance.

Each appliance is sized by :func:`asrctl.sizing.plan_appliances` from the machines it replicates (the documented
rows: 8 vCPU / 16 GB / 80 + 620 GB, or 16 vCPU / 32 GB / 80 GB + 1 TB up to 200 machines; a dedicated failback
appliance gets the smaller row), runs Windows Server 2022 as the OVF ships it, VMXNET3 on the configured port group,
and carries its static IP settings and role as guestinfo keys. After ``pulumi up`` a person registers each
appliance with the vault, one at a time (appliance key, device-code sign-in within 5 minutes): the phase-1 preview
note lists the steps. The OVF deployment is untested against Microsoft's current template [U].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_vsphere as vsphere

from asrctl.infra.vsphere_provider import EAGER_ZEROED_THICK, VSpherePlacement, guest_network_settings, lookup
from asrctl.sizing import ApplianceSize

#: guestinfo key holding the appliance's role (replication or failback): scripts and policy rules read it.
ROLE_KEY = "guestinfo.asr.role"


@dataclass(frozen=True)
class ApplianceVm:
    """One appliance to deploy."""

    name: str
    """Required. Friendly name: the vSphere VM name and the name it registers with (immutable)."""
    ip: str
    """Required. Static IPv4 address (Mobility agents reach it on 443 and 9443)."""
    role: str
    """Required. replication or failback."""
    size: ApplianceSize
    """Required. vCPU, memory, OS and data disk from the sizing table (asrctl.sizing.APPLIANCE_SIZES)."""


@dataclass(frozen=True)
class ReplicationApplianceVmsArgs:
    placement: VSpherePlacement
    """Required. vCenter provider and the datacenter/cluster/datastore/port group to deploy into."""
    appliances: Sequence[ApplianceVm]
    """Required. The appliances, in stack order."""
    prefix_length: int
    """Required. Prefix length of the appliances' subnet."""
    gateway: str
    """Required. Default gateway."""
    dns_servers: tuple[str, ...]
    """Required. DNS servers."""
    ovf_url: str | None = None
    """Optional. URL of Microsoft's appliance OVF; exactly one of ovf_url and ovf_path. Default none."""
    ovf_path: str | None = None
    """Optional. Local path of the OVF on the machine running `pulumi up`. Default none."""
    ovf_network_name: str = "VM Network"
    """Optional. Network name declared inside the OVF, mapped to the port group. Default VM Network."""
    folder: str | None = None
    """Optional. vCenter VM folder. Default the datacenter root."""


class ReplicationApplianceVms(pulumi.ComponentResource):
    """Microsoft's replication appliance OVF deployed on vSphere, once per appliance, each sized for its load."""

    vm_ids: dict[str, pulumi.Output[str]]
    """vSphere VM id per appliance name (consumed by stack exports)."""
    ips: dict[str, str]
    """Static IP per appliance name (consumed by the Mobility service deployment: the CSPrime endpoint)."""

    def __init__(
        self, name: str, args: ReplicationApplianceVmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("asrctl:dr:ReplicationAppliances", name, None, opts)
        p = args.placement
        if not p.host_system_id:
            pulumi.log.warn(
                "vmware-azure-dr:vcenter.host is not set: vSphere imports an OVF onto an ESXi host, so `pulumi up` "
                "cannot deploy the replication appliances until it names one",
                self,
            )
        key = "replicationAppliances.ovfUrl" if args.ovf_url else "replicationAppliances.ovfPath"
        self.vm_ids = {}
        self.ips = {}
        for appliance in args.appliances:
            # Read the OVF's hardware (guest OS id, firmware, controller) so the VM matches what Microsoft ships.
            template = lookup(
                vsphere.get_ovf_vm_template,
                key,
                args.ovf_url or args.ovf_path or "",
                p.vcenter.server,
                name=appliance.name,
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
            size = appliance.size
            extra_config = guest_network_settings(appliance.ip, args.prefix_length, args.gateway, args.dns_servers)
            extra_config[ROLE_KEY] = appliance.role
            vm = vsphere.VirtualMachine(
                f"{name}-{appliance.name.lower()}",
                vsphere.VirtualMachineArgs(
                    name=appliance.name,
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
                    # The OVF ships the 80 GB OS and the 620 GB data disk; vSphere only grows a disk, so the larger
                    # row's 1 TB data disk is the same disk grown.
                    disks=[
                        vsphere.VirtualMachineDiskArgs(
                            label="os", unit_number=0, size=size.os_disk_gb, thin_provisioned=False, eagerly_scrub=True
                        ),
                        vsphere.VirtualMachineDiskArgs(
                            label="cache", unit_number=1, size=size.cache_disk_gb, thin_provisioned=False,
                            eagerly_scrub=True,
                        ),
                    ],
                    ovf_deploy=vsphere.VirtualMachineOvfDeployArgs(
                        remote_ovf_url=args.ovf_url,
                        local_ovf_path=args.ovf_path,
                        ovf_network_map={args.ovf_network_name: p.network_id},
                        disk_provisioning=EAGER_ZEROED_THICK,
                        ip_allocation_policy="STATIC_MANUAL",
                        ip_protocol="IPV4",
                        allow_unverified_ssl_cert=p.vcenter.allow_unverified_ssl,
                    ),
                    extra_config=extra_config,
                    # The appliance configuration manager runs on first boot: don't wait for VMware Tools.
                    wait_for_guest_net_timeout=0,
                    wait_for_guest_ip_timeout=0,
                ),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=p.provider,
                    # Once registered, replacing an appliance breaks the replication of every machine it carries
                    # (and cloning one is unsupported).
                    protect=True,
                    # The OVF only seeds the VM: a new template URL or vApp defaults must never recreate it.
                    ignore_changes=["ovfDeploy", "vapp"],
                ),
            )
            self.vm_ids[appliance.name] = vm.id
            self.ips[appliance.name] = appliance.ip
        self.register_outputs({"vm_ids": self.vm_ids, "ips": self.ips})

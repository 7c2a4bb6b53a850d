"""Microsoft's OVF deployed as a vSphere VM: the one recipe the configuration server and the replication appliances
share (called by :mod:`asrctl.infra.classic.config_server` and :mod:`asrctl.infra.modernized.appliances`).

Both servers are Windows VMs Microsoft ships as an OVF, deployed the same way: the VM takes the OVF's hardware
(guest OS id, firmware, SCSI controller, read with ``get_ovf_vm_template``), thick-provisioned eager-zeroed disks,
one VMXNET3 NIC on the configured port group mapped to the OVF's network, its static IP settings as guestinfo keys,
no wait for VMware Tools, ``protect`` and ``ignore_changes`` on the OVF seed. Both components' args extend
:class:`OvfServerArgs` (placement, static-IP subnet, OVF source, folder); per VM, only what differs is passed in
(:class:`OvfVm`: the name, the size, the disks and the guestinfo keys, with the appliance's role).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_vsphere as vsphere

from asrctl.infra.vsphere_provider import VSpherePlacement, lookup
from asrctl.sizing import ApplianceSize, ServerSize

#: Microsoft recommends thick-provisioned eager-zeroed disks for the configuration server OVF; asrctl deploys the
#: replication appliance OVF the same way (its own docs say nothing on disk provisioning [U]).
EAGER_ZEROED_THICK = "eagerZeroedThick"


def guest_network_settings(ip: str, prefix_length: int, gateway: str, dns: tuple[str, ...]) -> dict[str, str]:
    """Static IP settings as guestinfo keys (``vmtoolsd --cmd "info-get guestinfo.asr.ipaddress"`` in the guest).

    Microsoft's OVFs (configuration server, replication appliance) declare no vApp IP properties and pulumi-vsphere
    has no guest customization for an OVF deploy, so nothing inside Windows applies these by itself: the phase-1
    preview note tells the operator to set them (or to script it from these keys) before the server's setup or
    configuration manager runs, which needs the static IP.
    """
    return {
        "guestinfo.asr.ipaddress": ip,
        "guestinfo.asr.prefixlength": str(prefix_length),
        "guestinfo.asr.gateway": gateway,
        "guestinfo.asr.dns": ",".join(dns),
    }


@dataclass(frozen=True, kw_only=True)
class OvfServerArgs:
    """What every server deployed from one of Microsoft's OVFs takes: the args both components extend."""

    placement: VSpherePlacement
    """Required. vCenter provider and the datacenter/cluster/datastore/port group to deploy into."""
    prefix_length: int
    """Required. Prefix length of the servers' subnet (their static IPs)."""
    gateway: str
    """Required. Default gateway."""
    dns_servers: tuple[str, ...]
    """Required. DNS servers."""
    ovf_url: str | None = None
    """Optional. URL of Microsoft's OVF; exactly one of ovf_url and ovf_path. Default none."""
    ovf_path: str | None = None
    """Optional. Local path of the OVF on the machine running `pulumi up`. Default none."""
    ovf_network_name: str = "VM Network"
    """Optional. Network name declared inside the OVF, mapped to the port group. Default VM Network."""
    folder: str | None = None
    """Optional. vCenter VM folder. Default the datacenter root."""

    def guest_network_settings(self, ip: str) -> dict[str, str]:
        """The guestinfo keys of a server with static IP ``ip`` on this subnet."""
        return guest_network_settings(ip, self.prefix_length, self.gateway, self.dns_servers)


@dataclass(frozen=True)
class OvfVm:
    """What differs between the VMs deployed from Microsoft's OVFs."""

    vm_name: str
    """Required. VM name in vCenter."""
    size: ServerSize | ApplianceSize
    """Required. The sizing table row (asrctl.sizing): vCPUs and memory."""
    disks: Sequence[tuple[str, int]]
    """Required. (label, size in GB) per disk, in SCSI unit order; all thick-provisioned eager-zeroed."""
    extra_config: Mapping[str, str]
    """Required. guestinfo keys: the static IP settings (:func:`guest_network_settings`) and any role key."""


def warn_without_host(placement: VSpherePlacement, what: str, resource: pulumi.Resource) -> None:
    """An OVF is imported onto an ESXi host: without ``vcenter.host`` the deployment cannot work, so say so."""
    if not placement.host_system_id:
        pulumi.log.warn(
            "vmware-azure-dr:vcenter.host is not set: vSphere imports an OVF onto an ESXi host, so `pulumi up` "
            f"cannot deploy {what} until it names one",
            resource,
        )


def ovf_virtual_machine(
    logical_name: str, args: OvfServerArgs, config_section: str, vm: OvfVm, parent: pulumi.Resource
) -> vsphere.VirtualMachine:
    """The vSphere VM deployed from the OVF, a child of ``parent`` through the placement's vCenter provider.

    ``config_section`` is the stack section that declares the OVF (configurationServer, replicationAppliances): a
    failed template lookup names its ovfUrl or ovfPath key.
    """
    p = args.placement
    # Read the OVF's hardware (guest OS id, firmware, controller) so the VM matches what Microsoft ships.
    template = lookup(
        vsphere.get_ovf_vm_template,
        f"{config_section}.ovfUrl" if args.ovf_url else f"{config_section}.ovfPath",
        args.ovf_url or args.ovf_path or "",
        p.vcenter.server,
        name=vm.vm_name,
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
    return vsphere.VirtualMachine(
        logical_name,
        vsphere.VirtualMachineArgs(
            name=vm.vm_name,
            resource_pool_id=p.resource_pool_id,
            datastore_id=p.datastore_id,
            datacenter_id=p.datacenter_id,
            host_system_id=p.host_system_id,
            folder=args.folder,
            num_cpus=vm.size.vcpus,
            memory=vm.size.memory_gb * 1024,
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
                    label=label, unit_number=unit, size=size_gb, thin_provisioned=False, eagerly_scrub=True
                )
                for unit, (label, size_gb) in enumerate(vm.disks)
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
            extra_config=dict(vm.extra_config),
            # Microsoft's setup (the configuration server's wizard, the appliance's configuration manager) runs on
            # first boot: don't wait for VMware Tools to report an IP.
            wait_for_guest_net_timeout=0,
            wait_for_guest_ip_timeout=0,
        ),
        opts=pulumi.ResourceOptions(
            parent=parent,
            provider=p.provider,
            # Once registered with the vault, replacing the VM breaks the replication of every machine it carries
            # (and cloning an appliance is unsupported).
            protect=True,
            # The OVF only seeds the VM: a new template URL or vApp defaults must never recreate it.
            ignore_changes=["ovfDeploy", "vapp"],
        ),
    )

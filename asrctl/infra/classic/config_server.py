"""The classic configuration server (with its built-in process server and master target), from Microsoft's OVF.

Sized from :mod:`asrctl.sizing` (vCPU, memory, cache disk), thick-provisioned eager-zeroed as Microsoft recommends,
VMXNET3 on the configured port group, static IP handed to the guest. After ``pulumi up`` the operator registers it
with the vault (phase 2 reads the names ASR assigns then).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from asrctl.infra.ovf_vm import OvfServerArgs, OvfVm, ovf_virtual_machine, warn_without_host
from asrctl.sizing import ServerSize

#: OS disk of the OVF (not confirmed against Microsoft's current template; vSphere only ever grows a disk, so a larger
#: shipped disk fails loudly at `pulumi up` rather than being shrunk). The retention disk of the built-in master
#: target gets the cache disk's size.
OS_DISK_GB = 127


@dataclass(frozen=True, kw_only=True)
class ConfigurationServerVmArgs(OvfServerArgs):
    """The placement, static IP subnet and OVF (:class:`OvfServerArgs`: ovf_url is the configuration server OVF's
    URL), then the configuration server's own settings."""

    vm_name: str
    """Required. VM name of the configuration server in vCenter."""
    size: ServerSize
    """Required. vCPU, memory and cache disk from the sizing table (asrctl.sizing)."""
    ip: str
    """Required. Static IPv4 address (the Mobility service and process servers reach it on 443)."""


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
        warn_without_host(args.placement, args.vm_name, self)
        size = args.size
        self.vm = ovf_virtual_machine(
            f"{name}-vm",
            args,
            "configurationServer",
            OvfVm(
                vm_name=args.vm_name,
                size=size,
                disks=(("os", OS_DISK_GB), ("cache", size.cache_disk_gb), ("retention", size.cache_disk_gb)),
                extra_config=args.guest_network_settings(args.ip),
            ),
            parent=self,
        )
        self.vm_id = self.vm.id
        self.ip = pulumi.Output.from_input(args.ip)
        self.register_outputs({"vm_id": self.vm_id, "ip": self.ip})

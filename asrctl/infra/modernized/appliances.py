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

from asrctl.infra.ovf_vm import OvfServerArgs, OvfVm, ovf_virtual_machine, warn_without_host
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


@dataclass(frozen=True, kw_only=True)
class ReplicationApplianceVmsArgs(OvfServerArgs):
    """The placement, the appliances' subnet and OVF (:class:`OvfServerArgs`: ovf_url is the appliance OVF's URL),
    then the appliances."""

    appliances: Sequence[ApplianceVm]
    """Required. The appliances, in stack order."""


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
        warn_without_host(args.placement, "the replication appliances", self)
        self.vm_ids = {}
        self.ips = {}
        for appliance in args.appliances:
            size = appliance.size
            vm = ovf_virtual_machine(
                f"{name}-{appliance.name.lower()}",
                args,
                "replicationAppliances",
                OvfVm(
                    vm_name=appliance.name,
                    size=size,
                    # The OVF ships the 80 GB OS and the 620 GB data disk; vSphere only grows a disk, so the larger
                    # row's 1 TB data disk is the same disk grown.
                    disks=(("os", size.os_disk_gb), ("cache", size.cache_disk_gb)),
                    extra_config={**args.guest_network_settings(appliance.ip), ROLE_KEY: appliance.role},
                ),
                parent=self,
            )
            self.vm_ids[appliance.name] = vm.id
            self.ips[appliance.name] = appliance.ip
        self.register_outputs({"vm_ids": self.vm_ids, "ips": self.ips})

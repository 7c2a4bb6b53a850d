"""The vCenter connection and the placement of the on-prem ASR servers (datacenter, cluster, datastore, port group).

Looks every object up once with vSphere invokes through an explicit provider, so the configuration server, the
process servers and the master targets all land in the same place. An object that does not exist is bad input: the
error names the ``vmware-azure-dr:vcenter.*`` key to fix, not the invoke that failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_vsphere as vsphere

from asrctl.config import NS, VCenter
from asrctl.errors import BadInput


@dataclass(frozen=True)
class VSpherePlacementArgs:
    vcenter: VCenter
    """Required. The vCenter (server, user, datacenter, cluster, datastore, port group, optional host and folder)."""
    password: pulumi.Input[str]
    """Required. vCenter password: the secret vcenterPassword, never clear text."""


@dataclass(frozen=True)
class PlacementIds:
    """The looked-up vSphere managed object ids, as plain strings."""

    datacenter_id: str
    resource_pool_id: str
    datastore_id: str
    network_id: str
    host_system_id: str | None


def lookup(what: Callable[..., Any], key: str, value: str, server: str, **kwargs: Any) -> Any:
    """Run one vSphere invoke; a failure becomes one line naming the config key (the invoke text is kept as the why)."""
    try:
        return what(**kwargs)
    except BadInput:
        raise
    except Exception as exc:  # the engine raises a bare Exception("invoke of … failed: …") for provider errors
        detail = str(exc).split(" failed: ", 1)[-1]
        raise BadInput(not_found_message(key, value, server, detail)) from None


def not_found_message(key: str, value: str, server: str, detail: str) -> str:
    """One line naming the config key whose vSphere object is missing, and the fix."""
    return (
        f"{NS}:{key}: {value!r} was not found in vCenter {server} ({detail}); "
        "fix the name in the stack file or create the object"
    )


class VSpherePlacement(pulumi.ComponentResource):
    """vSphere provider plus the ids of the objects the ASR servers are placed on."""

    provider: vsphere.Provider
    datacenter_id: pulumi.Output[str]
    resource_pool_id: pulumi.Output[str]
    datastore_id: pulumi.Output[str]
    network_id: pulumi.Output[str]
    host_system_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: VSpherePlacementArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:VSpherePlacement", name, None, opts)
        vc = args.vcenter
        self.vcenter = vc
        self.provider = vsphere.Provider(
            f"{name}-vcenter",
            vsphere.ProviderArgs(
                vsphere_server=vc.server,
                user=vc.user,
                password=pulumi.Output.secret(args.password),
                allow_unverified_ssl=vc.allow_unverified_ssl,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        invoke = pulumi.InvokeOptions(provider=self.provider, parent=self)
        dc = lookup(vsphere.get_datacenter, "vcenter.datacenter", vc.datacenter, vc.server, name=vc.datacenter, opts=invoke)
        cluster = lookup(
            vsphere.get_compute_cluster, "vcenter.cluster", vc.cluster, vc.server,
            name=vc.cluster, datacenter_id=dc.id, opts=invoke,
        )
        datastore = lookup(
            vsphere.get_datastore, "vcenter.datastore", vc.datastore, vc.server,
            name=vc.datastore, datacenter_id=dc.id, opts=invoke,
        )
        network = lookup(
            vsphere.get_network, "vcenter.network", vc.network, vc.server, name=vc.network, datacenter_id=dc.id, opts=invoke
        )
        host = (
            lookup(vsphere.get_host, "vcenter.host", vc.host, vc.server, name=vc.host, datacenter_id=dc.id, opts=invoke)
            if vc.host
            else None
        )
        self.invoke_options = invoke
        # Plain ids for further (synchronous) invokes; Output forms for resource inputs.
        self.ids = PlacementIds(dc.id, cluster.resource_pool_id, datastore.id, network.id, host.id if host else None)
        self.datacenter_id = pulumi.Output.from_input(dc.id)
        self.resource_pool_id = pulumi.Output.from_input(cluster.resource_pool_id)
        self.datastore_id = pulumi.Output.from_input(datastore.id)
        self.network_id = pulumi.Output.from_input(network.id)
        self.host_system_id = pulumi.Output.from_input(host.id) if host else None
        self.folder = vc.folder
        self.register_outputs(
            {
                "datacenter_id": self.datacenter_id,
                "resource_pool_id": self.resource_pool_id,
                "datastore_id": self.datastore_id,
                "network_id": self.network_id,
            }
        )

    def template(self, config_key: str, template_name: str) -> Any:
        """Look up a VM template (clone source) by name; a missing one names ``config_key``."""
        return lookup(
            vsphere.get_virtual_machine, config_key, template_name, self.vcenter.server,
            name=template_name, datacenter_id=self.ids.datacenter_id, opts=self.invoke_options,
        )

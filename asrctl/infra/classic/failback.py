"""Failback infrastructure (classic): the temporary Azure process server and the path back to on-prem.

Built only while ``failback.enabled``: a process server VM in the recovery VNet (no public IP, managed disks, static
IP) and a site-to-site VPN (gateway in ``GatewaySubnet`` + local network gateway + IPsec connection) or an
ExpressRoute connection. Every resource is tagged ``temporary=true`` and ``expiresOn=<date>`` so cost reports and
clean-up policies find it; delete it after failback by setting ``failback.enabled: false``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
from pulumi_azure_native import compute, network

#: Azure requires this exact subnet name for a virtual network gateway.
GATEWAY_SUBNET_NAME = "GatewaySubnet"
#: Base image of the temporary process server; ASR's unified setup installs the process server role on it.
PROCESS_SERVER_IMAGE = compute.ImageReferenceArgs(
    publisher="MicrosoftWindowsServer", offer="WindowsServer", sku="2016-Datacenter", version="latest"
)
#: Process server cache disk (GB): Microsoft sizes the Azure process server like the on-prem 1 TB tier.
PROCESS_SERVER_CACHE_DISK_GB = 1024


@dataclass(frozen=True)
class FailbackInfrastructureArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    location: pulumi.Input[str]
    """Required. Region of the vault and the recovery VNet."""
    recovery_vnet_name: pulumi.Input[str]
    """Required. Azure name of the recovery VNet; GatewaySubnet is added to it."""
    process_server_subnet_id: pulumi.Input[str]
    """Required. Recovery subnet of the temporary process server (one process server per Azure VNet used)."""
    process_server_name: str
    """Required. Azure VM name of the temporary process server (≤ 15 characters, Windows)."""
    process_server_ip: str | None
    """Optional. Static private IP of the process server; None → dynamic. Must reach the configuration server on 443."""
    process_server_vm_size: str
    """Required. VM size; it must support encryption at host (the Av2 family does not)."""
    admin_password: pulumi.Input[str]
    """Required. Local administrator password of the process server: a Pulumi secret, never clear text."""
    expires_on: str
    """Required. ISO date after which the temporary resources may be deleted (tag expiresOn)."""
    connectivity: Literal["vpn", "expressroute"] = "vpn"
    """Optional. Site-to-site VPN or ExpressRoute from Azure to on-prem. Default vpn."""
    gateway_subnet_prefix: str | None = None
    """Optional. GatewaySubnet prefix inside the recovery VNet (/27 or larger recommended). Required for both."""
    gateway_sku: str = "VpnGw1"
    """Optional. Virtual network gateway SKU (VpnGw*, or an ExpressRoute SKU). Default VpnGw1."""
    on_prem_gateway_ip: str | None = None
    """Optional. Public IP of the on-prem VPN device; required for vpn."""
    on_prem_address_spaces: Sequence[str] = ()
    """Optional. On-prem ranges routed through the VPN (the configuration server and master target live there)."""
    shared_key: pulumi.Input[str] | None = None
    """Optional. IPsec pre-shared key, the secret vpnSharedKey; required for vpn."""
    express_route_circuit_id: str | None = None
    """Optional. ARM id of the ExpressRoute circuit; required for expressroute."""
    depends_on_subnets: Sequence[pulumi.Resource] = ()
    """Optional. The VNet's other subnets: ARM serialises subnet writes per VNet. Default none."""
    names_prefix: str = ""
    """Optional. Azure name prefix suffix, e.g. asr-prod-weu (names: vgw-<p>, lgw-<p>, pip-vgw-<p>, con-<p>)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Optional. Site tags; temporary=true and expiresOn are added. Default none."""


class FailbackInfrastructure(pulumi.ComponentResource):
    """Temporary Azure process server + VPN/ExpressRoute to on-prem, tagged temporary."""

    process_server_vm_id: pulumi.Output[str]
    """ARM id of the temporary process server (operators register it with the configuration server)."""
    process_server_private_ip: pulumi.Output[str]
    """Private IP of the process server (consumed by reprotect: the process server the on-prem MT pulls from)."""
    gateway_id: pulumi.Output[str]
    """ARM id of the virtual network gateway."""

    def __init__(
        self, name: str, args: FailbackInfrastructureArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("asrctl:dr:FailbackInfrastructure", name, None, opts)
        if not args.gateway_subnet_prefix:
            raise ValueError("gateway_subnet_prefix is required for the failback gateway")
        tags = {**args.tags, "temporary": "true", "expiresOn": args.expires_on, "purpose": "failback"}
        child = pulumi.ResourceOptions(parent=self)
        rg, loc = args.resource_group_name, args.location
        p = args.names_prefix

        # -- Temporary process server: private only, managed disks, static IP ---------------------------------
        nic = network.NetworkInterface(
            f"{name}-ps-nic",
            network.NetworkInterfaceArgs(
                network_interface_name=f"nic-{args.process_server_name}",
                resource_group_name=rg,
                location=loc,
                ip_configurations=[
                    network.NetworkInterfaceIPConfigurationArgs(
                        name="ipconfig1",
                        subnet=network.SubnetArgs(id=args.process_server_subnet_id),
                        private_ip_allocation_method="Static" if args.process_server_ip else "Dynamic",
                        private_ip_address=args.process_server_ip,
                        # No public_ip_address: the process server is reached over the VPN/ExpressRoute only.
                    )
                ],
                tags=tags,
            ),
            opts=child,
        )
        vm = compute.VirtualMachine(
            f"{name}-ps-vm",
            compute.VirtualMachineArgs(
                vm_name=args.process_server_name,
                resource_group_name=rg,
                location=loc,
                hardware_profile=compute.HardwareProfileArgs(vm_size=args.process_server_vm_size),
                # Cached replication data of failed-over VMs passes through these disks: encrypt at the host too
                # (needs the subscription feature Microsoft.Compute/EncryptionAtHost registered).
                security_profile=compute.SecurityProfileArgs(encryption_at_host=True),
                storage_profile=compute.StorageProfileArgs(
                    image_reference=PROCESS_SERVER_IMAGE,
                    os_disk=compute.OSDiskArgs(
                        create_option="FromImage",
                        managed_disk=compute.ManagedDiskParametersArgs(storage_account_type="StandardSSD_LRS"),
                        delete_option="Delete",
                    ),
                    data_disks=[
                        compute.DataDiskArgs(
                            lun=0,
                            create_option="Empty",
                            disk_size_gb=PROCESS_SERVER_CACHE_DISK_GB,
                            managed_disk=compute.ManagedDiskParametersArgs(storage_account_type="StandardSSD_LRS"),
                            delete_option="Delete",
                        )
                    ],
                ),
                os_profile=compute.OSProfileArgs(
                    computer_name=args.process_server_name,
                    admin_username="asradmin",
                    admin_password=pulumi.Output.secret(args.admin_password),
                    windows_configuration=compute.WindowsConfigurationArgs(
                        provision_vm_agent=True, enable_automatic_updates=True
                    ),
                ),
                network_profile=compute.NetworkProfileArgs(
                    network_interfaces=[
                        compute.NetworkInterfaceReferenceArgs(id=nic.id, primary=True, delete_option="Delete")
                    ]
                ),
                tags=tags,
            ),
            # The image's 'latest' resolves to a version ARM writes back; never rebuild the process server for it.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["storageProfile.imageReference.version"]),
        )

        # -- Path to on-prem: GatewaySubnet + gateway (+ local gateway and IPsec connection, or ExpressRoute) --
        gateway_subnet = network.Subnet(
            f"{name}-gateway-subnet",
            network.SubnetInitArgs(
                subnet_name=GATEWAY_SUBNET_NAME,
                virtual_network_name=args.recovery_vnet_name,
                resource_group_name=rg,
                address_prefix=args.gateway_subnet_prefix,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on_subnets)),
        )
        pip = network.PublicIPAddress(
            f"{name}-gateway-pip",
            network.PublicIPAddressInitArgs(
                public_ip_address_name=f"pip-vgw-{p}",
                resource_group_name=rg,
                location=loc,
                sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
                public_ip_allocation_method="Static",
                tags=tags,
            ),
            opts=child,
        )
        vpn = args.connectivity == "vpn"
        gateway = network.VirtualNetworkGateway(
            f"{name}-gateway",
            network.VirtualNetworkGatewayInitArgs(
                virtual_network_gateway_name=f"vgw-{p}",
                resource_group_name=rg,
                location=loc,
                gateway_type="Vpn" if vpn else "ExpressRoute",
                vpn_type="RouteBased" if vpn else None,
                vpn_gateway_generation="Generation2" if vpn else None,
                sku=network.VirtualNetworkGatewaySkuArgs(name=args.gateway_sku, tier=args.gateway_sku),
                active_active=False,
                enable_bgp=False,
                ip_configurations=[
                    network.VirtualNetworkGatewayIPConfigurationArgs(
                        name="default",
                        private_ip_allocation_method="Dynamic",
                        subnet=network.SubResourceArgs(id=gateway_subnet.id),
                        public_ip_address=network.SubResourceArgs(id=pip.id),
                    )
                ],
                tags=tags,
            ),
            opts=child,
        )
        if vpn:
            if not (args.on_prem_gateway_ip and args.shared_key is not None and args.on_prem_address_spaces):
                raise ValueError("a VPN needs on_prem_gateway_ip, on_prem_address_spaces and shared_key")
            local = network.LocalNetworkGateway(
                f"{name}-local-gateway",
                network.LocalNetworkGatewayInitArgs(
                    local_network_gateway_name=f"lgw-{p}",
                    resource_group_name=rg,
                    location=loc,
                    gateway_ip_address=args.on_prem_gateway_ip,
                    local_network_address_space=network.AddressSpaceArgs(
                        address_prefixes=list(args.on_prem_address_spaces)
                    ),
                    tags=tags,
                ),
                opts=child,
            )
            self.connection = network.VirtualNetworkGatewayConnection(
                f"{name}-connection",
                network.VirtualNetworkGatewayConnectionArgs(
                    virtual_network_gateway_connection_name=f"con-{p}-onprem",
                    resource_group_name=rg,
                    location=loc,
                    connection_type="IPsec",
                    connection_protocol="IKEv2",
                    virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=gateway.id),
                    local_network_gateway2=network.LocalNetworkGatewayArgs(id=local.id),
                    shared_key=pulumi.Output.secret(args.shared_key),
                    tags=tags,
                ),
                # ARM echoes the shared key back as an output: keep it encrypted in the state as well.
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["sharedKey"]),
            )
        else:
            if not args.express_route_circuit_id:
                raise ValueError("an ExpressRoute connection needs express_route_circuit_id")
            self.connection = network.VirtualNetworkGatewayConnection(
                f"{name}-connection",
                network.VirtualNetworkGatewayConnectionArgs(
                    virtual_network_gateway_connection_name=f"con-{p}-expressroute",
                    resource_group_name=rg,
                    location=loc,
                    connection_type="ExpressRoute",
                    virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=gateway.id),
                    peer=network.SubResourceArgs(id=args.express_route_circuit_id),
                    tags=tags,
                ),
                opts=child,
            )

        self.process_server_vm_id = vm.id
        self.process_server_private_ip = nic.ip_configurations.apply(
            lambda cfgs: (cfgs[0].private_ip_address if cfgs else None) or ""
        )
        self.gateway_id = gateway.id
        self.register_outputs(
            {
                "process_server_vm_id": self.process_server_vm_id,
                "process_server_private_ip": self.process_server_private_ip,
                "gateway_id": self.gateway_id,
            }
        )

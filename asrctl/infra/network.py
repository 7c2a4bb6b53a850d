"""A DR virtual network: VNet, one subnet per tier, one NSG per subnet that admits only ASR's ports.

The DR site builds two of them: the recovery network where failed-over VMs land, and the isolated test-failover
network used by drills, with the same subnet names (ASR picks a drill VM's test subnet by its recovery subnet's name). The test network is never peered with anything: a drill must not be able to reach
production (duplicate hostnames and IPs would collide), and this component has no peering argument at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network

from asrctl.infra.naming import AzureNames

# Ports ASR needs inbound from the on-prem ASR servers (replication appliances; classic: configuration/process
# servers), REFERENCE §1 and REFERENCE-modernized §2.1: 443 for control (HTTPS) and 9443 for replication data.
ASR_INBOUND_PORTS: tuple[str, ...] = ("443", "9443")


@dataclass(frozen=True)
class TierSubnet:
    tier: str
    """Required. Tier name (db, app, web); it names the subnet and its NSG."""
    prefix: str
    """Required. Address prefix inside the VNet's address space."""


@dataclass(frozen=True)
class DrNetworkArgs:
    role: str
    """Required. recovery or test (the isolated test-failover network); it goes into the Azure names."""
    names: AzureNames
    """Required. Azure names of the DR site (environment + region)."""
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    location: pulumi.Input[str]
    """Required. Region of the vault: failed-over VMs land in the vault's region."""
    address_space: str
    """Required. VNet address space (private CIDR, no overlap with on-prem or the other DR network)."""
    subnets: Sequence[TierSubnet]
    """Required. One subnet per tier."""
    asr_server_ranges: Sequence[str]
    """Required. On-prem ranges of the configuration/process servers: the only sources NSGs admit (443, 9443)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Optional. Tags of the VNet and NSGs. Default none."""


def asr_security_rules(asr_server_ranges: Sequence[str]) -> list[network.SecurityRuleArgs]:
    """Allow 443 and 9443 from the ASR server ranges; deny everything else from the Internet explicitly, so a
    later public IP on a failed-over VM does not silently open it (the default rules would only deny at 65500)."""
    return [
        network.SecurityRuleArgs(
            name="allow-asr-control-and-data-inbound",
            description="ASR control (443) and replication data (9443) from the on-prem ASR servers.",
            priority=100,
            direction=network.SecurityRuleDirection.INBOUND,
            access=network.SecurityRuleAccess.ALLOW,
            protocol=network.SecurityRuleProtocol.TCP,
            source_address_prefixes=list(asr_server_ranges),
            source_port_range="*",
            destination_address_prefix="VirtualNetwork",
            destination_port_ranges=list(ASR_INBOUND_PORTS),
        ),
        network.SecurityRuleArgs(
            name="deny-internet-inbound",
            description="Nothing from the Internet reaches DR subnets.",
            priority=4000,
            direction=network.SecurityRuleDirection.INBOUND,
            access=network.SecurityRuleAccess.DENY,
            protocol=network.SecurityRuleProtocol.ASTERISK,
            source_address_prefix="Internet",
            source_port_range="*",
            destination_address_prefix="*",
            destination_port_range="*",
        ),
    ]


class DrNetwork(pulumi.ComponentResource):
    """VNet + per-tier subnets, each with its own NSG (see :func:`asr_security_rules`)."""

    vnet_id: pulumi.Output[str]
    """ARM id of the VNet; protected items use it as the target network (recovery) or drills as the test network."""
    vnet_name: pulumi.Output[str]
    """Azure name of the VNet; the failback block adds GatewaySubnet to the recovery VNet by this name."""
    subnet_ids: dict[str, pulumi.Output[str]]
    """ARM id per tier; classic protected items use it as the target subnet of each machine."""
    subnet_names: dict[str, str]
    """Azure subnet name per tier (identical in the recovery and test networks); modernized protected items name
    their target and test subnets by it."""
    subnet_resources: list[network.Subnet]
    """The subnets in creation order; a block that adds a subnet to this VNet depends on the last one."""

    def __init__(self, name: str, args: DrNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:DrNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            network.VirtualNetworkInitArgs(
                virtual_network_name=args.names.virtual_network(args.role),
                resource_group_name=args.resource_group_name,
                location=args.location,
                address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
                tags=dict(args.tags),
            ),
            # Subnets are separate resources (below); azure-native keeps subnets it does not manage inline, so
            # updating the VNet never drops the failback GatewaySubnet another block adds.
            opts=child,
        )
        self.subnet_ids = {}
        self.subnet_names = {}
        self.subnet_resources = []
        previous: network.Subnet | None = None
        for subnet in args.subnets:
            nsg = network.NetworkSecurityGroup(
                f"{name}-nsg-{subnet.tier}",
                network.NetworkSecurityGroupInitArgs(
                    network_security_group_name=args.names.network_security_group(args.role, subnet.tier),
                    resource_group_name=args.resource_group_name,
                    location=args.location,
                    security_rules=asr_security_rules(args.asr_server_ranges),
                    tags=dict(args.tags),
                ),
                opts=child,
            )
            created = network.Subnet(
                f"{name}-snet-{subnet.tier}",
                network.SubnetInitArgs(
                    # The same Azure name in both networks: ASR puts a test-failover VM in the test subnet named
                    # like its recovery subnet (otherwise in the alphabetically first one).
                    subnet_name=args.names.subnet(subnet.tier),
                    virtual_network_name=vnet.name,
                    resource_group_name=args.resource_group_name,
                    address_prefix=subnet.prefix,
                    network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
                ),
                # ARM serialises subnet writes per VNet ("AnotherOperationInProgress"); chain them.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous] if previous else []),
            )
            self.subnet_ids[subnet.tier] = created.id
            self.subnet_names[subnet.tier] = args.names.subnet(subnet.tier)
            self.subnet_resources.append(created)
            previous = created
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.register_outputs({"vnet_id": self.vnet_id, "vnet_name": self.vnet_name, "subnet_ids": self.subnet_ids})

"""nic-no-public-ip: the process server and failed-over VMs are reached over VPN/ExpressRoute, never directly."""

from asrctl.policy.rule import NIC, VM, Rule, dig, items


def _validate(args, report_violation) -> None:
    if args.resource_type == NIC:
        configs = [(c, "publicIPAddress") for c in items(args.props, "ipConfigurations")]
    elif args.resource_type == VM:
        configs = [
            (c, "publicIPAddressConfiguration")
            for nic in items(args.props, "networkProfile", "networkInterfaceConfigurations")
            for c in items(nic, "ipConfigurations")
        ]
    else:
        return
    for config, key in configs:
        if dig(config, key) is not None:
            name = dig(config, "name", default="(unnamed)")
            report_violation(f"IP configuration {name} has a {key}; remove it and reach the VM over VPN/ExpressRoute.")


RULE = Rule(
    name="nic-no-public-ip",
    description="Prohibits public IP addresses on network interfaces.",
    severity="high",
    enforcement="mandatory",
    remediation="Drop public_ip_address from the NIC's ip_configurations; use the site-to-site VPN or ExpressRoute.",
    anchor="Azure Policy 83a86a26-fd1f-447c-b59d-e51f44264114",
    url="https://learn.microsoft.com/azure/virtual-network/ip-services/public-ip-addresses",
    validate=_validate,
    tags=("network", "compute"),
)

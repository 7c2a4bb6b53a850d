"""The classic blocks of the DR site, composed from the stack config (called by ``DrSite`` for ``classic``).

InMageAzureV2/InMage policies; on-prem ASR servers (vSphere: configuration server, scale-out process servers, master
targets) sized from the machines' churn; the failback infrastructure behind ``failback.enabled``; and — once the
configuration server has registered — phase 2 protection (container mapping, InMageAzureV2 protected items). Every
block is a child of the ``DrSite`` component; the logical names are those of the first implementation, so URNs of
existing classic stacks are unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from asrctl.config import NS, Registration
from asrctl.errors import BadInput
from asrctl.infra.classic.config_server import ConfigurationServerVm, ConfigurationServerVmArgs
from asrctl.infra.classic.failback import FailbackInfrastructure, FailbackInfrastructureArgs
from asrctl.infra.classic.protection import ProtectedMachine, Protection, ProtectionArgs
from asrctl.infra.classic.replication_policy import ReplicationPolicies, ReplicationPoliciesArgs
from asrctl.infra.classic.scale_out_servers import ScaleOutServers, ScaleOutServersArgs
from asrctl.infra.ovf_vm import guest_network_settings
from asrctl.sizing import plan_capacity

if TYPE_CHECKING:
    from asrctl.infra.site_blocks import SiteBlocks

#: What phase 2 needs, in the order the operator finds them after registering the configuration server.
REGISTRATION_REQUIRED = ("fabricName", "protectionContainerName", "processServerId", "masterTargetId", "protectableItems")
REGISTRATION_OPTIONAL = ("runAsAccountId", "failbackProcessServerId", "retentionDrive")
#: What `asrctl preview` says about the classic architecture, once per preview.
RETIREMENT_NOTE = (
    "architecture classic: Microsoft retired classic VMware → Azure disaster recovery (enabling replication has been "
    "blocked since 31 January 2026, support ended in March 2026); move the machines to a modernized stack (a new "
    "stack with architecture: modernized and its own vault) with `asrctl migrate --stack {stack} --to-stack "
    "<modernized stack>`"
)


def static_ip_hint(ip: str, prefix_length: int, gateway: str, dns_servers: tuple[str, ...]) -> str:
    """A server's network settings, and where the VM carries them (guestinfo keys) for scripts."""
    keys = ", ".join(guest_network_settings(ip, prefix_length, gateway, dns_servers))
    return (
        f"{ip}/{prefix_length}, gateway {gateway}, DNS {', '.join(dns_servers)}; also readable in the "
        f"guest with `vmtoolsd --cmd \"info-get <key>\"` for {keys}"
    )


def add_classic_blocks(blocks: SiteBlocks, multi_vm_groups: dict[str, str]) -> None:
    """Build the classic blocks on the site and add their outputs."""
    site, name, cfg, tags, child, outputs = blocks.site, blocks.name, blocks.cfg, blocks.tags, blocks.child, blocks.outputs
    stack_name = blocks.stack_name
    pulumi.log.warn(RETIREMENT_NOTE.format(stack=stack_name), site)
    rg_name = site.resource_group.name
    location = site.resource_group.location
    rep = cfg.replication
    cs = cfg.configuration_server
    assert cs is not None  # validated: a classic stack has a configuration server

    site.policies = ReplicationPolicies(
        f"{name}-policies",
        ReplicationPoliciesArgs(
            vault_name=site.vault.name,
            resource_group_name=rg_name,
            replication_policy_name=site.names.replication_policy("replication"),
            failback_policy_name=site.names.replication_policy("failback"),
            rpo_threshold_minutes=rep.rpo_threshold_minutes,
            recovery_point_retention_hours=rep.recovery_point_retention_hours,
            app_consistent_frequency_minutes=rep.app_consistent_frequency_minutes,
            crash_consistent_frequency_minutes=rep.crash_consistent_frequency_minutes,
            multi_vm_sync=rep.multi_vm_sync,
        ),
        opts=child,
    )

    # -- On-prem: configuration server (+ scale-out servers) sized from the machines' churn ------------------
    capacity = plan_capacity(cfg)
    blocks.warn_capacity(capacity.warnings)
    blocks.place_on_vsphere()
    site.configuration_server = ConfigurationServerVm(
        f"{name}-config-server",
        ConfigurationServerVmArgs(
            placement=site.vsphere,
            vm_name=cs.name,
            size=capacity.configuration_server,
            ip=cs.ip,
            prefix_length=cs.prefix_length,
            gateway=cs.gateway,
            dns_servers=tuple(cs.dns_servers),
            ovf_url=cs.ovf_url,
            ovf_path=cs.ovf_path,
            folder=cfg.vcenter.folder,
        ),
        opts=child,
    )
    outputs["configuration_server_ip"] = site.configuration_server.ip
    if capacity.process_servers or capacity.separate_master_target or capacity.linux_master_target:
        site.scale_out_servers = ScaleOutServers(
            f"{name}-scale-out",
            ScaleOutServersArgs(
                placement=site.vsphere,
                name_prefix=cs.name,
                server_template=cs.server_template,
                process_servers=capacity.process_servers,
                process_server_size=capacity.process_server_size,
                separate_master_target=capacity.separate_master_target,
                linux_master_target_template=cs.linux_master_target_template if capacity.linux_master_target else None,
                folder=cfg.vcenter.folder,
            ),
            opts=child,
        )
        outputs["process_server_names"] = site.scale_out_servers.process_server_names
        outputs["master_target_names"] = site.scale_out_servers.master_target_names

    # -- Failback: temporary Azure process server + VPN/ExpressRoute, only while enabled ----------------------
    fb = cfg.failback
    net = cfg.network
    if fb.enabled:
        if not net.gateway_subnet_prefix:
            raise BadInput(f"{NS}:network.gatewaySubnetPrefix: missing; failback needs a GatewaySubnet (e.g. a /27)")
        vpn = fb.connectivity == "vpn"
        tier = fb.process_server_subnet or net.recovery.subnets[0].name
        assert fb.expires_on is not None  # validated: failback.expiresOn is required when failback is enabled
        site.failback = FailbackInfrastructure(
            f"{name}-failback",
            FailbackInfrastructureArgs(
                resource_group_name=rg_name,
                location=location,
                recovery_vnet_name=site.recovery_network.vnet_name,
                process_server_subnet_id=site.recovery_network.subnet_ids[tier],
                process_server_name=f"asrps{cfg.environment}"[:15],
                process_server_ip=fb.process_server_ip,
                process_server_vm_size=fb.process_server_vm_size,
                # Its own secret: reusing the configuration-server passphrase would hand every VM administrator
                # the key that registers servers with the vault.
                admin_password=blocks.require_secret("failbackAdminPassword"),
                expires_on=fb.expires_on.isoformat(),
                connectivity=fb.connectivity,
                gateway_subnet_prefix=net.gateway_subnet_prefix,
                gateway_sku=fb.vpn_gateway_sku if vpn else "ErGw1AZ",
                on_prem_gateway_ip=fb.on_prem_gateway_ip,
                on_prem_address_spaces=tuple(net.on_prem.address_spaces),
                shared_key=blocks.require_secret("vpnSharedKey") if vpn else None,
                express_route_circuit_id=fb.express_route_circuit_id,
                depends_on_subnets=tuple(site.recovery_network.subnet_resources),
                names_prefix=site.names_suffix,
                tags=tags,
            ),
            opts=child,
        )
        outputs["failback_process_server_ip"] = site.failback.process_server_private_ip
        outputs["failback_gateway_id"] = site.failback.gateway_id

    # -- Phase 2: after the configuration server registered ----------------------------------------------------
    reg = cfg.registration
    if reg is None:
        pulumi.log.info(
            f"phase 2 not configured: next, deploy the configuration server {cs.name}, give it its static IP in "
            "Windows before its setup wizard ("
            f"{static_ip_hint(cs.ip, cs.prefix_length, cs.gateway, tuple(cs.dns_servers))}; pulumi-vsphere cannot "
            "customize an OVF-deployed guest, so nothing applies them for you), then register the configuration "
            f"server {cs.name} ({cs.ip}) with the vault, then set {NS}:registration with "
            f"{', '.join(REGISTRATION_REQUIRED)} (required) and {', '.join(REGISTRATION_OPTIONAL)} (optional) from "
            f"the vault's Site Recovery infrastructure (`asrctl discover --stack {stack_name}` prints them); the next "
            "`pulumi up` creates the container mapping, the protected items and the recovery plans",
            site,
        )
        return
    assert isinstance(reg, Registration)  # validated: a classic stack's registration has the classic shape
    site.protection = Protection(
        f"{name}-protection",
        ProtectionArgs(
            vault_name=site.vault.name,
            vault_id=site.vault.id,
            resource_group_name=rg_name,
            registration=reg,
            replication_policy_id=site.policies.replication_policy_id,
            cache_storage_account_id=site.cache_storage.id,
            target_resource_group_id=site.resource_group.id,
            target_network_id=site.recovery_network.vnet_id,
            disk_type=rep.target_disk_type,
            machines=tuple(
                ProtectedMachine(
                    machine=m,
                    subnet_id=site.recovery_network.subnet_ids[m.target_subnet],
                    multi_vm_group_name=multi_vm_groups.get(m.name),
                )
                for m in cfg.machines
            ),
        ),
        opts=child,
    )
    site.fabric_name = reg.fabric_name

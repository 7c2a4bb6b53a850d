"""The DR site's blocks beyond the Azure foundation, composed from the stack config (called by ``DrSite``).

On-prem ASR servers (vSphere: configuration server, scale-out process servers, master targets), failback
infrastructure, RPO alerting, Automation runbooks and — once the configuration server has registered — phase 2
(container mapping, protected items, recovery plans). Kept beside ``site.py`` so the composition there stays a
short list; every block is still a child of the ``DrSite`` component.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pulumi

from asrctl.config import NS, StackConfig
from asrctl.errors import BadInput
from asrctl.infra.automation import RunbookAutomation, RunbookAutomationArgs, collect_runbooks, sas_expiry
from asrctl.infra.config_server import ConfigurationServerVm, ConfigurationServerVmArgs, guest_network_settings
from asrctl.infra.failback import FailbackInfrastructure, FailbackInfrastructureArgs
from asrctl.infra.monitoring import RpoAlerting, RpoAlertingArgs
from asrctl.infra.naming import WORKLOAD, region_short_name
from asrctl.infra.protection import ProtectedMachine, Protection, ProtectionArgs
from asrctl.infra.recovery_plans import RecoveryPlans, RecoveryPlansArgs
from asrctl.infra.scale_out_servers import ScaleOutServers, ScaleOutServersArgs
from asrctl.infra.vsphere_provider import VSpherePlacement, VSpherePlacementArgs
from asrctl.plans import load_plans_for_stack
from asrctl.project import project_dir
from asrctl.sizing import plan_capacity

if TYPE_CHECKING:
    from asrctl.infra.site import DrSite

#: What phase 2 needs, in the order the operator finds them after registering the configuration server.
REGISTRATION_REQUIRED = ("fabricName", "protectionContainerName", "processServerId", "masterTargetId", "protectableItems")
REGISTRATION_OPTIONAL = ("runAsAccountId", "failbackProcessServerId", "retentionDrive")


def static_ip_hint(cs: Any) -> str:
    """The configuration server's network settings, and where the VM carries them (guestinfo keys) for scripts."""
    keys = ", ".join(guest_network_settings(cs.ip, cs.prefix_length, cs.gateway, tuple(cs.dns_servers)))
    return (
        f"{cs.ip}/{cs.prefix_length}, gateway {cs.gateway}, DNS {', '.join(cs.dns_servers)}; also readable in the "
        f"guest with `vmtoolsd --cmd \"info-get <key>\"` for {keys}"
    )


def add_recovery_blocks(
    site: DrSite, name: str, cfg: StackConfig, tags: dict[str, str], child: pulumi.ResourceOptions
) -> None:
    """Build the blocks on ``site`` (attributes below) and set ``site.recovery_block_outputs``."""
    config = pulumi.Config(NS)
    suffix = f"{WORKLOAD}-{cfg.environment}-{region_short_name(cfg.location)}"
    rg_name = site.resource_group.name
    location = site.resource_group.location
    outputs: dict[str, Any] = {}

    # -- On-prem: configuration server (+ scale-out servers) sized from the machines' churn ------------------
    capacity = plan_capacity(cfg)
    for warning in capacity.warnings:
        pulumi.log.warn(f"capacity: {warning} (see `asrctl capacity --stack {pulumi.get_stack()}`)", site)
    site.vsphere = VSpherePlacement(
        f"{name}-vsphere",
        VSpherePlacementArgs(vcenter=cfg.vcenter, password=config.require_secret("vcenterPassword")),
        opts=child,
    )
    cs = cfg.configuration_server
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
    site.scale_out_servers = None
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
    site.failback = None
    if fb.enabled:
        if not net.gateway_subnet_prefix:
            raise BadInput(f"{NS}:network.gatewaySubnetPrefix: missing; failback needs a GatewaySubnet (e.g. a /27)")
        vpn = fb.connectivity == "vpn"
        tier = fb.process_server_subnet or net.recovery.subnets[0].name
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
                admin_password=config.require_secret("failbackAdminPassword"),
                # Validated: failback.expiresOn is required when failback is enabled.
                expires_on=fb.expires_on.isoformat(),
                connectivity=fb.connectivity,
                gateway_subnet_prefix=net.gateway_subnet_prefix,
                gateway_sku=fb.vpn_gateway_sku if vpn else "ErGw1AZ",
                on_prem_gateway_ip=fb.on_prem_gateway_ip,
                on_prem_address_spaces=tuple(net.on_prem.address_spaces),
                shared_key=config.require_secret("vpnSharedKey") if vpn else None,
                express_route_circuit_id=fb.express_route_circuit_id,
                depends_on_subnets=tuple(site.recovery_network.subnet_resources),
                names_prefix=suffix,
                tags=tags,
            ),
            opts=child,
        )
        outputs["failback_process_server_ip"] = site.failback.process_server_private_ip
        outputs["failback_gateway_id"] = site.failback.gateway_id

    # -- RPO alerting -------------------------------------------------------------------------------------------
    site.rpo_alerting = RpoAlerting(
        f"{name}-rpo-alerting",
        RpoAlertingArgs(
            resource_group_name=rg_name,
            location=location,
            vault_id=site.vault.id,
            rpo_threshold_minutes=cfg.replication.rpo_threshold_minutes,
            emails=tuple(cfg.alerts.emails),
            workspace_name=f"log-{suffix}",
            action_group_name=f"ag-{suffix}-rpo",
            alert_rule_name=f"alert-{suffix}-rpo",
            tags=tags,
        ),
        opts=child,
    )
    outputs["log_analytics_workspace_id"] = site.rpo_alerting.workspace_id
    outputs["rpo_alert_rule_id"] = site.rpo_alerting.alert_rule_id

    # -- Automation: the runbooks recovery plans call -----------------------------------------------------------
    stack_name = pulumi.get_stack()
    plans = load_plans_for_stack(cfg, stack_name)
    runbooks = collect_runbooks(project_dir() / "runbooks" / "actions", plans)
    site.automation = RunbookAutomation(
        f"{name}-automation",
        RunbookAutomationArgs(
            resource_group_name=rg_name,
            location=site.vault.location,
            account_name=f"aa-{suffix}",
            artifacts_storage_account_name=site.names.storage_account("art"),
            runbooks=tuple(runbooks),
            sas_expiry=sas_expiry(date.today()),
            tags=tags,
        ),
        opts=child,
    )
    outputs["automation_account_id"] = site.automation.account_id
    outputs["runbook_ids"] = site.automation.runbook_ids

    # -- Phase 2: after the configuration server registered ----------------------------------------------------
    site.protection = None
    site.recovery_plans = None
    reg = cfg.registration
    if reg is None:
        pulumi.log.info(
            f"phase 2 not configured: next, deploy the configuration server {cs.name}, give it its static IP in "
            f"Windows before its setup wizard ({static_ip_hint(cs)}; pulumi-vsphere cannot customize an OVF-deployed "
            "guest, so nothing applies them for you), then register the configuration server "
            f"{cs.name} ({cs.ip}) with the vault, then set {NS}:registration with {', '.join(REGISTRATION_REQUIRED)} (required) and "
            f"{', '.join(REGISTRATION_OPTIONAL)} (optional) from the vault's Site Recovery infrastructure "
            f"(`asrctl discover --stack {stack_name}` prints them); the next `pulumi up` creates the container "
            "mapping, the protected items and the recovery plans",
            site,
        )
    else:
        in_plan = {m: p.name for p in plans for m in p.machines}
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
                disk_type=cfg.replication.target_disk_type,
                machines=tuple(
                    ProtectedMachine(
                        machine=m,
                        subnet_id=site.recovery_network.subnet_ids[m.target_subnet],
                        # Multi-VM consistency groups follow the recovery plans: an app fails over consistently.
                        multi_vm_group_name=in_plan.get(m.name) if cfg.replication.multi_vm_sync else None,
                    )
                    for m in cfg.machines
                ),
            ),
            opts=child,
        )
        site.recovery_plans = RecoveryPlans(
            f"{name}-recovery-plans",
            RecoveryPlansArgs(
                vault_name=site.vault.name,
                vault_id=site.vault.id,
                resource_group_name=rg_name,
                fabric_name=reg.fabric_name,
                plans=tuple(plans),
                protected_item_ids=site.protection.protected_item_ids,
                protected_items=tuple(site.protection.items.values()),
                runbook_ids=site.automation.runbook_ids,
            ),
            opts=child,
        )
        outputs["protected_item_ids"] = site.protection.protected_item_ids
        outputs["recovery_plan_ids"] = site.recovery_plans.plan_ids
    site.recovery_block_outputs = outputs

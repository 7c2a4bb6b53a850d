"""The modernized blocks of the DR site, composed from the stack config (called by ``DrSite`` for ``modernized``).

InMageRcm/InMageRcmFailback policies; the replication appliances on vSphere (one VM per declared appliance, sized by
:func:`asrctl.sizing.plan_appliances`); between the phases, the manual registration steps per appliance as preview
notes; and — once the appliances have registered — phase 2 protection (container mappings, InMageRcm protected items,
machines balanced over the appliances by ``StackConfig.appliance_assignment``). Nothing of the classic failback
infrastructure exists here: failback goes through the appliances' reprotect agents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from asrctl.config import NS, ModernizedRegistration, StackConfig
from asrctl.infra.modernized.appliances import ApplianceVm, ReplicationApplianceVms, ReplicationApplianceVmsArgs
from asrctl.infra.modernized.protection import RcmProtectedMachine, RcmProtection, RcmProtectionArgs
from asrctl.infra.modernized.replication_policy import RcmReplicationPolicies, RcmReplicationPoliciesArgs
from asrctl.infra.ovf_vm import guest_network_settings
from asrctl.sizing import plan_appliances

if TYPE_CHECKING:
    from asrctl.infra.site import DrSite
    from asrctl.infra.site_blocks import SiteBlocks

#: What phase 2 needs, in the order the operator finds them after registering the appliances.
REGISTRATION_REQUIRED = ("fabricName", "protectionContainerName", "vmwareSiteId", "appliances", "discoveredMachines")
REGISTRATION_OPTIONAL = ("runAsAccountId", "failbackDatastore")


def appliance_steps(cfg: StackConfig, vault_name: str, index: int, appliance: Any) -> str:
    """The manual registration steps of one appliance, as Microsoft documents them (REFERENCE-modernized §2.3)."""
    ra = cfg.replication_appliances
    assert ra is not None  # validated: a modernized stack has appliances
    keys = ", ".join(guest_network_settings(appliance.ip, ra.prefix_length, ra.gateway, tuple(ra.dns_servers)))
    return (
        f"appliance {index} of {len(ra.appliances)}: {appliance.name} ({appliance.role}, {appliance.ip}): "
        f"1) power it on and give Windows its static IP {appliance.ip}/{ra.prefix_length}, gateway {ra.gateway}, "
        f"DNS {', '.join(ra.dns_servers)} (pulumi-vsphere cannot customize an OVF-deployed guest; the values are also "
        f"in the guestinfo keys {keys}); "
        f"2) in the Appliance Configuration Manager set the friendly name {appliance.name} (it cannot be changed "
        "later); "
        f"3) paste the appliance key generated in vault {vault_name} (Site Recovery > Prepare infrastructure); "
        "4) sign in to Azure with the device code it shows, within 5 minutes (the code expires); "
        f"5) add vCenter {cfg.vcenter.server} with the same friendly name on every appliance; "
        "6) wait until its components are installed and it shows as registered (about 30 minutes) before starting "
        "the next appliance: appliances register one at a time"
    )


def add_modernized_blocks(blocks: SiteBlocks, multi_vm_groups: dict[str, str]) -> None:
    """Build the modernized blocks on the site and add their outputs."""
    site, name, cfg, child, outputs = blocks.site, blocks.name, blocks.cfg, blocks.child, blocks.outputs
    stack_name = blocks.stack_name
    rep = cfg.replication
    ra = cfg.replication_appliances
    assert ra is not None  # validated: a modernized stack has appliances

    site.policies = RcmReplicationPolicies(
        f"{name}-policies",
        RcmReplicationPoliciesArgs(
            vault_name=site.vault.name,
            resource_group_name=site.resource_group.name,
            replication_policy_name=site.names.replication_policy("replication"),
            failback_policy_name=site.names.replication_policy("failback"),
            recovery_point_history_minutes=rep.recovery_point_retention_hours * 60,
            app_consistent_frequency_minutes=rep.app_consistent_frequency_minutes,
            crash_consistent_frequency_minutes=rep.crash_consistent_frequency_minutes,
            multi_vm_sync=rep.multi_vm_sync,
        ),
        opts=child,
    )

    # -- On-prem: the replication appliances, each sized for the machines it carries -------------------------
    plan = plan_appliances(cfg)
    blocks.warn_capacity(plan.warnings)
    sizes = {a.name: a.size for a in plan.appliances}
    blocks.place_on_vsphere()
    site.appliances = ReplicationApplianceVms(
        f"{name}-appliances",
        ReplicationApplianceVmsArgs(
            placement=site.vsphere,
            # Validated: every declared appliance fits a row (asrctl.sizing.appliance_shortfall).
            appliances=tuple(ApplianceVm(a.name, a.ip, a.role, sizes[a.name]) for a in ra.appliances),  # type: ignore[arg-type]
            prefix_length=ra.prefix_length,
            gateway=ra.gateway,
            dns_servers=tuple(ra.dns_servers),
            ovf_url=ra.ovf_url,
            ovf_path=ra.ovf_path,
            folder=cfg.vcenter.folder,
        ),
        opts=child,
    )
    outputs["replication_appliance_ips"] = site.appliances.ips

    # -- Phase 2: after the appliances registered --------------------------------------------------------------
    reg = cfg.registration
    if reg is None:
        vault_name = site.names.vault
        pulumi.log.info(
            f"phase 2 not configured: next, register the {len(ra.appliances)} replication appliance(s) with vault "
            f"{vault_name}, one at a time (Azure sign-in is a device code a person enters, so this step cannot be "
            "automated):",
            site,
        )
        for i, appliance in enumerate(ra.appliances, start=1):
            pulumi.log.info(appliance_steps(cfg, vault_name, i, appliance), site)
        pulumi.log.info(
            f"then run `asrctl discover --stack {stack_name}` and set {NS}:registration with "
            f"{', '.join(REGISTRATION_REQUIRED)} (required) and {', '.join(REGISTRATION_OPTIONAL)} (optional) from "
            "what it prints; the next `pulumi up` creates the container mappings, the protected items and the "
            "recovery plans",
            site,
        )
        return
    assert isinstance(reg, ModernizedRegistration)  # validated: a modernized stack's registration has this shape
    assignment = cfg.appliance_assignment
    _warn_split_groups(site, multi_vm_groups, {m: a.name for m, a in assignment.items()})
    site.protection = RcmProtection(
        f"{name}-protection",
        RcmProtectionArgs(
            vault_name=site.vault.name,
            vault_id=site.vault.id,
            resource_group_name=site.resource_group.name,
            fabric_name=reg.fabric_name,
            protection_container_name=reg.protection_container_name,
            replication_policy_id=site.policies.replication_policy_id,
            failback_policy_id=site.policies.failback_policy_id if cfg.failback.enabled else None,
            cache_storage_account_id=site.cache_storage.id,
            target_resource_group_id=site.resource_group.id,
            target_network_id=site.recovery_network.vnet_id,
            test_network_id=site.test_network.vnet_id,
            disk_type=rep.target_disk_type,
            run_as_account_id=reg.run_as_account_id,
            machines=tuple(
                RcmProtectedMachine(
                    machine=m,
                    fabric_discovery_machine_id=reg.discovered_machines[m.name],
                    appliance=assignment[m.name].name,
                    process_server_id=reg.appliances[assignment[m.name].name].process_server_id,
                    subnet_name=site.recovery_network.subnet_names[m.target_subnet],
                    multi_vm_group_name=multi_vm_groups.get(m.name),
                )
                for m in cfg.machines
            ),
        ),
        opts=child,
    )
    site.fabric_name = reg.fabric_name
    if site.protection.failback_mapping_id is not None:
        outputs["failback_mapping_id"] = site.protection.failback_mapping_id


def _warn_split_groups(site: DrSite, groups: dict[str, str], appliance_of: dict[str, str]) -> None:
    """A multi-VM group whose machines replicate through different appliances: say so (the members of one group
    presumably need one process server [U], REFERENCE-modernized §3.1)."""
    members: dict[str, set[str]] = {}
    for machine, group in groups.items():
        members.setdefault(group, set()).add(appliance_of[machine])
    for group, appliances in sorted(members.items()):
        if len(appliances) > 1:
            pulumi.log.warn(
                f"multi-VM group {group} spans appliances {', '.join(sorted(appliances))}; keep its machines on one "
                "appliance with machines[].appliance",
                site,
            )

"""World objects → the JSON ASR answers with, built from the SDK's own models (``Model(**fields).as_dict()``), so a
field the SDK does not know is a ``TypeError`` here rather than a silent invention. Shapes follow the recordings
(CLIrec item/fabric/OffAzure bodies, REST examples for jobs and plans)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from azure.mgmt.recoveryservicessiterecovery import models as m

from . import rules
from .world import AZURE, Appliance, Fabric, Item, Job, Machine, Mapping, Plan, Policy, World

NEVER = "1753-01-01T01:01:01Z"  # CLIrec: an idle item's currentScenario.startTime
TYPE = "Microsoft.RecoveryServices/vaults"


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


# -- fabrics and infrastructure --------------------------------------------------------------------------------------
def fabric(world: World, f: Fabric) -> dict[str, Any]:
    now = world.now()
    if f.classic:
        details: Any = m.VMwareDetails(
            process_servers=[
                m.ProcessServer(friendly_name=p.name, id=p.id, ip_address=p.ip, os_type=p.os, agent_version=f.cs_version,
                                last_heartbeat=now, version_status="Supported", ps_service_status="Running",
                                health="Normal", machine_count="0")  # fmt: skip
                for p in f.process_servers
            ],
            master_target_servers=[
                m.MasterTargetServer(
                    id=t.id, ip_address=t.ip, name=t.name, os_type=t.os, agent_version=f.cs_version, last_heartbeat=now,
                    version_status="Supported",
                    retention_volumes=[m.RetentionVolume(volume_name=v, capacity_in_bytes=2**40, free_space_in_bytes=2**39,
                                                         threshold_percentage=80) for v in t.retention_volumes],
                    data_stores=[m.DataStore(symbolic_name=d, uuid=f"ds-{d}", capacity="4096", free_space="2048", type="VMFS")
                                 for d in t.datastores],
                    disk_count=3,
                )  # fmt: skip
                for t in f.master_targets
            ],
            run_as_accounts=[m.RunAsAccount(account_id=a.id, account_name=a.name) for a in f.run_as_accounts],
            process_server_count=str(len(f.process_servers)),
            ip_address=f.cs_ip,
            host_name=f.cs_host,
            agent_version=f.cs_version,
            last_heartbeat=now,
            version_status="Supported",
            cs_service_status="Running",
        )
    else:
        details = m.InMageRcmFabricSpecificDetails(
            vmware_site_id=world.site_id(f.site),
            physical_site_id=world.site_id(f.site).replace("VMwareSites", "ServerSites").replace("vmwaresite", "physicalsite"),
            service_endpoint="https://pod01-srs1.weu.hypervrecoverymanager.windowsazure.com",
            service_resource_id="8238764630195140046",
            service_container_id="5269262064710",
            data_plane_uri="https://pod01-prot2.weu.backup.windowsazure.com",
            control_plane_uri="https://pod01-rcm1.weu.hypervrecoverymanager.windowsazure.com",
            process_servers=[_ps(world, f, a) for a in f.appliances],
            rcm_proxies=[m.RcmProxyDetails(**_component(world, f, a, "rcm_proxies"), client_authentication_type="Certificate")
                         for a in f.appliances],
            push_installers=[m.PushInstallerDetails(**_component(world, f, a)) for a in f.appliances],
            replication_agents=[m.ReplicationAgentDetails(**_component(world, f, a, "replication_agents")) for a in f.appliances],
            reprotect_agents=[
                m.ReprotectAgentDetails(**_component(world, f, a), accessible_datastores=list(a.datastores),
                                        vcenter_id=f"{world.site_id(f.site)}/vcenters/{a.vcenter}",
                                        last_discovery_in_utc=now, protected_item_count=_count(world, a))  # fmt: skip
                for a in f.appliances
                if a.reprotect_agent
            ],
            mars_agents=[m.MarsAgentDetails(**_component(world, f, a, "mars_agents")) for a in f.appliances],
            dras=[
                m.DraDetails(id=a.id, name=a.name, bios_id=a.id.upper(), version=a.versions.get("dras", a.version), last_heartbeat_utc=now,
                             health=a.health, health_errors=[], forward_protected_item_count=_count(world, a),
                             reverse_protected_item_count=0)  # fmt: skip
                for a in f.appliances
            ],
            agent_details=[],
        )
    return m.Fabric(
        id=world.fabric_id(f.name),
        name=f.name,
        type=f"{TYPE}/replicationFabrics",
        properties=m.FabricProperties(
            friendly_name=f.friendly_name,
            internal_identifier=f.internal_id,
            bcdr_state="Valid",
            custom_details=details,
            health_error_details=[],
            health="Normal",
        ),
    ).as_dict()


def _component(world: World, f: Fabric, a: Appliance, kind: str = "") -> dict[str, Any]:
    """The fields every appliance component shares; ``kind`` (a customDetails list name) picks its version."""
    return {
        "id": a.id,
        "name": a.name,
        "bios_id": a.id.upper(),
        "fabric_object_id": f"{world.site_id(f.site)}/machines/{a.vcenter}_50{a.id[2:]}",
        "fqdn": a.name,
        "version": a.versions.get(kind, a.version),
        "last_heartbeat_utc": world.now(),
        "health": a.health,
        "health_errors": [],
    }


def _count(world: World, a: Appliance) -> int:
    return sum(1 for i in world.items.values() if i.process_server_id == a.id and not i.disabled)


def _ps(world: World, f: Fabric, a: Appliance) -> m.ProcessServerDetails:
    base = _component(world, f, a)
    return m.ProcessServerDetails(
        **base, ip_addresses=[a.ip], total_memory_in_bytes=34359738368, available_memory_in_bytes=30000000000,
        used_memory_in_bytes=4359738368, memory_usage_percentage=12.7, total_space_in_bytes=665717829632,
        available_space_in_bytes=600000000000, used_space_in_bytes=65717829632, free_space_percentage=90.1,
        throughput_upload_pending_data_in_bytes=0, throughput_in_bytes=0, processor_usage_percentage=3.0,
        throughput_status="Healthy", system_load=0, system_load_status="Healthy", disk_usage_status="Healthy",
        memory_usage_status="Healthy", processor_usage_status="Healthy", protected_item_count=_count(world, a),
        historic_health="Normal",
    )  # fmt: skip


def container(world: World, f: Fabric) -> dict[str, Any]:
    return m.ProtectionContainer(
        id=world.container_id(f.name, f.container),
        name=f.container,
        type=f"{TYPE}/replicationFabrics/replicationProtectionContainers",
        properties=m.ProtectionContainerProperties(
            fabric_friendly_name=f.friendly_name,
            friendly_name=f.container if not f.classic else f.friendly_name,
            fabric_type=f.instance_type,
            protected_item_count=sum(1 for i in world.items.values() if i.container == f.container and not i.disabled),
            pairing_status="Paired",
            role="Primary",
        ),
    ).as_dict()


def protectable(world: World, f: Fabric, machine: Machine) -> dict[str, Any]:
    protected = next((i for i in world.items.values() if i.machine is machine and not i.disabled), None)
    return m.ProtectableItem(
        id=f"{world.container_id(f.name, f.container)}/replicationProtectableItems/{machine.protectable_name}",
        name=machine.protectable_name,
        type=f"{TYPE}/replicationFabrics/replicationProtectionContainers/replicationProtectableItems",
        properties=m.ProtectableItemProperties(
            friendly_name=machine.name,
            protection_status="Protected" if protected else "Unprotected",
            replication_protected_item_id=world.item_id(protected) if protected else None,
            supported_replication_providers=["InMageAzureV2"],
            custom_details=m.VMwareVirtualMachineDetails(
                agent_generated_id=machine.bios_id,
                agent_installed="Yes",
                os_type=machine.os,
                agent_version="9.60.0.0",
                ip_address=next((n.ip for n in machine.nics if n.ip), None),
                powered_on=machine.power,
                v_center_infrastructure_id=machine.vcenter,
                discovery_type="vCenter",
                disk_details=[m.InMageDiskDetails(disk_id=d.uuid, disk_name=d.label, disk_size_in_mb=str(d.size_gb * 1024),
                                                  disk_type="Basic") for d in machine.disks],  # fmt: skip
            ),
        ),
    ).as_dict()


def provider_entry(world: World, f: Fabric, a: Appliance) -> dict[str, Any]:
    return m.RecoveryServicesProvider(
        id=f"{world.fabric_id(f.name)}/replicationRecoveryServicesProviders/{a.id}",
        name=a.id,
        type=f"{TYPE}/replicationFabrics/replicationRecoveryServicesProviders",
        properties=m.RecoveryServicesProviderProperties(
            fabric_type=f.instance_type, friendly_name=a.name, provider_version="5.24.0.0", server_version="0.0",
            provider_version_state="Latest", fabric_friendly_name=f.friendly_name, last_heart_beat=world.now(),
            connection_status="Connected", protected_item_count=_count(world, a), allowed_scenarios=["Refresh"],
            health_error_details=[], dra_identifier=a.id, machine_id=a.id, machine_name=a.name, bios_id=a.id.upper(),
        ),
    ).as_dict()  # fmt: skip


def appliances(world: World) -> list[dict[str, Any]]:
    out = []
    for f in world.fabrics.values():
        if f.classic:
            continue
        details = []
        for a in f.appliances:
            details.append(
                m.InMageRcmApplianceDetails(
                    id=a.id, name=a.name, fabric_arm_id=world.fabric_id(f.name), process_server=_ps(world, f, a),
                    rcm_proxy=m.RcmProxyDetails(**_component(world, f, a)), push_installer=m.PushInstallerDetails(**_component(world, f, a)),
                    replication_agent=m.ReplicationAgentDetails(**_component(world, f, a)),
                    reprotect_agent=m.ReprotectAgentDetails(**_component(world, f, a), accessible_datastores=list(a.datastores))
                    if a.reprotect_agent else None,
                    mars_agent=m.MarsAgentDetails(**_component(world, f, a)),
                    dra=m.DraDetails(id=a.id, name=a.name, bios_id=a.id.upper(), version="5.24.0.0", health=a.health),
                    switch_provider_blocking_error_details=[],
                )
            )  # fmt: skip
        out.append(m.ReplicationAppliance(properties=m.ReplicationApplianceProperties(
            provider_specific_details=m.InMageRcmApplianceSpecificDetails(appliances=details))).as_dict())  # fmt: skip
    return out


def policy(world: World, p: Policy) -> dict[str, Any]:
    if p.provider == "InMageAzureV2":
        details: Any = m.InMageAzureV2PolicyDetails(
            crash_consistent_frequency_in_minutes=p.crash_frequency_minutes, recovery_point_threshold_in_minutes=p.rpo_threshold_minutes,
            recovery_point_history=p.history_minutes, app_consistent_frequency_in_minutes=p.app_frequency_minutes,
            multi_vm_sync_status="Enable" if p.multi_vm_sync else "Disable")  # fmt: skip
    elif p.provider == "InMage":
        details = m.InMagePolicyDetails(recovery_point_threshold_in_minutes=p.rpo_threshold_minutes, recovery_point_history=p.history_minutes,
                                        app_consistent_frequency_in_minutes=p.app_frequency_minutes,
                                        multi_vm_sync_status="Enable" if p.multi_vm_sync else "Disable")  # fmt: skip
    elif p.provider == "InMageRcm":
        details = m.InMageRcmPolicyDetails(recovery_point_history_in_minutes=p.history_minutes,
                                           app_consistent_frequency_in_minutes=p.app_frequency_minutes,
                                           crash_consistent_frequency_in_minutes=p.crash_frequency_minutes,
                                           enable_multi_vm_sync="true" if p.multi_vm_sync else "false")  # fmt: skip
    else:
        details = m.InMageRcmFailbackPolicyDetails(app_consistent_frequency_in_minutes=p.app_frequency_minutes,
                                                   crash_consistent_frequency_in_minutes=p.crash_frequency_minutes)  # fmt: skip
    return m.Policy(
        id=world.policy_id(p.name), name=p.name, type=f"{TYPE}/replicationPolicies",
        properties=m.PolicyProperties(friendly_name=p.name, provider_specific_details=details),
    ).as_dict()  # fmt: skip


def mapping(world: World, mp: Mapping) -> dict[str, Any]:
    f = world.fabric(mp.fabric)
    p = world.policy(mp.policy)
    assert f is not None and p is not None
    if p.provider == "InMageRcm":
        details: Any = m.InMageRcmProtectionContainerMappingDetails(enable_agent_auto_upgrade="true")
    else:
        details = {"instanceType": p.provider}
    to_azure = mp.target == AZURE
    return m.ProtectionContainerMapping(
        id=world.mapping_id(mp),
        name=mp.name,
        type=f"{TYPE}/replicationFabrics/replicationProtectionContainers/replicationProtectionContainerMappings",
        properties=m.ProtectionContainerMappingProperties(
            target_protection_container_id=mp.target,
            target_protection_container_friendly_name=AZURE if to_azure else f.container,
            provider_specific_details=details,
            health="Normal",
            health_error_details=[],
            policy_id=world.policy_id(p.name),
            state=mp.state,
            source_protection_container_friendly_name=f.container,
            source_fabric_friendly_name=f.friendly_name,
            target_fabric_friendly_name=AZURE if to_azure else f.friendly_name,
            policy_friendly_name=p.name,
        ),
    ).as_dict()


# -- items -----------------------------------------------------------------------------------------------------------
def allowed_operations(world: World, item: Item) -> tuple[str, ...]:
    """The item's allowedOperations now. [U] While a job owns the item, ASR is assumed to offer nothing."""
    if item.current_job is not None:
        return ()
    phase = rules.tfo_phase(item.tfo)
    if phase.allowed is not None:
        return phase.allowed
    return rules.state(item.provider, item.state).allowed


def item(world: World, it: Item) -> dict[str, Any]:
    st = rules.state(it.provider, it.state)
    phase = rules.tfo_phase(it.tfo)
    f = world.fabric(it.fabric)
    assert f is not None
    job = world.jobs.get(it.current_job) if it.current_job else None
    current = (
        m.CurrentScenarioDetails(scenario_name=job.scenario, job_id=world.job_id(job.name), start_time=job.start)
        if job
        else m.CurrentScenarioDetails(scenario_name="None", job_id=f"{world.vault_id}/replicationJobs/None", start_time=NEVER)
    )
    errors = []
    if it.tfo == "none" and it.provider in rules.FORWARD and it.state == "protected":
        # PSrec: a healthy item that never had a drill carries 161011 "No successful test failover" (Warning).
        errors.append(m.HealthError(error_code="161011", error_level="Warning", summary_message="No successful test failover",
                                    error_message="No successful test failover has been done for this virtual machine.",
                                    recommended_action="Run a test failover.", creation_time_utc=it.replicating_since))  # fmt: skip
    health = it.health if it.health != "Normal" else ("Warning" if errors else "Normal")
    forward = it.provider in rules.FORWARD
    model = m.ReplicationProtectedItem(
        id=world.item_id(it),
        name=it.name,
        type=f"{TYPE}/replicationFabrics/replicationProtectionContainers/replicationProtectedItems",
        properties=m.ReplicationProtectedItemProperties(
            friendly_name=it.machine.name,
            protected_item_type="" if not f.classic else "VMwareVirtualMachine",
            protectable_item_id=(f"{world.container_id(f.name, f.container)}/replicationProtectableItems/{it.machine.protectable_name}"
                                 if f.classic else None),  # fmt: skip
            primary_fabric_friendly_name=f.friendly_name if forward else AZURE,
            primary_fabric_provider="InMageRcmFabric" if not f.classic else "VMware",
            recovery_fabric_friendly_name=AZURE if forward else f.friendly_name,
            recovery_fabric_id=AZURE if forward else world.fabric_id(f.name),
            primary_protection_container_friendly_name=f.container if forward else AZURE,
            recovery_protection_container_friendly_name=AZURE if forward else f.container,
            protection_state=st.protection_state,
            protection_state_description=phase.protection_description or st.description,
            active_location=st.active_location,
            test_failover_state=phase.test_failover_state,
            test_failover_state_description=phase.description,
            switch_provider_state=it.switch_provider_state,
            allowed_operations=list(allowed_operations(world, it)),
            replication_health=health,
            failover_health="Normal",
            health_errors=errors,
            policy_id=world.policy_id(it.policy),
            policy_friendly_name=it.policy,
            last_successful_failover_time=it.last_failover_time,
            last_successful_test_failover_time=it.last_tfo_time,
            current_scenario=current,
            failover_recovery_point_id=it.failover_point_id,
            provider_specific_details=_details(world, f, it),
            recovery_services_provider_id=f"{world.fabric_id(f.name)}/replicationRecoveryServicesProviders/{it.process_server_id}",
            # CLIrec: the Azure side's fabric and container (fixed names in every recorded vault)
            recovery_container_id=f"{world.vault_id}/replicationFabrics/d49858f157601230a6ac5862fbbc6e63bf38d23ecd96cf953767945d457fe9d5"
            "/replicationProtectionContainers/d38048d4-b460-4791-8ece-108395ee8478",
            event_correlation_id=it.internal_id,
        ),
    )
    return model.as_dict()


def _last_point(world: World, it: Item) -> dt.datetime | None:
    points = recovery_points(world, it)
    return max((p.time for p in points), default=None)


def _details(world: World, f: Fabric, it: Item) -> Any:
    machine = it.machine
    now = world.now()
    last_point = _last_point(world, it)
    ip = next((n.ip for n in machine.nics if n.primary), None)
    if it.provider == "InMageRcm":
        appliance = world.appliance(f, it.process_server_id)
        return m.InMageRcmReplicationDetails(
            internal_identifier=it.internal_id,
            fabric_discovery_machine_id=world.machine_id(f, machine),
            multi_vm_group_name=it.multi_vm_group,
            discovery_type="VCenter",
            process_server_id=it.process_server_id,
            processor_core_count=machine.cpu,
            allocated_memory_in_mb=float(machine.memory_mb),
            process_server_name=appliance.name if appliance else None,
            run_as_account_id=it.run_as_account_id,
            os_type=machine.os,
            firmware_type="BIOS",
            primary_nic_ip_address=ip,
            target_generation="V1",
            license_type="NotSpecified",
            target_vm_name=it.target_vm_name,
            target_vm_size=it.target_vm_size,
            target_resource_group_id=it.target_resource_group_id,
            target_location=world.location,
            target_network_id=it.target_network_id,
            test_network_id=it.test_network_id,
            failover_recovery_point_id=it.failover_point_id,
            last_recovery_point_received=last_point,
            last_rpo_in_seconds=it.rpo_seconds if it.state == "protected" else None,
            last_rpo_calculated_time=now if it.state == "protected" else it.points_until,
            initial_replication_progress_percentage=100 if it.state != "enabling" else 0,
            initial_replication_progress_health="None" if it.state != "enabling" else "InProgress",
            resync_required="false",
            resync_state="None",
            agent_upgrade_state="None",
            protected_disks=[
                m.InMageRcmProtectedDiskDetails(disk_id=d.uuid, disk_name=d.label, is_os_disk="true" if d.os_disk else "false",
                                                capacity_in_bytes=d.size_gb * 2**30, log_storage_account_id=it.log_storage_account_id,
                                                disk_type=it.disk_type, is_initial_replication_complete="true" if it.state != "enabling" else "false")
                for d in machine.disks
            ],  # fmt: skip
            mobility_agent_details=m.InMageRcmMobilityAgentDetails(version="9.62.7096.1", driver_version="9.62.7096.1",
                                                                   last_heartbeat_utc=now, is_upgradeable="false"),  # fmt: skip
            vm_nics=[_rcm_nic(world, it, n) for n in machine.nics],
            discovered_vm_details=m.InMageRcmDiscoveredProtectedVmDetails(
                v_center_id=f"{world.site_id(f.site)}/vcenters/{machine.vcenter}", v_center_fqdn="", datastores=[machine.datastore],
                ip_addresses=[n.ip for n in machine.nics if n.ip], vmware_tools_status="OK", power_status=machine.power,
                vm_fqdn=machine.name, os_name=machine.os, is_deleted=machine.deleted, last_discovery_time_in_utc=now,
            ),  # fmt: skip
        )
    if it.provider == "InMageRcmFailback":
        agent = world.appliance(f, it.reprotect_agent_id)
        return m.InMageRcmFailbackReplicationDetails(
            internal_identifier=it.internal_id,
            azure_virtual_machine_id=f"{it.target_resource_group_id}/providers/Microsoft.Compute/virtualMachines/{it.target_vm_name}",
            multi_vm_group_name=it.multi_vm_group,
            reprotect_agent_id=it.reprotect_agent_id,
            reprotect_agent_name=agent.name if agent else None,
            os_type=machine.os,
            log_storage_account_id=it.log_storage_account_id,
            targetv_center_id=f"{world.site_id(f.site)}/vcenters/{machine.vcenter}",
            target_data_store_name=it.failback_datastore,
            target_vm_name=machine.name,
            initial_replication_progress_percentage=100,
            initial_replication_progress_health="None",
            resync_required="false",
            resync_state="None",
            protected_disks=[m.InMageRcmFailbackProtectedDiskDetails(disk_id=d.uuid, disk_name=d.label, is_os_disk="true" if d.os_disk else "false",
                                                                     capacity_in_bytes=d.size_gb * 2**30, disk_uuid=d.uuid,
                                                                     is_initial_replication_complete="true") for d in machine.disks],  # fmt: skip
            mobility_agent_details=m.InMageRcmFailbackMobilityAgentDetails(version="9.62.7096.1", last_heartbeat_utc=now),
            vm_nics=[m.InMageRcmFailbackNicDetails(mac_address=n.mac, network_name=n.network_name, adapter_type="VirtualVmxnet3",
                                                   source_ip_address=_vm_ip(world, it)) for n in machine.nics],  # fmt: skip
            last_planned_failover_start_time=it.last_planned_failover_time,
            last_planned_failover_status=it.last_planned_failover_status,
            discovered_vm_details=m.InMageRcmFailbackDiscoveredProtectedVmDetails(
                v_center_id=f"{world.site_id(f.site)}/vcenters/{machine.vcenter}", datastores=[it.failback_datastore or machine.datastore],
                ip_addresses=[n.ip for n in machine.nics if n.ip], power_status="OFF", vm_fqdn=machine.name, os_name=machine.os,
                is_deleted=False, last_discovery_time_in_utc=now,
            ),  # fmt: skip
            last_used_policy_id=world.policy_id(it.failback_policy) if it.failback_policy else None,
            last_used_policy_friendly_name=it.failback_policy or None,
        )
    group_name = it.multi_vm_group or it.multi_vm_group_id  # PS: an individual group's name equals its GUID id
    if it.provider == "InMageAzureV2":
        ps = world.process_server(f, it.process_server_id)
        return m.InMageAzureV2ReplicationDetails(
            infrastructure_vm_id=machine.bios_id,
            v_center_infrastructure_id=machine.vcenter,
            vm_id=machine.bios_id,
            vm_protection_state="Protected" if it.state == "protected" else it.state,
            rpo_in_seconds=it.rpo_seconds if it.state == "protected" else None,
            ip_address=ip,
            agent_version=it.agent_version,
            last_heartbeat=now,
            process_server_id=it.process_server_id,
            process_server_name=ps.name if ps else None,
            multi_vm_group_id=it.multi_vm_group_id,
            multi_vm_group_name=group_name,
            multi_vm_sync_status="Enabled",
            master_target_id=it.master_target_id,
            os_type=machine.os,
            os_disk_id=machine.disks[0].uuid if machine.disks else None,
            recovery_azure_vm_name=it.target_vm_name,
            recovery_azure_vm_size=it.target_vm_size,
            recovery_azure_storage_account=it.storage_account_id,
            recovery_azure_log_storage_account_id=it.log_storage_account_id,
            vm_nics=[_classic_nic(world, it, n) for n in machine.nics],
            selected_recovery_azure_network_id=it.target_network_id,
            selected_tfo_azure_network_id=it.test_network_id or None,
            discovery_type="vCenter",
            datastores=[machine.datastore],
            recovery_azure_resource_group_id=it.target_resource_group_id,
            use_managed_disks="True" if it.storage_account_id is None else "False",
            last_rpo_calculated_time=now if it.state == "protected" else it.points_until,
            last_recovery_point_received=last_point,
            os_name=machine.os,
            protected_disks=[m.InMageAzureV2ProtectedDiskDetails(disk_id=d.uuid, disk_name=d.label, protection_stage="Protected",
                                                                 disk_capacity_in_bytes=d.size_gb * 2**30) for d in machine.disks],  # fmt: skip
            switch_provider_details=(m.InMageAzureV2SwitchProviderDetails(
                target_vault_id=it.switch_target.vault_id, target_fabric_id=it.switch_target.fabric_id,
                target_appliance_id=it.switch_target.appliance_id, target_resource_id=it.switch_target.resource_id)
                if it.switch_target else None),
            switch_provider_blocking_error_details=[],
        )
    return m.InMageReplicationDetails(
        active_site_type="Recovery",
        vm_id=machine.bios_id,
        vm_protection_state="Protected" if it.state == "protected" else it.state,
        rpo_in_seconds=it.rpo_seconds if it.state == "protected" else None,
        ip_address=_vm_ip(world, it),
        last_heartbeat=now,
        process_server_id=it.process_server_id,
        master_target_id=it.master_target_id,
        multi_vm_group_id=it.multi_vm_group_id,
        multi_vm_group_name=group_name,
        multi_vm_sync_status="Enabled",
        v_center_infrastructure_id=machine.vcenter,
        infrastructure_vm_id=machine.bios_id,
        vm_nics=[_classic_nic(world, it, n) for n in machine.nics],
        discovery_type="vCenter",
        datastores=[it.failback_datastore] if it.failback_datastore else [],
        last_rpo_calculated_time=now if it.state == "protected" else it.points_until,
    )


def _vm_ip(world: World, it: Item) -> str | None:
    vm = world.recovery_vm(it.machine.name)
    return vm.ip if vm else None


def _rcm_nic(world: World, it: Item, n: Any) -> m.InMageRcmNicDetails:
    return m.InMageRcmNicDetails(
        nic_id=n.mac,
        is_primary_nic="true" if n.primary else "false",
        is_selected_for_failover="true" if n.selected else "false",
        source_ip_address=n.ip,
        source_ip_address_type="Static",
        source_network_id=n.network_name,
        target_ip_address=n.target_ip or "",
        target_ip_address_type="Static" if n.target_ip else "Dynamic",
        target_subnet_name=n.target_subnet or it.target_subnet,
        test_subnet_name=n.test_subnet,
        test_ip_address=n.test_ip,
        test_ip_address_type="Static" if n.test_ip else "Dynamic",
    )


def _classic_nic(world: World, it: Item, n: Any) -> m.VMNicDetails:
    return m.VMNicDetails(
        nic_id=n.mac,
        v_m_network_name=n.network_name,
        recovery_vm_network_id=it.target_network_id,
        tfo_vm_network_id=it.test_network_id or None,
        selection_type="SelectedByUser" if n.selected else "NotSelected",
        ip_configs=[
            m.IPConfigDetails(
                name="ipconfig1", is_primary=True, static_ip_address=n.ip, ip_address_type="Static",
                is_seleted_for_failover=n.selected, recovery_subnet_name=n.target_subnet or it.target_subnet,
                recovery_static_ip_address=n.target_ip, recovery_ip_address_type="Static" if n.target_ip else "Dynamic",
                tfo_subnet_name=n.test_subnet, tfo_static_ip_address=n.test_ip,
            )
        ],
    )  # fmt: skip


# -- recovery points ---------------------------------------------------------------------------------------------------
class Point:
    def __init__(self, name: str, time: dt.datetime, kind: str) -> None:
        self.name, self.time, self.kind = name, time, kind


def recovery_points(world: World, it: Item) -> list[Point]:
    """Crash-consistent points every 5 minutes (fixed, REFERENCE §1), application-consistent ones per policy,
    the newest ``rpo_seconds`` old; they stop at failover (``points_until``). Twelve crash points are listed."""
    if it.replicating_since is None or it.state == "enabling":
        return []
    end = it.points_until or world.now()
    newest = end - dt.timedelta(seconds=it.rpo_seconds)
    policy = world.policy(it.policy if it.provider in rules.FORWARD else (it.failback_policy or it.policy))
    crash_step = 60 * ((policy.crash_frequency_minutes if policy else 5) or 5)
    app_step = 60 * (policy.app_frequency_minutes if policy else 0)
    points: list[Point] = []
    epoch = int(newest.timestamp())
    t = epoch - epoch % crash_step
    for _ in range(12):
        when = dt.datetime.fromtimestamp(t, dt.UTC)
        if when < it.replicating_since:
            break
        points.append(Point(f"{it.internal_id[:8]}-crash-{t}", when, "CrashConsistent"))
        t -= crash_step
    if app_step:
        t = epoch - epoch % app_step
        for _ in range(3):
            when = dt.datetime.fromtimestamp(t, dt.UTC)
            if when < it.replicating_since:
                break
            points.append(Point(f"{it.internal_id[:8]}-app-{t}", when, "ApplicationConsistent"))
            t -= app_step
    return sorted(points, key=lambda p: p.time, reverse=True)


def point_id(world: World, it: Item, name: str) -> str:
    return f"{world.item_id(it)}/recoveryPoints/{name}"


def recovery_point(world: World, it: Item, p: Point) -> dict[str, Any]:
    return m.RecoveryPoint(
        id=point_id(world, it, p.name),
        name=p.name,
        type=f"{TYPE}/replicationFabrics/replicationProtectionContainers/replicationProtectedItems/recoveryPoints",
        properties=m.RecoveryPointProperties(recovery_point_time=p.time, recovery_point_type=p.kind),
    ).as_dict()


# -- plans and jobs ------------------------------------------------------------------------------------------------------
def plan(world: World, p: Plan) -> dict[str, Any]:
    items = [world.find_item(n) for n in p.item_names()]
    live = [i for i in items if i is not None]
    providers = sorted({i.provider for i in live})
    allowed: set[str] | None = None
    for i in live:
        ops = set(allowed_operations(world, i))
        allowed = ops if allowed is None else allowed & ops
    job = world.jobs.get(p.current_job) if p.current_job else None
    f = world.fabric(p.primary_fabric)
    return m.RecoveryPlan(
        id=world.plan_id(p.name),
        name=p.name,
        type=f"{TYPE}/replicationRecoveryPlans",
        properties=m.RecoveryPlanProperties(
            friendly_name=p.name,
            primary_fabric_id=world.fabric_id(p.primary_fabric),
            primary_fabric_friendly_name=f.friendly_name if f else p.primary_fabric,
            recovery_fabric_id=AZURE,
            recovery_fabric_friendly_name=AZURE,
            failover_deployment_model=p.deployment_model,
            replication_providers=providers,
            allowed_operations=sorted(allowed or ()),
            last_test_failover_time=p.last_tfo_time,
            last_unplanned_failover_time=p.last_ufo_time,
            last_planned_failover_time=p.last_pfo_time,
            current_scenario=m.CurrentScenarioDetails(scenario_name=job.scenario, job_id=world.job_id(job.name), start_time=job.start)
            if job else None,
            current_scenario_status=job.state if job else None,
            groups=[
                m.RecoveryPlanGroup(
                    group_type=g.group_type,
                    replication_protected_items=[
                        m.RecoveryPlanProtectedItem(id=world.item_id(i), virtual_machine_id=i.internal_id)
                        for i in (world.find_item(n) for n in g.items) if i is not None
                    ],
                    start_group_actions=[_action(a) for a in g.start_actions],
                    end_group_actions=[_action(a) for a in g.end_actions],
                )
                for g in p.groups
            ],
        ),
    ).as_dict()  # fmt: skip


def _action(a: Any) -> dict[str, Any]:
    return {"actionName": a.name, "failoverTypes": list(a.failover_types), "failoverDirections": list(a.failover_directions),
            "customDetails": dict(a.details)}  # fmt: skip


def job(world: World, j: Job) -> dict[str, Any]:
    tasks = []
    for n, seg in enumerate(j.segments):
        custom: Any
        if seg.kind == "manual":
            custom = m.ManualActionTaskDetails(name=seg.name, instructions=seg.instructions,
                                               observation=" ".join(j.resume_comments) or None)  # fmt: skip
        else:
            custom = {"instanceType": "JobTaskDetails"}
        state = seg.state
        if seg.kind == "manual" and j.state == "Suspended" and n == j.index:
            state = "InProgress"
        tasks.append(
            m.ASRTask(task_id=f"{j.name}-{n}", name=seg.name, friendly_name=seg.friendly_name, start_time=seg.start, end_time=seg.end,
                      state=state, state_description=rules.JOB_STATE_DESCRIPTIONS.get(state, state),
                      task_type="ManualActionTaskDetails" if seg.kind == "manual" else "JobTaskDetails",
                      allowed_actions=["Resume"] if state == "InProgress" and seg.kind == "manual" else [],
                      custom_details=custom, errors=[])  # fmt: skip
        )
    errors = [
        m.JobErrorDetails(service_error_details=m.ServiceError(code=e["code"], message=e["message"], possible_causes=e.get("causes", ""),
                                                               recommended_action=e.get("action", ""), activity_id=j.activity_id),
                          error_level="Error", creation_time=j.end)
        for e in j.errors
    ]  # fmt: skip
    custom_details: Any
    if "protectedItemDetails" in j.custom:
        protected = [m.FailoverReplicationProtectedItemDetails(**d) for d in j.custom["protectedItemDetails"]]
        if j.scenario == "TestFailover":
            custom_details = m.TestFailoverJobDetails(test_failover_status="Active" if j.state == "Succeeded" else j.state,
                                                      network_name=j.custom.get("network"), network_type="VmNetworkAsInput",
                                                      protected_item_details=protected)  # fmt: skip
        else:
            custom_details = m.FailoverJobDetails(protected_item_details=protected)
    else:
        custom_details = m.AsrJobDetails()
    return m.Job(
        id=world.job_id(j.name),
        name=j.name,
        type=f"{TYPE}/replicationJobs",
        properties=m.JobProperties(
            activity_id=j.activity_id,
            scenario_name=j.scenario,
            friendly_name=j.friendly_name,
            state=j.state,
            state_description=rules.JOB_STATE_DESCRIPTIONS.get(j.state, j.state),
            tasks=tasks,
            errors=errors,
            start_time=j.start,
            end_time=j.end,
            allowed_actions=list(rules.JOB_ALLOWED_ACTIONS.get(j.state, ())),
            target_object_id=j.target_id,
            target_object_name=j.target_name,
            target_instance_type=j.target_type,
            custom_details=custom_details,
        ),
    ).as_dict()


def operation_status(j: Job) -> dict[str, Any]:
    """CLIrec: ``{"error": null, "id": null, "name": "<guid>", "properties": null, "status": "InProgress",
    "startTime": …, "endTime": null, "percentComplete": null}``; a waiting (Suspended) job is still InProgress."""
    status = {"Succeeded": "Succeeded", "Failed": "Failed", "Cancelled": "Canceled"}.get(j.state, "InProgress")
    error = None
    if j.state == "Failed" and j.errors:
        error = {"code": j.errors[0]["code"], "message": j.errors[0]["message"]}
    return {"error": error, "id": None, "name": j.name, "properties": None, "status": status, "startTime": _iso(j.start),
            "endTime": _iso(j.end), "percentComplete": None}  # fmt: skip


# -- other providers ---------------------------------------------------------------------------------------------------
def offazure_machine(world: World, f: Fabric, machine: Machine) -> dict[str, Any]:
    """Shape of CLIrec's ``Microsoft.OffAzure/VMwareSites/<site>/machines`` entries (the fields a client uses)."""
    protected = any(i.machine is machine and not i.disabled for i in world.items.values())
    return {
        "id": world.machine_id(f, machine),
        "name": machine.offazure_name,
        "type": "Microsoft.OffAzure/VMwareSites/machines",
        "tags": {"asrprotectedmachine": str(protected)},
        "properties": {
            "vCenterId": f"{world.site_id(f.site)}/vcenters/{machine.vcenter}",
            "instanceUuid": machine.instance_uuid,
            "disks": [{"uuid": d.uuid, "label": d.label, "maxSizeInBytes": d.size_gb * 2**30, "name": f"scsi0:{n}", "lun": n,
                       "path": f"[{machine.datastore}] {machine.name}/{machine.name}_{n}.vmdk", "diskType": "Static"}
                      for n, d in enumerate(machine.disks)],  # fmt: skip
            "networkAdapters": [{"label": f"Network adapter {n + 1}", "nicId": str(4000 + n), "macAddress": nic.mac,
                                 "ipAddressList": [nic.ip] if nic.ip else [], "networkName": nic.network_name,
                                 "ipAddressType": "Static"} for n, nic in enumerate(machine.nics)],  # fmt: skip
            "powerStatus": machine.power,
            "vmFqdn": machine.name,
            "vmConfigurationFileLocation": f"[{machine.datastore}] {machine.name}/{machine.name}.vmx",
            "firmware": "bios",
            "numberOfProcessorCore": machine.cpu,
            "allocatedMemoryInMB": float(machine.memory_mb),
            "operatingSystemDetails": {"osType": "linuxguest" if machine.os == "Linux" else "windowsguest", "osName": machine.os},
            "biosGuid": machine.bios_id,
            "displayName": machine.shown_name,
            "isDeleted": machine.deleted,
            "applianceNames": [a.name for a in f.appliances],
            "runAsAccountId": None,
            "errors": [],
        },
    }


def run_as_account(world: World, f: Fabric, account: Any) -> dict[str, Any]:
    return {
        "id": world.run_as_id(f, account.id),
        "name": account.id,
        "type": "Microsoft.OffAzure/VMwareSites/runasaccounts",
        "properties": {"displayName": account.name, "credentialType": account.credential_type, "applianceName": account.appliance},
    }


def vnet(world: World, v: Any) -> dict[str, Any]:
    return {
        "id": v.id,
        "name": v.name,
        "type": "Microsoft.Network/virtualNetworks",
        "location": v.location,
        "properties": {
            "provisioningState": "Succeeded",
            "addressSpace": {"addressPrefixes": sorted({str(ipaddress.ip_network(p).supernet(new_prefix=16)) for p in v.subnets.values()})},
            "subnets": [{"name": s, "id": f"{v.id}/subnets/{s}", "properties": {"addressPrefix": p, "provisioningState": "Succeeded"},
                         "type": "Microsoft.Network/virtualNetworks/subnets"} for s, p in v.subnets.items()],  # fmt: skip
        },
    }

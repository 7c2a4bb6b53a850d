"""The stand-in's answers against the recorded sessions the references cite: the field names a recorded answer
carries (non-null ones) must all be in the stand-in's answer, and the recorded state values must match.

Field lists are taken from the Azure CLI site-recovery recording ``test_siterecovery_V2A_RCMInMage_scenarios.yaml``
(CLIrec: fabric show, protected-item show, vmware-site machine/run-as-account list, the reprotect 202 and its
operation status) and PowerShell's ``AsrV2ARCMTests`` session records (PSrec, state values).
"""

from __future__ import annotations

from standin import MachineSpec, classic_world, modernized_world
from standin import helpers as h
from standin.client import start

API = {"api-version": "2025-08-01"}

# CLIrec "site-recovery fabric show" → properties.customDetails (InMageRcm)
FABRIC_CUSTOM = {"instanceType", "vmwareSiteId", "physicalSiteId", "serviceEndpoint", "serviceResourceId", "serviceContainerId",
                 "dataPlaneUri", "controlPlaneUri", "processServers", "rcmProxies", "pushInstallers", "replicationAgents",
                 "reprotectAgents", "marsAgents", "dras", "agentDetails"}  # fmt: skip
PROCESS_SERVER = {"id", "name", "biosId", "fabricObjectId", "fqdn", "ipAddresses", "version", "lastHeartbeatUtc", "totalMemoryInBytes",
                  "availableMemoryInBytes", "usedMemoryInBytes", "memoryUsagePercentage", "totalSpaceInBytes", "availableSpaceInBytes",
                  "usedSpaceInBytes", "freeSpacePercentage", "throughputUploadPendingDataInBytes", "throughputInBytes",
                  "processorUsagePercentage", "throughputStatus", "systemLoad", "systemLoadStatus", "diskUsageStatus",
                  "memoryUsageStatus", "processorUsageStatus", "health", "healthErrors", "historicHealth"}  # fmt: skip
REPROTECT_AGENT = {"id", "name", "biosId", "fabricObjectId", "fqdn", "version", "lastHeartbeatUtc", "health", "healthErrors",
                   "accessibleDatastores", "vcenterId", "lastDiscoveryInUtc"}  # fmt: skip
# CLIrec "site-recovery protected-item show" → properties (non-null fields)
ITEM = {"friendlyName", "protectedItemType", "recoveryServicesProviderId", "primaryFabricFriendlyName", "primaryFabricProvider",
        "recoveryFabricFriendlyName", "recoveryFabricId", "primaryProtectionContainerFriendlyName", "recoveryProtectionContainerFriendlyName",
        "protectionState", "protectionStateDescription", "activeLocation", "testFailoverState", "testFailoverStateDescription",
        "switchProviderState", "allowedOperations", "replicationHealth", "failoverHealth", "healthErrors", "policyId",
        "policyFriendlyName", "currentScenario", "providerSpecificDetails", "recoveryContainerId", "eventCorrelationId"}  # fmt: skip
ITEM_RCM = {"instanceType", "internalIdentifier", "fabricDiscoveryMachineId", "discoveryType", "processServerId", "processorCoreCount",
            "allocatedMemoryInMB", "processServerName", "runAsAccountId", "osType", "firmwareType", "primaryNicIpAddress",
            "targetGeneration", "licenseType", "targetVmName", "targetVmSize", "targetResourceGroupId", "targetLocation",
            "targetNetworkId", "lastRecoveryPointReceived", "lastRpoInSeconds", "lastRpoCalculatedTime",
            "initialReplicationProgressHealth", "resyncRequired", "resyncState", "agentUpgradeState", "protectedDisks",
            "mobilityAgentDetails", "vmNics", "discoveredVmDetails"}  # fmt: skip
VM_NIC = {"nicId", "isPrimaryNic", "isSelectedForFailover", "sourceIPAddress", "sourceIPAddressType", "sourceNetworkId",
          "targetIPAddress", "targetIPAddressType", "targetSubnetName", "testIPAddressType"}  # fmt: skip
# CLIrec "vmware-site machine list" / "run-as-account list" (the fields a client reads)
OFFAZURE_MACHINE = {"vCenterId", "instanceUuid", "disks", "networkAdapters", "powerStatus", "vmFqdn", "firmware", "numberOfProcessorCore",
                    "allocatedMemoryInMB", "operatingSystemDetails", "biosGuid", "displayName", "isDeleted", "applianceNames", "errors"}  # fmt: skip
RUN_AS = {"displayName", "credentialType", "applianceName"}
OPERATION_STATUS = {"error", "id", "name", "properties", "status", "startTime", "endTime", "percentComplete"}


def _keys(d: dict) -> set[str]:
    return {k for k, v in d.items() if v is not None}


def test_fabric_shape_matches_the_recording(serve, sdk):
    world = modernized_world([MachineSpec("app01")])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    fabric = next(iter(world.fabrics.values()))
    body = v.raw("GET", world.fabric_id(fabric.name), API).json()
    custom = body["properties"]["customDetails"]
    assert FABRIC_CUSTOM <= _keys(custom)
    assert PROCESS_SERVER <= _keys(custom["processServers"][0])
    assert REPROTECT_AGENT <= _keys(custom["reprotectAgents"][0])
    # One GUID names every component of an appliance (CLIrec, PSrec).
    ids = {custom[k][0]["id"] for k in ("processServers", "rcmProxies", "pushInstallers", "replicationAgents", "reprotectAgents", "marsAgents", "dras")}
    assert ids == {fabric.appliances[0].id}
    assert custom["vmwareSiteId"].endswith(f"/Microsoft.OffAzure/VMwareSites/{fabric.site}")
    assert body["id"].startswith("/Subscriptions/")  # ASR's capital S


def test_item_shape_matches_the_recording(serve, sdk):
    world = modernized_world([MachineSpec("app01", ips=["10.10.1.5"])])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    item = world.item("app01")
    body = v.raw("GET", world.item_id(item), API).json()
    props = body["properties"]
    assert ITEM <= _keys(props)
    assert ITEM_RCM <= _keys(props["providerSpecificDetails"])
    assert VM_NIC <= _keys(props["providerSpecificDetails"]["vmNics"][0])
    assert props["currentScenario"] == {"scenarioName": "None", "jobId": f"{world.vault_id}/replicationJobs/None", "startTime": "1753-01-01T01:01:01Z"}
    assert (props["recoveryFabricId"], props["primaryFabricProvider"]) == ("Microsoft Azure", "InMageRcmFabric")
    nic = props["providerSpecificDetails"]["vmNics"][0]
    assert (nic["isPrimaryNic"], nic["isSelectedForFailover"], nic["targetIPAddressType"]) == ("true", "true", "Dynamic")  # strings
    # PSrec TestV2ARCMFailover.json: a healthy InMageRcm item
    assert (props["protectionState"], props["protectionStateDescription"], props["activeLocation"]) == ("Protected", "Protected", "Primary")
    assert props["allowedOperations"] == ["UnplannedFailover", "DisableProtection", "TestFailover"]


def test_offazure_shapes_match_the_recording(serve, sdk):
    world = modernized_world([MachineSpec("app01")])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    site = world.site_id(next(iter(world.fabrics.values())).site)
    machine = v.raw("GET", f"{site}/machines", {"api-version": "2020-01-01"}).json()["value"][0]
    assert OFFAZURE_MACHINE <= _keys(machine["properties"])
    assert machine["type"] == "Microsoft.OffAzure/VMwareSites/machines"
    assert machine["name"] == f"vcenter01_{machine['properties']['instanceUuid']}" and machine["properties"]["instanceUuid"].startswith("50")
    accounts = v.raw("GET", f"{site}/runAsAccounts", {"api-version": "2023-06-06"}).json()["value"]
    assert all(RUN_AS <= _keys(a["properties"]) for a in accounts)
    assert {a["properties"]["credentialType"] for a in accounts} == {"VMwareFabric", "CredentialLessAccount", "LinuxGuest", "WindowsGuest"}


def test_reprotect_202_and_status_match_the_recording(serve, sdk):
    world = modernized_world([MachineSpec("app01")])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    item = world.set_state("app01", "InMageRcm", "failed_over")
    agent = world.fabrics[item.fabric].appliances[0]
    poller, job = start(v.items.begin_reprotect, *v.item_args(item), h.reprotect_rcm(agent.id, agent.datastores[0], next(iter(world.storage_accounts))))
    post = arm.posts("reProtect")[0]
    # The recorded body: direction RecoveryToPrimary and the three required fields, policy omitted.
    assert post.body["properties"]["failoverDirection"] == "RecoveryToPrimary"
    assert set(post.body["properties"]["providerSpecificDetails"]) == {"instanceType", "datastoreName", "logStorageAccountId", "reprotectAgentId"}
    status = v.raw("GET", f"{world.vault_id}/replicationOperationStatus/{job}", API).json()
    assert set(status) == OPERATION_STATUS and status["status"] == "InProgress" and status["name"] == job


def test_classic_fabric_carries_master_targets_with_their_storage(serve, sdk):
    world = classic_world([MachineSpec("app01")])
    arm = serve(world)
    v = h.Vault(arm, sdk(arm))
    fabric = next(iter(world.fabrics.values()))
    custom = v.client.replication_fabrics.get(v.rg, v.name, fabric.name).properties.custom_details
    linux = next(t for t in custom.master_target_servers if t.os_type == "Linux")
    assert [r.volume_name for r in linux.retention_volumes] == ["/mnt/retention"]
    assert [d.symbolic_name for d in linux.data_stores] == ["datastore-linux"]
    assert any(p.friendly_name.endswith("azure-ps") for p in custom.process_servers)
    assert {a.account_name for a in custom.run_as_accounts} >= {"windows-push", "linux-push"}
    protectable = list(v.client.replication_protectable_items.list_by_replication_protection_containers(v.rg, v.name, fabric.name, fabric.container))
    assert [(p.properties.friendly_name, p.properties.protection_status) for p in protectable] == [("app01", "Protected")]
    item = v.get(world.item("app01")).properties.provider_specific_details
    # An individual (not user-made) multi-VM group: name equals id (PS tells them apart that way).
    assert item.multi_vm_group_name == item.multi_vm_group_id

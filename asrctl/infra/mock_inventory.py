"""What provider functions (invokes) return under mock mode, keyed by invoke token.

``asrctl.mockmode`` dispatches every ``pulumi`` invoke (``vsphere:index/getDatacenter:getDatacenter`` and friends)
to ``INVOKES[token](args) -> dict``; a token without an entry fails the preview with a message naming it. Handlers
receive the invoke's arguments (camelCase keys) and return the result as the provider would (camelCase keys).

The mock vCenter: by default every object the stack names exists (datacenter, cluster, datastore, port group,
host, templates, the OVF). ``ASRCTL_MOCK_VSPHERE_INVENTORY`` names a YAML file that lists the objects that exist
instead, so a test (or a user checking a stack against a real inventory export) can make one missing::

    datacenters: [DC-Amsterdam]
    clusters: [CL-Prod-01]
    datastores: [DS-Prod-VMFS-01]
    networks: [PG-Servers-VLAN205]
    hosts: []
    templates: [tpl-ws2016-asr]

A missing object is a one-line ``BadInput`` naming the stack config key to fix, worded like the error
``asrctl.infra.vsphere_provider.lookup`` gives when the real provider reports a missing object.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from asrctl.errors import BadInput

INVENTORY_ENV = "ASRCTL_MOCK_VSPHERE_INVENTORY"
_KINDS = ("datacenters", "clusters", "datastores", "networks", "hosts", "templates", "resource_pools")
_TOKEN = "vsphere:index/{0}:{0}"


def _inventory() -> dict[str, set[str]] | None:
    """The objects that exist, or ``None`` when every named object exists (the default)."""
    path = os.environ.get(INVENTORY_ENV)
    if not path:
        return None
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise BadInput(f"{INVENTORY_ENV}={path}: cannot read the mock vSphere inventory ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{INVENTORY_ENV}={path}: invalid YAML ({exc})") from None
    if not isinstance(data, dict) or set(data) - set(_KINDS):
        raise BadInput(f"{path}: a mock vSphere inventory is a mapping with keys {', '.join(_KINDS)}")
    return {kind: set(data.get(kind) or ()) for kind in _KINDS}


def _moid(prefix: str, name: str) -> str:
    """A stable vSphere-style managed object id, e.g. datastore-1a2b3c."""
    return f"{prefix}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def _config_key(kind: str, name: str) -> tuple[str, str]:
    """Which key of the running stack's config names this object (and the vCenter server), for the error."""
    import pulumi

    from asrctl.config import load_stack

    cfg = load_stack(pulumi.get_stack())
    vc, cs = cfg.vcenter, cfg.configuration_server
    keys = {
        "datacenters": "vcenter.datacenter",
        "clusters": "vcenter.cluster",
        "datastores": "vcenter.datastore",
        "networks": "vcenter.network",
        "hosts": "vcenter.host",
        "resource_pools": "vcenter.cluster",
    }
    if kind == "templates":
        key = (
            "configurationServer.linuxMasterTargetTemplate"
            if name == cs.linux_master_target_template
            else "configurationServer.serverTemplate"
        )
    else:
        key = keys[kind]
    return key, vc.server


def _require(kind: str, label: str, name: str | None) -> str:
    """The object's name if the mock inventory has it; else the one-line error the real lookup would give."""
    if not name:
        raise BadInput(f"mock vCenter: a {label} lookup without a name")
    inv = _inventory()
    if inv is not None and name not in inv[kind]:
        from asrctl.infra.vsphere_provider import not_found_message

        key, server = _config_key(kind, name)
        detail = f"{label} not in the mock inventory {os.environ.get(INVENTORY_ENV)}"
        raise BadInput(not_found_message(key, name, server, detail))
    return name


def get_datacenter(args: dict[str, Any]) -> dict[str, Any]:
    name = _require("datacenters", "datacenter", args.get("name"))
    return {"id": _moid("datacenter", name), "name": name, "virtualMachines": []}


def get_compute_cluster(args: dict[str, Any]) -> dict[str, Any]:
    name = _require("clusters", "cluster", args.get("name"))
    return {
        "id": _moid("domain-c", name),
        "name": name,
        "datacenterId": args.get("datacenterId"),
        "resourcePoolId": _moid("resgroup", name),
    }


def get_resource_pool(args: dict[str, Any]) -> dict[str, Any]:
    name = _require("resource_pools", "resource pool", args.get("name"))
    return {"id": _moid("resgroup", name), "name": name, "datacenterId": args.get("datacenterId")}


def get_datastore(args: dict[str, Any]) -> dict[str, Any]:
    name = _require("datastores", "datastore", args.get("name"))
    return {"id": _moid("datastore", name), "name": name, "datacenterId": args.get("datacenterId"), "stats": {}}


def get_network(args: dict[str, Any]) -> dict[str, Any]:
    name = _require("networks", "network", args.get("name"))
    return {
        "id": _moid("dvportgroup", name),
        "name": name,
        "datacenterId": args.get("datacenterId"),
        "type": "DistributedVirtualPortgroup",
    }


def get_host(args: dict[str, Any]) -> dict[str, Any]:
    name = _require("hosts", "host", args.get("name"))
    return {
        "id": _moid("host", name),
        "name": name,
        "datacenterId": args.get("datacenterId"),
        "resourcePoolId": _moid("resgroup", f"host:{name}"),
    }


def get_ovf_vm_template(args: dict[str, Any]) -> dict[str, Any]:
    """One of Microsoft's OVFs (configuration server, replication appliance): a Windows Server VM whose hardware the
    program copies (guest id, firmware, controller). The URL or path is not fetched."""
    source = args.get("remoteOvfUrl") or args.get("localOvfPath")
    if not source:
        raise BadInput("mock vCenter: an OVF lookup needs remoteOvfUrl or localOvfPath")
    name = args.get("name") or "configuration-server"
    return {
        "id": _moid("ovf", f"{source}:{name}"),
        "name": name,
        "numCpus": 8,
        "numCoresPerSocket": 1,
        "memory": 16384,
        "guestId": "windows9Server64Guest",
        "firmware": "efi",
        "scsiType": "lsilogic-sas",
        "scsiControllerCount": 1,
        "sataControllerCount": 0,
        "ideControllerCount": 2,
        "ovfNetworkMap": dict(args.get("ovfNetworkMap") or {}),
        "remoteOvfUrl": args.get("remoteOvfUrl"),
        "localOvfPath": args.get("localOvfPath"),
        "resourcePoolId": args.get("resourcePoolId"),
        "datastoreId": args.get("datastoreId"),
        "hostSystemId": args.get("hostSystemId"),
        "diskProvisioning": args.get("diskProvisioning"),
    }


def get_virtual_machine(args: dict[str, Any]) -> dict[str, Any]:
    """A VM template: Windows or Linux guessed from the name, one 100 GB thick OS disk."""
    name = _require("templates", "virtual machine", args.get("name"))
    linux = any(word in name.lower() for word in ("linux", "ubuntu", "rhel", "sles", "centos"))
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"vsphere-template:{name}")),
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"vsphere-template:{name}")),
        "name": name,
        "datacenterId": args.get("datacenterId"),
        "guestId": "ubuntu64Guest" if linux else "windows9Server64Guest",
        "firmware": "efi",
        "scsiType": "pvscsi" if linux else "lsilogic-sas",
        "numCpus": 2,
        "memory": 4096,
        "disks": [{"label": "Hard disk 1", "size": 100, "thinProvisioned": False, "eagerlyScrub": False, "unitNumber": 0}],
        "networkInterfaceTypes": ["vmxnet3"],
    }


def list_storage_account_service_sas(args: dict[str, Any]) -> dict[str, Any]:
    """A service SAS shaped like Azure's (never a real signature): read-only, HTTPS, the requested expiry."""
    resource = args.get("canonicalizedResource") or ""
    signature = hashlib.sha256(f"mock:{resource}".encode()).hexdigest()[:43]
    expiry = args.get("sharedAccessExpiryTime", "")
    return {"serviceSasToken": f"sv=2022-11-02&sr=b&sp=r&spr=https&se={expiry}&sig={signature}"}


INVOKES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "azure-native:storage:listStorageAccountServiceSAS": list_storage_account_service_sas,
    _TOKEN.format("getDatacenter"): get_datacenter,
    _TOKEN.format("getComputeCluster"): get_compute_cluster,
    _TOKEN.format("getResourcePool"): get_resource_pool,
    _TOKEN.format("getDatastore"): get_datastore,
    _TOKEN.format("getNetwork"): get_network,
    _TOKEN.format("getHost"): get_host,
    _TOKEN.format("getOvfVmTemplate"): get_ovf_vm_template,
    _TOKEN.format("getVirtualMachine"): get_virtual_machine,
}

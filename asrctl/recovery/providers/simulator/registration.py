"""The ids a simulated vault "assigned" at registration, for ``asrctl discover --provider simulator``: the whole
phase-1 → discover → phase-2 flow runs without Azure.

One simple, honest scheme: every id is a UUID derived (uuid5) from the simulator world's id and what it names, in
the shape ASR gives it (REFERENCE-modernized §2.4–2.5, REFERENCE §2): one GUID per appliance shared by its
components (process server, reprotect agent, …), OffAzure machine names ``<vCenter>_<instance uuid starting 50>``,
classic protectable items named by a GUID and containers ``cloud_<guid>``. Nothing here pretends to be a real
vault's id: a world reset (``asrctl sim reset``) gives new ones.
"""

from __future__ import annotations

import uuid
from typing import Any

from asrctl.config import StackConfig

NAMESPACE = uuid.UUID("3a9e1c4f-8b2d-4e6a-9f1c-5d7b3e2a8c40")


def _id(world_id: str, *what: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join((world_id, *what))))


def registration_ids(cfg: StackConfig, stack_name: str, world_id: str) -> dict[str, Any]:
    """The stack's ``vmware-azure-dr:registration`` block as the simulated vault would have it (camelCase)."""
    from asrctl.infra.naming import AzureNames

    names = AzureNames(cfg.environment, cfg.location)
    rg_id = f"/subscriptions/{cfg.subscription_id}/resourceGroups/{names.resource_group}"
    if cfg.modernized:
        site = f"{names.vault[:8]}{_id(world_id, 'site')[:4]}vmwaresite"
        site_id = f"{rg_id}/providers/Microsoft.OffAzure/VMwareSites/{site}"
        vcenter = cfg.vcenter.server.split(".", 1)[0]
        appliances = cfg.replication_appliances.appliances if cfg.replication_appliances else []
        block: dict[str, Any] = {
            "fabricName": f"{names.vault}-vmwarefabric",
            "protectionContainerName": f"{names.vault[:8]}{_id(world_id, 'container')[:4]}replicationcontainer",
            "vmwareSiteId": site_id,
            "appliances": {a.name: {"processServerId": _id(world_id, "appliance", a.name),
                                    "reprotectAgentId": _id(world_id, "appliance", a.name)} for a in appliances},
            "runAsAccountId": f"{site_id}/runasaccounts/{_id(world_id, 'runas')}",
            "failbackDatastore": cfg.vcenter.datastore,
            "discoveredMachines": {
                m.name: f"{site_id}/machines/{vcenter}_50{_id(world_id, 'vm', m.name)[2:]}" for m in cfg.machines
            },
        }
        return block
    block = {
        "fabricName": _id(world_id, "fabric").replace("-", ""),
        "protectionContainerName": f"cloud_{_id(world_id, 'container')}",
        "processServerId": _id(world_id, "process-server").upper(),
        "masterTargetId": _id(world_id, "master-target").upper(),
    }
    if any(m.os == "linux" for m in cfg.machines):
        block["linuxMasterTargetId"] = _id(world_id, "linux-master-target").upper()
    block["runAsAccountId"] = "1"
    if cfg.failback.enabled:
        block["failbackProcessServerId"] = _id(world_id, "azure-process-server").upper()
    block["retentionDrive"] = "E:\\"
    block["protectableItems"] = {m.name: _id(world_id, "protectable", m.name) for m in cfg.machines}
    return block

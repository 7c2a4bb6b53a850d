"""replication-appliances-sufficient: enough replication appliances for the machines, and for failing them back.

One appliance replicates at most 200 machines, and fails back at most 60 disks (REFERENCE-modernized §5, the table
in asrctl.sizing): a modernized stack needs ceil(machines / 200) appliances with role replication, and a dedicated
failback appliance when failback is enabled and the machines' disks exceed 60. The appliances are the vSphere VMs
whose ``guestinfo.asr.role`` is set (or that the ReplicationAppliances component builds: role replication). The
load comes from the stack (policy config ``protectedMachines``, ``protectedDisks``, ``failbackEnabled``), else the
machines are the InMageRcm protected items; without either the rule cannot decide and stays silent. Classic stacks
(policy config ``architecture``; without it, a stack with no appliance and no InMageRcm policy or item) are out of
scope: their configuration server is sized by the configuration-server rules of asrctl.sizing.
"""

import math

from asrctl.policy.rule import PROTECTED_ITEM, REPLICATION_POLICY, Rule, dig, parent_types
from asrctl.policy.rules._replication import ARCHITECTURE_SETTING
from asrctl.sizing import MAX_FAILBACK_DISKS_PER_APPLIANCE, MAX_MACHINES_PER_APPLIANCE

VSPHERE_VM = "vsphere:index/virtualMachine:VirtualMachine"
ROLE_KEY = "guestinfo.asr.role"


def _role(resource) -> str | None:
    role = dig(resource.props, "extraConfig", ROLE_KEY)
    if isinstance(role, str):
        return role
    if any(t.endswith(":ReplicationAppliances") for t in parent_types(resource.urn)):
        return "replication"
    return None


def _validate(args, report_violation) -> None:
    roles = [r for r in (_role(vm) for vm in args.resources if vm.resource_type == VSPHERE_VM) if r]
    architecture = RULE.setting(args, "architecture")
    if architecture is None:
        rcm = any(
            dig(r.props, "properties", "providerSpecificInput" if r.resource_type == REPLICATION_POLICY
                else "providerSpecificDetails", "instanceType") == "InMageRcm"
            for r in args.resources if r.resource_type in (REPLICATION_POLICY, PROTECTED_ITEM)
        )
        architecture = "modernized" if roles or rcm else "classic"
    if architecture != "modernized":
        return
    machines = RULE.setting(args, "protectedMachines")
    if machines is None:
        machines = sum(
            1 for r in args.resources if r.resource_type == PROTECTED_ITEM
            and dig(r.props, "properties", "providerSpecificDetails", "instanceType") == "InMageRcm"
        ) or None
    if machines is None:
        return
    replication = roles.count("replication")
    needed = max(1, math.ceil(int(machines) / MAX_MACHINES_PER_APPLIANCE))
    if replication < needed:
        report_violation(
            f"{replication} replication appliance(s) for {machines} machines; one appliance replicates at most "
            f"{MAX_MACHINES_PER_APPLIANCE}, so {needed} are needed: add appliances to replicationAppliances."
        )
    disks = RULE.setting(args, "protectedDisks")
    if RULE.setting(args, "failbackEnabled") and disks is not None and int(disks) > MAX_FAILBACK_DISKS_PER_APPLIANCE:
        if "failback" not in roles:
            report_violation(
                f"failback is enabled and the machines have {disks} disks, more than the "
                f"{MAX_FAILBACK_DISKS_PER_APPLIANCE} one appliance fails back; add an appliance with role: failback."
            )


RULE = Rule(
    name="replication-appliances-sufficient",
    description="Requires one replication appliance per 200 machines and a failback appliance beyond 60 disks.",
    severity="high",
    enforcement="mandatory",
    remediation="Add appliances to replicationAppliances.appliances as `asrctl capacity --stack NAME` says.",
    url="https://learn.microsoft.com/azure/site-recovery/replication-appliance-support-matrix",
    config={
        "protectedMachines": {"type": "integer", "minimum": 0, "description": "Machines the stack protects."},
        "protectedDisks": {"type": "integer", "minimum": 0, "description": "Disks of those machines."},
        "failbackEnabled": {"type": "boolean", "description": "The stack's failback.enabled."},
        **ARCHITECTURE_SETTING,
    },
    validate=_validate,
    stack=True,
    tags=("modernized", "capacity"),
)

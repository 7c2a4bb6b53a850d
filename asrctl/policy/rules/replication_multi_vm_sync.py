"""replication-multi-vm-sync-only-when-used: multi-VM consistency costs CPU and a port-20004 mesh on every VM.

"A plan uses it" means: some recovery plan group holds two or more machines. Those machines fail over in
parallel as one tier (a SQL cluster, an app farm) and must share a crash/app-consistent recovery point, which only
multi-VM sync gives. The stack passes the groups that qualify as policy config ``multiVmSyncUsedBy``
("plan/group"); without that config the rule cannot decide and stays silent. Classic policies say
``multiVmSyncStatus: Enable``, InMageRcm says ``enableMultiVmSync: "true"``.
"""

from asrctl.policy.rule import Rule
from asrctl.policy.rules._replication import policy_knobs


def _validate(args, report_violation) -> None:
    knobs = policy_knobs(args.resource_type, args.props)
    if knobs is None or knobs.multi_vm_key is None or knobs.get(knobs.multi_vm_key) != knobs.multi_vm_on:
        return
    used_by = RULE.setting(args, "multiVmSyncUsedBy")
    if used_by is None:
        return
    if not list(used_by):
        report_violation(
            f"{knobs.multi_vm_key} is {knobs.multi_vm_on} but no recovery plan group holds two or more machines; set "
            "replication.multiVmSync: false."
        )


RULE = Rule(
    name="replication-multi-vm-sync-only-when-used",
    description="Prohibits multi-VM sync unless a recovery plan group fails over two or more machines together.",
    severity="low",
    enforcement="mandatory",
    remediation="Set replication.multiVmSync: false, or group the machines that must stay consistent in one plan "
    "group.",
    url="https://learn.microsoft.com/azure/site-recovery/site-recovery-workload#workload-summary",
    config={
        "multiVmSyncUsedBy": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Recovery plan groups (plan/group) with two or more machines.",
        }
    },
    validate=_validate,
    tags=("replication",),
)

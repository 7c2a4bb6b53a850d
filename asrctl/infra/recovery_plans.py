"""Phase 2, recovery plans: one ASR ``ReplicationRecoveryPlan`` per ``runbooks/plans/*.yaml`` of the stack, plus one
per multi-VM consistency group (:mod:`asrctl.infra.consistency_groups`).

Rendering rules (the plan file is the source of truth, ASR a projection of it):

* groups: ASR's Shutdown group, its Failover group, then one Boot group per plan group, **in file order**;
  machines and actions keep file order too (a re-sorted group is the classic IaC failure here);
* ``before`` → the Boot group's start actions, ``after`` → its end actions;
* ``runbook`` → an Automation runbook action (``runbook_id`` of the published runbook, run on the recovery side);
  ``manual`` → a manual action with its text; ``script`` → client-side only (asrctl's engine runs it): left out,
  and the program logs a note saying so;
* ``when`` → ASR failover types (:data:`FAILOVER_TYPES`); ASR runs VMware → Azure plan actions only on the way to
  Azure (``PrimaryToRecovery``), so an action that maps to no ASR type (failback, reenable) is left out with a note;
* a consistency group's plan (``<plan>-<group>``) holds just that group's machines in one Boot group and no
  actions: the engine runs the plan file's actions and fails the group over through this plan's APIs, the only
  way ASR gives multi-VM-consistent recovery points.

The primary fabric is the stack's VMware fabric (classic: the configuration server's; modernized: the InMageRcm
fabric the appliances registered), the recovery fabric ASR's literal ``"Microsoft Azure"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import recoveryservices as rs

from asrctl.errors import BadInput
from asrctl.infra.asr import AZURE_FABRIC, vault_child_kwargs
from asrctl.infra.consistency_groups import ConsistencyGroup
from asrctl.plans import FAILOVER_OPERATIONS, Action, ManualAction, Plan, RunbookAction, ScriptAction

#: Our operations → ASR failover types. failback and reenable have no ASR recovery-plan action for VMware → Azure.
FAILOVER_TYPES: dict[str, str | None] = {
    "test-failover": "TestFailover",
    "cleanup-test-failover": "TestFailoverCleanup",
    "planned-failover": "PlannedFailover",
    "unplanned-failover": "UnplannedFailover",
    "commit": "Commit",
    "reprotect": "ReverseReplicate",
    "failback": None,
    "reenable": None,
}
#: ASR runs VMware → Azure recovery plan actions on failover to Azure only.
FAILOVER_DIRECTIONS = ["PrimaryToRecovery"]


def failover_types(action: Action) -> list[str]:
    """ASR failover types of an action, in our operation order, without duplicates."""
    types: list[str] = []
    for op in action.when or FAILOVER_OPERATIONS:
        asr = FAILOVER_TYPES[op]
        if asr and asr not in types:
            types.append(asr)
    return types


def iso_duration(seconds: int) -> str:
    """Seconds → ISO 8601 duration (PT1H30M, PT10M, PT45S), the format ASR's action timeout takes."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s or seconds == 0 else "")


@dataclass(frozen=True)
class RenderedAction:
    """One plan action as ASR will hold it, or the reason it is left out."""

    name: str
    action: Action
    failover_types: tuple[str, ...]
    skipped_reason: str | None = None


def render_actions(plan: Plan, group_index: int, side: str) -> list[RenderedAction]:
    group = plan.groups[group_index]
    out: list[RenderedAction] = []
    for i, action in enumerate(getattr(group, side), start=1):
        name = f"{group.name}-{'pre' if side == 'before' else 'post'}-{i}-{action.kind}"
        types = tuple(failover_types(action))
        where = f"plan {plan.name} group {group.name} {side}[{i - 1}]"
        if isinstance(action, ScriptAction):
            reason = (
                f"{where}: script {action.script} runs client-side only (asrctl drill/failover), "
                "left out of the ASR recovery plan"
            )
        elif not types:
            reason = (
                f"{where}: {action.kind} action runs only for {', '.join(action.when or ())}, which ASR recovery "
                "plans cannot run for VMware → Azure; left out of the ASR plan (asrctl's engine runs it)"
            )
        else:
            reason = None
        out.append(RenderedAction(name, action, types, reason))
    return out


@dataclass(frozen=True)
class RecoveryPlansArgs:
    vault_name: pulumi.Input[str]
    """Required. Recovery Services vault name."""
    vault_id: pulumi.Input[str]
    """Required. ARM id of the vault (the primary fabric id is a child of it)."""
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    fabric_name: str
    """Required. The VMware fabric ASR created at registration (classic: configuration server; modernized: the
    InMageRcm fabric of the appliances)."""
    plans: Sequence[Plan]
    """Required. Validated plans of this stack (asrctl.plans.load_plans_for_stack), in file order."""
    protected_item_ids: Mapping[str, pulumi.Input[str]]
    """Required. ARM id of each machine's replicated protected item."""
    protected_items: Sequence[pulumi.Resource]
    """Required. The protected items (a plan can only reference items that exist)."""
    runbook_ids: Mapping[str, pulumi.Input[str]]
    """Required. ARM id of each published Automation runbook, by runbook name."""
    consistency_groups: Sequence[ConsistencyGroup] = ()
    """Optional. Multi-VM consistency groups; each gets a plan of its own name with one Boot group. Default none."""


class RecoveryPlans(pulumi.ComponentResource):
    """One ReplicationRecoveryPlan per plan file: Shutdown, Failover, then the Boot groups in file order."""

    plan_ids: dict[str, pulumi.Output[str]]
    """ARM id per plan file name (consumed by the runbook engine's azure provider)."""
    group_plan_ids: dict[str, pulumi.Output[str]]
    """ARM id per consistency group plan (the engine fails a multi-VM group over through it)."""

    def __init__(self, name: str, args: RecoveryPlansArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("asrctl:dr:RecoveryPlans", name, None, opts)
        primary_fabric_id = pulumi.Output.concat(args.vault_id, "/replicationFabrics/", args.fabric_name)
        file_plans = {p.name for p in args.plans}
        for group in args.consistency_groups:
            if group.name in file_plans:
                raise BadInput(
                    f"recovery plan name {group.name!r} is taken twice: by runbooks/plans/{group.name}.yaml and by the "
                    f"consistency group of plan {group.plan} group {group.group}; rename the plan file or the group"
                )
        self.plan_ids = {}
        self.group_plan_ids: dict[str, pulumi.Output[str]] = {}
        for plan in args.plans:
            groups = self._fixed_groups()
            for gi, group in enumerate(plan.groups):
                groups.append(
                    rs.RecoveryPlanGroupArgs(
                        group_type="Boot",
                        replication_protected_items=[
                            rs.RecoveryPlanProtectedItemArgs(id=args.protected_item_ids[m]) for m in group.machines
                        ],
                        start_group_actions=self._actions(render_actions(plan, gi, "before"), args),
                        end_group_actions=self._actions(render_actions(plan, gi, "after"), args),
                    )
                )
            self.plan_ids[plan.name] = self._plan(f"{name}-{plan.name}", plan.name, groups, primary_fabric_id, args)
        for cg in args.consistency_groups:
            groups = self._fixed_groups() + [
                rs.RecoveryPlanGroupArgs(
                    group_type="Boot",
                    replication_protected_items=[
                        rs.RecoveryPlanProtectedItemArgs(id=args.protected_item_ids[m]) for m in cg.machines
                    ],
                )
            ]
            self.group_plan_ids[cg.name] = self._plan(f"{name}-group-{cg.name}", cg.name, groups, primary_fabric_id, args)
        self.register_outputs({"plan_ids": self.plan_ids, "group_plan_ids": self.group_plan_ids})

    @staticmethod
    def _fixed_groups() -> list[rs.RecoveryPlanGroupArgs]:
        """ASR's Shutdown and Failover groups, which come before the Boot groups."""
        return [
            rs.RecoveryPlanGroupArgs(group_type="Shutdown", replication_protected_items=[]),
            rs.RecoveryPlanGroupArgs(group_type="Failover", replication_protected_items=[]),
        ]

    def _plan(
        self, logical: str, plan_name: str, groups: list[rs.RecoveryPlanGroupArgs],
        primary_fabric_id: pulumi.Output[str], args: RecoveryPlansArgs,
    ) -> pulumi.Output[str]:
        rp = rs.ReplicationRecoveryPlan(
            logical,
            **vault_child_kwargs(
                args.vault_name,
                args.resource_group_name,
                recovery_plan_name=plan_name,
                properties=rs.CreateRecoveryPlanInputPropertiesArgs(
                    primary_fabric_id=primary_fabric_id,
                    recovery_fabric_id=AZURE_FABRIC,
                    failover_deployment_model="ResourceManager",
                    groups=groups,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.protected_items)),
        )
        return rp.id

    def _actions(self, rendered: list[RenderedAction], args: RecoveryPlansArgs) -> list[rs.RecoveryPlanActionArgs]:
        actions: list[rs.RecoveryPlanActionArgs] = []
        for r in rendered:
            if r.skipped_reason:
                pulumi.log.info(r.skipped_reason, self)
                continue
            a = r.action
            if isinstance(a, RunbookAction):
                if a.parameters:
                    pulumi.log.info(
                        f"runbook {a.runbook} ({r.name}): ASR passes a runbook only the RecoveryPlanContext, not "
                        f"the plan's parameters {sorted(a.parameters)}; asrctl's engine passes them",
                        self,
                    )
                details: rs.RecoveryPlanAutomationRunbookActionDetailsArgs | rs.RecoveryPlanManualActionDetailsArgs = (
                    rs.RecoveryPlanAutomationRunbookActionDetailsArgs(
                        instance_type="AutomationRunbookActionDetails",
                        fabric_location="Recovery",
                        runbook_id=args.runbook_ids[a.runbook],
                        timeout=iso_duration(a.effective_timeout),
                    )
                )
            elif isinstance(a, ManualAction):
                details = rs.RecoveryPlanManualActionDetailsArgs(instance_type="ManualActionDetails", description=a.manual)
            else:  # pragma: no cover - render_actions skips scripts
                continue
            actions.append(
                rs.RecoveryPlanActionArgs(
                    action_name=r.name,
                    custom_details=details,
                    failover_types=list(r.failover_types),
                    failover_directions=list(FAILOVER_DIRECTIONS),
                )
            )
        return actions

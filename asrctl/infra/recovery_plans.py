"""Phase 2, recovery plans: one ASR ``ReplicationRecoveryPlan`` per ``runbooks/plans/*.yaml`` of the stack, plus one
per multi-VM consistency group (:mod:`asrctl.infra.consistency_groups`).

The rendering (groups in ASR's order, actions, what is left out and why) is :mod:`asrctl.infra.plan_layout`, which
the Azure provider shares when ``asrctl migrate`` re-creates the plans on a modernized vault; this component only
turns a :class:`~asrctl.infra.plan_layout.PlanLayout` into Pulumi args and logs what is left out.

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
from asrctl.infra.plan_layout import (  # noqa: F401 - FAILOVER_TYPES, failover_types, iso_duration: re-exported
    FAILOVER_DIRECTIONS,
    FAILOVER_TYPES,
    RUNBOOK_FABRIC_LOCATION,
    GroupLayout,
    PlanLayout,
    RenderedAction,
    consistency_group_layout,
    failover_types,
    iso_duration,
    plan_layout,
    render_actions,
)
from asrctl.plans import ManualAction, Plan, RunbookAction


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
            self.plan_ids[plan.name] = self._plan(f"{name}-{plan.name}", plan_layout(plan), primary_fabric_id, args)
        for cg in args.consistency_groups:
            self.group_plan_ids[cg.name] = self._plan(f"{name}-group-{cg.name}", consistency_group_layout(cg),
                                                      primary_fabric_id, args)
        self.register_outputs({"plan_ids": self.plan_ids, "group_plan_ids": self.group_plan_ids})

    def _plan(self, logical: str, layout: PlanLayout, primary_fabric_id: pulumi.Output[str],
              args: RecoveryPlansArgs) -> pulumi.Output[str]:
        rp = rs.ReplicationRecoveryPlan(
            logical,
            **vault_child_kwargs(
                args.vault_name,
                args.resource_group_name,
                recovery_plan_name=layout.name,
                properties=rs.CreateRecoveryPlanInputPropertiesArgs(
                    primary_fabric_id=primary_fabric_id,
                    recovery_fabric_id=AZURE_FABRIC,
                    failover_deployment_model="ResourceManager",
                    groups=[self._group(g, layout, args) for g in layout.groups],
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.protected_items)),
        )
        return rp.id

    def _group(self, group: GroupLayout, layout: PlanLayout, args: RecoveryPlansArgs) -> rs.RecoveryPlanGroupArgs:
        items = [rs.RecoveryPlanProtectedItemArgs(id=args.protected_item_ids[m]) for m in group.machines]
        if group.group_type != "Boot" or not layout.has_actions:
            return rs.RecoveryPlanGroupArgs(group_type=group.group_type, replication_protected_items=items)
        return rs.RecoveryPlanGroupArgs(
            group_type="Boot", replication_protected_items=items,
            start_group_actions=self._actions(list(group.start_actions), args),
            end_group_actions=self._actions(list(group.end_actions), args),
        )

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
                        fabric_location=RUNBOOK_FABRIC_LOCATION,
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

"""How a recovery plan file becomes an ASR recovery plan: its groups in ASR's order, each group's machines and its
start/end group actions — the one rendering both writers of recovery plans share.

Pure (no Pulumi, no SDK): the Pulumi component (:mod:`asrctl.infra.recovery_plans`, phase 2) turns a
:class:`PlanLayout` into ``ReplicationRecoveryPlan`` args, and the Azure provider
(:mod:`asrctl.recovery.providers.azure.inputs`, ``asrctl migrate`` re-creating the plans on the modernized vault)
into the SDK's ``CreateRecoveryPlanInput``. Only the last step — whose model classes to fill — differs.

Rendering rules (the plan file is the source of truth, ASR a projection of it):

* groups: ASR's Shutdown group, its Failover group, then one Boot group per plan group, **in file order**;
  machines and actions keep file order too (a re-sorted group is the classic IaC failure here);
* ``before`` → the Boot group's start actions, ``after`` → its end actions;
* ``runbook`` → an Automation runbook action (run on the recovery side); ``manual`` → a manual action with its
  text; ``script`` → client-side only (asrctl's engine runs it): left out, with the reason;
* ``when`` → ASR failover types (:data:`FAILOVER_TYPES`); ASR runs VMware → Azure plan actions only on the way to
  Azure (``PrimaryToRecovery``), so an action that maps to no ASR type (failback, reenable) is left out, with the
  reason;
* a consistency group's plan (``<plan>-<group>``) holds just that group's machines in one Boot group and no
  actions: the engine runs the plan file's actions and fails the group over through this plan's APIs, the only
  way ASR gives multi-VM-consistent recovery points.
"""

from __future__ import annotations

from dataclasses import dataclass

from asrctl.infra.consistency_groups import ConsistencyGroup
from asrctl.plans import FAILOVER_OPERATIONS, Action, Plan, ScriptAction

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
FAILOVER_DIRECTIONS = ("PrimaryToRecovery",)
#: The recovery fabric of every VMware → Azure plan: ASR's literal (REFERENCE-modernized §3.2, the CLI test).
AZURE_FABRIC = "Microsoft Azure"
#: Where a runbook action runs: the recovery side (Azure), where the failed-over VMs are.
RUNBOOK_FABRIC_LOCATION = "Recovery"


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
class GroupLayout:
    """One group of an ASR recovery plan: its type, its machines (plan order) and its actions (file order; the
    left-out ones keep their reason, a writer logs or drops them)."""

    group_type: str  # Shutdown | Failover | Boot
    machines: tuple[str, ...] = ()
    start_actions: tuple[RenderedAction, ...] = ()
    end_actions: tuple[RenderedAction, ...] = ()


@dataclass(frozen=True)
class PlanLayout:
    """An ASR recovery plan to write: its name and its groups in ASR's order."""

    name: str
    groups: tuple[GroupLayout, ...]
    has_actions: bool = True  # a plan file's Boot groups carry its actions; a consistency group's plan has none

    @property
    def machines(self) -> tuple[str, ...]:
        return tuple(m for g in self.groups for m in g.machines)


FIXED_GROUPS = (GroupLayout("Shutdown"), GroupLayout("Failover"))  # ASR's groups before the Boot groups


def plan_layout(plan: Plan) -> PlanLayout:
    """A plan file's ASR recovery plan: Shutdown, Failover, then one Boot group per plan group, in file order."""
    boots = tuple(
        GroupLayout("Boot", tuple(group.machines), tuple(render_actions(plan, gi, "before")),
                    tuple(render_actions(plan, gi, "after")))
        for gi, group in enumerate(plan.groups)
    )
    return PlanLayout(plan.name, FIXED_GROUPS + boots)


def consistency_group_layout(group: ConsistencyGroup) -> PlanLayout:
    """A multi-VM consistency group's own plan: just its machines in one Boot group, no actions."""
    return PlanLayout(group.name, FIXED_GROUPS + (GroupLayout("Boot", tuple(group.machines)),), has_actions=False)

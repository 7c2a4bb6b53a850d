"""The DR site's blocks both architectures share, composed after the architecture's own blocks (called by ``DrSite``),
and :class:`SiteBlocks`, what ``DrSite`` hands every block builder (this module's and the architectures').

RPO alerting (watching the architecture's replication providers), the Automation account with the runbooks recovery
plans call, and — in phase 2 — the ASR recovery plans from ``runbooks/plans/*.yaml`` plus one per multi-VM
consistency group. Kept beside ``site.py`` so the composition there stays a short list; every block is still a child
of the ``DrSite`` component.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pulumi

from asrctl.config import NS, StackConfig
from asrctl.infra.automation import RunbookAutomation, RunbookAutomationArgs, collect_runbooks, sas_expiry
from asrctl.infra.consistency_groups import ConsistencyGroup
from asrctl.infra.monitoring import (
    CLASSIC_REPLICATION_PROVIDERS,
    MODERNIZED_REPLICATION_PROVIDERS,
    RpoAlerting,
    RpoAlertingArgs,
)
from asrctl.infra.recovery_plans import RecoveryPlans, RecoveryPlansArgs
from asrctl.infra.vsphere_provider import VSpherePlacement, VSpherePlacementArgs
from asrctl.plans import Plan
from asrctl.project import project_dir

if TYPE_CHECKING:
    from asrctl.infra.site import DrSite


@dataclass(frozen=True)
class SiteBlocks:
    """What ``DrSite`` hands every block builder, and what the builders of both architectures do alike."""

    site: DrSite
    """The site component: every block is its child and is kept on it (``__main__.py`` exports from there)."""
    name: str
    """The site's logical name: every block's logical name derives from it."""
    cfg: StackConfig
    """The validated stack configuration."""
    tags: dict[str, str]
    """Tags on every Azure resource (``site_tags``)."""
    child: pulumi.ResourceOptions
    """``parent=site``: the options every block is created with."""
    outputs: dict[str, Any]
    """The site's outputs: each builder adds its blocks' entries."""

    @property
    def stack_name(self) -> str:
        return pulumi.get_stack()

    def require_secret(self, key: str) -> pulumi.Output[str]:
        """A stack secret (``vmware-azure-dr:<key>``), only ever as a secret output."""
        return pulumi.Config(NS).require_secret(key)

    def warn_capacity(self, warnings: Iterable[str]) -> None:
        """The sizing decision's warnings (asrctl.sizing), each pointing at `asrctl capacity`."""
        for warning in warnings:
            pulumi.log.warn(f"capacity: {warning} (see `asrctl capacity --stack {self.stack_name}`)", self.site)

    def place_on_vsphere(self) -> VSpherePlacement:
        """The vCenter provider and placement the on-prem ASR servers deploy into (kept as ``site.vsphere``)."""
        self.site.vsphere = VSpherePlacement(
            f"{self.name}-vsphere",
            VSpherePlacementArgs(vcenter=self.cfg.vcenter, password=self.require_secret("vcenterPassword")),
            opts=self.child,
        )
        return self.site.vsphere


def add_shared_blocks(blocks: SiteBlocks, plans: Sequence[Plan], groups: Sequence[ConsistencyGroup]) -> None:
    """Build RPO alerting, Automation and (phase 2) the recovery plans on the site; add their outputs."""
    site, name, cfg, tags, child, outputs = blocks.site, blocks.name, blocks.cfg, blocks.tags, blocks.child, blocks.outputs
    suffix = site.names_suffix
    rg_name = site.resource_group.name
    location = site.resource_group.location

    # -- RPO alerting -------------------------------------------------------------------------------------------
    site.rpo_alerting = RpoAlerting(
        f"{name}-rpo-alerting",
        RpoAlertingArgs(
            resource_group_name=rg_name,
            location=location,
            vault_id=site.vault.id,
            rpo_threshold_minutes=cfg.replication.rpo_threshold_minutes,
            replication_providers=MODERNIZED_REPLICATION_PROVIDERS if cfg.modernized else CLASSIC_REPLICATION_PROVIDERS,
            emails=tuple(cfg.alerts.emails),
            workspace_name=f"log-{suffix}",
            action_group_name=f"ag-{suffix}-rpo",
            alert_rule_name=f"alert-{suffix}-rpo",
            tags=tags,
        ),
        opts=child,
    )
    outputs["log_analytics_workspace_id"] = site.rpo_alerting.workspace_id
    outputs["rpo_alert_rule_id"] = site.rpo_alerting.alert_rule_id

    # -- Automation: the runbooks recovery plans call -----------------------------------------------------------
    runbooks = collect_runbooks(project_dir() / "runbooks" / "actions", plans)
    site.automation = RunbookAutomation(
        f"{name}-automation",
        RunbookAutomationArgs(
            resource_group_name=rg_name,
            location=site.vault.location,
            account_name=f"aa-{suffix}",
            artifacts_storage_account_name=site.names.storage_account("art"),
            runbooks=tuple(runbooks),
            sas_expiry=sas_expiry(date.today()),
            tags=tags,
        ),
        opts=child,
    )
    outputs["automation_account_id"] = site.automation.account_id
    outputs["runbook_ids"] = site.automation.runbook_ids

    # -- Phase 2: recovery plans over the protected items ------------------------------------------------------
    if site.protection is None or site.fabric_name is None:
        return
    site.recovery_plans = RecoveryPlans(
        f"{name}-recovery-plans",
        RecoveryPlansArgs(
            vault_name=site.vault.name,
            vault_id=site.vault.id,
            resource_group_name=rg_name,
            fabric_name=site.fabric_name,
            plans=tuple(plans),
            protected_item_ids=site.protection.protected_item_ids,
            protected_items=tuple(site.protection.items.values()),
            runbook_ids=site.automation.runbook_ids,
            consistency_groups=tuple(groups),
        ),
        opts=child,
    )
    outputs["protected_item_ids"] = site.protection.protected_item_ids
    outputs["recovery_plan_ids"] = site.recovery_plans.plan_ids
    if groups:
        outputs["group_recovery_plan_ids"] = site.recovery_plans.group_plan_ids

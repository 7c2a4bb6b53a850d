"""The one table of recovery operations: what each needs, does, is called in ASR and takes in the simulator.

Every other module reads :data:`OPERATIONS` (and :data:`COMMANDS` for what each CLI command runs): the engine
(stages, directions, networks, which actions run), readiness (states, replication checks, failback prerequisites),
the simulator (transitions, durations), the Azure provider (ASR action, allowedOperations, job scenario names),
reporting (titles). Adding an operation touches this table and the code that performs it, nothing else.

Machine states are asrctl's vocabulary (:data:`MACHINE_STATES`), the same for both ASR architectures; each
provider maps its backend's own fields onto them (the Azure provider from ASR's provider, protectionState,
activeLocation, testFailoverState and allowedOperations).

Sources for the ASR columns: REFERENCE.md §3 and §5 (classic, checked against Az.RecoveryServices PowerShell and
its recorded traffic) and REFERENCE-modernized.md §3–§4 (InMageRcm / InMageRcmFailback: PS cmdlets, PSrec and
CLIrec recordings, SDK 2.0.0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Architecture = Literal["modernized", "classic"]
ARCHITECTURES: tuple[Architecture, ...] = ("modernized", "classic")

MachineState = Literal[
    "protected",  # running on-prem, replicating to Azure: ready for test failover and failover
    "test-failed-over",  # a test VM runs in the isolated test network; needs cleanup-test-failover
    "failed-over",  # running in Azure, failover not committed yet
    "committed",  # running in Azure, failover committed; not protected until reprotect
    "reprotected",  # running in Azure, replicating Azure → on-prem (classic: process server in Azure; modernized:
    #                 the appliance's reprotect agent)
    "failback-pending",  # running on-prem again after the failback failover; commit (or, modernized, cancel) next
    "failed-back",  # running on-prem, failback committed; not protected to Azure until reenable
]
MACHINE_STATES: tuple[MachineState, ...] = MachineState.__args__  # type: ignore[attr-defined]

Direction = Literal["primary-to-recovery", "recovery-to-primary"]
Network = Literal["test", "recovery", "on-prem"]


@dataclass(frozen=True)
class AsrNames:
    """How ASR names one operation for one architecture (per protected item unless said otherwise)."""

    action: str  # REST action on the replicated item (POST …/replicationProtectedItems/{item}/<action>)
    allowed: str  # the entry of the item's allowedOperations that permits it
    scenarios: tuple[str, ...]  # job scenarioName(s) ASR reports for it (reconciliation, job lookups)
    plan_action: str | None = None  # REST action on a recovery plan (multi-VM groups), None: not via plans
    asr_direction: str | None = None  # failoverDirection ASR accepts on the item (None: not sent)


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    sources: dict[Architecture, tuple[MachineState, ...]]  # states it may start from, per architecture
    target: MachineState  # the state it leads to
    direction: Direction  # which way the VMs move or replicate (ASR's PrimaryToRecovery / RecoveryToPrimary)
    network: Network | None  # where the VMs run afterwards (test: the isolated network); None: unchanged
    asr: dict[Architecture, AsrNames]
    duration: float  # simulated seconds of one machine's job before jitter (the range ASR shows for one VM)
    needs_failback: bool = False  # needs the failback path (classic: process server in Azure + VPN/ER + master
    #                               target; modernized: a reprotect agent on a registered appliance)
    recovers_data: bool = False  # brings a VM up from replicated data: replication health, RPO and recovery
    #                              points matter (readiness), and a recovery point is reported
    moves_vms: bool = False  # a failover of some kind: plan actions without `when` run for it
    chooses_point: bool = False  # takes --recovery-point
    group_job: bool = False  # machines of a multi-VM group go through one recovery-plan job (ASR refuses per item)
    scope: Literal["machine", "run"] = "machine"  # run: one request for every machine of the run, not per group
    architectures: tuple[Architecture, ...] = field(default=ARCHITECTURES)

    def allowed_from(self, architecture: Architecture) -> tuple[MachineState, ...]:
        return self.sources.get(architecture, ())

    def exists_in(self, architecture: Architecture) -> bool:
        return architecture in self.architectures


def _both(*states: MachineState) -> dict[Architecture, tuple[MachineState, ...]]:
    return {"modernized": states, "classic": states}


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            name="test-failover", title="Test failover", sources=_both("protected"), target="test-failed-over",
            direction="primary-to-recovery", network="test", duration=480, recovers_data=True, moves_vms=True,
            chooses_point=True, group_job=True,
            asr={
                "modernized": AsrNames("testFailover", "TestFailover", ("TestFailover",), "testFailover",
                                       "PrimaryToRecovery"),
                "classic": AsrNames("testFailover", "TestFailover", ("TestFailover",), "testFailover",
                                    "PrimaryToRecovery"),
            },
        ),
        Operation(
            name="cleanup-test-failover", title="Test failover cleanup", sources=_both("test-failed-over"),
            target="protected", direction="primary-to-recovery", network=None, duration=180, group_job=True,
            asr={
                "modernized": AsrNames("testFailoverCleanup", "TestFailoverCleanup", ("TestFailoverCleanup",),
                                       "testFailoverCleanup"),
                "classic": AsrNames("testFailoverCleanup", "TestFailoverCleanup", ("TestFailoverCleanup",),
                                    "testFailoverCleanup"),
            },
        ),
        Operation(
            # VMware → Azure has no planned-failover input on either architecture: it is an unplanned failover that
            # shuts the source down and syncs first (classic sourceSiteOperations Required; InMageRcm performShutdown).
            name="planned-failover", title="Planned failover", sources=_both("protected"), target="failed-over",
            direction="primary-to-recovery", network="recovery", duration=600, recovers_data=True, moves_vms=True,
            group_job=True,
            asr={
                "modernized": AsrNames("unplannedFailover", "UnplannedFailover", ("UnplannedFailover",),
                                       "unplannedFailover", "PrimaryToRecovery"),
                "classic": AsrNames("unplannedFailover", "UnplannedFailover", ("UnplannedFailover", "Failover"),
                                    "unplannedFailover", "PrimaryToRecovery"),
            },
        ),
        Operation(
            name="unplanned-failover", title="Unplanned failover", sources=_both("protected"), target="failed-over",
            direction="primary-to-recovery", network="recovery", duration=480, recovers_data=True, moves_vms=True,
            chooses_point=True, group_job=True,
            asr={
                "modernized": AsrNames("unplannedFailover", "UnplannedFailover", ("UnplannedFailover",),
                                       "unplannedFailover", "PrimaryToRecovery"),
                "classic": AsrNames("unplannedFailover", "UnplannedFailover", ("UnplannedFailover", "Failover"),
                                    "unplannedFailover", "PrimaryToRecovery"),
            },
        ),
        Operation(
            name="commit", title="Commit failover", sources=_both("failed-over"), target="committed",
            direction="primary-to-recovery", network=None, duration=60, group_job=True,
            asr={
                "modernized": AsrNames("failoverCommit", "Commit", ("CommitFailover",), "failoverCommit"),
                "classic": AsrNames("failoverCommit", "Commit", ("CommitFailover", "Commit"), "failoverCommit"),
            },
        ),
        Operation(
            # Modernized reprotect may start from a failover that is not committed yet (the CLI test does; ASR's job
            # then contains a CommitFailoverTask). Reprotect is per item on both: PS refuses plan reprotect for
            # InMageRcm, and classic reprotect needs per-item master target inputs.
            name="reprotect", title="Reprotect to on-premises", target="reprotected",
            sources={"modernized": ("committed", "failed-over"), "classic": ("committed",)},
            direction="recovery-to-primary", network=None, duration=1200, needs_failback=True,
            asr={
                "modernized": AsrNames("reProtect", "SwitchProtection", ("SwitchReplicationGroupProtection",),
                                       None, "RecoveryToPrimary"),
                "classic": AsrNames("reProtect", "ReverseReplicate", ("SwitchReplicationGroupProtection",
                                                                      "ReverseReplication"),
                                    None, "RecoveryToPrimary"),
            },
        ),
        Operation(
            # Classic: an unplanned failover of the InMage item, direction PrimaryToRecovery (PowerShell: "Recovery
            # ToPrimary Direction is Invalid for InMage"). Modernized: a planned failover of the InMageRcmFailback
            # item with no direction on the item (RecoveryToPrimary at plan level).
            name="failback", title="Failback to on-premises", sources=_both("reprotected"), target="failback-pending",
            direction="recovery-to-primary", network="on-prem", duration=600, needs_failback=True,
            recovers_data=True, moves_vms=True, group_job=True,
            asr={
                "modernized": AsrNames("plannedFailover", "PlannedFailover", ("PlannedFailover",), "plannedFailover"),
                "classic": AsrNames("unplannedFailover", "UnplannedFailover", ("UnplannedFailover", "Failover"),
                                    "unplannedFailover", "PrimaryToRecovery"),
            },
        ),
        Operation(
            name="commit-failback", title="Commit failback", sources=_both("failback-pending"), target="failed-back",
            direction="recovery-to-primary", network=None, duration=60, group_job=True,
            asr={
                "modernized": AsrNames("failoverCommit", "Commit", ("CommitFailover",), "failoverCommit"),
                "classic": AsrNames("failoverCommit", "Commit", ("CommitFailover", "Commit"), "failoverCommit"),
            },
        ),
        Operation(
            # Only a planned failover can be cancelled (failover-failback-overview-modernized.md); classic has none.
            name="cancel-failback", title="Cancel failback", sources={"modernized": ("failback-pending",)},
            target="reprotected", direction="recovery-to-primary", network=None, duration=300, group_job=True,
            architectures=("modernized",),
            asr={"modernized": AsrNames("failoverCancel", "CancelFailover", ("CancelFailover",), "failoverCancel")},
        ),
        Operation(
            # Classic: InMageAzureV2 reprotect RecoveryToPrimary of the failed-back item. Modernized: reprotect of the
            # InMageRcmFailback item (InMageRcmFailbackReprotectInput; PS sets PrimaryToRecovery).
            name="reenable", title="Re-enable replication to Azure", sources=_both("failed-back"), target="protected",
            direction="primary-to-recovery", network=None, duration=900,
            asr={
                "modernized": AsrNames("reProtect", "SwitchProtection", ("SwitchReplicationGroupProtection",),
                                       None, "PrimaryToRecovery"),
                "classic": AsrNames("reProtect", "ReverseReplicate", ("SwitchReplicationGroupProtection",
                                                                      "ReverseReplication"),
                                    None, "RecoveryToPrimary"),
            },
        ),
        Operation(
            # Classic → modernized move of a replicating item (switchProvider, InMageAzureV2SwitchProviderInput). The
            # item keeps replicating; it ends protected in the modernized vault. No allowedOperations entry gates it
            # (ReplicationProtectedItemOperation has none); the scenario names are [U]: no recording of a move's job.
            name="switch-provider", title="Move to the modernized architecture", sources={"classic": ("protected",)},
            target="protected", direction="primary-to-recovery", network=None, duration=3600,
            architectures=("classic",),
            asr={"classic": AsrNames("switchProvider", "", ("SwitchProvider", "MigrateProvider"))},
        ),
        Operation(
            # ASR does not migrate recovery plans (move-from-classic-to-modernized-vmware-disaster-recovery.md):
            # after the move, the target vault gets the plans from runbooks/plans/*.yaml, created idempotently.
            name="recreate-recovery-plans", title="Re-create the recovery plans on the modernized vault",
            sources={"modernized": ("protected",)}, target="protected", direction="primary-to-recovery",
            network=None, duration=60, scope="run", architectures=("modernized",),
            asr={"modernized": AsrNames("create", "", ("SaveRecoveryPlan",))},  # PS docs Get-AzureSiteRecoveryJob
        ),
    )
}

OperationName = Literal[
    "test-failover", "cleanup-test-failover", "planned-failover", "unplanned-failover", "commit", "reprotect",
    "failback", "commit-failback", "cancel-failback", "reenable", "switch-provider",
]
OPERATION_NAMES: tuple[str, ...] = tuple(OPERATIONS)
# What a plan action's `when` may name: the operations a recovery plan run performs (not the migration move).
PLAN_OPERATIONS: tuple[str, ...] = tuple(n for n in OPERATIONS if n not in ("switch-provider",
                                                                           "recreate-recovery-plans"))
# Plan actions without `when` run for these (DESIGN: "default: all failovers").
FAILOVER_OPERATIONS: tuple[str, ...] = tuple(n for n, op in OPERATIONS.items() if op.moves_vms)
RECOVERY_POINT_TYPES: tuple[str, ...] = (
    "latest", "latest-processed", "latest-app-consistent", "latest-crash-consistent",
)


def operation(name: str) -> Operation:
    return OPERATIONS[name]


@dataclass(frozen=True)
class Command:
    """A CLI command's run: its stages (one operation each, in order) and which stage is "the" operation (its RTO,
    the report's groups)."""

    name: str
    stages: tuple[str, ...]
    main_stage: int = 0
    readiness: bool = True  # runs the replication checks of readiness before anything (drill, failover, failback)

    @property
    def main_operation(self) -> str:
        return self.stages[self.main_stage]


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("drill", ("test-failover", "cleanup-test-failover")),
        Command("drill-no-cleanup", ("test-failover",)),
        Command("cleanup", ("cleanup-test-failover",), readiness=False),
        Command("failover-planned", ("planned-failover",)),
        Command("failover-unplanned", ("unplanned-failover",)),
        Command("commit", ("commit",), readiness=False),
        Command("reprotect", ("reprotect",), readiness=False),
        # Failback: reprotect to on-prem, fail over to on-prem, commit it, re-enable replication to Azure. A machine
        # reprotected earlier (asrctl reprotect) joins at the failback stage.
        Command("failback", ("reprotect", "failback", "commit-failback", "reenable"), main_stage=1),
        Command("failback-cancel", ("cancel-failback",), readiness=False),
        # classic → modernized: every machine switched, in batches (the migration plan's groups), then the plans.
        Command("migrate", ("switch-provider", "recreate-recovery-plans"), readiness=False),
    )
}
MIGRATION_BATCH = 10  # machines per switchProvider batch: the portal's limit (the ARM limit is not documented)


def stage_states(stages: tuple[str, ...], architecture: Architecture) -> set[str]:
    """Every state a machine may be in at the start of one of ``stages``."""
    return {s for name in stages for s in OPERATIONS[name].allowed_from(architecture)}

"""replication-app-consistent-frequency: VSS snapshots every 1-12 h (ASR's range), within the retention window.

Classic (InMageAzureV2, InMage): 60 to 720 minutes and below the recovery point history. Modernized (InMageRcm,
InMageRcmFailback): 0 (off) or 60 to 720 minutes, and for the forward policy not above the history.
"""

from asrctl.policy.rule import Rule, as_int
from asrctl.policy.rules._replication import policy_knobs

LOW, HIGH = 60, 720


def _validate(args, report_violation) -> None:
    knobs = policy_knobs(args.resource_type, args.props)
    if knobs is None:
        return
    value = as_int(knobs.get(knobs.app_key))
    history = as_int(knobs.get(knobs.history_key))
    off = " (or 0 to turn them off)" if knobs.modernized else ""
    if value is None:
        report_violation(f"appConsistentFrequencyInMinutes is not set; set it between {LOW} and {HIGH} minutes{off}.")
        return
    if knobs.modernized and value == 0:
        return
    if not LOW <= value <= HIGH:
        report_violation(
            f"appConsistentFrequencyInMinutes is {value}; set it between {LOW} and {HIGH} minutes (1-12 h){off}."
        )
    if history is not None and (value > history if knobs.modernized else value >= history):
        report_violation(
            f"appConsistentFrequencyInMinutes ({value}) is {'above' if knobs.modernized else 'not below'} the recovery "
            f"point history ({history}); take app-consistent points more often than the retention window."
        )


RULE = Rule(
    name="replication-app-consistent-frequency",
    description="Requires app-consistent snapshots every 1 to 12 hours (modernized: or off) within the retention window.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set replication.appConsistentFrequencyMinutes between 60 and 720 (modernized also 0) and within the "
    "retention.",
    url="https://learn.microsoft.com/azure/site-recovery/vmware-azure-set-up-replication-tutorial-modernized",
    validate=_validate,
    tags=("replication",),
)

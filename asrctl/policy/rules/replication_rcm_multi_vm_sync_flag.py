"""replication-rcm-multi-vm-sync-is-a-string: InMageRcm takes ``enableMultiVmSync`` as the string "true" or "false".

The API declares the field a string (SDK ``InMageRcmPolicyCreationInput.enable_multi_vm_sync: str``; so do
``performShutdown``, ``useMultiVmSyncPoint``…): a JSON boolean, or the classic ``Enable``/``Disable`` vocabulary,
is not what ASR documents and its behaviour is unspecified. Leaving it out leaves multi-VM sync to ASR's default,
which no source states, so it must be explicit.
"""

from asrctl.policy.rule import Rule, dig
from asrctl.policy.rules._replication import policy_knobs

ALLOWED = ("true", "false")


def _validate(args, report_violation) -> None:
    knobs = policy_knobs(args.resource_type, args.props)
    if knobs is None or knobs.instance_type != "InMageRcm":
        return
    value = dig(knobs.spec, "enableMultiVmSync")
    if value is None:
        report_violation('enableMultiVmSync is not set; set it to the string "true" or "false" (replication.multiVmSync).')
    elif not isinstance(value, str) or value not in ALLOWED:
        report_violation(
            f'enableMultiVmSync is {value!r}; InMageRcm takes the string "true" or "false", not a boolean or '
            "Enable/Disable."
        )


RULE = Rule(
    name="replication-rcm-multi-vm-sync-is-a-string",
    description='Requires the InMageRcm policy\'s enableMultiVmSync to be the string "true" or "false".',
    severity="medium",
    enforcement="mandatory",
    remediation='Send enable_multi_vm_sync="true" or "false" (asrctl derives it from replication.multiVmSync).',
    url="https://learn.microsoft.com/rest/api/site-recovery/replication-policies/create",
    validate=_validate,
    tags=("replication", "modernized"),
)

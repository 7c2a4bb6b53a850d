"""vm-no-password-in-custom-data: custom data is stored unencrypted on the VM and readable by any local admin.

A custom data value that is itself a Pulumi secret (the mock harness shows it as ``[secret]``) is flagged too:
the program meant to hide it, which means it holds a credential. Pass credentials through Key Vault or an
extension's protectedSettings instead.
"""

import base64
import binascii
import re

from asrctl.policy.rule import VM, Rule, dig

SECRET_MARKER = "[secret]"
_SECRET_RE = re.compile(
    r"(?i)([a-z_]*(password|passwd|pwd|passphrase|secret|sharedkey|shared_key)[a-z_]*\s*[:=]\s*\S+"
    r"|[-/](password|passphrase|pwd)\s+\S+"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)


def _decoded(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return value


def _validate(args, report_violation) -> None:
    if args.resource_type != VM:
        return
    for key, value in (("osProfile.customData", dig(args.props, "osProfile", "customData")),
                       ("userData", dig(args.props, "userData"))):
        if not isinstance(value, str):
            continue
        if value == SECRET_MARKER:
            report_violation(f"{key} is a secret value; move the credential to Key Vault and fetch it at boot.")
        elif _SECRET_RE.search(_decoded(value)):
            report_violation(f"{key} contains a password or key; move it to Key Vault and fetch it at boot.")


RULE = Rule(
    name="vm-no-password-in-custom-data",
    description="Prohibits passwords and keys in VM custom data and user data.",
    severity="critical",
    enforcement="mandatory",
    remediation="Remove credentials from custom_data/user_data; read them from Key Vault with the VM's managed "
    "identity or pass them in a VM extension's protected_settings.",
    anchor="Checkov CKV_AZURE_45",
    url="https://learn.microsoft.com/azure/virtual-machines/custom-data",
    validate=_validate,
    tags=("compute", "secrets"),
)

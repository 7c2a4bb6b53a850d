"""The environment a child process that must hold no credential (an action script, ansible-playbook) gets:
the parent's, minus every credential. (`pulumi config get` is the exception: it needs PULUMI_CONFIG_PASSPHRASE.)

One implementation for every place asrctl starts a process, so "no secret in a child environment" is one rule to
read and test. Removed: the variables named in :data:`CREDENTIAL_VARIABLES` (ARM/Azure/Pulumi/Temporal credentials
and the stack secrets' environment fallbacks), and any variable whose name ends like a credential
(:data:`CREDENTIAL_SUFFIXES`) — a new tool's ``FOO_CLIENT_SECRET`` is a secret before anyone lists it here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from asrctl.config import SECRET_KEYS

CREDENTIAL_VARIABLES: frozenset[str] = frozenset({
    # asrctl's own
    "ASRCTL_ARM_TOKEN", "ASRCTL_TEMPORAL_API_KEY", "ASRCTL_TEMPORAL_TLS_KEY",
    *SECRET_KEYS.values(),
    # azure-identity's EnvironmentCredential and friends
    "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD", "AZURE_USERNAME",
    "AZURE_FEDERATED_TOKEN", "AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_SAS_TOKEN",
    "IDENTITY_HEADER", "MSI_SECRET",
    # Terraform/Pulumi-style Azure provider settings
    "ARM_CLIENT_SECRET", "ARM_ACCESS_KEY", "ARM_SAS_TOKEN", "ARM_CLIENT_CERTIFICATE_PASSWORD", "ARM_OIDC_TOKEN",
    # Pulumi and Temporal
    "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "TEMPORAL_API_KEY", "TEMPORAL_TLS_KEY",
})
CREDENTIAL_SUFFIXES: tuple[str, ...] = (
    "_SECRET", "_PASSWORD", "_PASSPHRASE", "_TOKEN", "_API_KEY", "_ACCESS_KEY", "_SAS_TOKEN", "_PRIVATE_KEY",
)


def is_credential(name: str) -> bool:
    upper = name.upper()
    return upper in CREDENTIAL_VARIABLES or upper.endswith(CREDENTIAL_SUFFIXES)


def child_environment(extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) without credentials, plus ``extra`` (which must not add one back)."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not is_credential(k)}
    for key, value in (extra or {}).items():
        if is_credential(key):
            raise ValueError(f"{key} looks like a credential and must not be passed to a child process")
        env[key] = value
    return env

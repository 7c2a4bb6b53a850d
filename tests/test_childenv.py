"""Child processes never inherit a credential (DESIGN: Secrets)."""

from __future__ import annotations

import pytest

from asrctl.childenv import child_environment, is_credential


def test_removes_listed_credentials_and_stack_secrets() -> None:
    base = {"PATH": "/bin", "ASRCTL_ARM_TOKEN": "t", "AZURE_CLIENT_SECRET": "s", "ASRCTL_CS_PASSPHRASE": "p",
            "ASRCTL_VCENTER_PASSWORD": "v", "PULUMI_CONFIG_PASSPHRASE": "x", "AZURE_TENANT_ID": "tenant"}
    env = child_environment(base=base)
    assert env == {"PATH": "/bin", "AZURE_TENANT_ID": "tenant"}


def test_removes_unlisted_variables_named_like_credentials() -> None:
    env = child_environment(base={"HOME": "/root", "VENDOR_CLIENT_SECRET": "s", "GITHUB_TOKEN": "g",
                                  "some_api_key": "k", "SSH_AUTH_SOCK": "/tmp/agent"})
    assert env == {"HOME": "/root", "SSH_AUTH_SOCK": "/tmp/agent"}


def test_extra_values_are_added_but_never_a_credential() -> None:
    assert child_environment({"ASRCTL_CONTEXT": "{}"}, base={})["ASRCTL_CONTEXT"] == "{}"
    with pytest.raises(ValueError, match="ASRCTL_ARM_TOKEN"):
        child_environment({"ASRCTL_ARM_TOKEN": "t"}, base={})
    assert is_credential("azure_client_secret") and not is_credential("AZURE_CLIENT_ID")

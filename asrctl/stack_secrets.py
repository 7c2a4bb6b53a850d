"""A stack secret for commands that run outside ``pulumi up`` (``asrctl mobility deploy``).

Order: the environment variable named in :data:`asrctl.config.SECRET_KEYS` (explicit, wins), then the stack's own
Pulumi secret through ``pulumi config get`` when the Pulumi CLI is installed. The value travels only through the
child's stdout pipe: never a command-line argument, file or log line. Pulumi's own errors (wrong
PULUMI_CONFIG_PASSPHRASE, not logged in, no such stack) are repeated in one line; they never contain the value.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from asrctl.config import NS, SECRET_KEYS
from asrctl.errors import BadInput
from asrctl.project import project_dir

PULUMI_TIMEOUT_S = 120


def stack_secret(stack: str, key: str, purpose: str) -> str:
    """The secret ``key`` of ``stack``; BadInput in one line naming both sources when neither has it."""
    env_name = SECRET_KEYS[key]
    value = os.environ.get(env_name)
    if value is not None:
        if not value.strip():
            raise BadInput(f"{env_name} is set but empty: export {purpose}, or unset it to use the stack's Pulumi "
                           f"secret {NS}:{key}")
        return value
    how = (f"export {env_name} ({purpose}), or install the Pulumi CLI and set the stack's secret with "
           f"`pulumi config set --secret {key} --stack {stack}`")
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise BadInput(f"{env_name} is not set and the Pulumi CLI is not installed: {how}")
    try:
        done = subprocess.run(
            [pulumi, "config", "get", f"{NS}:{key}", "--stack", stack],
            cwd=project_dir(), capture_output=True, text=True, timeout=PULUMI_TIMEOUT_S,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise BadInput(f"`pulumi config get {NS}:{key} --stack {stack}` did not answer within "
                       f"{PULUMI_TIMEOUT_S} s: {how}") from None
    # `pulumi config get` ends the value with one newline; a secret may itself end in spaces, so strip only that.
    secret = done.stdout[:-1] if done.stdout.endswith("\n") else done.stdout
    if done.returncode != 0 or not secret.strip():
        reason = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "no value")
        raise BadInput(f"reading {NS}:{key} of stack {stack} with `pulumi config get` failed ({reason}): {how}")
    return secret

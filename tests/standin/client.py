"""Helpers to drive the stand-in with the real SDK client (the self-tests do; provider tests need not).

``site_recovery_client`` builds ``SiteRecoveryManagementClient`` against the stand-in with retries off and a
static bearer token; ``start`` sends a long-running operation and returns its poller and job name (read from the
``Location`` header's ``operationresults/<job>`` segment, as PowerShell does); ``finish`` advances the clock past
the job and completes the poller without sleeping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .server import Standin

OPERATION_RESULTS = re.compile(r"/operationresults/([^/?]+)", re.IGNORECASE)


class StaticToken:
    """A TokenCredential that always returns one token (the stand-in checks it)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, 4102444800)


def site_recovery_client(arm: Standin, *, token: str | None = None) -> Any:
    from azure.core.pipeline.policies import RetryPolicy
    from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

    return SiteRecoveryManagementClient(
        StaticToken(token or arm.token),
        arm.world.subscription,
        base_url=arm.endpoint,
        connection_verify=str(arm.cert_path),
        retry_policy=RetryPolicy(retry_total=0),
        polling_interval=0,
    )


def start(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """Send ``fn(*args, **kwargs)`` (an SDK ``begin_*``); return its poller and the job named in ``Location``."""
    seen: list[Any] = []
    poller = fn(*args, raw_response_hook=lambda response: seen.append(response.http_response), **kwargs)
    location = seen[0].headers["Location"]
    match = OPERATION_RESULTS.search(location)
    assert match is not None, location
    return poller, match.group(1)


def finish(arm: Standin, poller: Any, seconds: float) -> Any:
    arm.advance(seconds)
    return poller.result()

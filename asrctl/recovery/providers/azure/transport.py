"""The wire to Azure Resource Manager: credentials, SDK clients without retries, one send per call, failures
classified per the provider contract, every HTTP request counted (pages included).

* **No SDK retries at all** (``RetryPolicy(retry_total=0)``): azure-core retries POST on 500/503/504, which could
  fail a machine over twice. Reads are sent once too: the engine is the one retry layer (:mod:`asrctl.recovery.retry`).
* A 401 with an ``invalid_token`` challenge (a token that expired or was revoked server-side) fetches a fresh token
  and re-sends once: ARM rejected the request before the resource provider saw it, so this is safe.
* ``ASRCTL_ARM_ENDPOINT`` overrides the management endpoint (https only); ``ASRCTL_ARM_TOKEN`` is a static bearer
  token used instead of ``DefaultAzureCredential``. Tokens are never logged, journaled or put into errors.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from typing import Any

from asrctl.errors import BadInput
from asrctl.recovery.providers.protocol import (
    AmbiguousResult,
    OperationRejected,
    ProviderError,
    Throttled,
    TransientError,
)

DEFAULT_ENDPOINT = "https://management.azure.com"
# Token audience per known ARM endpoint; anything else (a proxy, a test server) keeps the public cloud's audience.
ARM_SCOPES = {
    "management.azure.com": "https://management.azure.com/.default",
    "management.usgovcloudapi.net": "https://management.usgovcloudapi.net/.default",
    "management.chinacloudapi.cn": "https://management.chinacloudapi.cn/.default",
}
CREDENTIAL_SOURCES = (
    "ASRCTL_ARM_TOKEN, environment variables (AZURE_TENANT_ID/AZURE_CLIENT_ID with a secret or certificate), "
    "workload identity, managed identity, Azure CLI (az login), Azure PowerShell, Azure Developer CLI"
)


class StaticTokenCredential:
    """``ASRCTL_ARM_TOKEN``: one bearer token for air-gapped tests and pipelines that mint their own."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        # The real expiry is unknown; an hour keeps azure-core from asking again. A 401 ends the run clearly.
        return AccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"


def _auth_policy(credential: Any, scope: str) -> Any:
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

    class RefreshOnInvalidToken(ARMChallengeAuthenticationPolicy):
        """Also answer ARM's ``error="invalid_token"`` challenge (expired/revoked token) with one fresh token."""

        def on_challenge(self, request: Any, response: Any) -> bool:
            if super().on_challenge(request, response):
                return True
            challenge = response.http_response.headers.get("WWW-Authenticate", "")
            if 'error="invalid_token"' in challenge and not request.context.get("asrctl_reauthorized"):
                request.context["asrctl_reauthorized"] = True
                self.authorize_request(request, *self._scopes)
                return True
            return False

    return RefreshOnInvalidToken(credential, scope)


def send_only_polling() -> Any:
    """A polling method that keeps the 202 response and its continuation token but never polls: the engine polls
    the ASR job itself (and no background thread outlives a crash)."""
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    class SendOnly(ARMPolling):
        initial_response: Any = None

        def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
            self.initial_response = initial_response
            try:
                super().initialize(client, initial_response, deserialization_callback)
            except Exception:  # noqa: BLE001 - a 202 without polling headers still started a job; no token then
                self._initial_response = initial_response

        def finished(self) -> bool:
            return True

    return SendOnly(0)


def safe_continuation_token(poller: Any) -> str | None:
    """The poller's continuation token, if it carries no credential (it is journaled).

    azure-core >= 1.41 builds it from the request URL and filtered headers; older releases pickled the whole request,
    Authorization header included. A token that decodes to anything mentioning Authorization is dropped: the job id
    alone is enough to keep polling.
    """
    import base64
    import binascii

    try:
        token = poller.continuation_token()
    except Exception:  # noqa: BLE001 - no polling headers: the job id still identifies the job
        return None
    try:
        decoded = base64.b64decode(token, validate=False)
    except (binascii.Error, ValueError):
        decoded = token.encode()
    if b"authorization" in decoded.lower() or b"bearer " in decoded.lower():
        return None
    return token


def error_text(exc: Exception) -> str:
    """One line from an azure-core error: ARM's error code and message, never headers or tokens."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or getattr(exc, "reason", None) or type(exc).__name__
    status = getattr(exc, "status_code", None)
    text = " ".join(str(p) for p in (status, code, message) if p)
    return text.splitlines()[0][:300] if text else type(exc).__name__


def retry_after(exc: Exception, default: float) -> float:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def _counting_policy(counter: Counter[str]) -> Any:
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class CountRequests(SansIOHTTPPolicy):
        """Counts every HTTP request as ARM's throttling sees it: GETs are reads (each page too), the rest writes."""

        def on_request(self, request: Any) -> None:
            counter["reads" if request.http_request.method.upper() == "GET" else "writes"] += 1

    return CountRequests()


class Transport:
    """One authenticated connection to ARM for a subscription."""

    def __init__(self, subscription_id: str, *, endpoint: str | None = None, credential: Any = None,
                 connection_verify: bool | str = True, caller: str = "--provider azure") -> None:
        self.subscription_id = subscription_id
        self.caller = caller  # who needs Azure, for the credential error (e.g. "asrctl discover")
        self.endpoint = (endpoint or os.environ.get("ASRCTL_ARM_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        if not self.endpoint.lower().startswith("https://"):
            raise BadInput(
                f"ASRCTL_ARM_ENDPOINT {self.endpoint!r} must be an https:// URL: bearer tokens are never sent over "
                "plain http"
            )
        host = self.endpoint.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0].lower()
        self.scope = ARM_SCOPES.get(host, ARM_SCOPES["management.azure.com"])
        self._credential = credential
        self._connection_verify = connection_verify
        self._site_recovery: Any = None
        self._automation: Any = None
        self.http_requests: Counter[str] = Counter()  # what ARM counts against the budget
        self.calls: Counter[str] = Counter()  # per method name

    def _credential_or_default(self) -> Any:
        if self._credential is not None:
            return self._credential
        token = os.environ.get("ASRCTL_ARM_TOKEN")
        if token is not None:
            if not token.strip():
                raise BadInput("ASRCTL_ARM_TOKEN is set but empty; unset it to use DefaultAzureCredential")
            return StaticTokenCredential(token.strip())
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def site_recovery(self) -> Any:
        if self._site_recovery is not None:
            return self._site_recovery
        from azure.core.exceptions import ClientAuthenticationError
        from azure.core.pipeline.policies import RetryPolicy
        from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

        credential = self._credential_or_default()
        # azure-identity logs a multi-line WARNING per failed credential; our one-line error below says it all.
        identity_logger = logging.getLogger("azure.identity")
        level = identity_logger.level
        identity_logger.setLevel(logging.ERROR)
        try:
            credential.get_token(self.scope)  # fail here, once, with a message that says what was tried
        except ClientAuthenticationError as exc:  # CredentialUnavailableError is a subclass
            raise BadInput(
                f"{self.caller}: no usable Azure credential (tried {CREDENTIAL_SOURCES}); sign in with "
                f"`az login` or set ASRCTL_ARM_TOKEN ({type(exc).__name__})"
            ) from None
        finally:
            identity_logger.setLevel(level)
        common = {
            "base_url": self.endpoint,
            "credential_scopes": [self.scope],
            "authentication_policy": _auth_policy(credential, self.scope),
            "retry_policy": RetryPolicy(retry_total=0),
            "connection_verify": self._connection_verify,
            "connection_timeout": 30,
            "read_timeout": 120,
            "per_call_policies": [_counting_policy(self.http_requests)],
        }
        self._site_recovery = SiteRecoveryManagementClient(credential, self.subscription_id, **common)
        self._automation_args = (credential, common)
        return self._site_recovery

    def automation(self) -> Any:
        if self._automation is None:
            from azure.mgmt.automation import AutomationClient

            self.site_recovery()
            credential, common = self._automation_args
            self._automation = AutomationClient(credential, self.subscription_id, **common)
        return self._automation

    def close(self) -> None:
        for client in (self._site_recovery, self._automation):
            if client is not None:
                client.close()
        self._site_recovery = self._automation = None

    def read(self, method: str, fn: Any, *, missing_ok: bool = False, where: str = "the vault") -> Any:
        """A read, sent once (the engine retries): 429 → Throttled with Retry-After; 5xx and connection errors →
        TransientError; 404 → None with ``missing_ok``, else ProviderError; a second 401 → BadInput."""
        from azure.core.exceptions import (
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        self.calls[method] += 1
        try:
            return fn()
        except ResourceNotFoundError as exc:
            if missing_ok:
                return None
            raise ProviderError(f"{method}: not found in {where}: {error_text(exc)}") from None
        except HttpResponseError as exc:
            status = exc.status_code or 0
            if status == 429:
                raise Throttled(f"{method}: throttled by ARM ({error_text(exc)})", retry_after(exc, 10.0)) from None
            if status >= 500:
                raise TransientError(f"{method}: {error_text(exc)}", retry_after(exc, 5.0)) from None
            if status == 401:
                raise BadInput(f"Azure Resource Manager rejected the credential: {error_text(exc)}") from None
            raise ProviderError(f"{method}: {error_text(exc)}") from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise TransientError(f"{method}: {error_text(exc)}", 5.0) from None

    def write(self, method: str, fn: Any) -> Any:
        """A side effect, sent once. 429 → Throttled (not accepted); 400/409/412 → OperationRejected; anything that
        may have reached ASR (5xx, lost response) → AmbiguousResult, so the engine reconciles with find_job."""
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

        self.calls[method] += 1
        try:
            return fn()
        except HttpResponseError as exc:
            status = exc.status_code or 0
            if status == 429:
                raise Throttled(f"{method}: throttled by ARM; not accepted", retry_after(exc, 10.0)) from None
            if status in (400, 409, 412):
                raise OperationRejected(f"{method}: ASR refused it: {error_text(exc)}") from None
            if status == 401:
                raise BadInput(f"Azure Resource Manager rejected the credential: {error_text(exc)}") from None
            if status >= 500:
                raise AmbiguousResult(f"{method}: {error_text(exc)}; it may have been accepted") from None
            raise ProviderError(f"{method}: {error_text(exc)}") from None
        except ServiceRequestError as exc:
            # Connection failed; azure-core cannot always tell whether the request left, so assume it might have.
            raise AmbiguousResult(f"{method}: {error_text(exc)}") from None
        except ServiceResponseError as exc:
            raise AmbiguousResult(f"{method}: response lost after sending ({error_text(exc)})") from None

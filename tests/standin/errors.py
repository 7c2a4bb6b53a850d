"""Error answers in the two shapes a client meets behind management.azure.com.

* **ARM** (the front door: authentication, api-version, unknown resource types, throttling, other providers)::

      {"error": {"code": "MissingApiVersionParameter", "message": "..."}}

* **ASR** (Microsoft.RecoveryServices replication resources). Recorded answers (azure-powershell issue 4893,
  azure-rest-api-specs issue 12759) wrap ASR's own error in ``details``, with the HTTP status name on top::

      {"error": {"code": "BadRequest", "message": "<ASR message>",
                 "details": [{"code": "<ASR code>", "message": "<ASR message>", "possibleCauses": "...",
                              "recommendedAction": "...", "clientRequestId": "<x-ms-client-request-id>",
                              "activityId": "<guid>"}]}}

  [U] The detail codes the stand-in uses are descriptive names, not ASR's (often numeric) codes; a client must
  never branch on them. Tests assert on them to tell the stand-in's refusals apart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


@dataclass
class ServiceError(Exception):
    """An error answer. ``envelope`` is ``"asr"`` or ``"arm"``; ``headers`` are extra response headers."""

    status: int
    code: str
    message: str
    possible_causes: str = ""
    recommended_action: str = ""
    envelope: str = "asr"
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def body(self, client_request_id: str) -> dict[str, Any]:
        if self.envelope == "arm":
            return {"error": {"code": self.code, "message": self.message}}
        detail = {
            "code": self.code,
            "message": self.message,
            "possibleCauses": self.possible_causes,
            "recommendedAction": self.recommended_action,
            "clientRequestId": client_request_id,
            "activityId": str(uuid.uuid4()),
        }
        top = HTTPStatus(self.status).phrase.replace(" ", "")
        return {"error": {"code": top, "message": self.message, "details": [detail]}}


def asr(code: str, message: str, causes: str = "", action: str = "", *, status: int = 400) -> ServiceError:
    return ServiceError(status, code, message, causes, action)


def arm(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> ServiceError:
    return ServiceError(status, code, message, envelope="arm", headers=dict(headers or {}))


def asr_not_found(kind: str, name: str) -> ServiceError:
    return asr(
        f"{kind}NotFound",
        f"The {kind} '{name}' was not found in the vault.",
        "The resource was deleted, was never created, or the name is misspelled.",
        "Check the name (names are case-insensitive) and list the collection to find the right one.",
        status=404,
    )


def arm_not_found(resource_type: str, name: str, resource_group: str) -> ServiceError:
    # ARM's standard message for a missing resource of a provider it routes to.
    return arm(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )

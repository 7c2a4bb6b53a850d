"""Shared by the action scripts: read the run context asrctl passes (JSON on stdin and in ASRCTL_CONTEXT).

Kept dependency-free (stdlib only) so the same scripts run client-side and as Azure Automation Python runbooks.
"""

from __future__ import annotations

import json
import os
import sys


def read_context() -> dict:
    """The context from ``ASRCTL_CONTEXT`` (preferred: stdin may be a terminal), else stdin."""
    raw = os.environ.get("ASRCTL_CONTEXT")
    if not raw and not sys.stdin.isatty():
        raw = sys.stdin.read()
    if not raw:
        sys.exit("no run context: asrctl passes it as JSON on stdin and in ASRCTL_CONTEXT")
    try:
        context = json.loads(raw)
    except json.JSONDecodeError as exc:
        sys.exit(f"run context is not JSON ({exc})")
    if not isinstance(context.get("machines"), list):
        sys.exit("run context has no machines list")
    return context

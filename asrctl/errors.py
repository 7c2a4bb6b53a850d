"""The small exception hierarchy every component raises to the user.

The CLI turns an ``AsrctlError`` into one line on stderr and its ``exit_code``; anything else is a bug and keeps
its traceback. Messages name the input (file:line or key path), the problem and the fix.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_PAUSED = 3


class AsrctlError(Exception):
    """Base class of errors shown to the user as one line."""

    exit_code = EXIT_FAILED


class BadInput(AsrctlError):
    """Unreadable or invalid file, unknown stack, invalid option, forbidden transition: exit 2."""

    exit_code = EXIT_BAD_INPUT


class OperationFailed(AsrctlError):
    """The requested operation ran and failed: exit 1."""

    exit_code = EXIT_FAILED


class RunPaused(AsrctlError):
    """A run is waiting for a manual approval: exit 3 (the message says how to resume)."""

    exit_code = EXIT_PAUSED

    def __init__(self, message: str, record: object | None = None) -> None:
        super().__init__(message)
        self.record = record  # the run record (asrctl.recovery.records.RunRecord), for --json


class RunInterrupted(AsrctlError):
    """A signal stopped the run; it is recorded ``interrupted`` and resumable: exit 130 (SIGINT) or 143 (SIGTERM)."""

    def __init__(self, message: str, exit_code: int = 130, record: object | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.record = record

"""Who drives a run: an exclusive claim, held by exactly one live process.

The claim is an ``flock`` on ``$ASRCTL_HOME/claims/<run_id>.lock``. The operating system releases it when its
process ends — exit, crash, ``kill -9`` — so a dead holder's claim is simply free for the next ``asrctl runs
resume``, and there is no pid to misread after reuse. The holder writes its pid, host and start time into the file,
so a refused second process can say who holds it.

A run is claimed *before* its row is inserted (``asrctl drill``) or before anything is read to resume it (``asrctl
runs resume``): two processes can never both drive one run, so no action runs twice because of a race.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from asrctl.errors import BadInput
from asrctl.project import state_home


def claim_path(run_id: str) -> Path:
    return state_home() / "claims" / f"{run_id}.lock"


class RunClaim:
    """Held for as long as this object lives (or until :meth:`release`)."""

    def __init__(self, run_id: str, fd: int, path: Path) -> None:
        self.run_id = run_id
        self._fd: int | None = fd
        self.path = path

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> RunClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(run_id: str) -> dict[str, object] | None:
    """Who holds the claim on ``run_id`` now, or None when nobody does (free or never claimed)."""
    path = claim_path(run_id)
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_owner(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def claim(run_id: str, purpose: str = "drive") -> RunClaim:
    """Take the exclusive claim on ``run_id``; BadInput (exit 2) naming the holder when a live process has it."""
    path = claim_path(run_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise BadInput(f"{path}: cannot take the run's claim ({exc.strerror or exc}); check ASRCTL_HOME") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        owner = _read_owner(path) or {}
        who = f"process {owner.get('pid', '?')} on {owner.get('host', '?')}"
        since = owner.get("since")
        raise BadInput(
            f"run {run_id} is being driven by {who}"
            + (f" since {since}" if since else "")
            + f"; wait for it, or stop it with `asrctl runs cancel {run_id}` (to {purpose} it, that process must end)"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode())
    return RunClaim(run_id, fd, path)


def _read_owner(path: Path) -> dict[str, object] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return None

"""What SQLite or the file system said about one of asrctl's state files, as one line naming the file and the fix.

Shared by the journal and the simulator's world: the same causes (read-only, disk full, damaged, locked) get the
same words wherever they happen.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# SQLite says "disk I/O error" (not "database or disk is full") when the WAL index cannot grow on a full disk.
NEARLY_FULL_BYTES = 1 << 20


def _nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def sqlite_problem(path: Path, exc: BaseException, damaged_fix: str) -> str:
    text = str(exc).lower()
    if "disk i/o error" in text and _nearly_full(path):
        text = "disk is full"
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        fix = "it is read-only: give your user write access to it and its directory, or point ASRCTL_HOME elsewhere"
    elif "disk is full" in text or "no space" in text or getattr(exc, "errno", None) == 28:
        fix = "the disk is full: free space on it and resume the run (`asrctl runs list` shows its id)"
    elif "malformed" in text or "not a database" in text or "file is encrypted" in text or "corrupt" in text:
        fix = f"it is damaged ({exc}): {damaged_fix}"
    elif "unable to open" in text:
        fix = f"it cannot be opened ({exc}): check that {path.parent} exists and is writable"
    elif "locked" in text or "busy" in text:
        fix = "another asrctl process holds it locked for too long; wait for it and try again"
    elif "disk i/o error" in text:
        fix = f"the disk reported an I/O error ({exc}): check the file system (full, read-only, failing) and resume"
    else:
        fix = f"SQLite reported: {exc}"
    return f"{path}: {fix}"

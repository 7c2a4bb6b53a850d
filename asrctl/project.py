"""Where the Pulumi project lives and where asrctl keeps its state."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_NAME = "vmware-azure-dr"
CONFIG_NAMESPACE = PROJECT_NAME


def project_dir() -> Path:
    """The directory holding Pulumi.yaml: ``$ASRCTL_PROJECT_DIR``, else the nearest one up from the working
    directory, else the checkout this package was installed from (editable install)."""
    override = os.environ.get("ASRCTL_PROJECT_DIR")
    if override:
        return Path(override).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return Path(__file__).resolve().parent.parent


def stacks_dir() -> Path:
    return project_dir() / "stacks"


def stack_file(stack: str) -> Path:
    return stacks_dir() / f"Pulumi.{stack}.yaml"


def known_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir().glob("Pulumi.*.yaml"))


def plans_dir() -> Path:
    return project_dir() / "runbooks" / "plans"


def templates_dir() -> Path:
    return project_dir() / "templates"


def state_home() -> Path:
    """``$ASRCTL_HOME``, default ``.asrctl`` at the project root (found like Pulumi.yaml, wherever you stand): run
    journals, simulator worlds, claims, reports. One project has one state, so a run started from the project root
    is found (and guarded) from ``runbooks/`` too."""
    override = os.environ.get("ASRCTL_HOME")
    return Path(override).resolve() if override else project_dir() / ".asrctl"

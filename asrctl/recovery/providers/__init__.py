"""Providers: where recovery operations go. ``simulator`` (default, embedded) or ``azure`` (the real SDK).

:func:`make_provider` is the one constructor the runner, readiness, discover and the Temporal worker use; the
contract every provider implements is :mod:`asrctl.recovery.providers.protocol`.
"""

from __future__ import annotations

from typing import Any

from asrctl.config import StackConfig
from asrctl.errors import BadInput
from asrctl.recovery.providers.protocol import JobStartedCallback, RecoveryProvider

PROVIDERS = ("simulator", "azure")


def make_provider(name: str, stack_cfg: StackConfig, stack_name: str, *, state: dict[str, Any] | None = None,
                  on_job_started: JobStartedCallback | None = None, **options: Any) -> RecoveryProvider:
    """The provider by name. ``state`` is what the provider exported when the run started (journaled)."""
    if name == "simulator":
        from asrctl.recovery.providers.simulator import SimulatorProvider

        return SimulatorProvider(stack_cfg, stack_name, state=state, on_job_started=on_job_started, **options)
    if name == "azure":
        try:
            from asrctl.recovery.providers.azure import AzureProvider
        except ImportError as exc:
            raise BadInput(f"--provider azure: the Azure provider is not available here ({exc})") from None
        return AzureProvider(stack_cfg, stack_name, state=state, on_job_started=on_job_started, **options)
    raise BadInput(f"--provider {name!r}: choose one of {', '.join(PROVIDERS)}")

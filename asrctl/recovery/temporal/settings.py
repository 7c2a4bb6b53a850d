"""Where team mode connects: address, namespace, task queue, TLS and API key — and the one way to connect.

Each setting comes from, first that is set: the environment (``ASRCTL_TEMPORAL_*``), the stack's ``team`` section
(:class:`asrctl.config.Team`), the default (a dev server on ``localhost:7233``, namespace ``default``, task queue
``asrctl``). The API key is a secret: only ever read from ``ASRCTL_TEMPORAL_API_KEY``, never printed (``repr`` hides
it), never passed to a child process (:mod:`asrctl.childenv` removes it), never written to a run.

Commands about one run (``runs show|resume|cancel``, ``runs list``, ``schedule list|delete``) have no stack: they
look at every distinct connection of the project's stacks (:func:`project_settings`), so runs of a stack that uses
its own namespace are found too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from asrctl.config import StackConfig, Team
from asrctl.errors import BadInput

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "asrctl"
# Seconds a provider-call activity may take before Temporal declares its worker lost (the engine then treats a write
# as ambiguous and reconciles). ARM calls answer in seconds; a lost worker costs this much time to notice.
DEFAULT_ACTIVITY_TIMEOUT = 60.0

ENV = {
    "address": "ASRCTL_TEMPORAL_ADDRESS",
    "namespace": "ASRCTL_TEMPORAL_NAMESPACE",
    "task_queue": "ASRCTL_TEMPORAL_TASK_QUEUE",
    "tls": "ASRCTL_TEMPORAL_TLS",
    "tls_client_cert": "ASRCTL_TEMPORAL_TLS_CERT",
    "tls_client_key": "ASRCTL_TEMPORAL_TLS_KEY",
    "tls_server_ca": "ASRCTL_TEMPORAL_TLS_CA",
    "tls_server_name": "ASRCTL_TEMPORAL_TLS_SERVER_NAME",
    "api_key": "ASRCTL_TEMPORAL_API_KEY",
    "activity_timeout": "ASRCTL_TEMPORAL_ACTIVITY_TIMEOUT",
}


@dataclass(frozen=True)
class TeamSettings:
    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    task_queue: str = DEFAULT_TASK_QUEUE
    tls: bool = False
    tls_client_cert: str | None = None
    tls_client_key: str | None = None
    tls_server_ca: str | None = None
    tls_server_name: str | None = None
    api_key: str | None = field(default=None, repr=False)  # a secret: never shown
    activity_timeout: float = DEFAULT_ACTIVITY_TIMEOUT
    report_dir: str | None = None

    @property
    def uses_tls(self) -> bool:
        return self.tls or bool(self.tls_client_cert or self.tls_server_ca or self.api_key)

    @property
    def connection(self) -> tuple[str, str]:
        """What tells two settings apart as places runs live (the task queue is only who works on them)."""
        return self.address, self.namespace

    def describe(self) -> str:
        """For messages: never includes the API key."""
        auth = " with an API key" if self.api_key else (" with mTLS" if self.tls_client_cert else "")
        return f"Temporal at {self.address} (namespace {self.namespace}{', TLS' if self.uses_tls else ''}{auth})"

    @classmethod
    def resolve(cls, stack_cfg: StackConfig | None = None, environ: dict[str, str] | None = None) -> TeamSettings:
        env = os.environ if environ is None else environ
        team = (stack_cfg.team if stack_cfg is not None else None) or Team()
        values: dict[str, Any] = {}
        for name in ("address", "namespace", "task_queue", "tls_client_cert", "tls_client_key", "tls_server_ca",
                     "tls_server_name"):
            chosen = env.get(ENV[name]) or getattr(team, name)
            if chosen:
                values[name] = chosen
        raw_tls = env.get(ENV["tls"])
        if raw_tls:
            if raw_tls.lower() not in ("1", "true", "yes", "0", "false", "no"):
                raise BadInput(f"{ENV['tls']}={raw_tls!r}: use 1 or 0")
            values["tls"] = raw_tls.lower() in ("1", "true", "yes")
        else:
            values["tls"] = team.tls
        if env.get(ENV["api_key"]):
            values["api_key"] = env[ENV["api_key"]]
        raw_timeout = env.get(ENV["activity_timeout"])
        if raw_timeout:
            try:
                values["activity_timeout"] = float(raw_timeout)
            except ValueError:
                raise BadInput(f"{ENV['activity_timeout']}={raw_timeout!r}: give seconds, e.g. 60") from None
            if not 1 <= values["activity_timeout"] <= 3600:
                raise BadInput(f"{ENV['activity_timeout']}={raw_timeout!r}: give between 1 and 3600 seconds")
        if team.report_dir:
            values["report_dir"] = team.report_dir
        if bool(values.get("tls_client_cert")) != bool(values.get("tls_client_key")):
            raise BadInput(f"{ENV['tls_client_cert']} and {ENV['tls_client_key']} (or the stack's team.tlsClientCert "
                           "and team.tlsClientKey) go together: mTLS needs both files")
        return cls(**values)

    def with_task_queue(self, task_queue: str) -> TeamSettings:
        return replace(self, task_queue=task_queue)

    def tls_config(self) -> Any:
        """``temporalio.service.TLSConfig`` (or True for system roots, False for plain text)."""
        if not self.uses_tls:
            return False
        from temporalio.service import TLSConfig

        if not (self.tls_client_cert or self.tls_server_ca or self.tls_server_name):
            return True
        return TLSConfig(
            server_root_ca_cert=_read(self.tls_server_ca, ENV["tls_server_ca"]) if self.tls_server_ca else None,
            client_cert=_read(self.tls_client_cert, ENV["tls_client_cert"]) if self.tls_client_cert else None,
            client_private_key=_read(self.tls_client_key, ENV["tls_client_key"]) if self.tls_client_key else None,
            domain=self.tls_server_name,
        )


def _read(path: str, key: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise BadInput(f"{key} / team TLS file {path}: cannot be read ({exc.strerror or exc})") from None


async def connect(settings: TeamSettings) -> Any:
    """A ``temporalio.client.Client``; an unreachable or refusing service is one line naming it and the fix."""
    from temporalio.client import Client
    from temporalio.service import RPCError

    try:
        return await Client.connect(settings.address, namespace=settings.namespace, api_key=settings.api_key,
                                    tls=settings.tls_config(), identity=_identity())
    except RPCError as exc:
        raise BadInput(f"cannot use {settings.describe()}: {exc.message or exc}; check {ENV['address']} / "
                       f"{ENV['namespace']} (or the stack's team section), or start a dev server with "
                       "`temporal server start-dev`") from None
    except RuntimeError as exc:  # the core client reports connection failures as RuntimeError
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(f"cannot reach {settings.describe()}: {first}; start a dev server with `temporal server "
                       f"start-dev`, or set {ENV['address']} (or the stack's team.address)") from None


def _identity() -> str:
    import socket

    return f"asrctl-{os.getpid()}@{socket.gethostname()}"


def project_settings(environ: dict[str, str] | None = None) -> list[TeamSettings]:
    """One settings per distinct (address, namespace) among the project's stacks, with the environment applied (so
    with ``ASRCTL_TEMPORAL_ADDRESS``/``_NAMESPACE`` set there is one). Stacks that do not load are skipped."""
    from asrctl.config import load_stack
    from asrctl.project import known_stacks

    found: dict[tuple[str, str], TeamSettings] = {}
    for name in known_stacks():
        try:
            cfg = load_stack(name)
        except BadInput:
            continue
        settings = TeamSettings.resolve(cfg, environ)
        found.setdefault(settings.connection, settings)
    return list(found.values()) or [TeamSettings.resolve(None, environ)]

"""The activities a worker runs: provider calls, action scripts, and what scheduled drills need from a worker.

* **Provider calls** (one activity per :class:`~asrctl.recovery.providers.protocol.RecoveryProvider` method) go to
  a provider built by :func:`asrctl.recovery.providers.make_provider` from the worker's own checkout of the stack,
  cached per worker thread. The worker refuses to act on another version of the stack file than the one the run
  was started with (``Target.stack_sha256``). Simulator calls are evaluated at the run's simulated time
  (``Target.now``, a :class:`RunClock`). A provider error is raised as a non-retryable ``ApplicationError`` of the
  same type name (:mod:`asrctl.recovery.temporal.messages`); the workflow turns it back into the exception.
* A side effect whose attempt is already old when it reaches the worker (the workflow may have timed it out and
  moved on to reconcile) is not sent: :func:`_fresh_enough`.
* **Scripts** run like locally (:func:`asrctl.recovery.local.run_action_script`: credential-free environment,
  killed at their timeout) and heartbeat, so a lost worker is noticed in seconds.
* **Scheduled drills**: ``prepare_run`` (load, validate, pre-flight on the worker; :mod:`.starter`) and
  ``write_report`` (the drill's HTML and JSON report into the configured directory).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from asrctl.errors import BadInput
from asrctl.project import project_dir, stack_file, state_home
from asrctl.recovery.clock import ClockKind
from asrctl.recovery.providers.protocol import NotReady, ProviderError, RecoveryProvider
from asrctl.recovery.runtime import ScriptCall
from asrctl.recovery.temporal import messages as wire

_RUN_NOW: contextvars.ContextVar[float | None] = contextvars.ContextVar("asrctl_run_now", default=None)
SCRIPT_HEARTBEAT_EVERY = 5.0


class RunClock:
    """The clock of a worker's simulator: the calling run's simulated time (set per activity call)."""

    kind: ClockKind = "simulated"

    def now(self) -> float:
        value = _RUN_NOW.get()
        return value if value is not None else time.time()

    async def wait(self, seconds: float) -> None:  # never used on a worker: runs wait in their workflow
        raise RuntimeError("a worker's provider does not wait; the workflow does")

    def sleep(self, seconds: float) -> None:
        raise RuntimeError("a worker's provider does not wait; the workflow does")

    def add_real_wait(self, seconds: float) -> None:
        """Real waits are counted by the workflow's clock."""


# ---------------------------------------------------------------------------------------------------------------
# Providers, one per worker thread (providers keep connections; a thread pool runs the activities)


class _Cached:
    def __init__(self, provider: RecoveryProvider, sha: str) -> None:
        self.provider = provider
        self.sha = sha


_local = threading.local()
_all: list[RecoveryProvider] = []
_all_lock = threading.Lock()


def _provider(target: dict[str, Any]) -> RecoveryProvider:
    from asrctl.config import load_stack
    from asrctl.recovery.providers import make_provider

    stack = target["stack"]
    path = stack_file(stack)
    try:
        sha = wire.file_sha256(path.read_bytes())
    except OSError:
        raise BadInput(f"worker {_worker()}: has no {path} (every worker needs the project's checkout with the "
                       f"stack's file; start it in the project directory or set ASRCTL_PROJECT_DIR)") from None
    if sha != target["stack_sha256"]:
        raise BadInput(f"worker {_worker()}: its {path.name} is not the version run {target['run_id']} was started "
                       f"with (sha256 {sha[:12]}… here, {target['stack_sha256'][:12]}… at the start); give every "
                       "worker and operator the same checkout")
    key = (target["provider"], stack, str(state_home()), str(project_dir()))
    cache: dict[tuple[str, ...], _Cached] = _local.__dict__.setdefault("providers", {})
    entry = cache.get(key)
    if entry is None or entry.sha != sha:
        if entry is not None:
            entry.provider.close()
        options: dict[str, Any] = {"clock": RunClock()} if target["provider"] == "simulator" else {}
        provider = make_provider(target["provider"], load_stack(stack), stack, **options)
        entry = cache[key] = _Cached(provider, sha)
        with _all_lock:
            _all.append(provider)
    return entry.provider


def close_providers() -> None:
    """On worker shutdown: the simulator saves its clock and call counts; connections close."""
    with _all_lock:
        providers, _all[:] = list(_all), []
    for provider in providers:
        try:
            provider.close()
        except Exception:  # noqa: BLE001 - shutting down: nothing to tell anyone
            pass


def _worker() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


def _fresh_enough() -> None:
    """Refuse to send a side effect the workflow may already have given up on (its start-to-close timeout more than
    half spent before the call even starts): it then reconciles, and must not race a late send."""
    info = activity.info()
    if info.start_to_close_timeout is None:
        return
    spent = time.time() - info.started_time.timestamp()
    if spent > info.start_to_close_timeout.total_seconds() / 2:
        raise NotReady(f"worker {_worker()}: the call reached it {spent:.0f}s after it was started; not sent")


_WRITES_SENT = [0]


def _test_crash_after_send() -> None:
    """Test seam of the worker-loss tests: ``ASRCTL_TEST_WORKER_CRASH=sent#n`` kills this worker (as kill -9 would)
    right after its n-th side effect reached the provider, before the activity reports back. Inert unless set."""
    spec = os.environ.get("ASRCTL_TEST_WORKER_CRASH")
    if not spec or not spec.startswith("sent"):
        return
    _WRITES_SENT[0] += 1
    if _WRITES_SENT[0] == int(spec.partition("#")[2] or 1):
        os._exit(137)


@contextmanager
def _call(target: dict[str, Any], write: bool = False) -> Iterator[RecoveryProvider]:
    token = _RUN_NOW.set(target.get("now"))
    try:
        provider = _provider(target)
        if write:
            _fresh_enough()
        yield provider
        if write:
            _test_crash_after_send()
    except ProviderError as exc:
        raise ApplicationError(str(exc), wire.error_details(exc), type=wire.error_type(exc),
                               non_retryable=True) from None
    except BadInput as exc:  # the worker's checkout does not fit the run: bad input, never retried
        raise ApplicationError(str(exc), {}, type="OperationRejected", non_retryable=True) from None
    finally:
        _RUN_NOW.reset(token)


# ---------------------------------------------------------------------------------------------------------------
# Provider calls


@activity.defn(name="worker_info")
def worker_info(target: dict[str, Any]) -> dict[str, Any]:
    """Where this worker keeps state, and — for the simulator — the world's saved simulated time: a run's clock
    starts there (the world's clock never runs backwards across runs)."""
    info: dict[str, Any] = {"home": str(state_home()), "worker": _worker(), "sim_time": None}
    if target["provider"] == "simulator":
        with _call(target) as provider:
            with provider.world.tx() as db:  # type: ignore[attr-defined] - the simulator's world
                row = db.execute("SELECT value FROM meta WHERE key='sim_time'").fetchone()
            info["sim_time"] = float(row["value"])
    return info


@activity.defn(name="save_clock")
def save_clock(target: dict[str, Any]) -> None:
    """A simulated run ended: the world's clock moves on to the run's time (as a local run's provider saves it when
    it closes), so the next run — on any worker — starts after everything this one did."""
    with _call(target) as provider:
        world = provider.world  # type: ignore[attr-defined] - the simulator's world
        with world.tx() as db:
            world.save_time(db, target["now"])


@activity.defn(name="identity")
def identity(target: dict[str, Any]) -> str:
    with _call(target) as provider:
        return provider.identity()


@activity.defn(name="describe_machines")
def describe_machines(target: dict[str, Any], names: list[str]) -> dict[str, Any]:
    with _call(target) as provider:
        return {n: wire.machine_status_to_wire(s) for n, s in provider.describe_machines(names).items()}


@activity.defn(name="describe_environment")
def describe_environment(target: dict[str, Any]) -> dict[str, Any]:
    with _call(target) as provider:
        return wire.environment_to_wire(provider.describe_environment())


@activity.defn(name="get_job")
def get_job(target: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    with _call(target) as provider:
        return wire.job_status_to_wire(provider.get_job(wire.job_ref_from_wire(job)))  # type: ignore[arg-type]


@activity.defn(name="find_job")
def find_job(target: dict[str, Any], request: dict[str, Any]) -> dict[str, Any] | None:
    with _call(target) as provider:
        found = provider.find_job(wire.request_from_wire(request))
        return wire.job_ref_to_wire(found) if found else None


@activity.defn(name="find_runbook_job")
def find_runbook_job(target: dict[str, Any], runbook: str, request_id: str) -> dict[str, Any] | None:
    with _call(target) as provider:
        found = provider.find_runbook_job(runbook, request_id)
        return wire.job_ref_to_wire(found) if found else None


@activity.defn(name="start_operation")
def start_operation(target: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    with _call(target, write=True) as provider:
        return wire.job_ref_to_wire(provider.start_operation(wire.request_from_wire(request)))


@activity.defn(name="start_runbook")
def start_runbook(target: dict[str, Any], name: str, parameters: dict[str, str], context: dict[str, Any],
                  request_id: str) -> dict[str, Any]:
    with _call(target, write=True) as provider:
        return wire.job_ref_to_wire(provider.start_runbook(name, parameters, context, request_id))


@activity.defn(name="resume_job")
def resume_job(target: dict[str, Any], job: dict[str, Any], comment: str, request_id: str) -> None:
    with _call(target, write=True) as provider:
        provider.resume_job(wire.job_ref_from_wire(job), comment, request_id)  # type: ignore[arg-type]


@activity.defn(name="cancel_job")
def cancel_job(target: dict[str, Any], job: dict[str, Any]) -> None:
    with _call(target, write=True) as provider:
        provider.cancel_job(wire.job_ref_from_wire(job))  # type: ignore[arg-type]


@activity.defn(name="service_endpoints")
def service_endpoints(target: dict[str, Any], machines: list[str]) -> dict[str, str | None]:
    with _call(target) as provider:
        return {m: provider.service_endpoint(m) for m in machines}


# ---------------------------------------------------------------------------------------------------------------
# Scripts


@activity.defn(name="run_script")
async def run_script(call: dict[str, Any]) -> dict[str, Any]:
    from asrctl.recovery.local import run_action_script

    script = ScriptCall(call["path"], tuple(call["args"]), call["context_json"], float(call["timeout"]))
    task = asyncio.ensure_future(run_action_script(script))
    while True:
        done, _ = await asyncio.wait({task}, timeout=SCRIPT_HEARTBEAT_EVERY)
        if done:
            break
        activity.heartbeat()
    result = task.result()
    return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


# ---------------------------------------------------------------------------------------------------------------
# Scheduled drills


@activity.defn(name="prepare_run")
def prepare_run(request: dict[str, Any]) -> dict[str, Any]:
    """A scheduled run's workflow input, made on a worker: the worker's checkout, its pre-flight."""
    from asrctl.recovery.temporal.starter import prepare

    req = wire.PrepareRequest(**request)
    try:
        run = prepare(req.command, req.plan, req.stack, req.provider, cleanup=True, auto_approve=req.auto_approve,
                      skip_readiness=req.skip_readiness, activity_timeout=req.activity_timeout,
                      created_by=req.created_by)
    except BadInput as exc:
        raise ApplicationError(str(exc), {}, type="BadInput", non_retryable=True) from None
    return asdict(run)


@activity.defn(name="write_report")
def write_report(request: dict[str, Any]) -> dict[str, str]:
    """The drill's report, ``<dir>/<run_id>.html`` and ``.json``: ``dir`` is the schedule's report directory, else
    the stack's ``team.reportDir``, else this worker's ``$ASRCTL_HOME/reports``."""
    import json

    from asrctl.config import load_stack
    from asrctl.recovery.temporal.store import record_from_snapshot
    from asrctl.reporting import redact
    from asrctl.reporting import write_report as render

    record = record_from_snapshot(request["snapshot"])
    folder = request.get("report_dir")
    if not folder:
        try:
            team = load_stack(record.stack).team
        except BadInput:
            team = None
        folder = (team.report_dir if team else None) or str(state_home() / "reports")
    document = record.document()
    document["schedule"] = request.get("schedule", {})
    base = Path(folder).expanduser()
    html = render(document, "html", base / f"{record.run_id}.html")
    data = base / f"{record.run_id}.json"
    # Atomically, like the HTML: whoever watches the directory for new reports never reads half a file.
    partial = data.with_name(f".{data.name}.partial")
    # Redacted like every other report (the HTML's render redacts on its own).
    partial.write_text(json.dumps(redact(document), indent=2, default=str) + "\n", encoding="utf-8")
    partial.replace(data)
    return {"html": str(html), "json": str(data)}


PROVIDER_ACTIVITIES = (
    worker_info, save_clock, identity, describe_machines, describe_environment, get_job, find_job, find_runbook_job,
    start_operation, start_runbook, resume_job, cancel_job, service_endpoints,
)
ALL_ACTIVITIES = (*PROVIDER_ACTIVITIES, run_script, prepare_run, write_report)

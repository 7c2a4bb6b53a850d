"""The local runtime: one process drives a run, its state in the SQLite journal (:mod:`asrctl.recovery.journal`).

* Provider calls are made in-process (:class:`LocalBackend`); waits are the provider clock's (simulated time for
  the simulator, so CPU load never changes an RTO).
* Action scripts run as child processes with an environment without credentials (:mod:`asrctl.childenv`), the run
  context on stdin and in ``ASRCTL_CONTEXT``, killed at their timeout.
* Approvals come from the approver (:mod:`asrctl.recovery.approval`): a terminal prompt, ``--auto-approve``, or
  ``runs resume --approve``; "nobody here" pauses the run durably (exit 3).
* SIGINT/SIGTERM stop the interpreter at its next wait: nothing new is sent, the run is recorded ``interrupted``
  (resumable) and the process exits 130/143 (:func:`drive`).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asrctl.childenv import child_environment
from asrctl.project import project_dir, state_home
from asrctl.recovery.approval import Approver
from asrctl.recovery.journal import Journal
from asrctl.recovery.providers.protocol import (
    Capabilities,
    EnvironmentStatus,
    JobRef,
    JobStatus,
    MachineStatus,
    OperationRequest,
    RecoveryProvider,
)
from asrctl.recovery.runtime import Approval, ScriptCall, ScriptResult

ACTIONS_DIR = Path("runbooks") / "actions"


class LocalBackend:
    """The provider's calls, awaited in-process."""

    def __init__(self, provider: RecoveryProvider) -> None:
        self.provider = provider
        self.name = provider.name
        self.capabilities: Capabilities = provider.capabilities

    async def identity(self) -> str:
        return self.provider.identity()

    async def describe_machines(self, names: list[str]) -> dict[str, MachineStatus]:
        return self.provider.describe_machines(names)

    async def describe_environment(self) -> EnvironmentStatus:
        return self.provider.describe_environment()

    async def get_job(self, job: JobRef) -> JobStatus:
        return self.provider.get_job(job)

    async def find_job(self, request: OperationRequest) -> JobRef | None:
        return self.provider.find_job(request)

    async def find_runbook_job(self, runbook: str, request_id: str) -> JobRef | None:
        return self.provider.find_runbook_job(runbook, request_id)

    async def start_operation(self, request: OperationRequest) -> JobRef:
        return self.provider.start_operation(request)

    async def start_runbook(self, name: str, parameters: dict[str, str], context: dict[str, Any],
                            request_id: str) -> JobRef:
        return self.provider.start_runbook(name, parameters, context, request_id)

    async def resume_job(self, job: JobRef, comment: str, request_id: str) -> None:
        self.provider.resume_job(job, comment, request_id)

    async def cancel_job(self, job: JobRef) -> None:
        self.provider.cancel_job(job)

    async def service_endpoints(self, machines: list[str]) -> dict[str, str | None]:
        return {m: self.provider.service_endpoint(m) for m in machines}

    def api_calls(self) -> dict[str, int]:
        return dict(self.provider.api_calls)


class LocalRuntime:
    def __init__(self, store: Journal, run_id: str, provider: RecoveryProvider, approver: Approver,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.store = store
        self.run_id = run_id
        self.clock = provider.clock
        self.approver = approver
        self.on_event = on_event
        self._stop_reason: str | None = None
        self.signal: int | None = None

    # -- time ------------------------------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def wall_now(self) -> float:
        return wall_time()

    async def wait(self, seconds: float) -> None:
        await self.clock.wait(seconds)

    def add_real_wait(self, seconds: float) -> None:
        self.clock.add_real_wait(seconds)

    # -- effects ---------------------------------------------------------------------------------------------------
    async def run_script(self, call: ScriptCall) -> ScriptResult:
        return await run_action_script(call)

    async def request_approval(self, step_id: str, instruction: str, timeout_seconds: float) -> Approval | None:
        if not self.approver.blocking:
            return self.approver.request(step_id, instruction, timeout_seconds)
        # A person at a terminal: ask in a daemon thread so a signal still reaches the event loop.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Approval | None] = loop.create_future()

        def ask() -> None:
            try:
                answer = self.approver.request(step_id, instruction, timeout_seconds)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
                loop.call_soon_threadsafe(_set_exception, future, exc)
                return
            loop.call_soon_threadsafe(_set_result, future, answer)

        threading.Thread(target=ask, daemon=True, name="asrctl-approval").start()
        return await future

    def cancel_requested(self) -> bool:
        return self.store.cancel_requested(self.run_id)

    def stop_reason(self) -> str | None:
        return self._stop_reason

    def request_stop(self, reason: str, signum: int | None = None) -> None:
        self._stop_reason = reason
        self.signal = signum

    def emit(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def state_dir(self) -> str:
        return str(state_home())


async def run_action_script(call: ScriptCall) -> ScriptResult:
    """Run an action script as a child process of this one (the local runtime, and the Temporal worker's script
    activity): ``python <script> <args>`` in the project directory, the context on stdin and in ``ASRCTL_CONTEXT``,
    an environment without credentials, killed at its timeout."""
    root = project_dir()
    script = (root / call.path).resolve()
    allowed = (root / ACTIONS_DIR).resolve()
    if not script.is_relative_to(allowed) or not script.is_file():
        # The plan validation refuses these; checked again here because this is where a process starts.
        return ScriptResult(2, "", f"{call.path}: action scripts must be files inside {ACTIONS_DIR}/")
    env = child_environment({"ASRCTL_CONTEXT": call.context_json})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), *call.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env, cwd=root,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(call.context_json.encode()), timeout=call.timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        return ScriptResult(None, out.decode(errors="replace"), err.decode(errors="replace"))
    except asyncio.CancelledError:
        proc.kill()
        await proc.wait()
        raise
    return ScriptResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def wall_time() -> float:
    """Real time for manual-action timeouts and approval waits: one seam, so tests can move it without sleeping."""
    return time.time()


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def drive(engine: Any, runtime: LocalRuntime) -> str:
    """Run the engine to its end or a pause in an event loop; SIGINT/SIGTERM interrupt it (status interrupted)."""

    async def main() -> str:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        installed = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, _interrupt, runtime, task, signum)
                installed.append(signum)
            except (RuntimeError, ValueError):  # not the main thread (tests driving it from a thread)
                pass
        try:
            return await engine.run()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)

    return asyncio.run(main())


def _interrupt(runtime: LocalRuntime, task: asyncio.Task[Any], signum: int) -> None:
    if runtime.stop_reason() is None:
        runtime.request_stop("interrupted", signum)
        task.cancel()

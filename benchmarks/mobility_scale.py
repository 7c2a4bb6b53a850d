"""Benchmark: `asrctl mobility deploy` on N simulated hosts with F forks vs one host: wall ratio and controller CPU.

Each simulated Linux host is `ansible_connection=local` with its own root and the fake Microsoft installer (the lab
of tests/mobility, fixtures/mobility/lab.py), so the figures measure asrctl + ansible-runner + Ansible + the role,
not the real installer. Modernized runs also make each machine's configuration file on a simulated appliance.

CPU is the `asrctl mobility deploy` process and everything it started (children included: ansible-playbook, its
workers, the modules and the fake installers on the "hosts", which here run on the controller too), read with
os.wait4's rusage of the CLI process. It is reported per host: total / N, and the marginal cost (CPU(N) - CPU(1)) /
(N - 1) that excludes the once-per-run start-up.

    .venv/bin/python benchmarks/mobility_scale.py [--hosts 50] [--forks 25] [--architecture classic|modernized]
    .venv/bin/python benchmarks/mobility_scale.py --architecture classic --baseline-rev c88b8da   # before vs after

--baseline-rev REV runs the same lab against the code of an older commit (git archive into a temp dir; classic only,
the architecture that code knows), on the same machine in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "tests"))

from fixtures.mobility.lab import (  # noqa: E402
    CURRENT_VERSION,
    FakeHost,
    build_installer,
    connection_plugins,
    listening_ports,
    project,
    write_inventory,
)

PASSPHRASE = "benchmark-passphrase"


@dataclass
class Measure:
    hosts: int
    wall_s: float
    cpu_s: float
    statuses: dict[str, int]


def _run(code: Path, project_dir: Path, stack: str, base: Path, count: int, forks: int, architecture: str,
         installers: Path, ports: tuple[int, int], legacy: bool) -> Measure:
    lab = base / f"lab-{code.name}-{architecture}-{count}"
    # The code before the probe read the distribution from gathered facts (fact names); the new role reads os-release.
    extra = {"asr_mobility_service_distribution": "RedHat", "asr_mobility_service_distribution_version": "8.6"} if legacy else {}
    hosts = [FakeHost(f"vm{i:03d}", extra=dict(extra)) for i in range(count)]
    inventory = write_inventory(lab, hosts, *ports, architecture=architecture)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASRCTL_")}
    env.update(ASRCTL_HOME=str(lab / "home"), ASRCTL_PROJECT_DIR=str(project_dir), PYTHONPATH=str(code),
               ANSIBLE_CONNECTION_PLUGINS=connection_plugins())
    if architecture == "classic":
        env["ASRCTL_CS_PASSPHRASE"] = PASSPHRASE
    argv = [sys.executable, "-m", "asrctl", "mobility", "deploy", "--stack", stack, "--inventory", str(inventory),
            "--installer-dir", str(installers), "--forks", str(forks), "--json"]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    statuses: dict[str, int] = {}
    try:
        for h in json.loads(out)["hosts"]:
            statuses[h["status"]] = statuses.get(h["status"], 0) + 1
    except ValueError:
        statuses["no-json"] = 1
    return Measure(count, wall, usage.ru_utime + usage.ru_stime, statuses)


def _pair(label: str, code: Path, project_dir: Path, stack: str, base: Path, args, installers, ports, legacy=False):
    one = _run(code, project_dir, stack, base, 1, 1, args.architecture, installers, ports, legacy)
    many = _run(code, project_dir, stack, base, args.hosts, args.forks, args.architecture, installers, ports, legacy)
    marginal = (many.cpu_s - one.cpu_s) / (many.hosts - 1) if many.hosts > 1 else many.cpu_s
    print(f"[{label}] 1 host: {one.wall_s:6.1f} s wall, {one.cpu_s:6.1f} CPU s  {one.statuses}")
    print(f"[{label}] {many.hosts} hosts, {args.forks} forks: {many.wall_s:6.1f} s wall, {many.cpu_s:6.1f} CPU s  {many.statuses}")
    print(f"[{label}] wall ratio {many.hosts}-host / 1-host: {many.wall_s / one.wall_s:.1f}x (serial would be {many.hosts}x)")
    print(f"[{label}] controller CPU per host: {many.cpu_s / many.hosts:.2f} s (total / {many.hosts}), "
          f"{marginal:.2f} s marginal")
    wanted = "installed"
    return one.statuses == {wanted: 1} and many.statuses == {wanted: args.hosts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--forks", type=int, default=25)
    parser.add_argument("--architecture", choices=["modernized", "classic"], default="modernized")
    parser.add_argument("--baseline-rev", help="also measure the code of this git revision (classic only)")
    args = parser.parse_args()
    if args.baseline_rev and args.architecture != "classic":
        parser.error("--baseline-rev compares the classic flow (the architecture older code knows)")
    print(f"CPUs: {os.cpu_count()}, architecture {args.architecture}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="asrctl-mobility-bench-") as tmp:
        base = Path(tmp)
        installers = base / "installers"
        build_installer(installers, CURRENT_VERSION, "RHEL8-64")
        stack = "mobmodern" if args.architecture == "modernized" else "mobclassic"
        with listening_ports(2) as ports:
            if args.baseline_rev:
                old = base / "baseline"
                old.mkdir()
                archive = subprocess.run(["git", "archive", args.baseline_rev], cwd=PROJECT, capture_output=True, check=True)
                subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
                ok &= _pair(f"before {args.baseline_rev}", old, old, "dev", base, args, installers, tuple(ports), legacy=True)
            ok &= _pair("after", PROJECT, project(base), stack, base, args, installers, tuple(ports))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

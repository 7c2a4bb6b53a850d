"""Benchmark: `asrctl preview` (the mock-mode harness) at 100, 500 and 1000 machines, against bare Pulumi mocks.

For each size it writes a phase-2 stack (the prod stack's 40 machines, so the recovery plans stay valid, plus
generated machines in an extra /20 "bulk" tier), points ASRCTL_PROJECT_DIR at a temporary copy of the project,
and measures in the same process:

  preview      asrctl.mockmode.run_program(stack): the real program + capture, JSON-safe values, ARM ids, checks
  same/bare    the same program under bare Pulumi mocks (MockMonitor, new_resource returning the inputs)
  raw/bare     the captured resources replayed as plain registrations (same types, names, parents, inputs)
               under bare mocks: the raw cost of registering them

and prints preview / same (the harness's cost over bare Pulumi mocks registering the same resources; target
≤ 1.5 at 1000 machines) and preview / raw (what typed SDK args, applies and invokes cost on top of registering).
CPU time is the figure compared: on a shared machine the wall time mostly measures the other processes.
It also times `asrctl --help` in a fresh process (target < 0.5 s).

    .venv/bin/python benchmarks/preview_scale.py [--sizes 100,500,1000] [--help-runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
STACK = "bench"
BULK_RECOVERY = ipaddress.ip_network("10.70.16.0/20")
BULK_TEST = ipaddress.ip_network("10.170.16.0/20")
BULK_ON_PREM = ipaddress.ip_network("172.20.0.0/16")


def write_project(root: Path, machines: int) -> None:
    """A copy of the project whose stack ``bench`` is prod with ``machines`` machines in total."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(PROJECT / name, root / name)
    shutil.copytree(PROJECT / "runbooks", root / "runbooks")
    if (PROJECT / "templates").is_dir():
        shutil.copytree(PROJECT / "templates", root / "templates")
    (root / "stacks").mkdir()
    doc = yaml.safe_load((PROJECT / "stacks" / "Pulumi.prod.yaml").read_text())
    config = doc["config"]
    net = config["vmware-azure-dr:network"]
    net["recovery"]["subnets"].append({"name": "bulk", "prefix": str(BULK_RECOVERY)})
    net["testFailover"]["subnets"].append({"name": "bulk", "prefix": str(BULK_TEST)})
    base = config["vmware-azure-dr:machines"]
    recovery_hosts = BULK_RECOVERY.hosts()
    on_prem_hosts = BULK_ON_PREM.hosts()
    for i in range(max(0, machines - len(base))):
        base.append(
            {
                "name": f"bulk{i:04d}",
                "os": "linux",
                "osVersion": "RHEL 8",
                "ip": str(next(on_prem_hosts)),
                "vmName": f"bulk{i:04d}",
                "targetVmSize": "Standard_D2s_v5",
                "targetSubnet": "bulk",
                "recoveryIp": str(next(recovery_hosts)),
                "churnGbPerDay": 1,
                "disks": [{"sizeGb": 64}],
            }
        )
    config["vmware-azure-dr:machines"] = base[:machines] if machines < len(base) else base
    registration = config.get("vmware-azure-dr:registration")
    if registration:  # phase 2: every machine needs its protectable item
        registration["protectableItems"] = {
            m["name"]: registration.get("protectableItems", {}).get(m["name"], f"item-{m['name']}")
            for m in config["vmware-azure-dr:machines"]
        }
    (root / "stacks" / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def _fresh_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


def _close(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    asyncio.set_event_loop(None)


def bare_mocks_run(program) -> tuple[float, float]:
    """(wall, CPU) seconds to run ``program()`` under Pulumi's own MockMonitor with trivial mocks (inputs echoed
    back) and the interpreter's defaults (GC on)."""
    import pulumi
    from pulumi.runtime import settings

    from asrctl.infra.mock_inventory import INVOKES

    class BareMocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args):
            return INVOKES[args.token](dict(args.args))

    loop = _fresh_loop()
    try:
        settings.ROOT.set(None)
        pulumi.runtime.set_mocks(BareMocks(), project="vmware-azure-dr", stack=STACK, preview=True)
        started, cpu = time.perf_counter(), time.process_time()
        pulumi.runtime.test(program)()
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        _close(loop)
        settings.ROOT.set(None)


def same_program_bare(root: Path) -> tuple[float, float]:
    from pulumi.runtime import config as pulumi_config

    from asrctl.mockmode import _pulumi_config

    config, secret_keys, _ = _pulumi_config(STACK)
    pulumi_config.set_all_config(config, secret_keys)
    return bare_mocks_run(lambda: runpy.run_path(str(root / "__main__.py"), run_name="__main__"))


def raw_registrations(captured) -> tuple[float, float]:
    """Register the same resources (types, names, parents, inputs) the preview captured, with nothing else: no
    typed args, no applies, no invokes, no capture."""
    import pulumi

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}
        for r in captured:  # parents come before children
            opts = pulumi.ResourceOptions(parent=made.get(r.parent))
            if r.custom:
                made[r.urn] = pulumi.CustomResource(r.type, r.name, dict(r.inputs), opts=opts)
            else:
                made[r.urn] = pulumi.ComponentResource(r.type, r.name, None, opts=opts)

    return bare_mocks_run(program)


def help_wall_times(runs: int) -> list[float]:
    exe = PROJECT / ".venv" / "bin" / "asrctl"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "asrctl"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*command, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,500,1000", help="machine counts, comma-separated")
    parser.add_argument("--help-runs", type=int, default=5)
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]

    from asrctl.mockmode import run_program

    # Warm-up: imports (pulumi, azure-native, vsphere) are paid once, not by the first size.
    with tempfile.TemporaryDirectory() as tmp:
        write_project(Path(tmp), 40)
        os.environ["ASRCTL_PROJECT_DIR"] = tmp
        run_program(STACK)

    print("wall seconds (the machine is shared: see the load average) and CPU seconds (all threads) per run")
    print(f"{'machines':>8} {'resources':>9} {'preview':>15} {'same/bare':>15} {'raw/bare':>15} "
          f"{'cpu ms/res':>10} {'preview/same':>12} {'preview/raw':>11}")
    print(f"{'':>8} {'':>9} {'wall / cpu':>15} {'wall / cpu':>15} {'wall / cpu':>15} {'':>10} {'cpu':>12} {'cpu':>11}")
    ratios: dict[int, float] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_project(root, size)
            os.environ["ASRCTL_PROJECT_DIR"] = tmp
            started, cpu = time.perf_counter(), time.process_time()
            result = run_program(STACK)
            preview = (time.perf_counter() - started, time.process_time() - cpu)
            same = same_program_bare(root)
        count = len(result.resources)
        raw = raw_registrations(result.resources)
        ratios[size] = preview[1] / same[1]
        print(f"{size:>8} {count:>9} {preview[0]:>7.2f} / {preview[1]:<5.2f} {same[0]:>7.2f} / {same[1]:<5.2f} "
              f"{raw[0]:>7.2f} / {raw[1]:<5.2f} {1000 * preview[1] / count:>10.1f} {preview[1] / same[1]:>12.2f} "
              f"{preview[1] / raw[1]:>11.2f}", flush=True)

    helps = help_wall_times(options.help_runs)
    print(f"asrctl --help: median {statistics.median(helps):.3f} s, min {min(helps):.3f} s over {len(helps)} runs "
          f"(target < 0.5 s)")
    largest = max(sizes)
    verdict = "meets" if ratios[largest] <= 1.5 else "misses"
    print(f"preview / same program under bare mocks at {largest} machines: {ratios[largest]:.2f} CPU "
          f"({verdict} the ≤ 1.5 target); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: `asrctl preview` and `asrctl policy check` at 100, 500 and 1000 machines, per architecture.

For each architecture (modernized: the prod stack's shape with enough appliances; classic: the legacy stack's shape)
and size it writes a phase-2 stack ``bench`` (the sample's 40 machines, so the recovery plans stay valid, plus
generated machines in an extra /20 "bulk" tier) into a temporary copy of the project, and measures, every figure in
a fresh process, so one measurement never pays for another's imports or garbage:

  preview cmd     the whole `asrctl preview --stack bench --json` command as the executable runs it (imports, the
                  program, rendering, exit), CPU of the child process (user + system, all threads)
  ... collect     the same command with the garbage collector policy of a long-lived process (the heap collected
                  after the run instead of frozen): what the executable did before the gc.freeze fix
  policy cmd      the whole `asrctl policy check --stack bench --format json` command, frozen / collected
  program         asrctl.mockmode.run_program(stack) after a warm-up run (imports paid), the deferred collection of
                  the run's garbage inside the timed window
  same/bare       the same program under bare Pulumi mocks (MockMonitor, new_resource returning the inputs), with the
                  same GC policy as ``program``: paused during the run, the deferred collection inside the window
  raw/bare        the captured resources registered plainly (same types, names, parents, inputs; no typed args, no
                  applies, no invokes, no capture) under bare mocks, same GC policy

and prints program / same (the harness's cost over bare Pulumi mocks registering the same resources; target ≤ 1.5
at 1000 machines) and program / raw (what typed SDK args, applies and invokes cost on top of registering). Both
commands' outputs with and without the freeze are compared byte for byte. CPU time is the figure compared: on a
shared machine the wall time mostly measures the other processes. It also times `asrctl --help` (target < 0.5 s).

    .venv/bin/python benchmarks/preview_scale.py [--sizes 100,500,1000] [--architectures modernized,classic]
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import math
import os
import resource
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
SOURCE_STACK = {"modernized": "prod", "classic": "legacy"}
NS = "vmware-azure-dr"


def write_project(root: Path, machines: int, architecture: str) -> None:
    """A copy of the project whose stack ``bench`` is prod (modernized) or legacy (classic) with ``machines``."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(PROJECT / name, root / name)
    shutil.copytree(PROJECT / "runbooks", root / "runbooks")
    if (PROJECT / "templates").is_dir():
        shutil.copytree(PROJECT / "templates", root / "templates")
    (root / "stacks").mkdir()
    doc = yaml.safe_load((PROJECT / "stacks" / f"Pulumi.{SOURCE_STACK[architecture]}.yaml").read_text())
    config = doc["config"]
    net = config[f"{NS}:network"]
    net["recovery"]["subnets"].append({"name": "bulk", "prefix": str(BULK_RECOVERY)})
    net["testFailover"]["subnets"].append({"name": "bulk", "prefix": str(BULK_TEST)})
    base = config[f"{NS}:machines"]
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
    config[f"{NS}:machines"] = base = base[:machines]
    registration = config[f"{NS}:registration"]
    if architecture == "classic":
        registration["protectableItems"] = {
            m["name"]: registration["protectableItems"].get(m["name"], f"item-{m['name']}") for m in base
        }
    else:
        # One replication appliance per 200 machines (the sizing rule config validation enforces), plus failback.
        appliances = [{"name": f"asr-ra-bench{i:02d}", "ip": f"10.20.5.{20 + i}"}
                      for i in range(1, math.ceil(len(base) / 200) + 1)]
        appliances.append({"name": "asr-ra-benchfb", "ip": "10.20.5.19", "role": "failback"})
        config[f"{NS}:replicationAppliances"]["appliances"] = appliances
        registration["appliances"] = {a["name"]: {"processServerId": f"ps-{a['name']}"} for a in appliances}
        site = registration["vmwareSiteId"]
        registration["discoveredMachines"] = {
            m["name"]: registration["discoveredMachines"].get(m["name"], f"{site}/machines/bench_{m['name']}")
            for m in base
        }
    (root / "stacks" / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


# ---------------------------------------------------------------------------------------------------------------
# What a measuring child process runs (python preview_scale.py --measure KIND)


def _bare_mocks_run(program) -> float:
    """CPU seconds of ``program()`` under Pulumi's own MockMonitor with trivial mocks, the GC paused during the run
    and the deferred collection inside the window (the policy asrctl.mockmode applies to its own runs)."""
    import asyncio
    import gc

    import pulumi
    from pulumi.runtime import settings

    from asrctl.infra.mock_inventory import INVOKES

    class BareMocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args):
            return INVOKES[args.token](dict(args.args))

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        settings.ROOT.set(None)
        pulumi.runtime.set_mocks(BareMocks(), project="vmware-azure-dr", stack=STACK, preview=True)
        cpu = time.process_time()
        gc.disable()
        try:
            pulumi.runtime.test(program)()
        finally:
            gc.enable()
        gc.collect()
        return time.process_time() - cpu
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
        settings.ROOT.set(None)


def _measure(kind: str) -> dict:
    import gc
    import runpy

    from asrctl.mockmode import _pulumi_config, run_program

    warm = run_program(STACK)  # imports (pulumi, azure-native, vsphere) are paid here, not by the measurement
    gc.collect()
    if kind == "program":
        cpu = time.process_time()
        result = run_program(STACK)
        gc.collect()  # the run's garbage, collected once the collector is back on: part of the run's cost
        return {"cpu": time.process_time() - cpu, "resources": len(result.resources)}
    if kind == "same":
        from pulumi.runtime import config as pulumi_config

        config, secret_keys, _ = _pulumi_config(STACK)
        pulumi_config.set_all_config(config, secret_keys)
        root = Path(os.environ["ASRCTL_PROJECT_DIR"])
        return {"cpu": _bare_mocks_run(lambda: runpy.run_path(str(root / "__main__.py"), run_name="__main__"))}
    if kind == "raw":
        import pulumi

        captured = warm.resources

        def program() -> None:
            made: dict[str, pulumi.Resource] = {}
            for r in captured:  # parents come before children
                opts = pulumi.ResourceOptions(parent=made.get(r.parent))
                if r.custom:
                    made[r.urn] = pulumi.CustomResource(r.type, r.name, dict(r.inputs), opts=opts)
                else:
                    made[r.urn] = pulumi.ComponentResource(r.type, r.name, None, opts=opts)

        return {"cpu": _bare_mocks_run(program)}
    raise SystemExit(f"unknown measurement {kind}")


# ---------------------------------------------------------------------------------------------------------------
# The parent


def _child_cpu(command: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """(CPU seconds, wall seconds, stdout) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, check=False, cwd=PROJECT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # policy check exits 1 on mandatory violations: still a full run
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.stdout


#: The executable's entry (heap frozen after the run) and a long-lived caller's (heap collected): same command.
ENTRIES = {
    "frozen": "import sys; from asrctl.cli import console_main; sys.exit(console_main())",
    "collect": "import sys; from asrctl.cli import main; sys.exit(main())",
}


def _command(entry: str, *args: str) -> list[str]:
    return [sys.executable, "-c", ENTRIES[entry], *args]


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
    parser.add_argument("--architectures", default="modernized,classic", help="modernized and/or classic")
    parser.add_argument("--help-runs", type=int, default=5)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: run one measurement in this process
    options = parser.parse_args()
    if options.measure:
        print(json.dumps(_measure(options.measure)))
        return 0
    sizes = [int(s) for s in options.sizes.split(",")]
    architectures = [a for a in options.architectures.split(",") if a]

    print("CPU seconds of a fresh process per figure (user + system, all threads); the machine is shared: wall time "
          "is not compared")
    print(f"{'arch':>10} {'machines':>8} {'resources':>9} | {'preview cmd':>11} {'collect':>7} {'Δ':>5} | "
          f"{'policy cmd':>10} {'collect':>7} {'Δ':>5} | {'program':>7} {'same':>6} {'raw':>6} {'ms/res':>6} "
          f"{'prog/same':>9} {'prog/raw':>8}")
    ratios: dict[tuple[str, int], float] = {}
    for architecture in architectures:
        for size in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                write_project(root, size, architecture)
                env = {**os.environ, "ASRCTL_PROJECT_DIR": tmp, "ASRCTL_HOME": str(root / ".asrctl")}
                figures: dict[str, float] = {}
                outputs: dict[str, bytes] = {}
                for entry in ("frozen", "collect"):
                    cpu, _, out = _child_cpu(_command(entry, "preview", "--stack", STACK, "--json"), env)
                    figures[f"preview-{entry}"], outputs[f"preview-{entry}"] = cpu, out
                    cpu, _, out = _child_cpu(
                        _command(entry, "policy", "check", "--stack", STACK, "--format", "json"), env
                    )
                    figures[f"policy-{entry}"], outputs[f"policy-{entry}"] = cpu, out
                for command in ("preview", "policy"):
                    a, b = outputs[f"{command}-frozen"], outputs[f"{command}-collect"]
                    if hashlib.sha256(a).digest() != hashlib.sha256(b).digest():
                        raise SystemExit(f"{command} output differs between the GC policies at {size} machines")
                measured = {}
                for kind in ("program", "same", "raw"):
                    _, _, out = _child_cpu([sys.executable, __file__, "--measure", kind], env)
                    measured[kind] = json.loads(out)
            count = measured["program"]["resources"]
            program, same, raw = (measured[k]["cpu"] for k in ("program", "same", "raw"))
            ratios[(architecture, size)] = program / same
            pv, pvc, pc, pcc = (figures[k] for k in ("preview-frozen", "preview-collect", "policy-frozen",
                                                      "policy-collect"))
            print(f"{architecture:>10} {size:>8} {count:>9} | {pv:>11.2f} {pvc:>7.2f} {100 * (pv / pvc - 1):>+4.0f}% | "
                  f"{pc:>10.2f} {pcc:>7.2f} {100 * (pc / pcc - 1):>+4.0f}% | {program:>7.2f} {same:>6.2f} {raw:>6.2f} "
                  f"{1000 * program / count:>6.1f} {program / same:>9.2f} {program / raw:>8.2f}", flush=True)

    helps = help_wall_times(options.help_runs)
    print(f"asrctl --help: median {statistics.median(helps):.3f} s, min {min(helps):.3f} s over {len(helps)} runs "
          "(target < 0.5 s)")
    for architecture in architectures:
        largest = max(sizes)
        ratio = ratios[(architecture, largest)]
        verdict = "meets" if ratio <= 1.5 else "misses"
        print(f"{architecture}: program / same program under bare mocks at {largest} machines: {ratio:.2f} CPU "
              f"({verdict} the ≤ 1.5 target)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; outputs with and without the freeze "
          "are identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())

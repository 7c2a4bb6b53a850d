"""Runbook engine at ASR's limits: one 7-group, 100-machine plan, then 20 such plans at once (2,000 machines).

Generates a temporary project (a stack with 2,000 machines derived from stacks/Pulumi.dev.yaml, 20 plans) and runs
test failovers on the simulator at high speed, all plans in one process sharing one provider (one principal, so
one ARM budget). Prints:

* engine overhead per machine: process CPU time outside provider calls, per machine (ms);
* achieved RTO over the plan's critical-path lower bound (sum over groups of the longest machine job the
  simulator drew), per plan (target ≤ 1.01);
* provider reads and writes per machine, and the peak number of calls in any one simulated second against ARM's
  budget per principal (25 reads/s, 10 writes/s).

Time: by default a discrete-event clock (simulated time advances only when every engine thread waits), so the RTO
figures measure the engine's logic, not the machine's load; ``--speed N`` uses the simulator's scaled clock instead
(N simulated seconds per real second), where real CPU time leaks into simulated time ×N.

Usage: .venv/bin/python benchmarks/runbook_scale.py [--speed 0|N] [--plans 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
GROUP_SIZES = (14, 14, 14, 14, 14, 15, 15)  # 7 groups, 100 machines: ASR's limits for one recovery plan
ARM_BUDGET = {"reads": 25, "writes": 10}


def make_project(root: Path, plans: int) -> None:
    shutil.copy(PROJECT / "Pulumi.yaml", root)
    (root / "stacks").mkdir()
    (root / "runbooks" / "plans").mkdir(parents=True)
    raw = yaml.safe_load((PROJECT / "stacks" / "Pulumi.dev.yaml").read_text())
    cfg = raw["config"]
    ns = "vmware-azure-dr:"
    cfg[ns + "network"]["recovery"]["subnets"] = [{"name": "app", "prefix": "10.60.0.0/20"}]
    cfg[ns + "network"]["testFailover"]["subnets"] = [{"name": "app", "prefix": "10.160.0.0/20"}]
    machines = []
    for i in range(plans * 100):
        machines.append({
            "name": f"vm{i:04d}", "os": "linux", "osVersion": "RHEL 8", "ip": f"10.10.{16 + i // 250}.{i % 250 + 1}",
            "vmName": f"vm{i:04d}", "targetVmSize": "Standard_D2s_v5", "targetSubnet": "app",
            "recoveryIp": f"10.60.{i // 250}.{i % 250 + 1}", "churnGbPerDay": 1, "disks": [{"sizeGb": 64}],
        })
    cfg[ns + "machines"] = machines
    (root / "stacks" / "Pulumi.bench.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    for p in range(plans):
        groups, offset = [], p * 100
        for g, size in enumerate(GROUP_SIZES):
            groups.append({"name": f"tier{g + 1}", "machines": [f"vm{offset + j:04d}" for j in range(size)]})
            offset += size
        (root / "runbooks" / "plans" / f"bench{p:02d}.yaml").write_text(
            yaml.safe_dump({"name": f"bench{p:02d}", "groups": groups}, sort_keys=False)
        )


def peak_per_second(log: list[tuple[float, str]], kind: str) -> int:
    stamps = sorted(t for t, k in log if k == kind)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def run_batch(stack, plans: list, speed: float, label: str) -> dict:
    from asrctl.recovery.provider import from_iso
    from asrctl.recovery.simulator import SimulatorProvider
    from asrctl.recovery.virtualclock import VirtualClock

    from asrctl.recovery.approval import AutoApprover
    from asrctl.recovery.engine import Engine
    from asrctl.recovery.journal import Journal

    provider = SimulatorProvider(stack, "bench", speed=speed, faults=[], record_calls=True,
                                 path=Path(os.environ["ASRCTL_HOME"]) / f"sim-{label}.db")
    if speed == 0:  # discrete-event time: reproducible on a busy machine, CPU work costs no simulated time
        provider.clock = VirtualClock(provider.clock.now(), participants=0)
    in_provider = threading.local()
    provider_cpu = Counter()

    # Time spent inside the provider (the simulator's own work) is not engine overhead: measure it per thread.
    for name in ("describe_machines", "get_job", "find_job", "start_operation", "describe_environment"):
        original = getattr(provider, name)

        def timed(*args, _original=original, **kwargs):
            start = time.thread_time()
            try:
                return _original(*args, **kwargs)
            finally:
                provider_cpu[threading.get_ident()] += time.thread_time() - start
                in_provider.x = True

        setattr(provider, name, timed)
    journal = Journal()
    engines = []
    for plan in plans:
        run_id = journal.create_run(plan=plan.name, stack="bench", operation="test-failover", provider="simulator",
                                    plan_path=str(plan.path), plan_sha256=plan.sha256, clock="simulated",
                                    options={"stages": ["test-failover"], "main_stage": 0, "command": "drill"})
        engines.append(Engine(plan, stack, "bench", provider, journal, run_id, approver=AutoApprover()))
    results: dict[str, str] = {}
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    def drive(engine) -> None:
        try:
            results[engine.run_id] = engine.run()
        finally:
            if speed == 0:
                provider.clock.leave()

    if speed == 0:
        for _ in engines:
            provider.clock.join()
    threads = [threading.Thread(target=drive, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    assert set(results.values()) == {"succeeded"}, results

    db = sqlite3.connect(provider.path)
    durations = {m: due - created for m, created, due in
                 db.execute("SELECT machine, created_at, due_at FROM jobs WHERE kind='machine'")}
    ratios = []
    for engine in engines:
        stage = journal.step(engine.run_id, "s0")
        achieved = (from_iso(stage["finished_at"]) - from_iso(stage["started_at"])).total_seconds()
        bound = sum(max(durations[m] for m in g.machines) for g in engine.plan.groups)
        ratios.append(achieved / bound)
    machines = sum(len(p.machines) for p in plans)
    # All plans start their first group at once: under ARM's write budget the last of those starts cannot go out
    # before first_wave / 10 s, whatever the client does. Shown against the critical path it adds to.
    first_wave = sum(len(p.groups[0].machines) for p in plans)
    mean_bound = sum(sum(max(durations[m] for m in g.machines) for g in p.groups) for p in plans) / len(plans)
    calls = provider.api_calls
    log = provider.call_log or []
    provider.close()
    journal.close()
    return {
        "label": label, "plans": len(plans), "machines": machines, "wall_s": wall,
        "engine_ms_per_machine": (cpu - sum(provider_cpu.values())) / machines * 1000,
        "total_cpu_ms_per_machine": cpu / machines * 1000,
        "rto_ratio_max": max(ratios), "rto_ratio_mean": sum(ratios) / len(ratios),
        "reads_per_machine": calls["reads"] / machines, "writes_per_machine": calls["writes"] / machines,
        "peak_reads": peak_per_second(log, "reads"), "peak_writes": peak_per_second(log, "writes"),
        "write_wait_s": provider._asrctl_rate_limiter.waited["writes"],
        "first_wave": first_wave, "first_wave_floor_s": first_wave / ARM_BUDGET["writes"], "mean_bound_s": mean_bound,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=0.0,
                        help="simulated seconds per real second; 0 (default) = discrete-event virtual clock")
    parser.add_argument("--plans", type=int, default=20)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="asrctl-bench-"))
    try:
        os.environ["ASRCTL_PROJECT_DIR"] = str(root)
        os.environ["ASRCTL_HOME"] = str(root / "home")
        sys.path.insert(0, str(PROJECT))
        make_project(root, args.plans)
        from asrctl.config import load_stack
        from asrctl.plans import load_plan

        stack = load_stack("bench")
        plans = [load_plan(f"bench{p:02d}", stack, "bench") for p in range(args.plans)]
        clock = "virtual (discrete-event) clock" if args.speed == 0 else f"scaled clock ×{args.speed:g}"
        print(f"{clock}; ARM budget per principal: {ARM_BUDGET['reads']} reads/s, "
              f"{ARM_BUDGET['writes']} writes/s")
        for batch, label in ((plans[:1], "1 plan"), (plans, f"{args.plans} plans")):
            r = run_batch(stack, batch, args.speed, label.replace(" ", "-"))
            print(f"\n== {r['label']}: {r['machines']} machines, {r['wall_s']:.1f} s wall")
            print(f"engine overhead per machine      {r['engine_ms_per_machine']:.2f} ms CPU "
                  f"(engine + journal + simulator: {r['total_cpu_ms_per_machine']:.2f} ms)")
            print(f"achieved RTO / critical path     max {r['rto_ratio_max']:.4f}, mean {r['rto_ratio_mean']:.4f} "
                  f"(target ≤ 1.01)")
            print(f"provider calls per machine       {r['reads_per_machine']:.2f} reads, "
                  f"{r['writes_per_machine']:.2f} writes")
            print(f"peak calls in any simulated 1 s  {r['peak_reads']} reads (budget {ARM_BUDGET['reads']}), "
                  f"{r['peak_writes']} writes (budget {ARM_BUDGET['writes']}) -> "
                  f"{'within' if r['peak_reads'] <= 25 and r['peak_writes'] <= 10 else 'OVER'} budget")
            print(f"time spent waiting for write budget (simulated): {r['write_wait_s']:.0f} s")
            print(f"first-wave write floor           {r['first_wave']} starts at once / {ARM_BUDGET['writes']} writes/s "
                  f"= {r['first_wave_floor_s']:.1f} s = {r['first_wave_floor_s'] / r['mean_bound_s'] * 100:.2f} % of "
                  f"the {r['mean_bound_s'] / 60:.0f}-min critical path (any client inside the budget pays it)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

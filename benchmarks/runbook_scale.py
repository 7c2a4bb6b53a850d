"""Runbook engine at ASR's limits: N recovery plans of 7 groups × 100 machines failing over at once, in ONE process
and ONE event loop, sharing one simulator (one principal, so one ARM budget).

It generates a temporary project (a stack with N × 100 machines derived from stacks/Pulumi.dev.yaml, N plans) and
runs a test failover of every plan: each run is an :class:`~asrctl.recovery.engine.Engine` on its own local runtime
(its own run in one shared journal), all of them participants of one discrete-event clock
(:class:`~asrctl.recovery.clock.VirtualClock`: simulated time stands still while any engine works and jumps to the
earliest wake-up once all wait), so the RTO figures measure the engine's decisions, not the machine's load, and are
the same on every run. Per configuration (1 × 100, 20 × 100, 50 × 100; ``--plans``) and variant it prints:

* RTO / critical path, worst and median over the plans; the critical path of a plan is the sum over its groups of
  the longest job the simulator drew for that group (a lower bound no client can beat);
* engine CPU per machine: process CPU outside provider calls and outside journal calls (the interpreter, its
  polling, the clock, the event loop, and garbage collection wherever it ran), and beside it the journal: commits
  per machine (synchronous=FULL: every commit waits for an fsync, so its CPU is mostly the kernel's I/O work) and
  their CPU and I/O wait. The garbage collector runs as it does in the CLI for every variant, the timed window ends
  with a full collection (no variant leaves its garbage to the next), and what the engine imports lazily is imported
  before the first window;
* status reads the group drivers asked for and the backend reads they became;
* provider reads and writes per machine, as the backend counted them;
* the peak calls in any simulated second, and whether ARM's token buckets (25 reads/s burst 250, 10 writes/s
  burst 200, per principal) would ever have throttled the recorded call sequence;
* the write floor: the first groups of all plans start at once; ARM's write bucket lets 200 go at once and 10/s
  after (the client keeps 90 %: 180 and 9/s), so the last start of that wave cannot go out earlier than this;
* simulated seconds spent waiting in the client limiter (summed over the callers that waited).

Variants: ``per-machine`` (every machine its own job) and ``multi-vm`` (stack ``replication.multiVmSync: true``: a
group of ≥ 2 machines is one recovery-plan job), each with status polls ``per-run`` (every run polls alone) and
``shared`` (one describe_machines per tick for every run and group on the provider: asrctl.recovery.polling).

``--speed N`` adds a paced variant: simulated time is real time × N (:class:`ScaledClock` below), so the engine's
CPU, the journal's fsyncs and the event loop's lag show up in the RTO ×N. It is not reproducible (it measures this
machine); the discrete-event figures are (same figures run to run).

Targets (issue 16; printed, not asserted): RTO / critical path ≤ 1.005 at 20 × 100 and ≤ 1.01 at 50 × 100, inside
ARM's budget, engine CPU < 1 ms per machine. With per-machine jobs at 50 × 100 the write floor alone is 50 s (1.3 %
of a 66-minute critical path) under ARM's own budget: a plan whose longest first-wave job starts last cannot beat
1.013, whatever the client does.

Usage: .venv/bin/python benchmarks/runbook_scale.py [--plans 1,20,50] [--speed 600] [--variants ...] [--detail]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parent.parent
GROUP_SIZES = (14, 14, 14, 14, 14, 15, 15)  # 7 groups, 100 machines: ASR's limits for one recovery plan
ARM = {"reads": (25.0, 250.0), "writes": (10.0, 200.0)}  # per principal: refill per second, burst (REFERENCE §3)
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: every variant starts its simulated clock here (reproducible)
PROVIDER_CALLS = ("identity", "describe_machines", "describe_environment", "get_job", "find_job", "find_runbook_job",
                  "start_operation", "start_runbook", "resume_job", "cancel_job", "service_endpoint")
JOURNAL_WRITES = ("update_run", "ensure_step", "update_step", "intent", "result", "record_job")
JOURNAL_CALLS = ("get_run", "cancel_requested", "update_run", "ensure_step", "step", "update_step", "intent", "result",
                 "record_job")


# -- the project --------------------------------------------------------------------------------------------------
def make_project(root: Path, plans: int) -> None:
    """Stacks ``bench`` (per-machine jobs) and ``bench-mvm`` (multiVmSync), ``plans`` plans of 7 groups × 100."""
    shutil.copy(PROJECT / "Pulumi.yaml", root)
    (root / "stacks").mkdir()
    (root / "runbooks" / "plans").mkdir(parents=True)
    raw = yaml.safe_load((PROJECT / "stacks" / "Pulumi.dev.yaml").read_text())
    cfg = raw["config"]
    ns = "vmware-azure-dr:"
    cfg[ns + "network"]["recovery"]["subnets"] = [{"name": "app", "prefix": "10.60.0.0/18"}]
    cfg[ns + "network"]["testFailover"]["subnets"] = [{"name": "app", "prefix": "10.160.0.0/18"}]
    cfg[ns + "machines"] = [
        {"name": f"vm{i:04d}", "os": "linux", "osVersion": "RHEL 8", "ip": f"10.10.{16 + i // 250}.{i % 250 + 1}",
         "vmName": f"vm{i:04d}", "targetVmSize": "Standard_D2s_v5", "targetSubnet": "app",
         "recoveryIp": f"10.60.{i // 250}.{i % 250 + 1}", "churnGbPerDay": 1, "disks": [{"sizeGb": 64}]}
        for i in range(plans * 100)
    ]
    # One appliance per 200 protected machines (the stack's own capacity rule refuses fewer).
    cfg[ns + "replicationAppliances"]["appliances"] = [
        {"name": f"asr-ra-bench{k + 1:02d}", "ip": f"10.10.5.{11 + k}"} for k in range(-(-plans * 100 // 200))
    ]
    for name, multi_vm in (("bench", False), ("bench-mvm", True)):
        cfg[ns + "replication"]["multiVmSync"] = multi_vm
        (root / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    for p in range(plans):
        groups, offset = [], p * 100
        for g, size in enumerate(GROUP_SIZES):
            groups.append({"name": f"tier{g + 1}", "machines": [f"vm{offset + j:04d}" for j in range(size)]})
            offset += size
        (root / "runbooks" / "plans" / f"bench{p:02d}.yaml").write_text(
            yaml.safe_dump({"name": f"bench{p:02d}", "groups": groups}, sort_keys=False))


# -- instruments --------------------------------------------------------------------------------------------------
class ScaledClock:
    """Simulated time = real time × ``speed`` since the start: whatever the process spends (engine CPU, journal
    fsyncs, event-loop lag) shows up in simulated time ×speed. (The CLI's SimClock moves only by what the engine
    waits for, so CPU never reaches its RTO; and it adds every waiter's wait to one clock, so it cannot time
    several concurrent runs.)"""

    kind = "simulated"

    def __init__(self, start: float, speed: float) -> None:
        self.start, self.speed, self.origin = start, speed, time.perf_counter()

    def now(self) -> float:
        return self.start + (time.perf_counter() - self.origin) * self.speed

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self.speed)

    def add_real_wait(self, seconds: float) -> None:
        """Real time is already on this clock."""

    def join(self) -> None:
        """Not a discrete-event clock: nothing to join."""

    def leave(self) -> None:
        """See join."""


class Meter:
    """CPU and wall time spent inside an object's methods (wrapped on the instance), and how often each ran."""

    def __init__(self, target: Any, names: tuple[str, ...]) -> None:
        self.cpu = self.wall = 0.0
        self.calls = 0
        self.depth = 0
        self.by_name: dict[str, list[float]] = {}  # name → [calls, cpu]
        for name in names:
            if hasattr(target, name):  # the tree measured may predate a method (before/after runs)
                setattr(target, name, self._wrap(name, getattr(target, name)))

    def _wrap(self, name: str, method: Any) -> Any:
        entry = self.by_name.setdefault(name, [0, 0.0])

        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.depth:  # nested (intent → update_step): counted once, by the outer call
                return method(*args, **kwargs)
            self.depth += 1
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent = time.process_time() - cpu
                self.cpu += spent
                self.wall += time.perf_counter() - wall
                self.calls += 1
                entry[0] += 1
                entry[1] += spent
                self.depth -= 1

        return timed


class Collections:
    """CPU time the garbage collector took (gc.callbacks), wherever it ran."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.count = 0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.cpu += time.process_time() - self._start
            self.count += 1


def peak_per_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    best = j = 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def arm_would_throttle(stamps: list[float], rate: float, burst: float) -> tuple[int, float]:
    """Replay the calls through ARM's token bucket: (calls it would have refused, fewest tokens left)."""
    tokens, last, refused, low = burst, None, 0, burst
    for t in sorted(stamps):
        if last is not None:
            tokens = min(burst, tokens + (t - last) * rate)
        last = t
        if tokens < 1.0:
            refused += 1
            continue
        tokens -= 1.0
        low = min(low, tokens)
    return refused, low


# -- one batch ----------------------------------------------------------------------------------------------------
@dataclass
class Result:
    label: str
    plans: int
    machines: int
    wall: float
    engine_cpu: float
    journal_cpu: float
    journal_wall: float
    journal_calls: int
    journal_by_call: dict[str, list[float]]
    provider_cpu: float
    gc_cpu: float
    ratios: list[float]
    critical_paths: list[float]
    reads: int
    writes: int
    peak_reads: int
    peak_writes: int
    refused: dict[str, int]
    low_tokens: dict[str, float]
    waited: dict[str, float]
    first_wave: int
    polls_asked: int
    polls_sent: int
    outcome: dict[str, Any]


def run_batch(stack_name: str, plan_names: list[str], *, shared_polls: bool, speed: float | None,
              label: str) -> Result:
    # What the engine imports lazily on its first run: imported here, so the first configuration's CPU figure is
    # the engine's steady work, not module loading.
    import asrctl.recovery.actions  # noqa: F401
    import asrctl.recovery.machines  # noqa: F401
    import asrctl.recovery.readiness  # noqa: F401
    from asrctl.config import load_stack
    from asrctl.plans import load_plan, multi_vm_groups
    from asrctl.recovery.approval import AutoApprover
    from asrctl.recovery.clock import VirtualClock, from_iso
    from asrctl.recovery.engine import Engine
    from asrctl.recovery.journal import Journal
    from asrctl.recovery.local import LocalBackend, LocalRuntime
    from asrctl.recovery.operations import COMMANDS
    from asrctl.recovery.pacing import JobStats, Pacing, RateLimiter
    from asrctl.recovery.providers.simulator import SimulatorProvider
    from asrctl.recovery.records import RunSpec

    stack = load_stack(stack_name)
    plans = [load_plan(name, stack, stack_name) for name in plan_names]
    home = Path(os.environ["ASRCTL_HOME"]) / label
    home.mkdir(parents=True)
    clock: Any = VirtualClock(START) if speed is None else ScaledClock(START, speed)
    journal = Journal(home / "journal.db")

    def record_job(request_id: str, job: Any) -> None:
        """What the CLI's runner does: the job id committed as soon as the provider knows it. It runs inside
        start_operation, but it is the journal's work, not the provider's: given back to the engine's side."""
        cpu = time.process_time()
        journal.record_job(request_id.split("/", 1)[0], request_id, job.id, job.token)
        provider_meter.cpu -= time.process_time() - cpu

    provider = SimulatorProvider(stack, stack_name, faults=[], record_calls=True, path=home / "sim.db", clock=clock,
                                 multi_vm_groups=multi_vm_groups(plans, stack), on_job_started=record_job)
    command = COMMANDS["drill-no-cleanup"]  # the test failover alone: its RTO is the run's whole duration
    limiter, jobs = RateLimiter(provider.capabilities, clock.now()), JobStats()
    shared = Pacing(limiter, jobs) if shared_polls else None
    engines = []
    for plan in plans:
        run_id = f"{plan.name}-bench"
        spec = RunSpec(command="drill", command_key=command.name, stages=command.stages, main_stage=0,
                       architecture=stack.architecture, provider_identity=provider.identity(), auto_approve=True)
        journal.create_run(run_id=run_id, plan=plan.name, stack=stack_name, spec=spec, provider=provider.name,
                           plan_path=str(plan.path), plan_sha256=plan.sha256, clock=clock.kind, targets={},
                           readiness=[])
        runtime = LocalRuntime(journal, run_id, provider, AutoApprover())
        # One ARM budget and one view of job durations for every run; polls shared, or each run's own.
        pacing = shared or Pacing(limiter, jobs)
        engines.append(Engine(plan, stack, stack_name, run_id, runtime, LocalBackend(provider), pacing))
    provider_meter = Meter(provider, PROVIDER_CALLS)
    journal_meter = Meter(journal, JOURNAL_CALLS)

    async def one(engine: Engine) -> str:
        try:
            return await engine.run()
        finally:
            clock.leave()

    async def everything() -> list[str]:
        for _ in engines:
            clock.join()
        return await asyncio.gather(*(one(e) for e in engines))

    collector = Collections()
    gc.collect()
    gc.callbacks.append(collector)
    cpu, wall = time.process_time(), time.perf_counter()
    statuses = asyncio.run(everything())
    gc.collect()  # the garbage of this variant is this variant's cost
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    gc.callbacks.remove(collector)
    assert set(statuses) == {"succeeded"}, statuses

    db = sqlite3.connect(home / "sim.db")
    drawn: dict[str, float] = {}  # machine → the duration of the job that failed it over (a group job: the group's)
    for machines, created, due in db.execute("SELECT machines, created_at, due_at FROM jobs WHERE kind='machine'"):
        for m in json.loads(machines):
            drawn[m] = due - created
    db.close()
    ratios, paths, outcome = [], [], {}
    for engine in engines:
        stage = journal.step(engine.run_id, "s0")
        achieved = (from_iso(stage.finished_at) - from_iso(stage.started_at)).total_seconds()
        bound = sum(max(drawn[m] for m in g.machines) for g in engine.plan.groups)
        ratios.append(achieved / bound)
        paths.append(bound)
        # What a run's outcome is: every step's status, times and job (api read counts excluded on purpose).
        outcome[engine.run_id] = [
            (s.step_id, s.status, s.started_at, s.finished_at, s.job_id, s.attempts, s.recovery_point_time)
            for s in journal.steps(engine.run_id)]
    # Status polls asked by the group drivers and backend reads they became (trees before the shared polls: n/a).
    pollers = {id(e.pacing.polls): e.pacing.polls for e in engines if hasattr(e.pacing, "polls")}
    polls_asked = sum(p.asked for p in pollers.values())
    polls_sent = sum(p.sent for p in pollers.values())
    log = provider.call_log or []
    stamps = {kind: [t for t, k in log if k == kind] for kind in ("reads", "writes")}
    refused, low = {}, {}
    for kind, (rate, burst) in ARM.items():
        refused[kind], low[kind] = arm_would_throttle(stamps[kind], rate, burst)
    calls = dict(provider.api_calls)
    provider.close()
    journal.close()
    machines = sum(len(p.machines) for p in plans)
    first_wave = sum(1 if stack.replication.multi_vm_sync and len(p.groups[0].machines) > 1
                     else len(p.groups[0].machines) for p in plans)
    return Result(
        label=label, plans=len(plans), machines=machines, wall=wall, engine_cpu=cpu - provider_meter.cpu,
        journal_cpu=journal_meter.cpu, journal_wall=journal_meter.wall, journal_calls=journal_meter.calls,
        journal_by_call=journal_meter.by_name,
        provider_cpu=provider_meter.cpu, gc_cpu=collector.cpu, ratios=ratios, critical_paths=paths, reads=calls.get("reads", 0),
        writes=calls.get("writes", 0), peak_reads=peak_per_second(stamps["reads"]),
        peak_writes=peak_per_second(stamps["writes"]), refused=refused, low_tokens=low, waited=dict(limiter.waited),
        first_wave=first_wave, polls_asked=polls_asked, polls_sent=polls_sent, outcome=outcome,
    )


def write_floor(first_wave: int, rate: float, burst: float) -> float:
    """Seconds before the last start of a wave of ``first_wave`` writes sent at once can go out."""
    return max(0.0, first_wave - burst) / rate


def report(r: Result, detail: bool = False) -> None:
    m = r.machines
    worst, median = max(r.ratios), statistics.median(r.ratios)
    path = statistics.median(r.critical_paths)
    arm_floor = write_floor(r.first_wave, *ARM["writes"])
    client_floor = write_floor(r.first_wave, ARM["writes"][0] * 0.9, ARM["writes"][1] * 0.9)
    within = all(v == 0 for v in r.refused.values())
    print(f"\n== {r.label}: {r.plans} × 100 = {m} machines, {r.wall:.1f} s wall")
    print(f"  RTO / critical path          worst {worst:.4f}, median {median:.4f} "
          f"(critical path median {path / 60:.1f} min)")
    writes = sum(calls for name, (calls, _) in r.journal_by_call.items() if name in JOURNAL_WRITES)
    print(f"  engine CPU per machine       {(r.engine_cpu - r.journal_cpu) / m * 1000:.3f} ms outside provider and journal "
          f"calls ({r.engine_cpu / m * 1000:.3f} ms with the journal; garbage collection, wherever it ran: "
          f"{r.gc_cpu / m * 1000:.3f} ms; the provider's {r.provider_cpu / m * 1000:.3f} ms not counted)")
    print(f"  journal                      {writes / m:.2f} commits + {(r.journal_calls - writes) / m:.2f} reads per machine: "
          f"{r.journal_cpu / m * 1000:.3f} ms CPU (synchronous=FULL: each commit's fsync work included), "
          f"{max(0.0, r.journal_wall - r.journal_cpu) / m * 1000:.2f} ms I/O wait")
    if detail:
        print("  journal by call              " + ", ".join(
            f"{name} {calls / m:.2f}×{cpu / calls * 1e6:.0f} µs" for name, (calls, cpu) in r.journal_by_call.items()
            if calls))
    print(f"  provider calls per machine   {r.reads / m:.3f} reads, {r.writes / m:.3f} writes "
          f"({r.reads} reads, {r.writes} writes)")
    if r.polls_asked:
        print(f"  status reads                 {r.polls_asked / m:.2f} asked by group drivers per machine, "
              f"{r.polls_sent / m:.2f} sent to the backend")
    print(f"  peak calls in 1 sim. second  {r.peak_reads} reads, {r.peak_writes} writes; ARM buckets "
          f"(25/s b250, 10/s b200) {'never empty' if within else 'WOULD THROTTLE'} "
          f"(refused {r.refused['reads']} reads, {r.refused['writes']} writes; fewest tokens left "
          f"{r.low_tokens['reads']:.0f} / {r.low_tokens['writes']:.0f})")
    print(f"  write floor (first wave)     {r.first_wave} starts at once: {arm_floor:.1f} s under ARM's burst "
          f"({arm_floor / path * 100:.2f} % of the critical path), {client_floor:.1f} s inside the client's 90 %")
    print(f"  waiting in the limiter       {r.waited['reads']:.1f} s for reads, {r.waited['writes']:.1f} s for writes "
          f"(simulated, summed over callers)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", default="1,20,50", help="comma-separated plan counts (default 1,20,50)")
    parser.add_argument("--speed", type=float, default=None,
                        help="also run the paced variant: simulated time = real time × SPEED")
    parser.add_argument("--variants", default="per-machine/per-run,per-machine/shared,multi-vm/shared",
                        help="comma-separated JOBS/POLLS, JOBS per-machine|multi-vm, POLLS per-run|shared")
    parser.add_argument("--detail", action="store_true", help="also print the journal's CPU by call")
    args = parser.parse_args()
    counts = [int(x) for x in args.plans.split(",")]
    variants = [tuple(v.split("/")) for v in args.variants.split(",")]
    root = Path(tempfile.mkdtemp(prefix="asrctl-bench-"))
    try:
        os.environ["ASRCTL_HOME"] = str(root / "home")
        os.environ["ASRCTL_SIM_SEED"] = "42"
        print("discrete-event clock; ARM budget per principal: reads 25/s burst 250, writes 10/s burst 200; "
              "GC on (CLI default) in every variant, collected at the end of each timed window")
        for n in counts:
            # A project per configuration: N plans, N × 100 machines (the heap a collection walks is this one's).
            project = root / f"project-{n}"
            project.mkdir()
            make_project(project, n)
            os.environ["ASRCTL_PROJECT_DIR"] = str(project)
            names = [f"bench{p:02d}" for p in range(n)]
            outcomes = {}
            for jobs, polls in variants:
                stack = "bench-mvm" if jobs == "multi-vm" else "bench"
                r = run_batch(stack, names, shared_polls=polls == "shared", speed=None, label=f"{n}x{jobs}-{polls}")
                report(r, args.detail)
                outcomes[(jobs, polls)] = r.outcome
            for jobs in ("per-machine", "multi-vm"):
                if (jobs, "per-run") in outcomes and (jobs, "shared") in outcomes:
                    same = outcomes[(jobs, "per-run")] == outcomes[(jobs, "shared")]
                    print(f"  -> {jobs}: shared polls {'leave every step identical' if same else 'CHANGED steps'} "
                          f"(status, times, jobs, attempts, recovery points) against per-run polls")
            if args.speed:
                r = run_batch("bench", names, shared_polls=True, speed=args.speed, label=f"{n}x-paced-{args.speed:g}")
                report(r, args.detail)
                worst = max(zip(r.ratios, r.critical_paths, strict=True))
                over = (worst[0] - 1) * worst[1]
                print(f"  -> paced ×{args.speed:g}: every real second the event loop is busy or blocked (engine CPU, "
                      f"journal fsyncs, the simulator) is {args.speed:g} simulated seconds; the worst plan's "
                      f"{over:.0f} s over its critical path are {over / args.speed:.2f} real seconds (not "
                      f"reproducible: it measures this machine)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

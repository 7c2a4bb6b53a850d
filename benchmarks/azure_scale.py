"""The Azure provider at ASR's limits, against the ASR stand-in: one 7-group, 100-machine plan, then 20 such plans at
once (2,000 machines) on a modernized stack, with multi-VM groups (one recovery-plan job per group) and without
(one job per machine).

Generates a temporary project (a modernized stack, its registration block, the plans) and seeds the stand-in
(tests/standin) with the vault the Pulumi program and the appliances' registration would have made. Each run is
``asrctl drill PLAN --no-cleanup --provider azure`` (test failover), through the real runner, engine, journal,
AzureProvider, SDK and HTTPS. Prints per batch:

* achieved RTO over the critical path (the sum over the plan's groups of ASR's test-failover job, 600 s in the
  stand-in: the lower bound any client can reach), max and mean over the plans (target ≤ 1.01 + pacing);
* ARM HTTP requests per machine as the stand-in received them (GETs are reads, the rest writes — what ARM's
  throttling counts), the peak in any one simulated second, and how many of them ARM's token bucket per principal
  (reads: 250 burst, 25/s refill; writes: 200 burst, 10/s) would have throttled, replayed at the times they came;
* wall time and CPU.

Time, honestly: the stand-in's clock is driven by the engine's waits (``standin.engine_clock.EngineClock``, a
discrete-event clock shared by all runs: it stands still while any run works and jumps to the earliest wake-up once
every run waits). So an HTTP request costs no simulated time — real ARM answers in ~0.1–0.5 s, which would add to
each step on the critical path but not change the number of requests — and the RTO figures measure the engine's and
provider's logic (poll cadence, pacing, group sequencing), not this machine's load. The request counts are exact.
The stand-in pages lists by 50 (ASR's real page size is not documented).

Usage: .venv/bin/python benchmarks/azure_scale.py [--plans 20] [--only plain|multi-vm]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "tests"))
GROUP_SIZES = (14, 14, 14, 14, 14, 15, 15)  # 7 groups, 100 machines: ASR's limits for one recovery plan
ARM_BUDGET = {"reads": 25, "writes": 10}  # refill per second per principal (REFERENCE §3)
ARM_BURST = {"reads": 250, "writes": 200}  # bucket size
SUBSCRIPTION = "5e7c1a2b-3d4e-4f60-8a9b-0c1d2e3f4a5b"
NS = "vmware-azure-dr:"


def machine(i: int) -> dict:
    return {"name": f"vm{i:04d}", "os": "linux", "osVersion": "RHEL 8", "ip": f"10.10.{16 + i // 250}.{i % 250 + 1}",
            "vmName": f"vm{i:04d}", "targetVmSize": "Standard_D2s_v5", "targetSubnet": "app",
            "recoveryIp": f"10.60.{i // 250}.{i % 250 + 1}", "churnGbPerDay": 1, "disks": [{"sizeGb": 64}]}  # fmt: skip


def stack_doc(env: str, machines: int, multi_vm: bool, registration: dict | None) -> dict:
    appliances = [{"name": f"appliance{k + 1:02d}", "ip": f"10.10.0.{50 + k}"} for k in range(math.ceil(machines / 200))]
    config = {
        NS + "architecture": "modernized", NS + "environment": env, NS + "location": "westeurope",
        NS + "subscriptionId": SUBSCRIPTION, NS + "tags": {"owner": "dr@contoso.com", "drTier": "tier-1"},
        NS + "replication": {"rpoThresholdMinutes": 15, "recoveryPointRetentionHours": 24,
                             "appConsistentFrequencyMinutes": 60, "multiVmSync": multi_vm},
        NS + "network": {
            "recovery": {"addressSpace": "10.60.0.0/16", "subnets": [{"name": "app", "prefix": "10.60.0.0/20"}]},
            "testFailover": {"addressSpace": "10.160.0.0/16", "subnets": [{"name": "app", "prefix": "10.160.0.0/20"}]},
            "onPrem": {"addressSpaces": ["10.10.0.0/16"], "asrServerRanges": ["10.10.0.0/24"]},
        },
        NS + "vcenter": {"server": "vcsa01.corp.contoso.com", "user": "svc-asr@vsphere.local", "datacenter": "DC1",
                         "cluster": "CL1", "datastore": "datastore1", "network": "PG-Servers"},
        NS + "replicationAppliances": {"ovfUrl": "https://repo.corp.contoso.com/asr/ReplicationAppliance.ovf",
                                       "prefixLength": 24, "gateway": "10.10.0.1", "dnsServers": ["10.10.0.2"],
                                       "appliances": appliances},
        NS + "vcenterPassword": {"secure": "v1:AAAAAAAAAAAAAAAA:dmNlbnRlcg=="},
        NS + "alerts": {"emails": ["dr@contoso.com"]},
        NS + "machines": [machine(i) for i in range(machines)],
    }  # fmt: skip
    if registration is not None:
        config[NS + "registration"] = registration
    return {"config": config}


def plan_groups(p: int) -> list[tuple[str, list[str]]]:
    groups, offset = [], p * 100
    for g, size in enumerate(GROUP_SIZES):
        groups.append((f"tier{g + 1}", [f"vm{offset + j:04d}" for j in range(size)]))
        offset += size
    return groups


def build(root: Path, plans: int, multi_vm: bool):
    """The project files and the stand-in world for one batch."""
    from standin import MachineSpec, Names, World, modernized_world

    from asrctl.config import load_stack_file
    from asrctl.infra.naming import AzureNames
    from asrctl.plans import multi_vm_group_name

    env = "bm" if multi_vm else "bp"
    stack = f"bench{env}"
    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(stack_doc(env, plans * 100, multi_vm, None), sort_keys=False))
    for p in range(plans):
        doc = {"name": f"bench{p:02d}", "groups": [{"name": g, "machines": ms} for g, ms in plan_groups(p)]}
        (root / "runbooks" / "plans" / f"bench{p:02d}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    cfg = load_stack_file(path)
    names = AzureNames(cfg.environment, cfg.location)
    world = World(subscription=SUBSCRIPTION, resource_group=names.resource_group, vault=names.vault,
                  automation_account=f"aa-asr-{env}-weu")
    groups = {m: multi_vm_group_name(f"bench{p:02d}", g) for p in range(plans) for g, ms in plan_groups(p)
              for m in ms} if multi_vm else {}  # fmt: skip
    subnet = names.subnet("app")
    specs = [MachineSpec(m.name, os="Linux", ips=[m.ip], group=groups.get(m.name), subnet=subnet,
                         appliance=cfg.appliance_assignment[m.name].name) for m in cfg.machines]  # fmt: skip
    modernized_world(specs, world=world, appliances=[a.name for a in cfg.replication_appliances.appliances],
                     names=Names(recovery_vnet=names.virtual_network("recovery"), test_vnet=names.virtual_network("test"),
                                 cache_account=names.storage_account("cache"),
                                 replication_policy=names.replication_policy("replication"),
                                 failback_policy=names.replication_policy("failback")),
                     subnets={subnet: "10.60.0.0/20"})  # fmt: skip
    world.policies[names.replication_policy("replication")].app_frequency_minutes = 60
    fabric = next(iter(world.fabrics.values()))
    for plan in sorted(set(groups.values())):
        world.add_plan(plan, fabric, [[m for m, p in groups.items() if p == plan]])
    by_name = {m.name: m for m in fabric.machines}
    registration = {
        "fabricName": fabric.name, "protectionContainerName": fabric.container, "vmwareSiteId": world.site_id(fabric.site),
        "appliances": {a.name: {"processServerId": a.id, "reprotectAgentId": a.id} for a in fabric.appliances},
        "discoveredMachines": {m.name: world.machine_id(fabric, by_name[m.vm_name]) for m in cfg.machines},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(stack_doc(env, plans * 100, multi_vm, registration), sort_keys=False))
    return stack, world


def peak_per_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def throttled(stamps: list[float], kind: str) -> int:
    """Requests ARM's token bucket (burst, refill per second) would have answered 429 — replayed at the times the
    stand-in received them."""
    tokens, last, refused = float(ARM_BURST[kind]), 0.0, 0
    for t in sorted(stamps):
        tokens = min(ARM_BURST[kind], tokens + (t - last) * ARM_BUDGET[kind])
        last = t
        if tokens >= 1:
            tokens -= 1
        else:
            refused += 1
    return refused


def run_batch(root: Path, plans: int, multi_vm: bool) -> dict:
    from standin import Standin
    from standin.engine_clock import EngineClock

    from asrctl.recovery import runner
    from asrctl.recovery.journal import Journal
    from asrctl.recovery.pacing import _SHARED

    stack, world = build(root, plans, multi_vm)
    arm = Standin(world, root / f"arm-{stack}-{plans}", retry_after=0).start()
    os.environ.update(ASRCTL_ARM_ENDPOINT=arm.endpoint, ASRCTL_ARM_TOKEN=arm.token,
                      REQUESTS_CA_BUNDLE=str(arm.cert_path))
    _SHARED.clear()  # a fresh ARM budget per batch (the pacing is process-wide per vault)
    clock = EngineClock(arm)
    Journal().close()  # created once, before the runs' threads open it concurrently
    records: dict[str, object] = {}
    errors: list[str] = []
    names = [f"bench{p:02d}" for p in range(plans)]
    for _ in names:
        clock.join()

    def drive(plan: str) -> None:
        try:
            records[plan] = runner.start("drill", plan, stack, "azure", cleanup=False, auto_approve=True,
                                         provider_options={"clock": clock})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{plan}: {exc!r}")
        finally:
            clock.leave()

    cpu, wall = time.process_time(), time.perf_counter()
    start = world.now()
    threads = [threading.Thread(target=drive, args=(p,)) for p in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    arm.stop()
    if errors or any(getattr(r, "status", None) != "succeeded" for r in records.values()):
        raise SystemExit(f"runs did not all succeed: {errors or {p: (r.status, r.error) for p, r in records.items()}}")
    path = sum(world.durations["TestFailover"] for _ in GROUP_SIZES)
    ratios = [r.rto_seconds / path for r in records.values()]  # type: ignore[attr-defined]
    machines = plans * 100
    requests = [r for r in arm.requests if r.time >= start]
    kinds = Counter("reads" if r.method == "GET" else "writes" for r in requests)
    stamps = {k: [(r.time - start).total_seconds() for r in requests if ("reads" if r.method == "GET" else "writes") == k]
              for k in ("reads", "writes")}  # fmt: skip
    plan_jobs = sum(1 for j in world.jobs.values() if j.target_type == "RecoveryPlan" and j.scenario == "TestFailover")
    item_jobs = sum(1 for j in world.jobs.values() if j.target_type == "ProtectionEntity" and j.scenario == "TestFailover")
    return {
        "plans": plans, "machines": machines, "multi_vm": multi_vm, "wall_s": wall, "cpu_s": cpu,
        "critical_path_s": path, "rto_ratio_max": max(ratios), "rto_ratio_mean": sum(ratios) / len(ratios),
        "reads_per_machine": kinds["reads"] / machines, "writes_per_machine": kinds["writes"] / machines,
        "peak_reads": peak_per_second(stamps["reads"]), "peak_writes": peak_per_second(stamps["writes"]),
        "throttled_reads": throttled(stamps["reads"], "reads"), "throttled_writes": throttled(stamps["writes"], "writes"),
        "plan_jobs": plan_jobs, "item_jobs": item_jobs,
        "simulated_s": (world.now() - start).total_seconds(),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=20)
    parser.add_argument("--only", choices=("plain", "multi-vm"))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="asrctl-azbench-"))
    try:
        shutil.copy(PROJECT / "Pulumi.yaml", root)
        shutil.copytree(PROJECT / "templates", root / "templates")  # drill reports
        (root / "stacks").mkdir()
        (root / "runbooks" / "plans").mkdir(parents=True)
        os.environ["ASRCTL_PROJECT_DIR"] = str(root)
        os.environ["ASRCTL_HOME"] = str(root / "home")
        modes = [m for m in (False, True) if args.only is None or (args.only == "multi-vm") == m]
        print(f"modernized stack, ASR stand-in, engine-driven discrete-event clock; ARM budget per principal: "
              f"{ARM_BUDGET['reads']} reads/s, {ARM_BUDGET['writes']} writes/s")
        for multi_vm in modes:
            for plans in (1, args.plans):
                r = run_batch(root, plans, multi_vm)
                label = "multi-VM groups (plan jobs)" if multi_vm else "per-machine jobs"
                print(f"\n== {r['plans']} × 100 machines, {label}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, "
                      f"{r['simulated_s'] / 60:.0f} simulated min")
                print(f"ASR test-failover jobs            {r['plan_jobs']} plan jobs, {r['item_jobs']} item jobs")
                print(f"achieved RTO / critical path     max {r['rto_ratio_max']:.4f}, mean {r['rto_ratio_mean']:.4f} "
                      f"(critical path {r['critical_path_s'] / 60:.0f} min)")
                print(f"ARM requests per machine          {r['reads_per_machine']:.2f} reads, "
                      f"{r['writes_per_machine']:.2f} writes")
                print(f"peak in any simulated 1 s         {r['peak_reads']} reads, {r['peak_writes']} writes "
                      f"(bucket {ARM_BURST['reads']}/{ARM_BURST['writes']}, refill {ARM_BUDGET['reads']}/s, "
                      f"{ARM_BUDGET['writes']}/s)")
                print(f"ARM would have throttled          {r['throttled_reads']} reads, {r['throttled_writes']} writes")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

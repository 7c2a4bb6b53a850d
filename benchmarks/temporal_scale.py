"""Team mode at ASR's limits, beside the local engine: one 7-group, 100-machine drill, then 20 at once (2,000
machines), on a Temporal dev server with two worker processes — and the same drills on the local engine.

Generates a temporary project (20 stacks of 100 machines derived from stacks/Pulumi.dev.yaml, multi-VM sync off so
every machine is its own job: the most side effects, the longest histories; one plan of 7 groups per stack) and runs
drills (test failover, then cleanup) on the simulator, every run of a batch at once. Prints, per engine and batch:

* RTO (the test-failover stage, simulated time) over its critical path (per group the longest machine job the
  simulator drew, summed): the same plan must give the same RTO on both engines;
* wall time of the batch;
* workflow history events per run (max and mean) against Temporal's 50,000-event limit;
* CPU per machine: the worker processes' (Temporal) or the asrctl processes' (local), and the dev server's.

Usage: .venv/bin/python benchmarks/temporal_scale.py [--plans 20] [--speed 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
GROUP_SIZES = (14, 14, 14, 14, 14, 15, 15)  # 7 groups, 100 machines: ASR's limits for one recovery plan
HISTORY_LIMIT = 50_000  # Temporal's hard limit of events per workflow execution
TICKS = os.sysconf("SC_CLK_TCK")


def make_project(root: Path, plans: int) -> None:
    """Plan benchNN on stack benchNN (100 machines each): one simulated vault per plan. Concurrent runs on one
    simulated world would finish each other's jobs at their own, diverging simulated clocks (a simulator artifact
    the local engine shows too when several processes share a world), which is not what is measured here."""
    shutil.copy(PROJECT / "Pulumi.yaml", root)
    shutil.copytree(PROJECT / "runbooks" / "actions", root / "runbooks" / "actions")
    shutil.copytree(PROJECT / "templates", root / "templates")
    (root / "stacks").mkdir()
    (root / "runbooks" / "plans").mkdir(parents=True)
    template = (PROJECT / "stacks" / "Pulumi.dev.yaml").read_text()
    ns = "vmware-azure-dr:"
    for p in range(plans):
        raw = yaml.safe_load(template)
        cfg = raw["config"]
        cfg[ns + "replication"]["multiVmSync"] = False
        cfg[ns + "network"]["recovery"]["subnets"] = [{"name": "app", "prefix": "10.60.0.0/20"}]
        cfg[ns + "network"]["testFailover"]["subnets"] = [{"name": "app", "prefix": "10.160.0.0/20"}]
        names = [f"p{p:02d}vm{i:03d}" for i in range(100)]
        cfg[ns + "machines"] = [{
            "name": name, "os": "linux", "osVersion": "RHEL 8", "ip": f"10.10.16.{i + 1}", "vmName": name,
            "targetVmSize": "Standard_D2s_v5", "targetSubnet": "app", "recoveryIp": f"10.60.0.{i + 1}",
            "churnGbPerDay": 1, "disks": [{"sizeGb": 64}],
        } for i, name in enumerate(names)]
        (root / "stacks" / f"Pulumi.bench{p:02d}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        groups, offset = [], 0
        for g, size in enumerate(GROUP_SIZES):
            groups.append({"name": f"tier{g + 1}", "machines": names[offset:offset + size]})
            offset += size
        (root / "runbooks" / "plans" / f"bench{p:02d}.yaml").write_text(
            yaml.safe_dump({"name": f"bench{p:02d}", "groups": groups}, sort_keys=False))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def asrctl(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "asrctl", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def critical_path(doc: dict) -> float:
    from asrctl.recovery.clock import seconds_between

    main = doc["stages"][0]
    return sum(max(seconds_between(m["started_at"], m["finished_at"]) or 0 for m in g["machines"])
               for g in main["groups"])


def summarize(label: str, docs: list[dict], wall: float, cpu: float, machines: int,
              histories: list[int] | None = None, server_cpu: float | None = None) -> dict:
    ratios = [d["rto_seconds"] / critical_path(d) for d in docs if d["status"] == "succeeded"]
    row = {
        "batch": label, "runs": len(docs), "succeeded": sum(d["status"] == "succeeded" for d in docs),
        "rto_min": round(min(d["rto_seconds"] for d in docs) / 60, 2),
        "rto_max": round(max(d["rto_seconds"] for d in docs) / 60, 2),
        "rto_over_critical_path_max": round(max(ratios), 4) if ratios else None,
        "wall_seconds": round(wall, 1), "cpu_ms_per_machine": round(cpu / machines * 1000, 1),
    }
    if histories is not None:
        row["history_events_max"] = max(histories)
        row["history_events_mean"] = round(sum(histories) / len(histories))
        row["history_margin"] = round(HISTORY_LIMIT / max(histories), 1)
    if server_cpu is not None:
        row["server_cpu_ms_per_machine"] = round(server_cpu / machines * 1000, 1)
    return row


def run_local(env: dict[str, str], plans: list[str]) -> tuple[list[dict], float, float]:
    # Create the journal once first: processes that all create a new journal at the same moment race on its schema.
    subprocess.run([sys.executable, "-m", "asrctl", "runs", "list"], env=env, check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    procs = [asrctl(env, "drill", p, "--stack", p, "--auto-approve", "--json", "--engine", "local") for p in plans]
    docs = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"local drill failed ({proc.returncode}): {err[-500:]}")
        docs.append(json.loads(out))
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return docs, wall, cpu


def run_temporal(env: dict[str, str], plans: list[str], workers: list[subprocess.Popen[str]],
                 server_pid: int) -> tuple[list[dict], float, float, list[int], float]:
    from asrctl.recovery.temporal import client

    os.environ.update(env)
    cpu_before = sum(cpu_seconds(w.pid) for w in workers)
    server_before = cpu_seconds(server_pid)
    start = time.monotonic()
    starters = [asrctl(env, "drill", p, "--stack", p, "--auto-approve", "--detach", "--engine", "temporal")
                for p in plans]
    run_ids = []
    for proc in starters:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"temporal start failed ({proc.returncode}): {err[-500:]}")
        run_ids.append(out.strip())
    while True:
        status = {s.run_id: s.status for s in client.list_runs()}
        if all(status.get(r) in ("succeeded", "failed", "cancelled") for r in run_ids):
            break
        time.sleep(0.5)
    wall = time.monotonic() - start
    cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu_before
    server_cpu = cpu_seconds(server_pid) - server_before
    docs = [client.load_run(r).document() for r in run_ids]
    return docs, wall, cpu, histories(run_ids), server_cpu


def histories(run_ids: list[str]) -> list[int]:
    from asrctl.recovery.temporal.client import _find, run_sync

    async def main() -> list[int]:
        return [(await handle.describe()).history_length for _, handle, _, _ in [await _find(r) for r in run_ids]]

    return run_sync(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=20)
    parser.add_argument("--speed", type=float, default=20000.0, help="simulated seconds per real second")
    args = parser.parse_args()
    from asrctl.recovery.temporal.devserver import DevServer

    with tempfile.TemporaryDirectory(prefix="asrctl-temporal-bench-") as tmp:
        root = Path(tmp)
        make_project(root, args.plans)
        server = DevServer(root / "temporal" / "temporal.db").start()
        base = {**os.environ, "ASRCTL_PROJECT_DIR": str(root), "ASRCTL_SIM_SPEED": str(args.speed),
                "ASRCTL_TEMPORAL_ADDRESS": server.address, "ASRCTL_TEMPORAL_TASK_QUEUE": "bench"}
        base.pop("ASRCTL_SIM_FAULTS", None)
        workers: list[subprocess.Popen[str]] = []
        rows = []
        try:
            for label, plans in (("1x100", ["bench00"]), (f"{args.plans}x100",
                                                          [f"bench{p:02d}" for p in range(args.plans)])):
                machines = 100 * len(plans)
                local_env = {**base, "ASRCTL_HOME": str(root / f"local-{label}")}
                docs, wall, cpu = run_local(local_env, plans)
                rows.append({"engine": "local", **summarize(label, docs, wall, cpu, machines)})
                print(json.dumps(rows[-1]), flush=True)

                team_env = {**base, "ASRCTL_HOME": str(root / f"team-{label}")}
                workers = [subprocess.Popen([sys.executable, "-m", "asrctl", "worker"], env=team_env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
                time.sleep(3)
                docs, wall, cpu, hist, server_cpu = run_temporal(team_env, plans, workers, server.proc.pid)
                rows.append({"engine": "temporal", **summarize(label, docs, wall, cpu, machines, hist, server_cpu)})
                print(json.dumps(rows[-1]), flush=True)
                for w in workers:
                    os.kill(w.pid, signal.SIGTERM)
                    w.wait(30)
                workers = []
        finally:
            for w in workers:
                if w.poll() is None:
                    os.kill(w.pid, signal.SIGKILL)
            server.stop()
    print()
    keys = ("engine", "batch", "succeeded", "rto_min", "rto_max", "rto_over_critical_path_max", "wall_seconds",
            "cpu_ms_per_machine", "server_cpu_ms_per_machine", "history_events_max", "history_margin")
    print("\t".join(keys))
    for row in rows:
        print("\t".join(str(row.get(k, "-")) for k in keys))


if __name__ == "__main__":
    main()

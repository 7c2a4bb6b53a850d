"""Benchmark: `asrctl runs list` over a journal of 2,000 runs — the real CLI in a subprocess, its output piped.

It makes one real run (``asrctl drill erp --stack dev --auto-approve`` on the simulator: stages, groups, machines,
actions, events), then clones it into ``--runs`` runs in a temporary journal (new run ids and times, same steps and
events), and times, each the median of ``--repeat`` runs of a fresh process (wall time: what a user waits for):

  empty      ``asrctl runs list`` on an empty journal: the process start-up and imports every row count pays on top
  plain      ``asrctl runs list --limit 0``, piped: the summary query, plain tab-separated rows
  json       ``asrctl runs list --limit 0 --json``
  old        the approach before issue 16, in a subprocess like the others: every run built in full
             (RunRecord.from_journal over the run row and all its steps, verdict included), then one row per run

and checks that each printed all the runs. Target: plain < 0.5 s for 2,000 runs.

    .venv/bin/python benchmarks/runs_list.py [--runs 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

# The old `runs list`: every run built in full, then printed as rows (what the CLI did before the summary query).
OLD = """
import sys
from asrctl.recovery.journal import Journal
from asrctl.recovery.records import RunRecord
journal = Journal()
out = sys.stdout
out.write("run\\tplan\\tstack\\tcommand\\tprovider\\tstatus\\tstarted\\tRTO\\n")
for run_id in journal.run_ids():
    r = RunRecord.from_journal(journal.get_run(run_id), journal.steps(run_id))
    rto = f"{r.rto_seconds / 60:.1f} min" if r.rto_seconds is not None else "-"
    out.write("\\t".join((r.run_id, r.plan, r.stack, r.command, r.provider, r.status, r.started_at or "-", rto)) + "\\n")
"""


def one_real_run(env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "asrctl", "drill", "erp", "--stack", "dev", "--auto-approve",
                           "--json"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"the template drill failed (exit {proc.returncode}): {proc.stderr[-500:]}")


def clone_runs(journal: Path, runs: int) -> int:
    """Copy the one run into ``runs`` runs (the copies finished, one per minute before it): returns steps per run."""
    db = sqlite3.connect(journal)
    (template,) = db.execute("SELECT run_id FROM runs").fetchone()
    run_cols = [r[1] for r in db.execute("PRAGMA table_info(runs)")]
    step_cols = [r[1] for r in db.execute("PRAGMA table_info(steps)")]
    event_cols = [r[1] for r in db.execute("PRAGMA table_info(events)") if r[1] != "seq"]
    with db:
        for i in range(1, runs):
            run_id = f"{template}-{i:05d}"
            values = ", ".join("?" if c == "run_id" else c for c in run_cols)
            # created_at one minute earlier per copy, so `runs list` (newest last) has an order to respect.
            db.execute(f"INSERT INTO runs ({', '.join(run_cols)}) SELECT {values} FROM runs WHERE run_id=?",
                       (run_id, template))
            db.execute("UPDATE runs SET created_at=strftime('%Y-%m-%dT%H:%M:%fZ', created_at, ?) WHERE run_id=?",
                       (f"-{i} minutes", run_id))
            values = ", ".join("?" if c == "run_id" else c for c in step_cols)
            db.execute(f"INSERT INTO steps ({', '.join(step_cols)}) SELECT {values} FROM steps WHERE run_id=?",
                       (run_id, template))
            values = ", ".join("?" if c == "run_id" else c for c in event_cols)
            db.execute(f"INSERT INTO events ({', '.join(event_cols)}) SELECT {values} FROM events WHERE run_id=?",
                       (run_id, template))
    (steps,) = db.execute("SELECT COUNT(*) FROM steps WHERE run_id=?", (template,)).fetchone()
    db.close()
    return steps


def timed(argv: list[str], env: dict[str, str], repeat: int) -> tuple[float, str]:
    walls, out = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        # capture_output: stdout is a pipe, not a terminal, so the CLI prints plain rows
        proc = subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv[2:])} failed (exit {proc.returncode}): {proc.stderr[-500:]}")
        out = proc.stdout
    return statistics.median(walls), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="asrctl-runs-"))
    try:
        env = {**os.environ, "ASRCTL_HOME": str(root / "home"), "ASRCTL_SIM_SPEED": "100000",
               "ASRCTL_PROJECT_DIR": str(PROJECT)}
        asrctl = [sys.executable, "-m", "asrctl"]
        empty, _ = timed([*asrctl, "runs", "list"], env, args.repeat)
        one_real_run(env)
        steps = clone_runs(root / "home" / "journal.db", args.runs)
        plain, out = timed([*asrctl, "runs", "list", "--limit", "0"], env, args.repeat)
        assert len(out.splitlines()) == args.runs + 1, "plain: not one row per run"
        as_json, out = timed([*asrctl, "runs", "list", "--limit", "0", "--json"], env, args.repeat)
        assert out.count('"run_id"') == args.runs, "json: not one entry per run"
        old, out = timed([sys.executable, "-c", OLD], env, args.repeat)
        assert len(out.splitlines()) == args.runs + 1, "old: not one row per run"
        print(f"`asrctl runs list` over {args.runs} runs ({steps} steps each), a fresh process each time, stdout "
              f"piped; median of {args.repeat} (wall)")
        print(f"  empty journal (start-up)        {empty:.3f} s")
        print(f"  plain rows  (--limit 0)         {plain:.3f} s   target < 0.5 s: {'met' if plain < 0.5 else 'NOT met'}")
        print(f"  --json      (--limit 0)         {as_json:.3f} s")
        print(f"  old: every run built in full    {old:.3f} s   ({old / plain:.1f}× the summary query)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

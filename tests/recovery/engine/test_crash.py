"""kill -9 at every kind of journal boundary, then `asrctl runs resume`: every machine failed over exactly once.

The CLI runs as a real subprocess; ``ASRCTL_TEST_CRASH_AT=<boundary>#<n>`` (a documented test seam, inert unless
set) makes it ``os._exit(137)`` — what kill -9 leaves behind — the n-th time the journal reaches ``intent`` (intent
committed, call not sent), ``sent`` (call returned, result not written) or ``result`` (result committed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[3]
ERP = ["erp-app01", "erp-app02", "erp-sql01", "erp-sql02", "erp-web01", "erp-web02"]

# Side effects of `drill erp --stack dev`, in order: 1-2 database starts, 3 wait_for_port, 4-5 application starts,
# 6 wait_for_port, 7-8 web starts, 9 ASR-AddPublicIp runbook, 10-15 cleanup starts.
BOUNDARIES = ["intent#1", "sent#1", "result#2", "sent#3", "intent#5", "sent#9", "intent#9", "sent#12", "result#15"]


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_killed_drill_resumes_without_failing_anything_over_twice(cli, boundary, monkeypatch):
    env = {**os.environ, "ASRCTL_SIM_SPEED": "100000", "ASRCTL_TEST_CRASH_AT": boundary}
    proc = subprocess.run([sys.executable, "-m", "asrctl", "drill", "erp", "--stack", "dev", "--auto-approve"],
                          env=env, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr
    runs = json.loads(cli("runs", "list", "--json").stdout)["runs"]
    assert [r["status"] for r in runs] == ["running"]  # what a killed process leaves
    # a new start is refused while the dead run is active, naming it
    refused = cli("drill", "erp", "--stack", "dev", "--auto-approve")
    assert refused.exit_code == 2 and runs[0]["run_id"] in refused.stderr

    monkeypatch.setenv("ASRCTL_SIM_SPEED", "100000")
    resumed = cli("runs", "resume", runs[0]["run_id"])
    assert resumed.exit_code == 0, resumed.stderr
    run = json.loads(cli("runs", "show", runs[0]["run_id"], "--json").stdout)
    assert run["status"] == "succeeded"
    world = json.loads(cli("sim", "show", "--stack", "dev", "--json").stdout)
    for m in world["machines"]:
        assert [(o["name"], o["status"]) for o in m["operations"]] == [
            ("test-failover", "Succeeded"), ("cleanup-test-failover", "Succeeded")], m["name"]
        assert m["state"] == "protected"
    assert [r["name"] for r in world["runbooks"]] == ["ASR-AddPublicIp"]  # the runbook ran once too
    assert {m["attempts"] for g in run["groups"] for m in g["machines"]} == {1}


def test_crash_seam_is_inert_unless_set(cli, monkeypatch):
    assert "ASRCTL_TEST_CRASH_AT" not in os.environ
    monkeypatch.setenv("ASRCTL_SIM_SPEED", "100000")
    assert cli("drill", "erp", "--stack", "dev", "--auto-approve").exit_code == 0

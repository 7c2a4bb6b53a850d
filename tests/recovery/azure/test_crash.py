"""kill -9 during each new operation under ``--provider azure``, then ``asrctl runs resume``: every item's operation
was accepted by ASR exactly once, and a multi-VM group's recovery-plan job exactly once.

The command runs as a real subprocess (``ASRCTL_TEST_CRASH_AT=<boundary>#<n>``, the journal's test seam, makes it
``os._exit(137)`` — what kill -9 leaves behind — at the n-th ``intent`` / ``sent`` / ``result``), against the
stand-in running in this process with its clock in auto mode (simulated seconds per real second). The child only
differs from ``asrctl`` in polling every 0.05 s instead of ASR's 30 s (``crash_child.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("crash_child.py")
PROJECT = Path(__file__).resolve().parents[3]

# (architecture, command, options, the state every item starts in, boundary)
CASES = [
    ("modernized", "drill", [], ("InMageRcm", "protected"), "sent#1"),  # the database group's plan TFO
    ("modernized", "drill", [], ("InMageRcm", "protected"), "intent#4"),  # a cleanup
    ("modernized", "failover", ["--planned"], ("InMageRcm", "protected"), "sent#2"),
    ("modernized", "commit", [], ("InMageRcm", "failed_over"), "result#1"),
    ("modernized", "reprotect", [], ("InMageRcm", "committed"), "sent#3"),
    ("modernized", "failback", [], ("InMageRcmFailback", "protected"), "sent#1"),  # the plan's planned failover
    ("modernized", "failback", [], ("InMageRcmFailback", "protected"), "intent#5"),  # a commit of the failback
    ("modernized", "failback", [], ("InMageRcmFailback", "protected"), "sent#8"),  # a re-protect to Azure
    ("modernized", "failback", ["--cancel"], ("InMageRcmFailback", "failed_over"), "sent#2"),
    ("classic", "failback", [], ("InMage", "protected"), "sent#2"),
    ("classic", "failback", [], ("InMage", "protected"), "sent#7"),
]
ITEM_ACTIONS = {"drill": ("testFailover", "testFailoverCleanup"), "failover": ("unplannedFailover",),
                "commit": ("failoverCommit",), "reprotect": ("reProtect",)}  # fmt: skip


def _actions(architecture: str, command: str, options: list[str]) -> tuple[str, ...]:
    if command == "failback":
        if "--cancel" in options:
            return ("failoverCancel",)
        forward = "plannedFailover" if architecture == "modernized" else "unplannedFailover"
        return (forward, "failoverCommit", "reProtect")
    return ITEM_ACTIONS[command]


@pytest.mark.parametrize(("architecture", "command", "options", "start", "boundary"), CASES,
                         ids=[f"{a}-{c}{''.join(o)}-{b}" for a, c, o, _, b in CASES])
def test_killed_run_resumes_with_each_operation_accepted_once(make_lab, cli, monkeypatch, architecture, command,
                                                            options, start, boundary):  # fmt: skip
    from asrctl.recovery.providers.azure import AzureProvider

    lab = make_lab(architecture=architecture, multi_vm_sync=True, auto_speed=3000)
    for m in lab.machines:
        lab.world.set_state(m.vm_name, *start)
    env = {**os.environ, "ASRCTL_TEST_CRASH_AT": boundary, "PYTHONPATH": str(PROJECT)}
    approve = ["--auto-approve"] if command in ("drill", "failover", "failback") else []
    proc = subprocess.run([sys.executable, str(CHILD), command, lab.plan_name, "--stack", lab.stack, "--provider",
                           "azure", *approve, *options],  # fmt: skip
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr[-2000:]
    runs = json.loads(cli("runs", "list", "--json").stdout)["runs"]
    assert [r["status"] for r in runs] == ["running"]  # what a killed process leaves

    monkeypatch.setattr(AzureProvider, "capabilities", replace(AzureProvider.capabilities, poll_interval=0.05))
    resumed = cli("runs", "resume", runs[0]["run_id"])
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(cli("runs", "show", runs[0]["run_id"], "--json").stdout)["status"] == "succeeded"

    [plan] = set(lab.multi_vm_groups().values())
    members = {lab.item(m).name for m in lab.multi_vm_groups()}
    accepted = [r for r in lab.arm.calls("POST") if r.status == 202]
    for action in _actions(architecture, command, options):
        per_item = Counter(r.path.split("/")[-2] for r in accepted if r.path.endswith(f"/replicationProtectedItems/"
                                                                                       f"{r.path.split('/')[-2]}/{action}"))
        on_plan = [r for r in accepted if r.path.endswith(f"/replicationRecoveryPlans/{plan}/{action}")]
        for m in lab.machines:
            name = lab.item(m.name).name
            if name in members and action != "reProtect":
                assert per_item[name] == 0, (action, m.name)  # grouped: only through the plan
            else:
                assert per_item[name] == 1, (action, m.name, per_item)
        if action != "reProtect":
            assert len(on_plan) == 1, (action, len(on_plan))  # one plan job for the group
    refused = [(r.path, r.status) for r in lab.arm.calls("POST") if r.status >= 400]
    assert not refused  # nothing was re-sent into ASR's refusal either
    assert not lab.arm.job_lists(filtered=False)

"""Scheduled drills: a Temporal Schedule fires, the drill runs on a worker, cleans up, and its report is written."""

from __future__ import annotations

import json
import time

from asrctl.recovery.temporal import client


def test_a_schedule_fires_and_produces_a_cleaned_up_drill_and_its_report(cli, team, tmp_path):
    team.worker()
    reports = tmp_path / "drill-reports"
    created = cli("schedule", "create", "drill", "erp", "--stack", "dev", "--every", "2s", "--auto-approve",
                  "--report-dir", str(reports), "--json")
    assert created.exit_code == 0, created.stderr
    row = json.loads(created.stdout)
    assert (row["id"], row["plan"], row["stack"], row["when"]) == ("drill-dev-erp", "erp", "dev", "every 2s")
    assert row["next_runs"]

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(reports.glob("*.json")):
        time.sleep(0.5)
    assert cli("schedule", "delete", "drill-dev-erp").exit_code == 0
    written = sorted(reports.glob("*.json"))
    assert written, "no drill report was written"
    doc = json.loads(written[0].read_text())
    assert doc["status"] == "succeeded" and doc["command"] == "drill" and doc["engine"] == "temporal"
    assert [s["operation"] for s in doc["stages"]] == ["test-failover", "cleanup-test-failover"]
    assert all(s["status"] == "succeeded" for s in doc["stages"])  # cleaned up
    assert doc["schedule"]["id"] == "drill-dev-erp"
    assert written[0].with_suffix(".html").is_file()
    # the drill is an ordinary team run of the plan: listed, shown, and the world holds its jobs once
    assert doc["run_id"] in [r.run_id for r in client.list_runs()]
    world = json.loads(cli("sim", "show", "--stack", "dev", "--json").stdout)["machines"]
    first = {m["name"]: [o["name"] for o in m["operations"]][:2] for m in world if m["name"].startswith("erp-")}
    assert all(ops == ["test-failover", "cleanup-test-failover"] for ops in first.values())
    listed = json.loads(cli("schedule", "list", "--json").stdout)["schedules"]
    assert listed == []


def test_a_failed_scheduled_drill_still_cleans_up(cli, team, tmp_path, monkeypatch):
    team.worker()
    faults = tmp_path / "faults.yaml"  # the web group's test failover fails: the sql and app test VMs stay up
    faults.write_text("faults:\n  - machine: erp-web01\n    operation: test-failover\n    effect: fail\n    times: 1\n")
    monkeypatch.setenv("ASRCTL_SIM_FAULTS", str(faults))
    reports = tmp_path / "reports"
    assert cli("schedule", "create", "drill", "erp", "--stack", "dev", "--every", "1h", "--auto-approve",
               "--report-dir", str(reports)).exit_code == 0
    _trigger("drill-dev-erp")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(reports.glob("*.json")):
        time.sleep(0.5)
    doc = json.loads(next(reports.glob("*.json")).read_text())
    assert doc["status"] == "failed"
    cleanup = doc["schedule"]["cleanup"]
    assert cleanup["status"] == "succeeded", cleanup  # a cleanup run of the plan followed the failed drill
    world = json.loads(cli("sim", "show", "--stack", "dev", "--json").stdout)["machines"]
    assert all(m["state"] == "protected" for m in world if m["name"].startswith("erp-"))  # no test VM left


def test_schedule_commands_refuse_bad_input(cli, team):
    both = cli("schedule", "create", "drill", "erp", "--stack", "dev", "--cron", "0 3 * * 6", "--every", "1d")
    assert both.exit_code == 2 and "exactly one of --cron" in both.stderr
    bad = cli("schedule", "create", "drill", "erp", "--stack", "dev", "--cron", "not a cron")
    assert bad.exit_code == 2 and "--cron 'not a cron'" in bad.stderr
    assert cli("schedule", "create", "failover", "erp", "--stack", "dev", "--every", "1d").exit_code == 2
    assert cli("schedule", "create", "drill", "nope", "--stack", "dev", "--every", "1d").exit_code == 2
    assert cli("schedule", "delete", "no-such-schedule").exit_code == 2
    ok = cli("schedule", "create", "drill", "erp", "--stack", "dev", "--cron", "0 3 * * 6")
    assert ok.exit_code == 0
    again = cli("schedule", "create", "drill", "erp", "--stack", "dev", "--cron", "0 4 * * 6")
    assert again.exit_code == 2 and "already exists" in again.stderr
    listed = cli("schedule", "list")
    assert "drill-dev-erp" in listed.stdout and "0 3 * * 6" in listed.stdout


def _trigger(schedule_id: str) -> None:
    from asrctl.recovery.temporal.client import run_sync
    from asrctl.recovery.temporal.settings import TeamSettings, connect

    async def main() -> None:
        await (await connect(TeamSettings.resolve(None))).get_schedule_handle(schedule_id).trigger()

    run_sync(main)

"""The recovery commands end to end on the simulator, through the CLI (in-process)."""

from __future__ import annotations

import json


def sim_ops(cli, stack: str) -> dict[str, list[str]]:
    result = cli("sim", "show", "--stack", stack, "--json")
    assert result.exit_code == 0, result.stderr
    return {m["name"]: [o["name"] for o in m["operations"]] for m in json.loads(result.stdout)["machines"]}


def sim_states(cli, stack: str) -> dict[str, str]:
    return {m["name"]: m["state"] for m in json.loads(cli("sim", "show", "--stack", stack, "--json").stdout)["machines"]}


def last_run(cli) -> dict:
    runs = json.loads(cli("runs", "list", "--json").stdout)["runs"]
    return json.loads(cli("runs", "show", runs[-1]["run_id"], "--json").stdout)


ERP = ["erp-sql01", "erp-sql02", "erp-app01", "erp-app02", "erp-web01", "erp-web02"]


def test_drill_runs_test_failover_then_cleanup_and_writes_the_report(cli, _isolated_home):
    result = cli("drill", "erp", "--stack", "dev", "--auto-approve")
    assert result.exit_code == 0, result.stderr
    run = last_run(cli)
    assert run["status"] == "succeeded" and run["operation"] == "test-failover" and run["clock"] == "simulated"
    assert [s["operation"] for s in run["stages"]] == ["test-failover", "cleanup-test-failover"]
    assert [g["name"] for g in run["groups"]] == ["database", "application", "web"]
    sql01 = run["groups"][0]["machines"][0]
    assert sql01["name"] == "erp-sql01" and sql01["recovery_ip"] == "10.160.1.11"  # the isolated test network
    assert sql01["status"] == "succeeded" and sql01["attempts"] == 1 and sql01["rpo_seconds"] > 0
    assert sql01["recovery_point_time"].endswith("Z") and sql01["started_at"] < sql01["finished_at"]
    # groups strictly in order: a group starts after the previous one finished
    for before, after in zip(run["groups"], run["groups"][1:], strict=False):
        assert before["finished_at"] <= after["started_at"]
    web = run["groups"][2]
    assert [(a["kind"], a["name"], a["status"]) for a in web["actions"]] == [
        ("runbook", "ASR-AddPublicIp", "succeeded"),
        ("manual", "Log in to https://erp.contoso.com as the smoke-test user and post a test journal entry.",
         "succeeded"),
    ]  # switch_dns only runs for real failovers
    assert web["actions"][1]["approved_by"] == "auto-approve"
    assert run["rto_seconds"] > 0 and run["targets"] == {"rto_seconds": 1800, "rpo_seconds": 900}
    # dev syncs multi-VM groups: each group fails over (and is cleaned up) as one recovery-plan job, + 1 runbook
    assert run["api_calls"]["writes"] == 3 * 2 + 1 and run["api_calls"]["reads"] > 0
    report = _isolated_home / "reports" / f"{run['run_id']}.html"
    assert f"report: {report}" in result.stdout and report.is_file()
    assert all(ops == ["test-failover", "cleanup-test-failover"] for name, ops in sim_ops(cli, "dev").items())
    assert set(sim_states(cli, "dev").values()) == {"protected"}


def test_failover_refused_while_a_test_failover_is_not_cleaned_up(cli):
    assert cli("drill", "erp", "--stack", "dev", "--no-cleanup", "--auto-approve").exit_code == 0
    assert set(sim_states(cli, "dev").values()) == {"test-failed-over"}
    result = cli("failover", "erp", "--stack", "dev", "--unplanned", "--auto-approve")
    assert result.exit_code == 2
    assert ("erp-sql01, erp-sql02, erp-app01, erp-app02, erp-web01, erp-web02: a test failover is not cleaned up "
            "— run `asrctl cleanup erp --stack dev` first") in result.stderr
    assert "Traceback" not in result.stderr and "--skip-readiness" not in result.stderr
    assert [r["command"] for r in json.loads(cli("runs", "list", "--json").stdout)["runs"]] == ["drill"]  # no record
    assert all("unplanned-failover" not in ops for ops in sim_ops(cli, "dev").values())  # nothing half-done
    assert cli("cleanup", "erp", "--stack", "dev").exit_code == 0
    assert set(sim_states(cli, "dev").values()) == {"protected"}


def test_commit_before_failover_is_refused(cli):
    result = cli("commit", "erp", "--stack", "dev")
    assert result.exit_code == 2
    assert "protected, and commit needs failed-over — it has not failed over; fail over first" in result.stderr
    assert json.loads(cli("runs", "list", "--json").stdout)["runs"] == []


def test_failback_refused_without_failback_infrastructure(cli):
    for command in (["failback", "erp", "--stack", "dev", "--auto-approve"], ["reprotect", "erp", "--stack", "dev"]):
        result = cli(*command)
        assert result.exit_code == 2
        assert "does not enable failback (vmware-azure-dr:failback.enabled: false)" in result.stderr
    assert json.loads(cli("runs", "list", "--json").stdout)["runs"] == []


def test_full_chain_on_prod(cli):
    steps = [
        (["drill", "erp", "--stack", "prod", "--auto-approve"], "protected"),
        (["failover", "erp", "--stack", "prod", "--planned", "--auto-approve"], "failed-over"),
        (["commit", "erp", "--stack", "prod"], "committed"),
        (["reprotect", "erp", "--stack", "prod"], "reprotected"),
        (["failback", "erp", "--stack", "prod", "--auto-approve"], "protected"),
    ]
    for command, state in steps:
        result = cli(*command)
        assert result.exit_code == 0, (command, result.stderr)
        states = sim_states(cli, "prod")
        assert {states[m] for m in ERP} == {state}, command
    ops = sim_ops(cli, "prod")
    for name in ERP:
        assert ops[name] == ["test-failover", "cleanup-test-failover", "planned-failover", "commit", "reprotect",
                             "failback", "commit-failback", "reenable"]
    assert ops["crm-db01"] == []
    failback = last_run(cli)
    assert [s["operation"] for s in failback["stages"]] == ["reprotect", "failback", "commit-failback", "reenable"]
    # the reprotect stage was done by `asrctl reprotect`: reconciled and skipped, not sent again
    assert {m["status"] for g in failback["stages"][0]["groups"] for m in g["machines"]} == {"skipped"}
    assert failback["operation"] == "failback" and failback["groups"][0]["machines"][0]["recovery_ip"] == "10.20.1.11"
    # actions run for failback too: the DNS switch pointed www at the on-prem web servers
    dns = [a for a in failback["groups"][2]["actions"] if a["kind"] == "script"]
    assert dns[0]["status"] == "succeeded" and "www.erp.contoso.com A 10.20.3.31, 10.20.3.32" in dns[0]["output"]


def test_failover_options_are_checked(cli):
    assert cli("failover", "erp", "--stack", "dev").exit_code == 2
    result = cli("failover", "erp", "--stack", "dev", "--unplanned", "--recovery-point", "yesterday")
    assert result.exit_code == 2 and "--recovery-point 'yesterday'" in result.stderr
    assert cli("drill", "erp", "--stack", "dev", "--provider", "aws").exit_code == 2


def test_unplanned_failover_to_app_consistent_point_records_rpo(cli):
    result = cli("failover", "erp", "--stack", "dev", "--unplanned", "--recovery-point", "latest-app-consistent",
                 "--auto-approve", "--skip-readiness")
    assert result.exit_code == 0, result.stderr
    run = last_run(cli)
    # the state checks always run; the replication checks (RPO, health, heartbeat, points) were skipped
    assert run["skip_readiness"] is True and {c["name"] for c in run["readiness"]} == {"protected-item", "state"}
    assert run["options"]["recovery_point"] == "latest-app-consistent"
    rpos = [m["rpo_seconds"] for g in run["groups"] for m in g["machines"]]
    assert all(r is not None and r >= 0 for r in rpos)


def test_drill_runs_readiness_first_unless_skipped(cli):
    assert cli("drill", "erp", "--stack", "dev", "--auto-approve").exit_code == 0
    run = last_run(cli)
    assert run["skip_readiness"] is False and run["readiness"], "readiness checks recorded"
    assert {c["status"] for c in run["readiness"]} <= {"pass", "warn"}


def test_readiness_failure_stops_the_drill_before_any_side_effect(cli, monkeypatch):
    import asrctl.recovery.readiness as readiness
    from asrctl.recovery.readiness import ReadinessCheck

    def stale_points(report, plan, *args) -> None:
        report.checks.append(ReadinessCheck("recovery-point", "fail", "latest crash-consistent point is 2h old",
                                            "erp-sql01", advice="check the appliance"))

    monkeypatch.setattr(readiness, "_replication_checks", stale_points)
    result = cli("drill", "erp", "--stack", "dev", "--auto-approve")
    assert result.exit_code == 1
    assert ("readiness failed: erp-sql01: latest crash-consistent point is 2h old — check the appliance; nothing "
            "was sent") in result.stderr
    assert "--skip-readiness" in result.stderr
    run = last_run(cli)
    assert run["status"] == "failed" and run["readiness"][-1] == {"name": "recovery-point", "status": "fail", "machine": "erp-sql01", "reason": "latest crash-consistent point is 2h old"}
    assert all(ops == [] for ops in sim_ops(cli, "dev").values())
    # the override is recorded
    assert cli("drill", "erp", "--stack", "dev", "--auto-approve", "--skip-readiness").exit_code == 0
    assert last_run(cli)["skip_readiness"] is True

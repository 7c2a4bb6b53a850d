"""Drill reports: verdicts, evidence and the timeline, rendered from realistic run records (tests/fixtures/runs)."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
from document_asserts import assert_kept

from asrctl.errors import BadInput
from asrctl.reporting import render_report, write_report

FIXTURES = Path(__file__).parent / "fixtures" / "runs"
SVG_NS = "{http://www.w3.org/2000/svg}"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def evaluation(run: dict) -> dict:
    return json.loads(render_report(run, "json"))["report"]


def md_row(markdown: str, *cells: str) -> list[str]:
    """The cells of the first table row starting with ``cells`` (split on unescaped pipes)."""
    prefix = "| " + " | ".join(cells) + " |"
    line = next(line for line in markdown.splitlines() if line.startswith(prefix))
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def timeline(html: str) -> ET.Element:
    match = re.search(r'<svg class="timeline".*?</svg>', html, re.DOTALL)
    assert match, "the HTML report has no timeline SVG"
    return ET.fromstring(match.group(0))


def seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


# --- JSON -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "verdict"), [("drill-succeeded", "pass"), ("failover-failed", "fail"), ("drill-paused", "incomplete")]
)
def test_json_round_trips_every_contract_field_and_adds_the_verdict(name: str, verdict: str) -> None:
    run = load(name)
    document = json.loads(render_report(run, "json"))
    report = document.pop("report")
    assert_kept(run, document)  # every field of the record, unchanged (the document may add derived ones)
    assert report["verdict"] == verdict and document["verdict"] == verdict



def test_json_report_of_a_json_report_is_stable() -> None:
    """An archived --format json report can be re-rendered: its previous evaluation is replaced, not nested."""
    first = render_report(load("failover-failed"), "json")
    assert render_report(json.loads(first), "json") == first


# --- Verdicts ---------------------------------------------------------------------------------------------------


def test_successful_drill_meets_rto_and_rpo_targets() -> None:
    report = evaluation(load("drill-succeeded"))
    assert (report["rto"]["achieved_seconds"], report["rto"]["target_seconds"]) == (1645.0, 1800)
    assert report["rto"]["verdict"] == "met"
    assert report["rpo"]["verdict"] == "met"
    assert (report["rpo"]["worst_machine"], report["rpo"]["worst_seconds"]) == ("sql02", 266)
    # ASR's SLA is context: the slowest machine (sql02, 09:04:06 → 09:13:10) against 2 h.
    assert (report["rto"]["slowest_machine"], report["rto"]["slowest_machine_seconds"]) == ("sql02", 544.0)
    assert report["rto"]["sla_verdict"] == "within"


def test_rpo_above_target_is_flagged_as_a_miss_and_fails_the_run() -> None:
    run = load("drill-succeeded")
    run["groups"][1]["machines"][1]["rpo_seconds"] = 901  # app02, target 900
    report = evaluation(run)
    assert report["verdict"] == "fail"
    assert report["rpo"]["verdict"] == "miss"
    missed = [m["name"] for m in report["rpo"]["machines"] if m["rpo_verdict"] == "miss"]
    assert missed == ["app02"]
    assert any("app02" in reason and "RPO" in reason for reason in report["reasons"])
    assert md_row(render_report(run, "md"), "app", "app02")[7] == "MISSED"


def test_rpo_exactly_at_target_is_met() -> None:
    run = load("drill-succeeded")
    run["groups"][1]["machines"][1]["rpo_seconds"] = 900
    assert evaluation(run)["verdict"] == "pass"


def test_rpo_is_failover_start_minus_recovery_point_when_the_engine_gave_none() -> None:
    run = load("drill-succeeded")
    sql01 = run["groups"][0]["machines"][0]
    sql01["rpo_seconds"] = None
    expected = seconds(sql01["recovery_point_time"], sql01["started_at"])
    assert expected == 188
    assert evaluation(run)["rpo"]["machines"][0]["rpo_seconds"] == expected
    assert md_row(render_report(run, "md"), "database", "sql01")[6] == "3m 08s"


def test_rto_above_target_fails_an_otherwise_successful_drill() -> None:
    run = load("drill-succeeded")
    run["rto_seconds"] = 1801
    report = evaluation(run)
    assert (report["verdict"], report["rto"]["verdict"]) == ("fail", "miss")
    assert any("RTO 30m 01s exceeds the target 30m" in reason for reason in report["reasons"])


def test_failed_failover_lists_every_failure_with_its_reason() -> None:
    report = evaluation(load("failover-failed"))
    assert report["verdict"] == "fail"
    assert report["rto"]["verdict"] == "not-measured"
    reasons = {(f["where"], f["name"]): f["reason"] for f in report["failures"]}
    assert "70038" in reasons[("group app: machine", "app02")]
    assert reasons[("group database: script", "runbooks/actions/check_sql.py")].startswith("exited 1: login failed")
    # sql01 (21m) and app01 (19m 44s) used recovery points older than the 15m target.
    assert sorted(m["name"] for m in report["rpo"]["machines"] if m["rpo_verdict"] == "miss") == ["app01", "sql01"]


def test_a_success_with_unfinished_steps_is_reported_incomplete() -> None:
    run = load("drill-succeeded")
    run["groups"][2]["actions"][0].update(status="pending", started_at=None, finished_at=None)
    report = evaluation(run)
    assert report["verdict"] == "incomplete"
    assert any("never finished: ASR-AddPublicIp" in reason for reason in report["reasons"])


def test_operations_that_recover_nothing_have_no_rto_or_rpo_verdict() -> None:
    run = load("drill-succeeded")
    run["operation"] = "commit"
    run["rto_seconds"] = 99999  # far above the target, yet irrelevant to a commit
    report = evaluation(run)
    assert (report["verdict"], report["rto"]["verdict"], report["rpo"]["verdict"]) == (
        "pass",
        "not-applicable",
        "not-applicable",
    )


def test_a_failed_readiness_check_fails_the_report() -> None:
    run = load("drill-succeeded")
    run["readiness"][0] = {
        "name": "replication-health",
        "status": "fail",
        "reason": "app02 is critical",
        "machine": "app02",
    }
    report = evaluation(run)
    assert report["verdict"] == "fail"
    assert report["readiness"]["verdict"] == "fail"
    assert {"where": "readiness (app02)", "name": "replication-health", "reason": "app02 is critical"} in (
        report["failures"]
    )


# --- Markdown and HTML content -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_report_shows_verdicts_targets_clock_and_api_calls(fmt: str) -> None:
    text = render_report(load("drill-succeeded"), fmt)
    assert "PASS" in text
    assert "27m 25s" in text and "30m" in text  # achieved RTO and its target
    assert "4m 26s" in text  # worst RPO (sql02)
    assert "2h" in text and "within SLA" in text
    assert "Clock: simulated" in text and "ASRCTL_SIM_SPEED" in text
    assert "142" in text and "9" in text
    wall = render_report(load("failover-failed"), fmt)
    assert "Clock: wall" in wall and "wall-clock UTC" in wall


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_report_shows_the_approval_who_when_and_comment(fmt: str) -> None:
    text = render_report(load("drill-succeeded"), fmt)
    assert "maria.lopez@contoso.com" in text
    assert "2025-03-14 09:04:05Z" in text
    assert "Batch jobs stopped on erp-app01/02; change CHG0042 approved." in text


@pytest.mark.parametrize(
    ("run_status", "action_status", "error", "reason"),
    [
        ("failed", "failed", "manual action not approved within its 2h timeout: Stop the nightly batch jobs",
         "manual action not approved within its 2h timeout"),
        ("cancelled", "waiting-approval", None, "the run cancelled before approval"),
    ],
)
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_a_manual_action_that_was_never_approved_is_listed_as_not_approved(
    fmt: str, run_status: str, action_status: str, error: str | None, reason: str
) -> None:
    run = load("drill-paused")
    run["status"], run["paused_step"], run["error"] = run_status, None, error or "cancelled by `asrctl runs cancel`"
    action = run["groups"][0]["actions"][0]
    action["status"], action["error"] = action_status, error
    report = evaluation(run)
    assert report["waiting_for_approval"] == []  # nobody can approve it any more: no resume command offered
    assert [(a["name"], a["reason"]) for a in report["not_approved"]] == [(action["name"], error or reason)]
    text = render_report(run, fmt)
    assert "no manual actions to approve" not in text
    assert f"ot approved: {reason}" in text  # "Not approved: ..." (html) / "not approved: ..." (md)
    assert "--approve --by NAME" not in text


def test_markdown_approval_row_keeps_its_columns() -> None:
    run = load("drill-succeeded")
    run["groups"][0]["actions"][0]["comment"] = "ok | with a pipe\nand a second line"
    cells = md_row(render_report(run, "md"), "database", "Stop the nightly batch jobs on the ERP app servers.")
    assert len(cells) == 6
    assert cells[3:] == ["maria.lopez@contoso.com", "2025-03-14 09:04:05Z", "ok \\| with a pipe<br>and a second line"]


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_report_shows_failure_reasons_and_rpo_misses(fmt: str) -> None:
    text = render_report(load("failover-failed"), fmt)
    assert "FAIL" in text and "MISSED" in text
    assert "70038 Failover of the virtual machine failed (no recovery point available)" in text
    assert "database erp in recovery pending" in text
    assert "Readiness checks were skipped for this run" in text


def test_markdown_machine_rows_carry_rpo_and_verdict() -> None:
    markdown = render_report(load("failover-failed"), "md")
    sql01 = md_row(markdown, "database", "sql01")
    sql02 = md_row(markdown, "database", "sql02")
    assert (sql01[6], sql01[7]) == ("21m", "MISSED")
    assert (sql02[6], sql02[7]) == ("5m", "met")
    assert md_row(markdown, "app", "app02")[7] == "not measured"


def test_html_machine_rows_carry_rpo() -> None:
    html = render_report(load("drill-succeeded"), "html")
    for name, rpo in [("sql01", "3m 08s"), ("sql02", "4m 26s"), ("app01", "3m 29s"), ("web01", "1m 15s")]:
        row = re.search(rf'<tr data-machine="{name}">(.*?)</tr>', html, re.DOTALL)
        assert row and f'<td class="num rpo">{rpo}</td>' in row.group(1)


def test_html_is_self_contained() -> None:
    html = render_report(load("drill-succeeded"), "html")
    assert "<style>" in html
    assert not re.search(r"<script|<link|@import|src=|href=\"http", html)


def test_user_text_cannot_inject_markup() -> None:
    run = load("drill-succeeded")
    payload = "<script>alert('owned')</script><img src=x onerror=alert(1)>"
    run["groups"][0]["actions"][0]["comment"] = payload
    run["groups"][0]["actions"][1]["output"] = payload
    run["groups"][0]["machines"][0]["error"] = payload
    run["groups"][2]["actions"][0]["name"] = payload  # also a timeline label (the SVG partial)
    html = render_report(run, "html")
    # Escaped text parses back to the original: the label is data, not markup.
    assert f"after: {payload}" in {bar.get("data-label") for bar in timeline(html).iter(f"{SVG_NS}rect")}
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in html
    markdown = render_report(run, "md")
    assert "<script" not in markdown and "<img" not in markdown
    assert "&lt;script&gt;" in markdown


def test_secrets_never_reach_a_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "Corr3ct-Horse-Battery")
    run = load("failover-failed")
    action = run["groups"][0]["actions"][0]
    action["output"] = "using passphrase Corr3ct-Horse-Battery\nconnect password=hunter2hunter2 ok"
    action["error"] = "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi"
    for fmt in ("json", "md", "html"):
        text = render_report(run, fmt)
        for secret in ("Corr3ct-Horse-Battery", "hunter2hunter2", "eyJ0eXAiOiJKV1QiLCJhbGciOi"):
            assert secret not in text, (fmt, secret)
    # Masked in place, so the evidence still shows that a password was used (script output is in the HTML only).
    assert "password=***" in render_report(run, "html")


# --- Timeline ----------------------------------------------------------------------------------------------------


def test_timeline_bars_are_positioned_proportionally_to_times() -> None:
    run = load("drill-succeeded")
    svg = timeline(render_report(run, "html"))
    left = float(svg.get("data-label-width"))
    width = float(svg.get("data-chart-width"))
    scale = width / seconds(run["started_at"], run["finished_at"])
    bars = {bar.get("data-label"): bar for bar in svg.iter(f"{SVG_NS}rect") if bar.get("data-label")}

    expected = {}
    for index, group in enumerate(run["groups"], start=1):
        expected[f"{index}. {group['name']}"] = group
        for machine in group["machines"]:
            expected[machine["name"]] = machine
        for action in group["actions"]:
            expected[f"{action['phase']}: {action['name']}"] = action
    assert set(expected) <= set(bars)
    for label, item in expected.items():
        bar = bars[label]
        start = seconds(run["started_at"], item["started_at"])
        duration = seconds(item["started_at"], item["finished_at"])
        assert float(bar.get("x")) == pytest.approx(left + start * scale, abs=0.02), label
        assert float(bar.get("width")) == pytest.approx(max(duration * scale, 1.5), abs=0.02), label
    # Groups run strictly in order, and the chart shows it.
    xs = [float(bars[f"{i}. {g['name']}"].get("x")) for i, g in enumerate(run["groups"], start=1)]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


def test_timeline_of_a_failed_run_colours_failures_and_leaves_skipped_steps_unbarred() -> None:
    svg = timeline(render_report(load("failover-failed"), "html"))
    bars = {bar.get("data-label"): bar for bar in svg.iter(f"{SVG_NS}rect") if bar.get("data-label")}
    assert "status-failed" in bars["app02"].get("class")
    assert "status-succeeded" in bars["app01"].get("class")
    assert "web01" not in bars and "3. web" not in bars


def test_paused_run_renders_in_every_format_with_open_bars() -> None:
    run = load("drill-paused")
    assert run["finished_at"] is None
    markdown = render_report(run, "md")
    assert "INCOMPLETE" in markdown and "(not finished)" in markdown
    assert f"asrctl runs resume {run['run_id']} --approve" in markdown
    html = render_report(run, "html")
    svg = timeline(html)
    open_bars = [b for b in svg.iter(f"{SVG_NS}rect") if "open" in (b.get("class") or "").split()]
    assert {b.get("data-label") for b in open_bars} == {
        "stage: test-failover",
        "1. database",
        "before: Stop the nightly batch jobs on the ERP app servers.",
    }
    # Open bars run past the "as of" marker (the last thing that happened) instead of collapsing to nothing.
    as_of = next(line for line in svg.iter(f"{SVG_NS}line") if line.get("class") == "as-of")
    for bar in open_bars:
        assert float(bar.get("x")) + float(bar.get("width")) > float(as_of.get("x1")) >= float(bar.get("x"))


def test_a_run_with_mostly_null_values_still_renders() -> None:
    run = {
        "run_id": "erp-early-failure",
        "plan": "erp",
        "operation": "planned-failover",
        "status": "failed",
        "started_at": "2025-05-01T08:00:00Z",
        "finished_at": None,
        "rto_seconds": None,
        "targets": None,
        "error": "provider unreachable: https://management.azure.com timed out",
        "clock": None,
        "api_calls": None,
        "readiness": None,
        "groups": [{"name": "database", "status": None, "machines": [{"name": "sql01"}], "actions": None}],
    }
    for fmt in ("json", "md", "html"):
        text = render_report(run, fmt)
        assert "provider unreachable" in text
    assert evaluation(run)["verdict"] == "fail"
    svg = timeline(render_report(run, "html"))
    assert not [bar for bar in svg.iter(f"{SVG_NS}rect") if bar.get("data-label")]
    assert [t.text for t in svg.iter(f"{SVG_NS}text") if t.get("class") == "not-started"] == [
        "pending — not started",
        "pending — not started",
    ]


# --- Bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("groups"), "groups: is missing"),
        (lambda r: r.update(status="exploded"), "status: 'exploded' is not one of"),
        (lambda r: r["groups"][1]["machines"][0].update(started_at="yesterday"), "groups[1].machines[0].started_at"),
        (lambda r: r["groups"][0]["actions"][0].pop("kind"), "groups[0].actions[0].kind: is missing"),
        (lambda r: r["targets"].update(rpo_seconds="15m"), "targets.rpo_seconds: must be a number of seconds"),
        (lambda r: r["groups"].append("web"), "groups[3]: must be an object"),
    ],
)
def test_malformed_run_gives_one_clear_error_naming_the_key(change, message: str) -> None:
    run = copy.deepcopy(load("drill-succeeded"))
    change(run)
    with pytest.raises(BadInput) as caught:
        render_report(run, "md")
    assert message in str(caught.value)
    assert str(caught.value).startswith("run 20250314T090000Z-erp-test-failover-7f3a: ")
    assert "\n" not in str(caught.value)


def test_unknown_format_and_non_dict_run_are_bad_input() -> None:
    with pytest.raises(BadInput, match="unknown report format 'pdf'"):
        render_report(load("drill-succeeded"), "pdf")
    with pytest.raises(BadInput, match="must be a JSON object, got list"):
        render_report([], "md")  # type: ignore[arg-type]


def test_write_report_creates_directories_and_refuses_a_directory(tmp_path: Path) -> None:
    target = tmp_path / "evidence" / "2025-Q1" / "drill.html"
    assert write_report(load("drill-succeeded"), "html", target) == target
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert not list(target.parent.glob(".*.partial"))
    with pytest.raises(BadInput, match="cannot write the report"):
        write_report(load("drill-succeeded"), "md", tmp_path / "evidence")

"""``asrctl report RUN [--format html|md|json] [-o FILE]``: loading, format choice, output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from document_asserts import assert_kept

from asrctl.errors import BadInput

FIXTURES = Path(__file__).parent / "fixtures" / "runs"


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    """The fixture runs served by a stand-in for the journal's ``load_run`` (unknown id → BadInput, as the real one)."""
    import asrctl.recovery.runner as runner
    from asrctl.recovery.records import RunRecord

    known = {}
    for path in FIXTURES.glob("*.json"):
        run = json.loads(path.read_text())
        known[run["run_id"]] = run

    def load_run(run_id: str) -> RunRecord:
        if run_id not in known:
            raise BadInput(f"run {run_id!r}: no such run; list runs with `asrctl runs list`")
        return RunRecord.model_validate(known[run_id])

    monkeypatch.setattr(runner, "load_run", load_run)
    return {path.stem: json.loads(path.read_text()) for path in FIXTURES.glob("*.json")}


def test_markdown_is_the_stdout_default(cli, runs) -> None:
    run = runs["drill-succeeded"]
    result = cli("report", run["run_id"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# DR drill (test failover) report: plan erp")
    assert "**Verdict: PASS**" in result.stdout
    assert result.stderr == ""


def test_json_format_prints_the_run_and_its_evaluation(cli, runs) -> None:
    run = runs["failover-failed"]
    result = cli("report", run["run_id"], "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document.pop("report")["verdict"] == "fail"
    assert document["verdict"] == "fail"
    assert_kept(run, document)  # every field of the run, as recorded


def test_output_file_format_follows_its_extension(cli, runs, tmp_path: Path) -> None:
    run = runs["drill-paused"]
    target = tmp_path / "evidence" / "drill.html"
    result = cli("report", run["run_id"], "-o", str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.strip() == f"wrote html report of run {run['run_id']} to {target}"
    html = target.read_text()
    assert html.startswith("<!DOCTYPE html>") and "INCOMPLETE" in html


def test_explicit_format_wins_over_the_extension(cli, runs, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    assert cli("report", runs["drill-succeeded"]["run_id"], "--format", "md", "-o", str(target)).exit_code == 0
    assert target.read_text().startswith("# DR drill")


def test_an_archived_json_report_can_be_rendered_again(cli, runs, tmp_path: Path) -> None:
    archived = tmp_path / "archive.json"
    assert cli("report", runs["failover-failed"]["run_id"], "-o", str(archived)).exit_code == 0
    result = cli("report", str(archived), "--format", "md")
    assert result.exit_code == 0
    assert "**Verdict: FAIL**" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-run"], "error: run 'no-such-run': no such run"),
        (["20250314T090000Z-erp-test-failover-7f3a", "--format", "pdf"], "error: --format 'pdf' is not one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, runs, args: list[str], message: str) -> None:
    result = cli("report", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unknown_run_in_the_real_journal_is_exit_2(cli) -> None:
    result = cli("report", "erp-19990101T000000-dead")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: run 'erp-19990101T000000-dead'")
    assert result.stderr.count("\n") == 1


def test_broken_or_malformed_run_file_is_exit_2_naming_the_problem(cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"run_id": "x",\n  "plan": }')
    result = cli("report", str(broken))
    assert (result.exit_code, result.stderr.count("\n")) == (2, 1)
    assert result.stderr.startswith(f"error: {broken}:2: not valid JSON")

    malformed = tmp_path / "malformed.json"
    run = json.loads((FIXTURES / "drill-succeeded.json").read_text())
    run["groups"][0]["machines"][1]["finished_at"] = "14/03/2025 09:13"
    malformed.write_text(json.dumps(run))
    result = cli("report", str(malformed))
    assert result.exit_code == 2
    assert "groups[0].machines[1].finished_at: '14/03/2025 09:13' is not an ISO-8601 UTC timestamp" in result.stderr

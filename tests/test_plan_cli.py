"""asrctl plan validate / show, and one bad-plan test per rule: each names file:line and exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

GOOD_GROUP = "  - name: database\n    machines: [erp-sql01]\n"


def write_plan(tmp_path: Path, body: str, name: str = "bad") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\n{body}", encoding="utf-8")
    return path


def test_validate_accepts_the_shipped_plans(cli):
    for plan, stack in (("erp", "dev"), ("erp", "prod"), ("crm", "prod"), ("hr", "prod"), ("portal", "prod")):
        result = cli("plan", "validate", plan, "--stack", stack)
        assert result.exit_code == 0, result.stderr
        assert f"plan {plan} is valid for stack {stack}" in result.stdout


def test_show_prints_groups_in_order_with_actions_when_and_timeout(cli):
    result = cli("plan", "show", "erp", "--stack", "dev")
    assert result.exit_code == 0, result.stderr
    out = " ".join(result.stdout.replace("│", " ").split())  # undo the tree's wrapping
    assert out.index("group 1: database") < out.index("group 2: application") < out.index("group 3: web")
    assert "erp-sql01 → db 10.60.1.11 (test 10.160.1.11)" in out
    assert "before manual: Stop the nightly batch jobs" in out and "when: planned-failover, failback; timeout 2h" in out
    assert "runbook: ASR-AddPublicIp — when: test-failover; timeout 30m" in out  # default runbook timeout
    assert "script: runbooks/actions/wait_for_port.py --port 1433 --timeout 300 — when: every failover" in out


def test_validate_unknown_plan_lists_known_ones(cli):
    result = cli("plan", "validate", "nope", "--stack", "dev")
    assert result.exit_code == 2
    assert "known plans: crm, erp, hr, portal" in result.stderr


def test_plan_for_other_stack_names_the_machine_and_line(cli):
    result = cli("plan", "validate", "crm", "--stack", "dev")
    assert result.exit_code == 2
    assert "runbooks/plans/crm.yaml:7:" in result.stderr and "'crm-db01' is not in stack dev" in result.stderr


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        pytest.param(
            "groups:\n" + "".join(f"  - name: g{i}\n    machines: [erp-sql01]\n" for i in range(8)),
            17, "8 groups exceed ASR's limit of 7", id="more-than-7-groups",
        ),
        pytest.param(
            "groups:\n  - name: big\n    machines: [" + ", ".join(f"m{i}" for i in range(101)) + "]\n",
            2, "101 machines exceed ASR's limit of 100", id="more-than-100-machines",
        ),
        pytest.param(
            "groups:\n  - name: a\n    machines: [erp-sql01]\n  - name: b\n    machines:\n      - erp-app01\n"
            "      - erp-sql01\n",
            8, "'erp-sql01' is already in group 'a'", id="machine-twice",
        ),
        pytest.param(
            "groups:\n  - name: a\n    machines:\n      - erp-sql01\n      - ghost01\n",
            6, "'ghost01' is not in stack dev", id="unknown-machine",
        ),
        pytest.param(
            GOOD_GROUP + "    after:\n      - runbook: X\n        when: [test-failover, failover-now]\n",
            # the error points at the `when` key of the action
            7, "'failover-now': input should be 'test-failover'", id="unknown-operation-in-when",
        ),
        pytest.param(
            GOOD_GROUP + "    after:\n      - script: runbooks/actions/no_such.py\n",
            6, "script runbooks/actions/no_such.py does not exist", id="missing-script",
        ),
        pytest.param(
            GOOD_GROUP + "    before:\n      - manual: Do it\n        timeout: 0s\n",
            7, "timeout '0s': must be a positive duration", id="non-positive-timeout",
        ),
        pytest.param(
            GOOD_GROUP + "    before:\n      - manual: Do it\n        timeout: soon\n",
            7, "'soon' is not a duration; write it like 30s", id="garbled-timeout",
        ),
        pytest.param("groups:\n  - name: [unclosed\n", 4, "invalid YAML: expected ',' or ']'", id="invalid-yaml"),
    ],
)
def test_bad_plan_names_file_line_and_exits_2(cli, tmp_path, body, line, message):
    path = write_plan(tmp_path, body if body.startswith("groups:") else "groups:\n" + body)
    result = cli("plan", "validate", str(path), "--stack", "dev")
    assert result.exit_code == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    assert f"bad.yaml:{line}:" in result.stderr, result.stderr
    assert message in result.stderr
    # plan show applies the same validation
    assert cli("plan", "show", str(path), "--stack", "dev").exit_code == 2


def test_a_plan_that_is_not_utf8_is_bad_input_with_file_and_line(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"name: bad\ndescription: caf\xe9\ngroups: []\n")  # Latin-1, as old editors save it
    result = cli("plan", "validate", str(path), "--stack", "dev")
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert "bad.yaml:2: not UTF-8 text (byte 0xe9)" in result.stderr

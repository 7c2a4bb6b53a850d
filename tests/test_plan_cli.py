"""asrctl plan validate / show, and one bad-plan test per rule: each names file:line and exits 2."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent

GOOD_GROUP = "  - name: database\n    machines: [erp-sql01]\n"


def _before(action: str, *more: str) -> str:
    """A plan whose one group has one before-action: ``action`` on line 6, each of ``more`` on the lines after."""
    return "groups:\n" + GOOD_GROUP + f"    before:\n      - {action}\n" + "".join(f"        {m}\n" for m in more)


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
        # durations: bounded, and never a yes/no value or an empty key
        *(pytest.param(_before("manual: Do it", f"timeout: {value}"), 7, "is longer than 7d, the longest duration",
                       id=f"timeout-{ident}")
          for ident, value in (("huge", "99999999999999999999d"), ("8d", "8d"), ("seconds", "604801"),
                               ("thousands-of-digits", "9" * 5000 + "s"))),
        pytest.param(_before("manual: Do it", "timeout: true"), 7, "timeout True: is a yes/no value, not a duration",
                     id="timeout-boolean"),
        pytest.param(_before("manual: Do it", "timeout:"), 7, "timeout: is empty; give a duration like 10m",
                     id="timeout-empty"),
        pytest.param("groups:\n" + GOOD_GROUP + "targets: {rto: yes}\n", 5, "targets.rto True: is a yes/no value",
                     id="target-boolean"),
        pytest.param("groups:\n" + GOOD_GROUP + "targets: {rpo: 30d}\n", 5, "targets.rpo '30d': is longer than 7d",
                     id="target-too-long"),
        # names
        pytest.param(_before('runbook: ""'), 6, "runbook '': must not be empty", id="runbook-empty"),
        pytest.param(_before("runbook: Add Public IP"), 6, "is not an Azure Automation runbook name", id="runbook-name"),
        pytest.param(_before('manual: "  "'), 6, "manual '  ': must not be empty", id="manual-blank"),
        pytest.param("groups:\n  - name: ''\n    machines: [erp-sql01]\n", 3, "groups[0].name '': must not be empty",
                     id="group-name-empty"),
        pytest.param("groups:\n  - name: ' db'\n    machines: [erp-sql01]\n", 3, "has spaces at its start or end",
                     id="group-name-spaces"),
        pytest.param("groups:\n  - name: db\n    machines: []\n", 4, "groups[0].machines: must not be empty",
                     id="no-machines"),
        pytest.param("groups:\n  - name: db\n    machines: ['']\n", 4, "machines[0] '': must not be empty",
                     id="machine-name-empty"),
        pytest.param("groups: []\n", 2, "groups: must not be empty", id="no-groups"),
        # script paths: inside runbooks/actions/, a .py file that exists
        pytest.param(_before("script: ../../../../etc/passwd"), 6, "climbs out with '..'", id="script-dotdot"),
        pytest.param(_before("script: runbooks/actions/../../runbooks/actions/switch_dns.py"), 6,
                     "climbs out with '..'", id="script-dotdot-inside"),
        pytest.param(_before("script: /etc/passwd"), 6, "script /etc/passwd is an absolute path", id="script-absolute"),
        pytest.param(_before("script: 'runbooks\\actions\\switch_dns.py'"), 6, "write the path with forward slashes",
                     id="script-backslashes"),
        pytest.param(_before("script: runbooks/plans/erp.yaml"), 6, "is not in runbooks/actions/", id="script-elsewhere"),
        pytest.param(_before("script: runbooks/actions/notes.txt"), 6, "is not a Python file (.py)", id="script-not-py"),
        pytest.param(_before("script: runbooks/actions"), 6, "is the directory; name a script in it", id="script-the-directory"),
        # args and parameters are strings
        pytest.param(_before("script: runbooks/actions/wait_for_port.py", "args: [--port, 1433]"), 7,
                     'args[1] 1433: is a number; quote it ("1433")', id="arg-number"),
        pytest.param(_before("script: runbooks/actions/wait_for_port.py", "args: [--verbose, on]"), 7,
                     "args[1] True: is a yes/no value", id="arg-boolean"),
        pytest.param(_before("script: runbooks/actions/wait_for_port.py", "args:"), 7, "args: is empty; list the",
                     id="args-empty"),
        pytest.param(_before("runbook: ASR-AddPublicIp", "parameters: {port: 443}"), 7,
                     "parameters.port 443: is a number", id="parameter-number"),
        pytest.param(_before("runbook: ASR-AddPublicIp", "parameters: {'': x}"), 7, "parameters[''] '': must not be empty",
                     id="parameter-name-empty"),
        # when
        pytest.param(_before("runbook: ASR-AddPublicIp", "when:"), 7, "when: is empty; list the operations",
                     id="when-empty"),
        pytest.param(_before("runbook: ASR-AddPublicIp", "when: []"), 7, "must list at least one operation",
                     id="when-empty-list"),
        pytest.param(_before("runbook: ASR-AddPublicIp", "when: [commit, commit]"), 7, "lists commit twice",
                     id="when-twice"),
        pytest.param("groups:\n  - name: a\n    machines: [erp-sql01, erp-app01, erp-sql01]\n", 4,
                     "'erp-sql01' is listed twice in group 'a'", id="machine-twice-in-a-group"),
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


def test_a_script_linked_out_of_runbooks_actions_is_refused(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "project"
    actions = project / "runbooks" / "actions"
    actions.mkdir(parents=True)
    for entry in ("Pulumi.yaml", "stacks"):
        (project / entry).symlink_to(PROJECT / entry)
    (actions / "evil.py").symlink_to("/etc/passwd")
    (actions / "gone.py").symlink_to(actions / "deleted.py")
    (actions / "pkg.py").mkdir()
    (actions / "ok.py").write_text("print('ok')\n")
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(project))
    for script, message in (("evil.py", "is a link to /etc/passwd, outside runbooks/actions/; copy the script into"),
                            ("gone.py", "script runbooks/actions/gone.py does not exist"),
                            ("pkg.py", "script runbooks/actions/pkg.py is not a file")):
        path = write_plan(tmp_path, _before(f"script: runbooks/actions/{script}"))
        result = cli("plan", "validate", str(path), "--stack", "dev")
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
        assert "bad.yaml:6:" in result.stderr and message in result.stderr, result.stderr
    result = cli("plan", "validate", str(write_plan(tmp_path, _before("script: runbooks/actions/ok.py"))), "--stack", "dev")
    assert result.exit_code == 0, result.stderr


# ---------------------------------------------------------------------------------------------------------------
# --json and plain output (issue 15)


def test_validate_json_for_a_valid_plan(cli):
    result = cli("plan", "validate", "erp", "--stack", "dev", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc == {"plan": "erp", "stack": "dev", "file": "runbooks/plans/erp.yaml", "valid": True, "groups": 3,
                   "machines": 6, "sha256": hashlib.sha256((PROJECT / "runbooks/plans/erp.yaml").read_bytes()).hexdigest(),
                   "errors": []}


def test_validate_json_for_an_invalid_plan_still_exits_2_with_the_error_on_stderr(cli, tmp_path):
    result = cli("plan", "validate", "crm", "--stack", "dev", "--json")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "runbooks/plans/crm.yaml:7:" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["valid"] is False and doc["groups"] is None and doc["file"] == "runbooks/plans/crm.yaml"
    assert doc["errors"] == [{"file": "runbooks/plans/crm.yaml", "line": 7,
                              "message": "machine 'crm-db01' is not in stack dev"}]
    unknown = json.loads(cli("plan", "validate", "nope", "--stack", "dev", "--json").stdout)
    assert unknown["errors"][0]["file"] is None and unknown["errors"][0]["line"] is None
    assert "known plans: crm, erp, hr, portal" in unknown["errors"][0]["message"]
    bad_yaml = write_plan(tmp_path, "groups:\n  - name: [unclosed\n")
    [error] = json.loads(cli("plan", "validate", str(bad_yaml), "--stack", "dev", "--json").stdout)["errors"]
    assert error["file"].endswith("bad.yaml") and error["line"] == 4 and error["message"].startswith("invalid YAML")


def test_show_json_is_the_plan_as_data(cli):
    result = cli("plan", "show", "erp", "--stack", "dev", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["name"], doc["stack"], doc["file"]) == ("erp", "dev", "runbooks/plans/erp.yaml")
    assert doc["targets"] == {"rto_seconds": 1800, "rpo_seconds": 900}
    assert [(g["order"], g["name"]) for g in doc["groups"]] == [(1, "database"), (2, "application"), (3, "web")]
    database, _, web = doc["groups"]
    assert database["machines"][0] == {"name": "erp-sql01", "recovery_subnet": "db", "recovery_ip": "10.60.1.11",
                                       "test_failover_ip": "10.160.1.11"}
    [stop_batch] = database["before"]
    assert stop_batch["kind"] == "manual" and stop_batch["manual"].startswith("Stop the nightly batch jobs")
    assert stop_batch["when"] == stop_batch["operations"] == ["planned-failover", "failback"]
    assert (stop_batch["timeout_seconds"], stop_batch["timeout_is_default"]) == (7200, False)
    add_ip, dns, smoke = web["after"]
    assert add_ip == {"kind": "runbook", "runbook": "ASR-AddPublicIp", "parameters": {"nsg": "nsg-erp-web", "port": "443"},
                      "when": ["test-failover"], "operations": ["test-failover"], "timeout_seconds": 1800,
                      "timeout_is_default": True}
    assert dns["kind"] == "script" and dns["args"] == ["--zone", "erp.contoso.com", "--record", "www"]
    assert smoke["when"] is None
    assert smoke["operations"] == ["test-failover", "planned-failover", "unplanned-failover", "failback"]


def test_output_to_a_pipe_is_not_wrapped(cli, tmp_path):
    show = cli("plan", "show", "erp", "--stack", "dev").stdout.splitlines()
    assert any(line.endswith("after script: runbooks/actions/wait_for_port.py --port 1433 --timeout 300 — when: every "
                             "failover (test-failover, planned-failover, unplanned-failover, failback); timeout 10m")
               for line in show), show
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 4)
    deep.mkdir(parents=True)
    path = write_plan(deep, "groups:\n" + GOOD_GROUP, name="bad")
    path = path.rename(deep / "erp.yaml")
    path.write_text(path.read_text().replace("name: bad", "name: erp"))
    validate = cli("plan", "validate", str(path), "--stack", "dev")
    assert validate.exit_code == 0, validate.stderr
    assert validate.stdout == f"{path}: plan erp is valid for stack dev (1 group, 1 machine)\n"


def test_a_plan_naming_a_machine_of_another_plans_multi_vm_group_is_refused(cli, tmp_path: Path):
    # dev syncs multi-VM groups: erp-web01 fails over only with erp's web group, so no second plan may name it.
    plan = write_plan(tmp_path, "groups:\n  - name: one\n    machines: [erp-web01]\n", name="spare")
    result = cli("plan", "validate", str(plan), "--stack", "dev")
    assert result.exit_code == 2
    assert "spare.yaml:4:" in result.stderr and "machine 'erp-web01' is also in plan 'erp' (group 'web')" in result.stderr


def test_a_classic_failback_group_mixing_operating_systems_is_refused(cli, tmp_path: Path, monkeypatch):
    import shutil

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT / "Pulumi.yaml", project)
    for folder in ("stacks", "runbooks", "templates"):
        shutil.copytree(PROJECT / folder, project / folder)
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(project))
    classic = next(p for p in sorted((project / "stacks").glob("Pulumi.*.yaml"))
                   if "architecture: classic" in p.read_text() and "enabled: true" in p.read_text())
    stack = classic.stem.split(".", 1)[1]
    plan = write_plan(project / "runbooks" / "plans",
                      "groups:\n  - name: mixed\n    machines: [erp-sql01, erp-app01]\n", name="mixed")
    text = (project / "runbooks" / "plans" / "erp.yaml").read_text()
    (project / "runbooks" / "plans" / "erp.yaml").write_text(text.replace("erp-sql01, erp-sql02", "erp-sql02"))
    result = cli("plan", "validate", str(plan), "--stack", stack)
    assert result.exit_code == 2, result.stdout
    assert "mixed.yaml:4: group 'mixed' mixes operating systems (linux: erp-app01; windows: erp-sql01)" in \
        result.stderr and "split the group by OS" in result.stderr

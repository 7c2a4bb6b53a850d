"""The recovery plan contract (loader level): structure, ASR limits, stack membership, file:line in every error."""

from __future__ import annotations

from pathlib import Path

import pytest

from asrctl.config import load_stack
from asrctl.errors import BadInput
from asrctl.plans import FAILOVER_OPERATIONS, load_plan, load_plans_for_stack, parse_duration


@pytest.fixture(scope="module")
def prod():
    return load_stack("prod")


def _write(tmp_path: Path, text: str, name: str = "erp") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


BASE = """\
name: erp
groups:
  - name: database
    machines: [erp-sql01, erp-sql02]
  - name: web
    machines: [erp-web01]
    after:
      - manual: Check the site
        timeout: 1h
"""


def test_sample_plans_cover_every_prod_machine_once(prod) -> None:
    plans = load_plans_for_stack(prod, "prod")
    assert sorted(p.name for p in plans) == ["crm", "erp", "hr", "portal"]
    covered = [m for p in plans for m in p.machines]
    assert sorted(covered) == sorted(m.name for m in prod.machines)


def test_dev_only_gets_the_plans_for_its_machines() -> None:
    assert [p.name for p in load_plans_for_stack(load_stack("dev"), "dev")] == ["erp"]


def test_group_machine_and_action_order_is_preserved(prod) -> None:
    plan = load_plan("erp", prod, "prod")
    assert [g.name for g in plan.groups] == ["database", "application", "web"]
    web = plan.groups[2]
    assert [a.kind for a in web.after] == ["runbook", "script", "manual"]
    assert web.after[0].when == ("test-failover",)
    assert web.after[2].runs_for("test-failover") and not web.after[2].runs_for("commit")
    assert set(FAILOVER_OPERATIONS) == {"test-failover", "planned-failover", "unplanned-failover", "failback"}
    assert plan.targets.rto == 1800 and plan.targets.rpo == 900
    assert len(plan.sha256) == 64


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (BASE.replace("erp-web01", "erp-web09"), 6, "machine 'erp-web09' is not in stack prod"),
        (BASE.replace("machines: [erp-web01]", "machines: [erp-sql01]"), 6, "already in group 'database'"),
        (BASE.replace("timeout: 1h", "timeout: soon"), 9, "'soon' is not a duration"),
        (BASE.replace("timeout: 1h", "timeout: 0s"), 9, "must be a positive duration"),
        (BASE.replace("timeout: 1h", "when: [failover]"), 9, "input should be 'test-failover'"),
        (BASE.replace("- manual: Check the site", "- script: runbooks/actions/nope.py"), 8, "script runbooks/actions/nope.py does not exist"),
        (BASE.replace("- manual: Check the site", "- reboot: now"), 8, "exactly one of manual:, script: or runbook:"),
        (BASE.replace("name: erp", "name: ERP!"), 1, "must be lowercase"),
        (BASE.replace("  - name: web", "  - name: database"), 5, "group name 'database' is used twice"),
        (BASE + "  - name: x\n    machines: [\n", 12, "invalid YAML"),
    ],
)
def test_bad_plans_name_file_line_and_problem(tmp_path: Path, prod, text: str, line: int, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(BadInput) as info:
        load_plan(str(path), prod, "prod")
    message = str(info.value)
    assert f"erp.yaml:{line}:" in message, message
    assert fragment in message, message
    assert "\n" not in message


def test_asr_limits_seven_groups_and_hundred_machines(tmp_path: Path, prod) -> None:
    names = [m.name for m in prod.machines]
    eight = "name: erp\ngroups:\n" + "".join(f"  - name: g{i}\n    machines: [{names[i]}]\n" for i in range(8))
    with pytest.raises(BadInput, match=r"erp\.yaml:\d+: 8 groups exceed ASR's limit of 7"):
        load_plan(str(_write(tmp_path, eight)), prod, "prod")


def test_more_than_hundred_machines_is_refused(tmp_path: Path) -> None:
    from asrctl.config import StackConfig

    base = load_stack("prod")
    template = base.machines[2]
    machines = [
        template.model_copy(update={"name": f"m{i:03d}", "ip": f"172.20.{i // 250}.{i % 250 + 1}",
                                    "recovery_ip": f"10.70.2.{i % 250 + 1}"})
        for i in range(101)
    ]
    big = StackConfig.model_construct(**{**dict(base), "machines": machines})
    text = "name: big\ngroups:\n  - name: all\n    machines: [" + ", ".join(m.name for m in machines) + "]\n"
    with pytest.raises(BadInput, match=r"101 machines exceed ASR's limit of 100 per recovery plan"):
        load_plan(str(_write(tmp_path, text, "big")), big, "big")


def test_plan_name_must_match_file_name(tmp_path: Path, prod) -> None:
    with pytest.raises(BadInput, match=r"other\.yaml:1: plan name 'erp' must match its file name \(other\)"):
        load_plan(str(_write(tmp_path, BASE, "other")), prod, "prod")


def test_unknown_plan_lists_known_plans(prod) -> None:
    with pytest.raises(BadInput, match=r"plan 'nope': .* \(known plans: crm, erp, hr, portal\)"):
        load_plan("nope", prod, "prod")


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), (45, 45)])
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds

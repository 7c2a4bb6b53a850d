"""The Mobility playbook passes ansible-lint's production profile and the syntax check (Linux and Windows tasks)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if not found:
            pytest.fail(f"{name} is missing: install requirements-dev.txt into the venv (make venv)")
        return found
    return str(path)


@pytest.mark.slow
def test_ansible_lint_production_profile_passes_on_playbooks():
    proc = subprocess.run(
        [_tool("ansible-lint"), "--profile", "production", "--nocolor", "playbooks/"],
        cwd=PROJECT, capture_output=True, text=True, timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "0 failure(s), 0 warning(s)" in output, output
    assert "Profile 'production' was required, and it passed" in output, output


@pytest.mark.slow
def test_linux_and_windows_tasks_pass_the_syntax_check():
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1", "HOME": str(Path.home())}
    for playbook in ("playbooks/mobility.yml", "playbooks/mobility_classic.yml", "tests/fixtures/mobility/syntax_check.yml"):
        proc = subprocess.run(
            [_tool("ansible-playbook"), "--syntax-check", "-i", "localhost,", playbook],
            cwd=PROJECT, capture_output=True, text=True, timeout=300, env=env,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_syntax_check_catches_an_unknown_module(tmp_path: Path):
    """Guards the test above: a broken Windows task file must fail the syntax check."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "- name: Broken\n  hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Use a module that does not exist\n      ansible.windows.win_no_such_module: {}\n"
    )
    proc = subprocess.run(
        [_tool("ansible-playbook"), "--syntax-check", "-i", "localhost,", str(broken)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0

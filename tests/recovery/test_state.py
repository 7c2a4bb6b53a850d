"""State under $ASRCTL_HOME that is damaged or unusable: one line naming the file and the fix, exit 2, no traceback.

The disk-full and read-only cases use real file systems (a 256 KiB tmpfs, a read-only bind mount), which needs root —
as this project's machines and CI run; as another user the test says so instead of passing silently.
"""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from recovery.conftest import PROJECT


def one_line_exit_2(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def journal_with_a_run(cli, _isolated_home: Path) -> Path:
    assert cli("drill", "erp", "--stack", "dev", "--auto-approve").exit_code == 0
    return _isolated_home / "journal.db"


def _drop_wal(db: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def test_a_zero_byte_journal_is_reported_as_having_lost_its_runs(cli, journal_with_a_run: Path):
    _drop_wal(journal_with_a_run)
    journal_with_a_run.write_bytes(b"")
    one_line_exit_2(cli("runs", "list"), "journal.db: lost its runs", "restore it from a backup")
    one_line_exit_2(cli("drill", "erp", "--stack", "dev", "--auto-approve"), "lost its runs")


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + b"\x07" * 300, os.urandom(4096)],
                         ids=["truncated", "garbage"])
def test_a_damaged_journal_names_the_file_and_how_to_move_it_aside(cli, journal_with_a_run: Path, content: bytes):
    _drop_wal(journal_with_a_run)
    journal_with_a_run.write_bytes(content)
    for args in (("runs", "list"), ("runs", "show", "x"), ("drill", "erp", "--stack", "dev")):
        one_line_exit_2(cli(*args), "journal.db: it is damaged", f"mv {journal_with_a_run}")


def test_an_older_journal_schema_is_refused_with_the_fix(cli, _isolated_home: Path):
    import sqlite3

    _isolated_home.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(_isolated_home / "journal.db")
    db.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY)")
    db.commit()
    db.close()
    one_line_exit_2(cli("runs", "list"), "written by an older asrctl", "move it aside")


def test_asrctl_home_that_is_a_file_is_bad_input(cli, tmp_path: Path, monkeypatch):
    home = tmp_path / "home-file"
    home.write_text("not a directory")
    monkeypatch.setenv("ASRCTL_HOME", str(home))
    for args in (("runs", "list"), ("drill", "erp", "--stack", "dev", "--auto-approve")):
        one_line_exit_2(cli(*args), f"ASRCTL_HOME={home} is a file, not a directory")


def _root_needed() -> None:
    if os.geteuid() != 0:
        pytest.fail("this test mounts a small tmpfs / a read-only bind mount: run the suite as root (as CI does)")


@contextmanager
def mounted(*args: str, target: Path):
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", *args, str(target)], check=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_read_only_asrctl_home_is_bad_input(cli, tmp_path: Path, monkeypatch):
    _root_needed()
    source = tmp_path / "src"
    source.mkdir()
    with mounted("--bind", str(source), target=tmp_path / "ro"):
        subprocess.run(["mount", "-o", "remount,ro,bind", str(tmp_path / "ro")], check=True)
        monkeypatch.setenv("ASRCTL_HOME", str(tmp_path / "ro"))
        one_line_exit_2(cli("runs", "list"), "is not writable")


def test_a_read_only_journal_is_bad_input_naming_it(cli, journal_with_a_run: Path, tmp_path: Path, monkeypatch):
    _root_needed()
    home = journal_with_a_run.parent
    with mounted("--bind", str(home), target=tmp_path / "ro-home"):
        subprocess.run(["mount", "-o", "remount,ro,bind", str(tmp_path / "ro-home")], check=True)
        monkeypatch.setenv("ASRCTL_HOME", str(tmp_path / "ro-home"))
        result = cli("drill", "erp", "--stack", "dev", "--auto-approve")
        assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr
        assert "not writable" in result.stderr or "read-only" in result.stderr


def _fill(disk: Path, leave: int) -> Path:
    """Fill the file system at ``disk``, then give back ``leave`` bytes."""
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_a_full_disk_under_a_run_is_bad_input_and_the_run_stays_resumable(cli, tmp_path: Path, monkeypatch):
    _root_needed()
    with mounted("-t", "tmpfs", "-o", "size=8m", "tmpfs", target=tmp_path / "small") as small:
        monkeypatch.setenv("ASRCTL_HOME", str(small))
        assert cli("sim", "show", "--stack", "prod").exit_code == 0  # the world exists
        assert cli("runs", "list").exit_code == 0  # and the journal
        filler = _fill(small, leave=48 * 1024)
        result = cli("drill", "portal", "--stack", "prod", "--auto-approve")
        assert result.exit_code == 2, result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and "the disk is full: free space on it and resume the run" in last
        assert "Traceback" not in result.stderr
        filler.unlink()
        runs = json.loads(cli("runs", "list", "--json").stdout)["runs"]
        if runs:  # the disk filled after the run was recorded: it resumes where the journal last saw it
            assert len(runs) == 1 and runs[0]["status"] in ("pending", "running")
            resumed = cli("runs", "resume", runs[0]["run_id"])
            assert resumed.exit_code == 0, resumed.stderr
        else:  # it filled before: nothing was recorded, nothing was sent, and the drill simply runs now
            assert cli("drill", "portal", "--stack", "prod", "--auto-approve").exit_code == 0
        world = json.loads(cli("sim", "show", "--stack", "prod", "--json").stdout)["machines"]
        for m in world:
            if m["name"].startswith("portal-") or m["operations"]:
                assert [o["name"] for o in m["operations"]] == ["test-failover", "cleanup-test-failover"], m


def test_state_lives_at_the_project_root_wherever_you_stand(tmp_path: Path):
    """With ASRCTL_HOME unset, a run started from the project root is found from runbooks/, and guarded there."""
    import shutil
    import sys

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT / "Pulumi.yaml", project)
    for folder in ("stacks", "runbooks", "templates"):
        shutil.copytree(PROJECT / folder, project / folder)
    env = {k: v for k, v in os.environ.items() if k not in ("ASRCTL_HOME", "ASRCTL_PROJECT_DIR")}
    env["ASRCTL_SIM_SPEED"] = "100000"

    def asrctl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "asrctl", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=120)

    paused = asrctl(project, "drill", "erp", "--stack", "prod")
    assert paused.returncode == 3, paused.stderr
    assert (project / ".asrctl" / "journal.db").is_file()
    from_subdir = asrctl(project / "runbooks", "runs", "list", "--json")
    assert [r["status"] for r in json.loads(from_subdir.stdout)["runs"]] == ["paused"]
    again = asrctl(project / "runbooks" / "plans", "drill", "erp", "--stack", "prod")
    assert again.returncode == 2 and "already has an active run" in again.stderr
    assert not (project / "runbooks" / ".asrctl").exists()


def test_processes_opening_a_new_journal_at_once_all_see_a_whole_one(tmp_path: Path):
    """The schema, its version and the journal's identity are created in one exclusive transaction."""
    import sys

    env = {**os.environ, "ASRCTL_HOME": str(tmp_path / "fresh")}
    procs = [subprocess.Popen([sys.executable, "-m", "asrctl", "runs", "list", "--json"], env=env, cwd=PROJECT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(12)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert [r for r in results if r[0] != 0] == []
    assert (tmp_path / "fresh" / "journal.id").read_text().strip()

"""The CLI's outer contract: usage errors are exit 2 without a traceback; --help starts without heavy imports."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "args",
    [
        ("policy", "check", "--stack", "dev", "--bogus"),
        ("drill",),
        ("preview",),
        ("nosuchcommand",),
    ],
)
def test_usage_errors_exit_2_without_traceback(cli, args) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result
    assert "Traceback" not in result.stderr
    assert "Error:" in result.stderr


def test_unknown_stack_is_one_line_exit_2(cli) -> None:
    result = cli("plan", "validate", "erp", "--stack", "nope")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --stack nope: unknown stack, no stacks/Pulumi.nope.yaml (known stacks: dev, legacy, prod)"
    ]


def test_version(cli) -> None:
    from asrctl import __version__

    assert cli("--version").stdout.strip() == f"asrctl {__version__}"


def test_help_imports_no_heavy_package() -> None:
    """`asrctl --help` must stay instant: Pulumi, the Azure SDK and ansible-runner load only inside commands."""
    code = (
        "import sys; from asrctl.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'pulumi', 'pulumi_azure_native', 'pulumi_vsphere', 'pulumi_policy', 'azure', 'ansible_runner', 'ansible'})\n"
        "print('HEAVY:' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:", f"heavy modules imported by --help: {out.stdout[-300:]}"
    assert "Commands" in out.stdout


def _commands(command, prefix=()):
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield (*prefix, name)
        yield from _commands(sub, (*prefix, name))


def test_help_of_every_command_reads_without_type_placeholders(cli):
    import typer

    from asrctl.cli import app

    for path in [(), *_commands(typer.main.get_command(app))]:
        result = cli(*path, "--help")
        assert result.exit_code == 0, (path, result.stderr)
        for placeholder in ("<bool>", "<str>", "<int>", "<float>", "<path>"):
            assert placeholder not in result.stdout, (path, placeholder)
        assert not re.search(r"\{[A-Z_]+\}", result.stdout), path  # usage lines name arguments plainly


@pytest.mark.parametrize(
    ("args", "module", "what"),
    [
        (("runs", "list", "--engine", "temporal"), "client", "--engine temporal"),
        (("drill", "erp", "--stack", "dev", "--engine", "temporal"), "client", "--engine temporal"),
        (("schedule", "list"), "schedules", "asrctl schedule"),
        (("worker",), "worker", "asrctl worker"),
    ],
)
def test_team_mode_missing_is_one_line_exit_2(cli, monkeypatch, args, module, what) -> None:
    # An installation without temporalio (or with a broken one): the import fails; the command says so in one line.
    monkeypatch.setitem(sys.modules, f"asrctl.recovery.temporal.{module}", None)
    result = cli(*args)
    assert result.exit_code == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {what}: team mode is not available in this installation")
    assert "Traceback" not in result.stderr and result.stdout == ""

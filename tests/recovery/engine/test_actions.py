"""Script actions: the run context they receive, timeouts and failures; the sample scripts do real work."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[3]
ACTIONS = PROJECT / "runbooks" / "actions"


def context(machines: list[dict], **extra) -> dict:
    return {"plan": "erp", "operation": "planned-failover", "direction": "primary-to-recovery", "group": "web",
            "machines": machines, **extra}


def run_script(name: str, args: list[str], ctx: dict, **env: str) -> subprocess.CompletedProcess:
    payload = json.dumps(ctx)
    return subprocess.run([sys.executable, str(ACTIONS / name), *args], input=payload, capture_output=True, text=True,
                          env={**os.environ, "ASRCTL_CONTEXT": payload, **env}, timeout=60)


@pytest.fixture
def listening_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_wait_for_port_succeeds_when_every_machine_answers(listening_port):
    ctx = context([{"name": "web01", "recovery_ip": "10.60.3.31"}, {"name": "web02", "recovery_ip": "10.60.3.32"}])
    result = run_script("wait_for_port.py", ["--port", str(listening_port), "--timeout", "5"], ctx,
                        ASRCTL_PROBE_HOST="127.0.0.1")
    assert result.returncode == 0, result.stderr
    assert f"web01: 127.0.0.1:{listening_port} accepts connections" in result.stdout


def test_wait_for_port_uses_the_simulators_endpoint_and_fails_at_timeout(listening_port):
    down = closed_port()
    ctx = context([{"name": "up", "recovery_ip": "10.0.0.1", "endpoint": f"127.0.0.1:{listening_port}"},
                   {"name": "down", "recovery_ip": "10.0.0.2", "endpoint": f"127.0.0.1:{down}"}])
    result = run_script("wait_for_port.py", ["--port", "1433", "--timeout", "0.5", "--interval", "0.1"], ctx)
    assert result.returncode == 1
    assert f"down: 127.0.0.1:{down} not reachable after 0.5s" in result.stderr
    assert "up: " in result.stdout and "up:" not in result.stderr


def test_switch_dns_sets_the_record_in_the_file_zone(tmp_path):
    ctx = context([{"name": "web01", "recovery_ip": "10.60.3.31"}, {"name": "web02", "recovery_ip": "10.60.3.32"}],
                  dns={"provider": "file", "zone_dir": str(tmp_path)})
    first = run_script("switch_dns.py", ["--zone", "erp.contoso.com", "--record", "www"], ctx)
    assert first.returncode == 0, first.stderr
    zone = json.loads((tmp_path / "erp.contoso.com.json").read_text())
    assert zone["records"]["www"] == {"type": "A", "ttl": 60, "values": ["10.60.3.31", "10.60.3.32"]}
    back = context([{"name": "web01", "recovery_ip": "10.20.3.31"}], operation="failback",
                   dns={"provider": "file", "zone_dir": str(tmp_path)})
    second = run_script("switch_dns.py", ["--zone", "erp.contoso.com", "--record", "www"], back)
    assert second.returncode == 0 and "was {'type': 'A'" in second.stdout
    assert json.loads((tmp_path / "erp.contoso.com.json").read_text())["records"]["www"]["values"] == ["10.20.3.31"]


def test_scripts_reject_a_missing_context():
    result = subprocess.run([sys.executable, str(ACTIONS / "switch_dns.py"), "--zone", "z", "--record", "r"],
                            input="", capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "ASRCTL_CONTEXT"}, timeout=60)
    assert result.returncode != 0 and "no run context" in result.stderr


def write_plan(project: Path, script_body: str, timeout: str = "1m") -> None:
    # The probe plan reuses erp's web machines: without multi-VM sync, so each plan may group them its own way.
    stack = project / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("multiVmSync: true", "multiVmSync: false"))
    (project / "runbooks" / "actions" / "probe.py").write_text(script_body)
    (project / "runbooks" / "plans" / "probe.yaml").write_text(
        "name: probe\ngroups:\n  - name: web\n    machines: [erp-web01, erp-web02]\n    after:\n"
        f"      - script: runbooks/actions/probe.py\n        args: [--flag, x]\n        timeout: {timeout}\n"
    )


def test_script_receives_the_run_context_on_stdin_and_in_the_environment(cli, project_copy, tmp_path, monkeypatch):
    out = tmp_path / "seen.json"
    write_plan(project_copy, "import json, os, sys\n"
               f"json.dump({{'stdin': json.load(sys.stdin), 'env': json.loads(os.environ['ASRCTL_CONTEXT']),"
               f" 'argv': sys.argv[1:], 'environ': sorted(os.environ)}}, open({str(out)!r}, 'w'))\n")
    monkeypatch.setenv("ASRCTL_CS_PASSPHRASE", "never-show-me")
    result = cli("drill", "probe", "--stack", "dev", "--no-cleanup", "--skip-readiness")
    assert result.exit_code == 0, result.stderr
    seen = json.loads(out.read_text())
    assert seen["stdin"] == seen["env"] and seen["argv"] == ["--flag", "x"]
    assert "ASRCTL_CS_PASSPHRASE" not in seen["environ"] and "never-show-me" not in out.read_text()
    ctx = seen["stdin"]
    assert (ctx["plan"], ctx["operation"], ctx["direction"], ctx["group"], ctx["stack"]) == (
        "probe", "test-failover", "primary-to-recovery", "web", "dev")
    assert [(m["name"], m["recovery_ip"]) for m in ctx["machines"]] == [("erp-web01", "10.160.3.31"),
                                                                        ("erp-web02", "10.160.3.32")]
    assert all(m["endpoint"].startswith("127.0.0.1:") for m in ctx["machines"])
    assert ctx["dns"]["provider"] == "file"


def test_failing_script_fails_the_step_with_its_stderr(cli, project_copy):
    write_plan(project_copy, "import sys\nprint('checked 2 hosts')\nsys.exit('db not answering on 1433')\n")
    result = cli("drill", "probe", "--stack", "dev", "--skip-readiness")
    assert result.exit_code == 1
    run = json.loads(cli("runs", "show", json.loads(cli("runs", "list", "--json").stdout)["runs"][-1]["run_id"],
                         "--json").stdout)
    action = run["groups"][0]["actions"][0]
    assert action["status"] == "failed" and action["output"].strip() == "checked 2 hosts"
    assert action["error"] == "script runbooks/actions/probe.py exited 1: db not answering on 1433"


def test_script_timeout_is_enforced(cli, project_copy):
    write_plan(project_copy, "import time\ntime.sleep(30)\n", timeout="1s")
    result = cli("drill", "probe", "--stack", "dev", "--skip-readiness")
    assert result.exit_code == 1
    assert "script runbooks/actions/probe.py timed out after 1s" in result.stderr

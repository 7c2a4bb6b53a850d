"""No credential reaches ansible-runner's files, a child process's environment or any command line (issue 11).

The labs run with distinctive values in ASRCTL_ARM_TOKEN, AZURE_CLIENT_SECRET, every stack secret's variable and a
credential-like name of another tool; the fake installers and configurators dump the environment they inherited.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.mobility.lab import CLIENT_CERTIFICATE
from mobility_labs import CREDENTIALS, PASSPHRASE

pytestmark = pytest.mark.slow


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("lab_name", ["modern_lab", "classic_lab"])
def test_no_credential_or_registration_secret_is_left_in_any_file(request, lab_name):
    lab = request.getfixturevalue(lab_name)
    needles = [PASSPHRASE, CLIENT_CERTIFICATE, *CREDENTIALS.values()]
    # The simulated appliance's own settings hold the certificate it hands out: input of the simulation, not output.
    files = [p for p in _files(lab["base"]) if p.parts[-3:-1] != ("ra01", ".fake") or p.name != "host.json"]
    runs = sorted((lab["home"] / "mobility").glob("run-*"))
    assert len(runs) == 3, runs
    names = {p.name for p in files}
    assert "command" in names and any("job_events" in str(p) for p in files), "no runner artifacts to inspect"
    assert any(p.parent.name == "fact_cache" for p in files) or any("fact_cache" in str(p) for p in files)
    leaks = [f"{p}: {n[:12]}" for p in files for n in needles if n.encode() in p.read_bytes()]
    assert leaks == []
    for run_dir in runs:
        assert not (run_dir / "env").exists() or not any((run_dir / "env").iterdir()), "runner wrote env files"
        assert not (run_dir / "tmp").exists(), "Ansible's local temp dir was left behind"


@pytest.mark.parametrize("lab_name", ["modern_lab", "classic_lab"])
def test_ansible_and_the_installers_get_an_environment_without_credentials(request, lab_name):
    lab = request.getfixturevalue(lab_name)
    for run_dir in sorted((lab["home"] / "mobility").glob("run-*")):
        (artifact,) = (run_dir / "artifacts").iterdir()
        env = json.loads((artifact / "command").read_text())["env"]
        assert not set(CREDENTIALS) & set(env), set(CREDENTIALS) & set(env)
        assert "ASRCTL_CS_PASSPHRASE" not in env
    dumps = [p for p in _files(lab["base"] / "hosts") if p.suffix == ".env"]
    assert any(p.name == "install.env" for p in dumps) and any("UnifiedAgent" in p.name for p in dumps), dumps
    for dump in dumps:
        names = {line.split("=", 1)[0] for line in dump.read_text().splitlines()}
        assert not (set(CREDENTIALS) | {"ASRCTL_CS_PASSPHRASE"}) & names, dump


@pytest.mark.parametrize("lab_name", ["modern_lab", "classic_lab"])
def test_no_secret_in_any_process_while_the_run_goes(request, lab_name):
    lab = request.getfixturevalue(lab_name)
    spy = lab["spy"]
    assert spy["spy_samples"] > 5, "the process spy barely ran"
    assert spy["spy_hits"] == []
    for run in (lab["check"], lab["converge"], lab["idempotence"]):
        for needle in (PASSPHRASE, CLIENT_CERTIFICATE, *CREDENTIALS.values()):
            assert needle not in run.stdout and needle not in run.stderr


def test_the_classic_passphrase_reaches_linux_guests_only_in_their_private_file(classic_lab):
    """Files Ansible transfers to a Linux guest never carry it (the role pipes it into a 0600 file); on Windows it is
    staged only by win_copy in Ansible's own remote temp dir before it lands in the private file."""
    transfers = [json.loads(line) for line in (classic_lab["base"] / "transfers.jsonl").read_text().splitlines()]
    assert transfers
    assert [t["out_path"] for t in transfers if t["carries_secret"] and not t.get("windows")] == []
    windows = [t["out_path"] for t in transfers if t["carries_secret"] and t.get("windows")]
    assert windows and all(p.startswith(r"C:\Windows\Temp\ansible-tmp-") and p.endswith("source") for p in windows), windows

"""The fake Microsoft tools are as strict as the real ones (REFERENCE-modernized 1.3/1.5, REFERENCE 4): the role's
command lines are only proven right if wrong ones fail here the way they would on a real machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.mobility.lab import (
    CURRENT_VERSION,
    FakeAppliance,
    FakeHost,
    Preinstalled,
    prepare_appliance,
    prepare_host,
)

TOOLS = Path(__file__).resolve().parents[1] / "fixtures" / "mobility" / "fake_windows" / "tools.py"


@pytest.fixture
def linux_agent(tmp_path):
    """A Linux host with a CSPrime agent installed, not configured; returns a runner of its configurator."""
    host = FakeHost("vm1", preinstalled=Preinstalled(CURRENT_VERSION, False, "CSPrime"))
    prepare_host(tmp_path, host)
    configurator = host.install_dir(tmp_path) / "Vx" / "bin" / "UnifiedAgentConfigurator.sh"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"BiosId": host.bios_id(), "ClientCertificate": "x",
                                  "RcmProxyTransportSettings": {"IpAddresses": ["10.0.0.5"]}}))
    return lambda *args: subprocess.run([str(configurator), *args], capture_output=True, text=True).returncode, config


def test_linux_configurator_registers_with_the_documented_command_line(linux_agent):
    run, config = linux_agent
    assert run("-S", str(config), "-q", "-D", "true", "-c", "CSPrime") == 0


def test_a_bare_D_eats_the_next_flag_and_fails(linux_agent):
    run, config = linux_agent
    assert run("-S", str(config), "-q", "-D", "-c", "CSPrime") == 96  # -D took "-c"; Microsoft's script has this bug


def test_a_missing_c_means_classic_and_fails_for_a_modernized_registration(linux_agent, tmp_path):
    run, config = linux_agent
    assert run("-S", str(config), "-q", "-D", "true") == 96  # CSLegacy needs -i and -P
    passphrase = tmp_path / "p"
    passphrase.write_text("x")
    assert run("-i", "10.0.0.5", "-P", str(passphrase)) == 1  # a CSPrime agent cannot register with a CS


def test_unknown_or_valueless_configurator_options_exit_96(linux_agent):
    run, config = linux_agent
    assert run("-S", str(config), "-q", "-Z", "-c", "CSPrime") == 96
    assert run("-q", "-c") == 96


def test_a_configuration_file_made_for_another_machine_is_refused(linux_agent, tmp_path):
    run, config = linux_agent
    data = json.loads(config.read_text())
    config.write_text(json.dumps({**data, "BiosId": "someone-else"}))
    assert run("-S", str(config), "-q", "-D", "true", "-c", "CSPrime") == 118


def _install(tmp_path: Path, host: FakeHost, *args: str) -> int:
    import tarfile

    from fixtures.mobility.lab import build_installer

    tarball = build_installer(tmp_path / "installers", CURRENT_VERSION, "RHEL8-64")
    work = tmp_path / "work" / host.name
    work.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(work, filter="data")
    return subprocess.run(["./install", *args], cwd=work, capture_output=True, text=True).returncode


@pytest.mark.parametrize(
    ("args", "rc"),
    [
        (["-q", "-r", "MS", "-v", "VmWare", "-c", "CSPrime"], 0),
        (["-q", "-r", "MS", "-v", "VmWare", "-c", "CSPrime", "--force"], 3),
        (["-r", "MS", "-v", "VmWare", "-c", "CSPrime"], 3),  # no -q: interactive
        (["-q", "-r", "MS", "-v", "VmWare", "-c", "CSFuture"], 3),
        (["-q", "-r", "MS", "-v", "-c", "CSPrime"], 3),  # -v without its value
    ],
)
def test_linux_installer_command_line(tmp_path, args, rc):
    host = FakeHost("vm1")
    prepare_host(tmp_path, host)
    assert _install(tmp_path, host, *args, "-d", str(host.install_dir(tmp_path))) == rc


def test_linux_upgrade_across_architectures_fails(tmp_path):
    host = FakeHost("vm1", preinstalled=Preinstalled("9.50.0.0", True, "CSLegacy", "10.0.0.9"))
    prepare_host(tmp_path, host)
    assert _install(tmp_path, host, "-q", "-r", "MS", "-v", "VmWare", "-c", "CSPrime", "-a", "Upgrade",
                    "-d", str(host.install_dir(tmp_path))) == 1


def _windows_tool(root: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOLS), name, CURRENT_VERSION, *args], capture_output=True, text=True,
                          env={**os.environ, "FAKE_WIN_ROOT": str(root)})


def test_windows_installer_and_configurator_are_strict(tmp_path):
    host = FakeHost("w1", os="windows")
    prepare_host(tmp_path, host)
    root = host.root(tmp_path)
    location = r"C:\Program Files (x86)\Microsoft Azure Site Recovery"
    assert _windows_tool(root, "UnifiedAgentInstaller", "/Role", "MS", "/Platform", "VmWare", "/Silent",
                         "/InstallLocation", location, "/Reboot").returncode == 3
    assert _windows_tool(root, "UnifiedAgentInstaller", "/Role", "MS", "/Platform", "VmWare",
                         "/InstallLocation", location).returncode == 3  # not silent
    done = _windows_tool(root, "UnifiedAgentInstaller", "/Role", "MS", "/Platform", "vmware", "/Silent",
                         "/InstallLocation", location)
    assert done.returncode == 0 and "Agent Config Input: " in done.stdout  # /CSType defaults to CSPrime
    config = host.win(tmp_path).path(r"C:\Windows\Temp\config.json")
    config.write_text(json.dumps({"BiosId": host.bios_id(), "ClientCertificate": "x",
                                  "RcmProxyTransportSettings": {"IpAddresses": ["10.0.0.5"]}}))
    # no /CSType: CSLegacy, which does not take a source configuration file
    assert _windows_tool(root, "UnifiedAgentConfigurator", "/SourceConfigFilePath", r"C:\Windows\Temp\config.json").returncode == 3
    assert _windows_tool(root, "UnifiedAgentConfigurator", "/SourceConfigFilePath", r"C:\Windows\Temp\config.json",
                         "/CredentialLessDiscovery", "true", "/CSType", "CSPrime").returncode == 0


def test_appliance_rcm_proxy_agent_is_strict(tmp_path):
    appliance = FakeAppliance("ra")
    prepare_appliance(tmp_path, appliance)
    root = appliance.root(tmp_path)
    import base64
    import uuid

    encoded = base64.b64encode(json.dumps({"BiosId": "b1"}).encode()).decode()
    guid = str(uuid.uuid4())
    out = r"C:\Windows\Temp\vm.json"
    ok = ["-createmobilityagentconfigfile", "-encodedinput", encoded, "-outputfilepath", out, "-clientrequestid", guid,
          "-activityid", guid]
    assert _windows_tool(root, "RcmProxyAgent", *ok[:-2]).returncode == 2  # no -activityid
    assert _windows_tool(root, "RcmProxyAgent", *ok[:-1], "not-a-guid").returncode == 130
    assert _windows_tool(root, "RcmProxyAgent", *ok).returncode == 0
    made = json.loads(appliance.win(tmp_path).path(out).read_text())
    assert made["BiosId"] == "b1" and made["RcmProxyTransportSettings"]["IpAddresses"] == [appliance.ip]

"""Real ansible-playbook runs through `asrctl mobility deploy` against simulated Linux and Windows hosts and a
simulated replication appliance: check mode → converge → idempotence → verify the hosts' real state, for the
modernized architecture (CSPrime, configuration file from the appliance) and the classic one (CSLegacy, passphrase).
The labs are built in conftest.py; secrets are checked in test_mobility_secrets.py."""

from __future__ import annotations

import hashlib
import json

import pytest
from fixtures.mobility.lab import CLIENT_CERTIFICATE, PRODUCT_KEY
from mobility_labs import CLASSIC_SUCCEEDING, MODERNIZED_SUCCEEDING, PASSPHRASE

pytestmark = pytest.mark.slow


def _argv(lab, name: str) -> list[str]:
    return lab["hosts"][name].argv_log(lab["base"])


# --- modernized -------------------------------------------------------------------------------------------------------

def test_modernized_check_mode_changes_nothing_and_reports_the_plan(modern_lab):
    assert modern_lab["check_changed_files"] == [], "check mode changed files on a host or the appliance"
    hosts = modern_lab["check"].hosts
    assert hosts["m-fresh-rhel"]["status"] == "installed"
    assert hosts["m-fresh-rhel"]["message"] == "check mode: would install 9.60.0.0 and register with replication appliance 127.0.0.1"
    assert (hosts["m-old"]["status"], hosts["w-old"]["status"]) == ("upgraded", "upgraded")
    assert (hosts["m-unconfigured"]["status"], hosts["w-unconfigured"]["status"]) == ("registered", "registered")
    assert hosts["w-fresh"]["status"] == "installed"
    assert modern_lab["check"].rc == 1  # the preflight failures are real in check mode too


def test_modernized_linux_install_registers_with_the_appliance(modern_lab):
    base, host = modern_lab["base"], modern_lab["hosts"]["m-fresh-rhel"]
    assert modern_lab["converge"].hosts["m-fresh-rhel"] == {
        "name": "m-fresh-rhel", "status": "installed", "changed": True, "reboot_required": False,
        "message": "installed 9.60.0.0 and registered with replication appliance 127.0.0.1",
    }
    install, config_input, configure = _argv(modern_lab, "m-fresh-rhel")
    assert install == f"install -q -r MS -v VmWare -d {host.install_dir(base)} -c CSPrime"
    assert config_input == "azurercmcli --getagentconfiginput"
    assert configure.startswith("configurator -S /") and configure.endswith(" -q -D true -c CSPrime")
    vx = host.vx_version(base).read_text()
    assert "VERSION=9.60.0.0" in vx and "AGENT_CONFIGURATION_STATUS=Succeeded" in vx
    assert "CSType=CSPrime" in host.drscout(base).read_text()
    assert json.loads(host.source_config(base).read_text())["RcmProxyTransportSettings"]["IpAddresses"] == ["127.0.0.1"]
    assert modern_lab["converge"].hosts["m-fresh-ubuntu"]["status"] == "installed"


def test_modernized_configuration_file_was_made_on_the_appliance_for_this_machine_and_removed(modern_lab):
    base = modern_lab["base"]
    appliance = base / "appliances" / "ra01"
    calls = [json.loads(line) for line in (appliance / ".fake" / "argv.log").read_text().splitlines()]
    made = [c for c in calls if c[0] == "RcmProxyAgent"]
    assert len(made) == len([n for n in MODERNIZED_SUCCEEDING if n not in ("m-old", "w-old")])  # one per registration
    for call in made:
        assert call[1] == "-createmobilityagentconfigfile"
        assert call[2::2] == ["-encodedinput", "-outputfilepath", "-clientrequestid", "-activityid"]
        assert call[7] == call[9]  # the request id doubles as the activity id
    assert list((appliance / "fs" / "C" / "Windows" / "Temp").iterdir()) == [], "configuration files left on the appliance"
    # The configurator got the file made for its own machine (BIOS id checked, 118 otherwise), in a private file.
    record = (modern_lab["hosts"]["m-fresh-rhel"].root(base) / ".fake" / "config.log").read_text().split()
    assert record[0] == "mode=600"
    config_path = _argv(modern_lab, "m-fresh-rhel")[2].split(" -S ")[1].split(" ")[0]
    assert not __import__("os").path.exists(config_path), "the configuration file was left on the guest"


def test_modernized_upgrade_keeps_the_registration(modern_lab):
    result = modern_lab["converge"].hosts["m-old"]
    assert (result["status"], result["changed"], result["message"]) == ("upgraded", True, "upgraded 9.50.0.0 to 9.60.0.0")
    (install,) = _argv(modern_lab, "m-old")
    assert install.endswith("-c CSPrime -a Upgrade")


def test_modernized_unconfigured_agent_is_only_registered(modern_lab):
    assert modern_lab["converge"].hosts["m-unconfigured"]["status"] == "registered"
    assert [line.split()[0] for line in _argv(modern_lab, "m-unconfigured")] == ["azurercmcli", "configurator"]


def test_modernized_succeeded_with_warnings_98_is_success(modern_lab):
    assert modern_lab["converge"].hosts["m-warnings-98"]["status"] == "installed"


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("m-classic-agent", "registered with a configuration server (classic, CSType=CSLegacy, 10.99.99.99), not 127.0.0.1"),
        ("m-other-appliance", "registered with replication appliance 10.99.99.98, not 127.0.0.1"),
        ("w-classic-agent", "registered with a configuration server (classic, CSType=CSLegacy, 10.99.99.99), not 127.0.0.1"),
    ],
)
def test_modernized_refuses_an_agent_registered_elsewhere_and_never_touches_it(modern_lab, name, needle):
    for run in ("check", "converge"):
        result = modern_lab[run].hosts[name]
        assert (result["status"], result["changed"]) == ("failed", False), (run, result)
        assert needle in result["message"] and "asrctl never re-registers an agent silently" in result["message"], result
    assert _argv(modern_lab, name) == []


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("m-rc-42", "installer exited 42: the installer does not support this operating system"),
        ("m-fedora", "unsupported operating system fedora 39"),
        ("m-closed-ps", "process server 127.0.0.1:"),
        ("w-2008", "unsupported operating system Windows Server 2008 R2 Enterprise"),
        ("w-not-admin", "needs local administrator rights"),
    ],
)
def test_modernized_failing_host_fails_with_its_reason(modern_lab, name, needle):
    result = modern_lab["converge"].hosts[name]
    assert (result["status"], result["changed"]) == ("failed", False), result
    assert needle in result["message"], result


# --- Windows (modernized) ---------------------------------------------------------------------------------------------

def test_windows_install_runs_microsofts_command_lines(modern_lab):
    host = modern_lab["hosts"]["w-fresh"]
    assert modern_lab["converge"].hosts["w-fresh"]["status"] == "installed"
    extract, install, config_input, configure = _argv(modern_lab, "w-fresh")
    assert extract == r"SelfExtractor /q /x:C:\Windows\Temp\asr-mobility\extracted"
    assert install == (r"UnifiedAgentInstaller /Platform VmWare /Silent /Role MS /CSType CSPrime /InstallLocation "
                       r"C:\Program Files (x86)\Microsoft Azure Site Recovery")
    assert config_input == "AzureRcmCli --getagentconfiginput"
    assert configure.startswith(r"UnifiedAgentConfigurator /SourceConfigFilePath C:\Windows\Temp\asr-registration-")
    assert configure.endswith("/CredentialLessDiscovery true /CSType CSPrime")
    win = host.win(modern_lab["base"])
    assert win.registry()[PRODUCT_KEY]["Version"] == "9.60.0.0"
    assert not win.path(r"C:\Windows\Temp\asr-mobility").exists(), "installer work dir left behind"
    assert [p.name for p in win.path(r"C:\Windows\Temp").iterdir()] == [], "registration file left behind"
    assert json.loads(host.source_config(modern_lab["base"]).read_text())["RcmProxyTransportSettings"]["IpAddresses"] == ["127.0.0.1"]


def test_windows_upgrade_register_and_reboot(modern_lab):
    hosts = modern_lab["converge"].hosts
    assert (hosts["w-old"]["status"], hosts["w-old"]["message"]) == ("upgraded", "upgraded 9.50.0.0 to 9.60.0.0")
    (install,) = _argv(modern_lab, "w-old")[1:]
    assert install.endswith("/InstallationType Upgrade")
    assert hosts["w-unconfigured"]["status"] == "registered"
    assert [line.split()[0] for line in _argv(modern_lab, "w-unconfigured")] == ["AzureRcmCli", "UnifiedAgentConfigurator"]
    reboot = hosts["w-reboot-3010"]
    assert (reboot["status"], reboot["reboot_required"]) == ("installed", True)
    assert reboot["message"].endswith("; reboot recommended")


def test_modernized_second_run_reports_no_change_and_exits_0(modern_lab):
    run = modern_lab["idempotence"]
    assert run.rc == 0, run.stderr
    assert set(run.hosts) == set(MODERNIZED_SUCCEEDING)
    for name, result in run.hosts.items():
        assert (result["status"], result["changed"]) == ("unchanged", False), (name, result)


def test_progress_per_host_on_stderr_and_json_only_on_stdout(modern_lab):
    converge = modern_lab["converge"]
    assert converge.rc == 1
    assert json.loads(converge.stdout).keys() == {"hosts"}
    for host in converge.hosts.values():
        assert set(host) == {"name", "status", "changed", "reboot_required", "message"}
        assert host["status"] in ("installed", "upgraded", "registered", "unchanged", "failed", "unreachable")
    stderr = converge.stderr
    assert "m-fresh-rhel: started" in stderr and "m-fresh-rhel: Run the installer silently" in stderr
    assert f"[{len(converge.hosts)}/{len(converge.hosts)}]" in stderr  # every host counted as it landed


# --- classic --------------------------------------------------------------------------------------------------------

def test_classic_first_run_installs_and_registers_with_the_passphrase(classic_lab):
    base, host = classic_lab["base"], classic_lab["hosts"]["c-fresh-rhel"]
    assert classic_lab["converge"].hosts["c-fresh-rhel"] == {
        "name": "c-fresh-rhel", "status": "installed", "changed": True, "reboot_required": False,
        "message": "installed 9.60.0.0 and registered with configuration server 127.0.0.1",
    }
    install, configure = _argv(classic_lab, "c-fresh-rhel")
    assert install == f"install -q -r MS -v VmWare -d {host.install_dir(base)} -c CSLegacy"
    assert configure.startswith("configurator -i 127.0.0.1 -P /") and configure.endswith(" -c CSLegacy")
    assert "Hostname=127.0.0.1" in host.drscout(base).read_text()
    record = (host.root(base) / ".fake" / "passphrase.log").read_text().split()
    assert record == ["mode=600", f"sha256={hashlib.sha256(PASSPHRASE.encode()).hexdigest()}"]


def test_classic_check_mode_changes_nothing(classic_lab):
    assert classic_lab["check_changed_files"] == []
    assert classic_lab["check"].hosts["c-old"]["status"] == "upgraded"


def test_classic_upgrade_register_reboot_and_windows(classic_lab):
    hosts = classic_lab["converge"].hosts
    assert hosts["c-old"]["message"] == "upgraded 9.50.0.0 to 9.60.0.0"
    assert _argv(classic_lab, "c-old")[0].endswith("-c CSLegacy -a Upgrade")
    assert hosts["c-unregistered"]["status"] == "registered"
    assert (hosts["c-reboot-209"]["status"], hosts["c-reboot-209"]["reboot_required"]) == ("installed", True)
    assert hosts["cw-fresh"]["status"] == "installed"
    assert _argv(classic_lab, "cw-fresh")[1].startswith("UnifiedAgent /Platform VmWare /Silent /Role MS /CSType CSLegacy")
    configure = _argv(classic_lab, "cw-unregistered")[0]
    assert configure.startswith(r"UnifiedAgentConfigurator /CSEndPoint 127.0.0.1 /PassphraseFilePath C:\Windows\Temp\asr-")
    win = classic_lab["hosts"]["cw-unregistered"].win(classic_lab["base"])
    assert (win.fake / "passphrase.log").read_text().split() == [f"sha256={hashlib.sha256(PASSPHRASE.encode()).hexdigest()}"]
    assert [p.name for p in win.path(r"C:\Windows\Temp").iterdir()] == [], "passphrase file left on the Windows host"


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("c-other-cs", "registered with configuration server 10.99.99.99, not 127.0.0.1"),
        ("c-appliance-agent", "registered with a replication appliance (modernized, CSType=CSPrime, 10.99.99.98)"),
        ("c-sles-no-installer", "no Mobility service installer for SLES15-64"),
        ("c-tiny-disk", "MiB free where the agent installs"),
        ("cw-tiny-disk", "only 100 MiB free where the agent installs; it needs 500 MiB"),
    ],
)
def test_classic_failing_host_fails_with_its_reason_before_any_change(classic_lab, name, needle):
    result = classic_lab["converge"].hosts[name]
    assert (result["status"], result["changed"]) == ("failed", False), result
    assert needle in result["message"], result
    assert _argv(classic_lab, name) == []


def test_classic_unreachable_host_and_second_run(classic_lab):
    assert classic_lab["converge"].hosts["c-gone"]["status"] == "unreachable"
    run = classic_lab["idempotence"]
    assert run.rc == 0, run.stderr
    assert set(run.hosts) == set(CLASSIC_SUCCEEDING)
    assert all((r["status"], r["changed"]) == ("unchanged", False) for r in run.hosts.values()), run.hosts


def test_client_certificate_reaches_only_the_configurator(modern_lab):
    """The appliance's file carries the agent's client certificate: the fake configurator saw it (sha recorded), and
    no file Ansible transferred to a Linux guest carried it."""
    transfers = [json.loads(line) for line in (modern_lab["base"] / "transfers.jsonl").read_text().splitlines()]
    assert transfers, "the spy saw no transfer at all"
    assert [t["out_path"] for t in transfers if t["carries_secret"] and not t.get("windows")] == []
    assert CLIENT_CERTIFICATE  # the marker the secrets test looks for everywhere

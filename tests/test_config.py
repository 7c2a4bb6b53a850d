"""Stack configuration: each rule has a valid and an invalid case; errors are one line naming file:line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from asrctl.config import load_stack, load_stack_file
from asrctl.errors import BadInput

PROJECT = Path(__file__).resolve().parent.parent
PROD = (PROJECT / "stacks" / "Pulumi.prod.yaml").read_text()  # modernized, phase 2, failback
DEV = (PROJECT / "stacks" / "Pulumi.dev.yaml").read_text()  # modernized, phase 1
LEGACY = (PROJECT / "stacks" / "Pulumi.legacy.yaml").read_text()  # classic, phase 2, failback over VPN


def _load_variant(tmp_path: Path, text: str, old: str, new: str, *, regex: bool = False):
    """Load the sample stack with its first ``old`` (a pattern when ``regex``) replaced by ``new``."""
    if regex:
        assert re.search(old, text), f"fixture pattern {old!r} matches nothing in the sample stack"
        variant = re.sub(old, new, text, count=1)
    else:
        assert old in text, f"fixture text {old!r} not in the sample stack"
        variant = text.replace(old, new, 1)
    path = tmp_path / "Pulumi.variant.yaml"
    path.write_text(variant)
    return load_stack_file(path)


def _error(tmp_path: Path, text: str, old: str, new: str, *, regex: bool = False) -> str:
    with pytest.raises(BadInput) as info:
        _load_variant(tmp_path, text, old, new, regex=regex)
    message = str(info.value)
    assert "\n" not in message, "errors must be one line"
    assert "Traceback" not in message
    return message


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_sample_stacks_are_valid() -> None:
    dev, prod, legacy = load_stack("dev"), load_stack("prod"), load_stack("legacy")
    assert (dev.architecture, len(dev.machines), dev.phase, dev.failback.enabled) == ("modernized", 6, 1, False)
    assert (prod.architecture, len(prod.machines), prod.phase, prod.failback.enabled) == ("modernized", 40, 2, True)
    assert (legacy.architecture, len(legacy.machines), legacy.phase, legacy.failback.enabled) == ("classic", 40, 2, True)
    assert {m.os for m in prod.machines} == {"linux", "windows"}
    assert {m.target_subnet for m in prod.machines} == {"db", "app", "web"}
    assert prod.declared_secrets == dev.declared_secrets == {"vcenterPassword"}
    assert legacy.declared_secrets == {"csPassphrase", "vcenterPassword", "vpnSharedKey", "failbackAdminPassword"}
    # prod's machines replicate through its one replication appliance; the second one is for failback.
    assert {a.name for a in prod.appliance_assignment.values()} == {"asr-ra-prod01"}
    assert prod.registration_endpoint("erp-sql01") == ("CSPrime", "10.20.5.11")
    assert legacy.registration_endpoint("erp-sql01") == ("CSLegacy", "10.20.5.10")


def test_models_are_frozen() -> None:
    cfg = load_stack("dev")
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen assignment
        cfg.replication.rpo_threshold_minutes = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "old", "new", "expected"),
    [
        # classic retention: ≤ 72 h standard
        (LEGACY, "recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 100",
         r"replication\.recoveryPointRetentionHours: 100 must be between 1 and 72 hours for standard"),
        # modernized retention: ASR's 0-15 days
        (PROD, "recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 361",
         r"replication\.recoveryPointRetentionHours: 361 must be between 0 and 360 hours"),
        # app-consistent 1–12 h (or 0, modernized)
        (PROD, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 30",
         r"replication\.appConsistentFrequencyMinutes: 30 must be between 60 and 720 minutes \(1 to 12 hours\), or 0"),
        (PROD, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 780",
         r"appConsistentFrequencyMinutes: 780 must be between 60 and 720"),
        (LEGACY, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 0",
         r"appConsistentFrequencyMinutes: 0 must be between 60 and 720 minutes for the classic InMageAzureV2 policy"),
        # RPO threshold > 0
        (PROD, "rpoThresholdMinutes: 15", "rpoThresholdMinutes: 0", r"replication\.rpoThresholdMinutes: 0 must be greater than 0"),
        # RPO threshold within the policy maximum
        (PROD, "rpoThresholdMinutes: 15", "rpoThresholdMinutes: 45", r"rpoThresholdMinutes: 45 exceeds policy\.maxRpoThresholdMinutes"),
        # private CIDRs
        (PROD, "addressSpace: 10.70.0.0/16", "addressSpace: 8.8.0.0/16", r"network\.recovery\.addressSpace: '8\.8\.0\.0/16' is not a private"),
        (PROD, "addressSpace: 10.70.0.0/16", "addressSpace: 10.70.0.0/33", r"is not a valid CIDR"),
        # test-failover network separate from the recovery network
        (PROD, "addressSpace: 10.170.0.0/16", "addressSpace: 10.70.0.0/16",
         r"network\.testFailover\.addressSpace: '10\.70\.0\.0/16' overlaps the recovery network"),
        # unique machine IPs
        (PROD, "ip: 10.20.1.12", "ip: 10.20.1.11", r"machines\[1\]\.ip: '10\.20\.1\.11' is already used by another machine"),
        # VM size format
        (PROD, "targetVmSize: Standard_D4s_v5", "targetVmSize: D4s_v5", r"targetVmSize: 'D4s_v5' is not an Azure VM size"),
        # unknown key
        (PROD, "  vmware-azure-dr:alerts:", "  vmware-azure-dr:alertz:", r"vmware-azure-dr:alertz: .* is not a known key"),
        # machine in an unknown subnet
        (PROD, "targetSubnet: web", "targetSubnet: dmz", r"targetSubnet: 'dmz' is not a recovery subnet \(known: db, app, web\)"),
        # classic failback with VPN needs the on-prem gateway
        (LEGACY, "onPremGatewayIp: 203.0.113.10", "onPremGatewayIp: null", r"failback\.onPremGatewayIp: missing is required"),
        # -- Issue 11: numbers are numbers, counts are bounded, IPs are IPs, names are not empty --------------------
        # a YAML boolean where a number belongs
        (PROD, "rpoThresholdMinutes: 15", "rpoThresholdMinutes: true",
         r"replication\.rpoThresholdMinutes: true must be a whole number \(a YAML true/false is not a number\)"),
        (PROD, "churnGbPerDay: 95", "churnGbPerDay: true",
         r"machines\[0\]\.churnGbPerDay: true must be a number \(a YAML true/false is not a number\)"),
        (PROD, "prefixLength: 24", "prefixLength: false", r"replicationAppliances\.prefixLength: false must be a whole number"),
        (PROD, "- sizeGb: 128", "- sizeGb: 1.5", r"machines\[0\]\.disks\[0\]\.sizeGb: 1\.5 must be a whole number"),
        (PROD, "rpoThresholdMinutes: 15", "rpoThresholdMinutes: '15'", r"rpoThresholdMinutes: '15' must be a whole number \(write it without quotes\)"),
        (PROD, "multiVmSync: true", "multiVmSync: 'yes'", r"replication\.multiVmSync: 'yes' must be true or false"),
        # non-finite numbers
        (PROD, "churnGbPerDay: 95", "churnGbPerDay: .inf", r"machines\[0\]\.churnGbPerDay: \.inf must be a finite number"),
        (PROD, "churnGbPerDay: 95", "churnGbPerDay: .nan", r"machines\[0\]\.churnGbPerDay: \.nan must be a finite number"),
        (PROD, "peakChurnMbPerS: 18", "peakChurnMbPerS: -.inf", r"peakChurnMbPerS: -\.inf must be a finite number"),
        # out-of-range counts: bounded by what a configuration server manages (200 machines)
        (LEGACY, "processServers: auto", "processServers: -3",
         r"configurationServer\.processServers: -3 must be auto or a whole number from 0 to 200"),
        (LEGACY, "processServers: auto", "processServers: 1000000",
         r"configurationServer\.processServers: 1000000 must be auto or a whole number from 0 to 200"),
        (LEGACY, "processServers: auto", "processServers: true", r"processServers: true must be auto or a whole number"),
        (LEGACY, "separateMasterTarget: true", "separateMasterTarget: 3", r"separateMasterTarget: 3 must be true, false or auto"),
        # invalid IPs anywhere
        (PROD, "    dnsServers:\n    - 10.20.0.10\n", "    dnsServers:\n    - not an ip\n",
         r"replicationAppliances\.dnsServers\[0\]: 'not an ip' is not an IPv4 address"),
        (LEGACY, "    - 10.20.0.10\n    - 10.20.0.11\n    serverTemplate", "    - 10.20.0.999\n    serverTemplate",
         r"configurationServer\.dnsServers\[0\]: '10\.20\.0\.999' is not an IPv4 address"),
        (PROD, "gateway: 10.20.5.1", "gateway: gw.corp", r"replicationAppliances\.gateway: 'gw\.corp' is not an IPv4 address"),
        (LEGACY, "gateway: 10.20.5.1", "gateway: 10.20.5.1.1", r"configurationServer\.gateway: '10\.20\.5\.1\.1' is not an IPv4"),
        (LEGACY, "processServerIp: 10.70.2.250", "processServerIp: 10.70.2", r"failback\.processServerIp: '10\.70\.2' is not an IPv4"),
        (LEGACY, "onPremGatewayIp: 203.0.113.10", "onPremGatewayIp: vpn.contoso.com", r"failback\.onPremGatewayIp: .* is not an IPv4"),
        (PROD, "recoveryIp: 10.70.1.11", "recoveryIp: 10.70.1.x", r"machines\[0\]\.recoveryIp: '10\.70\.1\.x' is not an IPv4"),
        (PROD, "gateway: 10.20.5.1", "gateway: 10.20.6.1",
         r"replicationAppliances\.gateway: '10\.20\.6\.1' is not on the subnet of 10\.20\.5\.11/24"),
        (PROD, "ip: 10.20.5.11", "ip: 10.20.9.11", r"appliances\[0\]\.ip: '10\.20\.9\.11' is not inside network\.onPrem\.asrServerRanges"),
        (PROD, "ip: 10.20.5.12", "ip: 10.20.5.11", r"appliances\[1\]\.ip: '10\.20\.5\.11' is already used by another appliance"),
        # empty names
        (PROD, "datacenter: DC-Amsterdam", "datacenter: ''", r"vcenter\.datacenter: '' must not be empty"),
        (PROD, "osVersion: Windows Server 2019", "osVersion: '   '", r"machines\[0\]\.osVersion: '\s*' must not be empty"),
        (PROD, "vmName: ERP-SQL01", "vmName: ''", r"machines\[0\]\.vmName: '' must not be empty"),
        (PROD, "- name: asr-ra-prod01", "- name: ''", r"appliances\[0\]\.name: '' must be 1 to 15 letters"),
        (LEGACY, "name: asr-cs-prod01", "name: ''", r"configurationServer\.name: '' must not be empty"),
        (PROD, "fabricName: rsv-asr-prod-weu-vmwarefabric", "fabricName: ''", r"registration\.fabricName: '' must not be empty"),
    ],
)
def test_invalid_value_is_one_line_naming_file_line_key_value_and_rule(
    tmp_path: Path, text: str, old: str, new: str, expected: str
) -> None:
    message = _error(tmp_path, text, old, new)  # one line, no traceback
    assert re.search(expected, message), message
    # Starts with the file and line, then the full key: `<file>:<line>: vmware-azure-dr:<key>: …`.
    assert re.match(rf"{re.escape(str(tmp_path / 'Pulumi.variant.yaml'))}:\d+: vmware-azure-dr:", message), message


def test_error_points_at_the_line_of_the_offending_key(tmp_path: Path) -> None:
    message = _error(tmp_path, PROD, "recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 400")
    line = _line_of(PROD, "recoveryPointRetentionHours:")
    assert f"Pulumi.variant.yaml:{line}:" in message
    message = _error(tmp_path, PROD, "churnGbPerDay: 95", "churnGbPerDay: .inf")
    assert f"Pulumi.variant.yaml:{_line_of(PROD, 'churnGbPerDay: 95')}:" in message


def test_premium_disks_allow_only_24_hours_on_classic(tmp_path: Path) -> None:
    text = LEGACY.replace("targetDiskType: StandardSSD_LRS", "targetDiskType: Premium_LRS")
    message = _error(tmp_path, text, "recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 48")
    assert "must be between 1 and 24 hours for premium target disks" in message
    assert _load_variant(tmp_path, text, "recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 24")


def test_modernized_retention_and_app_consistent_bounds(tmp_path: Path) -> None:
    # InMageRcm: history 0 to 15 days, app-consistent 0 (off) or 1-12 h and not above the history.
    assert _load_variant(tmp_path, PROD, "recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 360")
    assert _load_variant(tmp_path, PROD, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 0")
    text = PROD.replace("recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 1")
    message = _error(tmp_path, text, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 90")
    assert "must not exceed the recovery point retention (1 h = 60 min)" in message
    assert _load_variant(tmp_path, text, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 60")
    zero = PROD.replace("recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 0")
    assert _error(tmp_path, zero, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 60")
    assert _load_variant(tmp_path, zero, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 0")
    assert "crash-consistent points every 5 minutes" in _error(
        tmp_path, PROD, "multiVmSync: true", "multiVmSync: true\n    crashConsistentFrequencyMinutes: 10"
    )


def test_classic_app_consistent_frequency_must_be_below_retention(tmp_path: Path) -> None:
    text = LEGACY.replace("recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 2")
    message = _error(tmp_path, text, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 180")
    assert "must be below the recovery point retention (2 h = 120 min)" in message
    assert _load_variant(tmp_path, text, "appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 60")


def test_duplicate_machine_names_are_rejected(tmp_path: Path) -> None:
    message = _error(tmp_path, DEV, "name: erp-sql02", "name: erp-sql01")
    assert "machines[1].name: 'erp-sql01' is a duplicate of machines[0]" in message


def test_overlapping_subnets_and_subnet_outside_vnet(tmp_path: Path) -> None:
    assert "overlaps another subnet" in _error(tmp_path, DEV, "prefix: 10.60.2.0/24", "prefix: 10.60.1.128/25")
    assert "is outside the VNet" in _error(tmp_path, DEV, "prefix: 10.60.2.0/24", "prefix: 10.61.2.0/24")


def test_secret_in_clear_text_is_refused_without_echoing_it(tmp_path: Path) -> None:
    message = _error(tmp_path, LEGACY, r"vmware-azure-dr:csPassphrase:\n\s+secure: \S+",
                     "vmware-azure-dr:csPassphrase: hunter2-Passphrase", regex=True)
    assert "pulumi config set --secret csPassphrase" in message
    assert "hunter2" not in message


def test_vpn_failback_requires_the_shared_key_secret(tmp_path: Path) -> None:
    message = _error(tmp_path, LEGACY, r"  vmware-azure-dr:vpnSharedKey:\n\s+secure: \S+\n", "", regex=True)
    assert "vpnSharedKey: missing is required when failback uses a VPN" in message


def test_failback_requires_its_own_admin_password_secret(tmp_path: Path) -> None:
    message = _error(tmp_path, LEGACY, r"  vmware-azure-dr:failbackAdminPassword:\n\s+secure: \S+\n?", "", regex=True)
    assert "failbackAdminPassword: missing is required when failback is enabled" in message
    assert "pulumi config set --secret failbackAdminPassword" in message


@pytest.mark.parametrize(
    ("text", "key", "env", "rule"),
    [
        (PROD, "vcenterPassword", "ASRCTL_VCENTER_PASSWORD", "the vSphere provider deploys the replication appliances"),
        (LEGACY, "vcenterPassword", "ASRCTL_VCENTER_PASSWORD", "the vSphere provider deploys the configuration server"),
        (LEGACY, "csPassphrase", "ASRCTL_CS_PASSPHRASE", "is required for the classic architecture"),
    ],
)
def test_missing_required_secret_is_one_line_unless_its_variable_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str, env: str, rule: str
) -> None:
    pattern = rf"  vmware-azure-dr:{key}:\n\s+secure: \S+\n?"
    message = _error(tmp_path, text, pattern, "", regex=True)
    assert f"vmware-azure-dr:{key}: missing {rule}" in message or (f"{key}: missing" in message and rule in message)
    assert f"pulumi config set --secret {key}" in message and env in message
    assert re.match(rf".*Pulumi\.variant\.yaml:{_line_of(text, 'config:')}: vmware-azure-dr:{key}", message)
    # asrctl's mock mode takes the secret from its variable instead.
    monkeypatch.setenv(env, "from-the-environment")
    cfg = _load_variant(tmp_path, text, pattern, "", regex=True)
    assert key in cfg.environment_secrets and key not in cfg.declared_secrets


def test_modernized_stack_needs_no_classic_secret() -> None:
    assert "csPassphrase" not in load_stack("prod").available_secrets


# -- The architecture switch: keys of the other architecture are refused, with what to use instead --------------


@pytest.mark.parametrize(
    ("text", "old", "new", "expected"),
    [
        (PROD, "  vmware-azure-dr:failback:\n    enabled: true\n",
         "  vmware-azure-dr:failback:\n    enabled: true\n    processServerVmSize: Standard_D8s_v5\n",
         r"failback\.processServerVmSize: 'Standard_D8s_v5' belongs to the classic architecture .* keep only "
         r"failback\.enabled"),
        (PROD, "  vmware-azure-dr:failback:\n    enabled: true\n",
         "  vmware-azure-dr:failback:\n    enabled: true\n    connectivity: vpn\n", r"failback\.connectivity: 'vpn' belongs to the classic"),
        (PROD, "      - 172.20.0.0/16\n", "      - 172.20.0.0/16\n", None),
        (PROD, "    onPrem:\n", "    gatewaySubnetPrefix: 10.70.255.0/27\n    onPrem:\n",
         r"network\.gatewaySubnetPrefix: '10\.70\.255\.0/27' is the classic failback VPN's GatewaySubnet; modernized "
         r"failback needs no VPN"),
        (PROD, "  vmware-azure-dr:vcenterPassword:\n",
         "  vmware-azure-dr:csPassphrase:\n    secure: v1:abc\n  vmware-azure-dr:vcenterPassword:\n",
         r"csPassphrase: \(set\) is a classic-architecture secret; Mobility agents register with their appliance .* "
         r"`pulumi config rm csPassphrase`"),
        (PROD, "  vmware-azure-dr:alerts:\n",
         "  vmware-azure-dr:configurationServer:\n    name: cs\n    ovfUrl: https://x\n    ip: 10.20.5.10\n"
         "    prefixLength: 24\n    gateway: 10.20.5.1\n    dnsServers: [10.20.0.10]\n    serverTemplate: t\n"
         "  vmware-azure-dr:alerts:\n",
         r"configurationServer: '\.\.\.' belongs to the classic architecture; a modernized stack uses replicationAppliances"),
        (LEGACY, "  vmware-azure-dr:alerts:\n",
         "  vmware-azure-dr:replicationAppliances:\n    ovfPath: /x.ovf\n    prefixLength: 24\n    gateway: 10.20.5.1\n"
         "    dnsServers: [10.20.0.10]\n    appliances: [{name: ra1, ip: 10.20.5.11}]\n  vmware-azure-dr:alerts:\n",
         r"replicationAppliances: '\.\.\.' belongs to the modernized architecture; a classic stack uses configurationServer"),
        (LEGACY, "    vmName: ERP-SQL01\n", "    vmName: ERP-SQL01\n    appliance: ra1\n",
         r"machines\[0\]\.appliance: 'ra1' applies to the modernized architecture only"),
        (PROD, "  vmware-azure-dr:architecture: modernized\n", "  vmware-azure-dr:architecture: classic\n",
         r"belongs to the modernized architecture|is required for the classic architecture"),
    ],
)
def test_keys_of_the_other_architecture_are_refused(tmp_path: Path, text: str, old: str, new: str, expected) -> None:
    if expected is None:  # the unchanged sample is the valid counterpart
        assert _load_variant(tmp_path, text, old, new).modernized
        return
    message = _error(tmp_path, text, old, new)
    assert re.search(expected, message), message


def test_architecture_defaults_to_modernized(tmp_path: Path) -> None:
    assert _load_variant(tmp_path, DEV, "  vmware-azure-dr:architecture: modernized\n", "").architecture == "modernized"
    message = _error(tmp_path, DEV, "architecture: modernized", "architecture: hybrid")
    assert "vmware-azure-dr:architecture: 'hybrid' input should be 'modernized' or 'classic'" in message


# -- Appliances: enough for the machines and their disks (asrctl.sizing decides) --------------------------------


def test_failback_beyond_60_disks_needs_a_failback_appliance(tmp_path: Path) -> None:
    message = _error(tmp_path, PROD, "    - name: asr-ra-prod02\n      ip: 10.20.5.12\n      role: failback\n", "")
    assert ("vmware-azure-dr:replicationAppliances.appliances: 0 failback appliances: failback is enabled and failback "
            "of 74 disks exceeds the 60 disks one appliance fails back; add an appliance with role: failback") in message


def _many_machines(count: int, appliances: int = 1) -> str:
    """The dev stack with ``count`` machines in a bulk tier and ``appliances`` replication appliances."""
    doc = yaml.safe_load(DEV)
    config = doc["config"]
    net = config["vmware-azure-dr:network"]
    net["recovery"]["subnets"].append({"name": "bulk", "prefix": "10.60.16.0/20"})
    net["testFailover"]["subnets"].append({"name": "bulk", "prefix": "10.160.16.0/20"})
    net["onPrem"]["addressSpaces"].append("172.20.0.0/16")
    config["vmware-azure-dr:replicationAppliances"]["appliances"] = [
        {"name": f"asr-ra-dev{i:02d}", "ip": f"10.10.5.{10 + i}"} for i in range(1, appliances + 1)
    ]
    config["vmware-azure-dr:machines"] = [
        {"name": f"bulk{i:04d}", "os": "linux", "osVersion": "RHEL 8", "ip": f"172.20.{i // 250}.{i % 250 + 1}",
         "vmName": f"bulk{i:04d}", "targetVmSize": "Standard_D2s_v5", "targetSubnet": "bulk",
         "recoveryIp": f"10.60.{16 + i // 250}.{i % 250 + 4}", "churnGbPerDay": 1, "disks": [{"sizeGb": 64}]}
        for i in range(count)
    ]
    return yaml.safe_dump(doc, sort_keys=False)


def test_too_few_replication_appliances_name_the_key_the_count_and_why(tmp_path: Path) -> None:
    assert _load_variant(tmp_path, _many_machines(200), "appliances:", "appliances:")
    message = _error(tmp_path, _many_machines(201), "appliances:", "appliances:")
    assert ("vmware-azure-dr:replicationAppliances.appliances: 1 replication appliance(s) are too few: 2 needed "
            "because 201 machines exceed 200 per appliance") in message
    assert f"Pulumi.variant.yaml:{_line_of(_many_machines(201), 'appliances:')}:" in message
    cfg = _load_variant(tmp_path, _many_machines(201, appliances=2), "appliances:", "appliances:")
    assert sorted({a.name for a in cfg.appliance_assignment.values()}) == ["asr-ra-dev01", "asr-ra-dev02"]


def test_machine_pinned_to_an_unknown_or_failback_appliance(tmp_path: Path) -> None:
    assert "is not an appliance of this stack (known: asr-ra-prod01, asr-ra-prod02)" in _error(
        tmp_path, PROD, "    vmName: ERP-SQL01\n", "    vmName: ERP-SQL01\n    appliance: nope\n"
    )
    assert "is a failback appliance" in _error(
        tmp_path, PROD, "    vmName: ERP-SQL01\n", "    vmName: ERP-SQL01\n    appliance: asr-ra-prod02\n"
    )


# -- Phase 2 -------------------------------------------------------------------------------------------------------


def test_phase_2_needs_the_protectable_item_of_every_machine(tmp_path: Path) -> None:
    message = _error(tmp_path, LEGACY, r"\n      erp-sql02: \S+", "", regex=True)
    assert "vmware-azure-dr:registration.protectableItems.erp-sql02: missing" in message
    assert "asrctl discover" in message and "\n" not in message


def test_protectable_item_of_an_unknown_machine_is_bad_input(tmp_path: Path) -> None:
    message = _error(tmp_path, LEGACY, "    protectableItems:\n", "    protectableItems:\n      erp-sql99: 0b1c2d3e\n")
    assert "protectableItems.erp-sql99: 'erp-sql99' is not a machine of this stack" in message


def test_modernized_phase_2_needs_every_discovered_machine_and_appliance(tmp_path: Path) -> None:
    message = _error(tmp_path, PROD, r"\n      erp-sql02: /subscriptions/\S+", "", regex=True)
    assert "vmware-azure-dr:registration.discoveredMachines.erp-sql02: missing is required for every machine" in message
    message = _error(tmp_path, PROD, r"\n      asr-ra-prod02:\n\s+processServerId: \S+\n\s+reprotectAgentId: \S+", "",
                     regex=True)
    assert "registration.appliances.asr-ra-prod02: missing is required for every appliance" in message
    classic_shape = LEGACY[LEGACY.index("  vmware-azure-dr:registration:\n"):LEGACY.index("  vmware-azure-dr:policy:\n")]
    modern_shape = PROD[PROD.index("  vmware-azure-dr:registration:\n"):PROD.index("  vmware-azure-dr:policy:\n")]
    assert "has the classic shape" in _error(tmp_path, PROD, modern_shape, classic_shape)


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    message = _error(tmp_path, DEV, "multiVmSync: true", "multiVmSync: [true")
    assert re.search(r"Pulumi\.variant\.yaml:\d+: invalid YAML", message)


def test_unknown_stack_lists_known_ones() -> None:
    with pytest.raises(BadInput, match=r"--stack nope: unknown stack, no stacks/Pulumi\.nope\.yaml \(known stacks: dev, legacy, prod\)"):
        load_stack("nope")


def test_test_failover_ip_keeps_the_offset_in_the_same_named_subnet() -> None:
    cfg = load_stack("prod")
    sql = cfg.machines_by_name["erp-sql01"]
    assert sql.recovery_ip == "10.70.1.11"
    assert cfg.test_failover_ip(sql) == "10.170.1.11"


def _one_line_exit_2(result) -> str:
    """The one stderr line of a command refused for bad input: exit 2, nothing else printed, no traceback."""
    assert result.exit_code == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def _project_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> Path:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "runbooks").symlink_to(PROJECT / "runbooks")
    for item in ("__main__.py", "Pulumi.yaml"):
        (project / item).symlink_to(PROJECT / item)
    (project / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(project))
    return project


def test_cli_reports_config_errors_as_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """Through a real command: a broken stack file is exit 2 with one line and no traceback."""
    _project_with(tmp_path, monkeypatch, "broken", DEV.replace("rpoThresholdMinutes: 30", "rpoThresholdMinutes: -5"))
    line = _one_line_exit_2(cli("plan", "validate", "erp", "--stack", "broken"))
    assert "vmware-azure-dr:replication.rpoThresholdMinutes: -5 must be greater than 0 minutes" in line


@pytest.mark.parametrize(
    ("text", "old", "new", "expected"),
    [
        (DEV, r"  vmware-azure-dr:vcenterPassword:\n\s+secure: \S+\n?", "",
         "vmware-azure-dr:vcenterPassword: missing is required"),
        (LEGACY, r"  vmware-azure-dr:vcenterPassword:\n\s+secure: \S+\n?", "",
         "vmware-azure-dr:vcenterPassword: missing is required"),
        (LEGACY, r"  vmware-azure-dr:csPassphrase:\n\s+secure: \S+\n?", "",
         "vmware-azure-dr:csPassphrase: missing is required for the classic architecture"),
        (DEV, "rpoThresholdMinutes: 30", "rpoThresholdMinutes: true", "rpoThresholdMinutes: true must be a whole number"),
        (DEV, "churnGbPerDay: 95", "churnGbPerDay: .inf", "churnGbPerDay: .inf must be a finite number"),
        (DEV, "    dnsServers:\n    - 10.10.0.10\n", "    dnsServers:\n    - not an ip\n",
         "dnsServers[0]: 'not an ip' is not an IPv4 address"),
        (LEGACY, "processServers: auto", "processServers: 1000000",
         "processServers: 1000000 must be auto or a whole number from 0 to 200"),
    ],
)
def test_preview_in_mock_mode_reports_bad_stacks_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, text: str, old: str, new: str, expected: str
) -> None:
    """`asrctl preview` (mock mode, no ASRCTL_* secret variables): one line, exit 2 — never a traceback."""
    _project_with(tmp_path, monkeypatch, "broken", re.sub(old, new, text, count=1))
    line = _one_line_exit_2(cli("preview", "--stack", "broken"))
    assert expected in line and "Pulumi.broken.yaml:" in line


def test_preview_takes_a_missing_secret_from_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    _project_with(tmp_path, monkeypatch, "nosecret",
                  re.sub(r"  vmware-azure-dr:vcenterPassword:\n\s+secure: \S+\n?", "", DEV, count=1))
    monkeypatch.setenv("ASRCTL_VCENTER_PASSWORD", "env-password-123")
    result = cli("preview", "--stack", "nosecret", "--json")
    assert result.exit_code == 0, result.stderr
    assert '"password": "[secret]"' in result.stdout and "env-password-123" not in result.stdout

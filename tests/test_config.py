"""Stack configuration: each rule has a valid and an invalid case; errors are one line naming file:line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asrctl.config import load_stack, load_stack_file
from asrctl.errors import BadInput

PROJECT = Path(__file__).resolve().parent.parent
PROD = (PROJECT / "stacks" / "Pulumi.prod.yaml").read_text()
DEV = (PROJECT / "stacks" / "Pulumi.dev.yaml").read_text()


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
    return message


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_sample_stacks_are_valid() -> None:
    dev, prod = load_stack("dev"), load_stack("prod")
    assert (len(dev.machines), dev.phase, dev.failback.enabled) == (6, 1, False)
    assert (len(prod.machines), prod.phase, prod.failback.enabled) == (40, 2, True)
    assert {m.os for m in prod.machines} == {"linux", "windows"}
    assert {m.target_subnet for m in prod.machines} == {"db", "app", "web"}
    assert prod.declared_secrets == {"csPassphrase", "vcenterPassword", "vpnSharedKey", "failbackAdminPassword"}


def test_models_are_frozen() -> None:
    cfg = load_stack("dev")
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen assignment
        cfg.replication.rpo_threshold_minutes = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # retention: ≤ 72 h standard
        ("recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 100",
         r"replication\.recoveryPointRetentionHours: 100 must be between 1 and 72 hours for standard"),
        # app-consistent 1–12 h
        ("appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 30",
         r"replication\.appConsistentFrequencyMinutes: 30 must be between 60 and 720 minutes"),
        ("appConsistentFrequencyMinutes: 120", "appConsistentFrequencyMinutes: 780",
         r"appConsistentFrequencyMinutes: 780 must be between 60 and 720"),
        # RPO threshold > 0
        ("rpoThresholdMinutes: 15", "rpoThresholdMinutes: 0", r"replication\.rpoThresholdMinutes: 0 must be greater than 0"),
        # RPO threshold within the policy maximum
        ("rpoThresholdMinutes: 15", "rpoThresholdMinutes: 45", r"rpoThresholdMinutes: 45 exceeds policy\.maxRpoThresholdMinutes"),
        # private CIDRs
        ("addressSpace: 10.70.0.0/16", "addressSpace: 8.8.0.0/16", r"network\.recovery\.addressSpace: '8\.8\.0\.0/16' is not a private"),
        ("addressSpace: 10.70.0.0/16", "addressSpace: 10.70.0.0/33", r"is not a valid CIDR"),
        # test-failover network separate from the recovery network
        ("addressSpace: 10.170.0.0/16", "addressSpace: 10.70.0.0/16",
         r"network\.testFailover\.addressSpace: '10\.70\.0\.0/16' overlaps the recovery network"),
        # unique machine IPs
        ("ip: 10.20.1.12", "ip: 10.20.1.11", r"machines\[1\]\.ip: '10\.20\.1\.11' is already used by another machine"),
        # VM size format
        ("targetVmSize: Standard_D4s_v5", "targetVmSize: D4s_v5", r"targetVmSize: 'D4s_v5' is not an Azure VM size"),
        # unknown key
        ("  vmware-azure-dr:alerts:", "  vmware-azure-dr:alertz:", r"vmware-azure-dr:alertz: .* is not a known key"),
        # machine in an unknown subnet
        ("targetSubnet: web", "targetSubnet: dmz", r"targetSubnet: 'dmz' is not a recovery subnet \(known: db, app, web\)"),
        # failback with VPN needs the on-prem gateway
        ("onPremGatewayIp: 203.0.113.10", "onPremGatewayIp: null", r"failback\.onPremGatewayIp: missing is required"),
    ],
)
def test_invalid_value_names_file_line_key_value_and_rule(tmp_path: Path, old: str, new: str, expected: str) -> None:
    message = _error(tmp_path, PROD, old, new)
    assert re.search(expected, message), message
    assert message.startswith(str(tmp_path / "Pulumi.variant.yaml") + ":") or "Pulumi.variant.yaml:" in message
    assert "vmware-azure-dr:" in message


def test_error_points_at_the_line_of_the_offending_key(tmp_path: Path) -> None:
    message = _error(tmp_path, PROD, "recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 100")
    line = _line_of(PROD, "recoveryPointRetentionHours:")
    assert f"Pulumi.variant.yaml:{line}:" in message


def test_premium_disks_allow_only_24_hours(tmp_path: Path) -> None:
    text = PROD.replace("targetDiskType: StandardSSD_LRS", "targetDiskType: Premium_LRS")
    message = _error(tmp_path, text, "recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 48")
    assert "must be between 1 and 24 hours for premium target disks" in message
    assert _load_variant(tmp_path, text, "recoveryPointRetentionHours: 72", "recoveryPointRetentionHours: 24")


def test_app_consistent_frequency_must_be_below_retention(tmp_path: Path) -> None:
    text = DEV.replace("recoveryPointRetentionHours: 24", "recoveryPointRetentionHours: 2")
    message = _error(tmp_path, text, "appConsistentFrequencyMinutes: 240", "appConsistentFrequencyMinutes: 180")
    assert "must be below the recovery point retention (2 h = 120 min)" in message
    assert _load_variant(tmp_path, text, "appConsistentFrequencyMinutes: 240", "appConsistentFrequencyMinutes: 60")


def test_duplicate_machine_names_are_rejected(tmp_path: Path) -> None:
    message = _error(tmp_path, DEV, "name: erp-sql02", "name: erp-sql01")
    assert "machines[1].name: 'erp-sql01' is a duplicate of machines[0]" in message


def test_overlapping_subnets_and_subnet_outside_vnet(tmp_path: Path) -> None:
    assert "overlaps another subnet" in _error(tmp_path, DEV, "prefix: 10.60.2.0/24", "prefix: 10.60.1.128/25")
    assert "is outside the VNet" in _error(tmp_path, DEV, "prefix: 10.60.2.0/24", "prefix: 10.61.2.0/24")


def test_secret_in_clear_text_is_refused_without_echoing_it(tmp_path: Path) -> None:
    message = _error(tmp_path, DEV, r"vmware-azure-dr:csPassphrase:\n\s+secure: \S+",
                     "vmware-azure-dr:csPassphrase: hunter2-Passphrase", regex=True)
    assert "pulumi config set --secret csPassphrase" in message
    assert "hunter2" not in message


def test_vpn_failback_requires_the_shared_key_secret(tmp_path: Path) -> None:
    message = _error(tmp_path, PROD, r"  vmware-azure-dr:vpnSharedKey:\n\s+secure: \S+\n", "", regex=True)
    assert "vpnSharedKey: missing is required when failback uses a VPN" in message


def test_failback_requires_its_own_admin_password_secret(tmp_path: Path) -> None:
    message = _error(tmp_path, PROD, r"  vmware-azure-dr:failbackAdminPassword:\n\s+secure: \S+\n?", "", regex=True)
    assert "failbackAdminPassword: missing is required when failback is enabled" in message
    assert "pulumi config set --secret failbackAdminPassword" in message


def test_phase_2_needs_the_protectable_item_of_every_machine(tmp_path: Path) -> None:
    message = _error(tmp_path, PROD, r"\n      erp-sql02: \S+", "", regex=True)
    assert "vmware-azure-dr:registration.protectableItems.erp-sql02: missing" in message
    assert "asrctl discover" in message and "\n" not in message


def test_protectable_item_of_an_unknown_machine_is_bad_input(tmp_path: Path) -> None:
    message = _error(tmp_path, PROD, "    protectableItems:\n", "    protectableItems:\n      erp-sql99: 0b1c2d3e\n")
    assert "protectableItems.erp-sql99: 'erp-sql99' is not a machine of this stack" in message


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    message = _error(tmp_path, DEV, "multiVmSync: true", "multiVmSync: [true")
    assert re.search(r"Pulumi\.variant\.yaml:\d+: invalid YAML", message)


def test_unknown_stack_lists_known_ones() -> None:
    with pytest.raises(BadInput, match=r"--stack nope: unknown stack, no stacks/Pulumi\.nope\.yaml \(known stacks: dev, prod\)"):
        load_stack("nope")


def test_test_failover_ip_keeps_the_offset_in_the_same_named_subnet() -> None:
    cfg = load_stack("prod")
    sql = cfg.machines_by_name["erp-sql01"]
    assert sql.recovery_ip == "10.70.1.11"
    assert cfg.test_failover_ip(sql) == "10.170.1.11"


def test_cli_reports_config_errors_as_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """Through a real command: a broken stack file is exit 2 with one line and no traceback."""
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "runbooks").symlink_to(PROJECT / "runbooks")
    (project / "stacks" / "Pulumi.broken.yaml").write_text(DEV.replace("rpoThresholdMinutes: 30", "rpoThresholdMinutes: -5"))
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(project))
    result = cli("plan", "validate", "erp", "--stack", "broken")
    assert result.exit_code == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "vmware-azure-dr:replication.rpoThresholdMinutes: -5 must be greater than 0 minutes" in lines[0]

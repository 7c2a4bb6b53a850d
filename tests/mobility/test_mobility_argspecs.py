"""meta/argument_specs.yml fires: a required option that is missing fails before any task, in one message naming
the variable (defaults/main.yml must not give required options an empty default)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fixtures.mobility.lab import FakeHost, build_installer, write_inventory

ROLE = Path(__file__).resolve().parents[2] / "playbooks" / "roles" / "asr_mobility_service"


def test_required_options_have_no_default():
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    required = {name for name, spec in specs.items() if spec.get("required")}
    assert required == {"asr_mobility_service_architecture", "asr_mobility_service_cs_address",
                        "asr_mobility_service_installer_dir"}
    assert required.isdisjoint(defaults)
    assert set(defaults) <= set(specs), set(defaults) - set(specs)  # every default is documented


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["modernized", "classic"])
def test_inventory_without_cs_address_fails_naming_it(tmp_path, architecture):
    """Without the fix, the empty default let the run reach the port probe and fail as 'not reachable'."""
    from asrctl.mobility import driver

    installers = tmp_path / "installers"
    build_installer(installers, "9.60.0.0", "RHEL8-64")
    inventory = write_inventory(tmp_path, [FakeHost("vm1")], 1, 1, architecture=architecture)
    data = yaml.safe_load(inventory.read_text())
    data["all"]["vars"].pop("asr_mobility_service_cs_address")
    inventory.write_text(yaml.safe_dump(data))
    result = driver.deploy(
        architecture=architecture, passphrase="p" if architecture == "classic" else None, inventory_file=inventory,
        installer_dir=installers, timeout_s=300,
    )
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "missing required arguments: asr_mobility_service_cs_address" in outcome.message, outcome.message
    assert "reachable" not in outcome.message
    assert "\n" not in outcome.message
    assert not (tmp_path / "hosts" / "vm1" / ".fake" / "argv.log").exists(), "a tool ran before the validation"

"""Azure names: CAF prefixes + environment + region short name, each kind validated by a rule it restates."""

from __future__ import annotations

import re

import pytest
from infra_previews import preview

from asrctl.errors import BadInput
from asrctl.infra.naming import RULES, AzureNames, region_short_name, validated

NAME_KEYS = {
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "resource group"),
    "azure-native:recoveryservices:Vault": ("vaultName", "recovery services vault"),
    "azure-native:storage:StorageAccount": ("accountName", "storage account"),
    "azure-native:network:VirtualNetwork": ("virtualNetworkName", "virtual network"),
    "azure-native:network:Subnet": ("subnetName", "subnet"),
    "azure-native:network:NetworkSecurityGroup": ("networkSecurityGroupName", "network security group"),
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_named_resource_follows_its_caf_rule_and_carries_env_and_region(stack: str) -> None:
    checked = 0
    for r in preview(stack).resources:
        if r.type not in NAME_KEYS or not r.name.startswith("dr-"):
            continue
        key, kind = NAME_KEYS[r.type]
        name = r.inputs[key]
        if name == "GatewaySubnet":  # Azure fixes this name for VPN gateways
            continue
        assert RULES[kind].pattern.fullmatch(name), f"{r.urn}: {name!r} breaks: {RULES[kind].rule}"
        assert name.startswith(RULES[kind].prefix), r.urn
        assert stack in name and "weu" in name, f"{r.urn}: {name!r} lacks environment/region"
        checked += 1
    assert checked >= 10


def test_names_are_derived_from_environment_and_region() -> None:
    names = AzureNames("prod", "northeurope")
    assert names.resource_group == "rg-asr-prod-neu"
    assert names.vault == "rsv-asr-prod-neu"
    assert names.storage_account("cache") == "stasrcacheprodneu"
    assert names.virtual_network("test") == "vnet-asr-test-prod-neu"
    assert names.subnet("db") == "snet-db-prod-neu"
    assert names.network_security_group("recovery", "web") == "nsg-asr-recovery-web-prod-neu"


def test_unlisted_region_falls_back_to_its_full_name() -> None:
    assert region_short_name("westeurope") == "weu"
    assert region_short_name("brazilsouth") == "brazilsouth"
    assert AzureNames("dev", "brazilsouth").vault == "rsv-asr-dev-brazilsouth"


def test_too_long_storage_name_fails_with_the_rule_restated() -> None:
    names = AzureNames("staging1", "southafricanorth")  # st + asr + cache + staging1 + southafricanorth > 24
    with pytest.raises(BadInput) as caught:
        names.storage_account("cache")
    message = str(caught.value)
    assert "stasrcachestaging1southafricanorth" in message
    assert "3 to 24 characters" in message and "no dashes" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("kind", "bad"),
    [("resource group", "rg-ends-with-dash-"), ("storage account", "st-has-dashes"), ("subnet", "SNET-upper"),
     ("recovery services vault", "vault-without-prefix")],
)
def test_rule_rejects_names_that_break_it(kind: str, bad: str) -> None:
    with pytest.raises(BadInput, match=re.escape(RULES[kind].rule)):
        validated(kind, bad)

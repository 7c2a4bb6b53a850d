"""Azure names: CAF abbreviations + workload + environment + region short name, validated by one rule per kind.

Pulumi logical names come from the component names (see the components); these are the physical Azure names.
Each kind has a pattern and a sentence restating the rule, so a name that would break (a long environment or an
unlisted region making a storage account name exceed 24 characters) fails before anything is sent to Azure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from asrctl.errors import BadInput

WORKLOAD = "asr"

# Region short names per the CAF/AVM convention; an unlisted region falls back to its full name (which may then
# be too long for a storage account: the naming rule says so).
REGION_SHORT_NAMES: dict[str, str] = {
    "westeurope": "weu",
    "northeurope": "neu",
    "uksouth": "uks",
    "ukwest": "ukw",
    "francecentral": "frc",
    "germanywestcentral": "gwc",
    "swedencentral": "sdc",
    "switzerlandnorth": "szn",
    "norwayeast": "nwe",
    "eastus": "eus",
    "eastus2": "eus2",
    "westus": "wus",
    "westus2": "wus2",
    "westus3": "wus3",
    "centralus": "cus",
    "southcentralus": "scus",
    "canadacentral": "cac",
    "australiaeast": "aue",
    "southeastasia": "sea",
    "japaneast": "jpe",
}


@dataclass(frozen=True)
class NamingRule:
    prefix: str
    pattern: re.Pattern[str]
    rule: str


RULES: dict[str, NamingRule] = {
    "resource group": NamingRule(
        "rg-", re.compile(r"^rg-[a-z0-9-]{1,86}[a-z0-9]$"),
        "'rg-' + lowercase letters, digits and dashes, at most 90 characters, not ending with a dash",
    ),
    "recovery services vault": NamingRule(
        "rsv-", re.compile(r"^rsv-[a-z0-9-]{0,44}[a-z0-9]$"),
        "'rsv-' + lowercase letters, digits and dashes, 2 to 50 characters, not ending with a dash",
    ),
    "storage account": NamingRule(
        "st", re.compile(r"^st[a-z0-9]{1,22}$"),
        "'st' + lowercase letters and digits only, 3 to 24 characters in total (no dashes)",
    ),
    "virtual network": NamingRule(
        "vnet-", re.compile(r"^vnet-[a-z0-9-]{0,58}[a-z0-9]$"),
        "'vnet-' + lowercase letters, digits and dashes, at most 64 characters, not ending with a dash",
    ),
    "subnet": NamingRule(
        "snet-", re.compile(r"^snet-[a-z0-9-]{0,74}[a-z0-9]$"),
        "'snet-' + lowercase letters, digits and dashes, at most 80 characters, not ending with a dash",
    ),
    "network security group": NamingRule(
        "nsg-", re.compile(r"^nsg-[a-z0-9-]{0,74}[a-z0-9]$"),
        "'nsg-' + lowercase letters, digits and dashes, at most 80 characters, not ending with a dash",
    ),
    "replication policy": NamingRule(
        "pol-", re.compile(r"^pol-[a-z0-9-]{0,58}[a-z0-9]$"),
        "'pol-' + lowercase letters, digits and dashes, at most 64 characters, not ending with a dash",
    ),
}


def region_short_name(location: str) -> str:
    return REGION_SHORT_NAMES.get(location, location)


def validated(kind: str, name: str) -> str:
    """Return ``name`` if it follows the rule of ``kind``; otherwise a one-line ``BadInput`` restating the rule."""
    rule = RULES[kind]
    if not rule.pattern.fullmatch(name):
        raise BadInput(
            f"Azure {kind} name {name!r} breaks the naming rule: {rule.rule}; "
            "shorten vmware-azure-dr:environment or use a region with a short name"
        )
    return name


@dataclass(frozen=True)
class AzureNames:
    """Every Azure name of one DR site, derived from the environment and region alone."""

    environment: str
    location: str

    @property
    def _suffix(self) -> str:
        return f"{self.environment}-{region_short_name(self.location)}"

    @property
    def workload_suffix(self) -> str:
        """``asr-<environment>-<region>``: the tail of the names without a naming rule here (log-, aa-, ag-, vgw-)."""
        return f"{WORKLOAD}-{self._suffix}"

    @property
    def resource_group(self) -> str:
        return validated("resource group", f"rg-{WORKLOAD}-{self._suffix}")

    @property
    def vault(self) -> str:
        return validated("recovery services vault", f"rsv-{WORKLOAD}-{self._suffix}")

    def storage_account(self, purpose: str) -> str:
        """Storage names allow no dashes: ``st`` + workload + purpose + environment + region, e.g. stasrcachedevweu."""
        compact = f"{WORKLOAD}{purpose}{self.environment}{region_short_name(self.location)}"
        return validated("storage account", f"st{compact}")

    def virtual_network(self, role: str) -> str:
        return validated("virtual network", f"vnet-{WORKLOAD}-{role}-{self._suffix}")

    def subnet(self, tier: str) -> str:
        return validated("subnet", f"snet-{tier}-{self._suffix}")

    def network_security_group(self, role: str, tier: str) -> str:
        return validated("network security group", f"nsg-{WORKLOAD}-{role}-{tier}-{self._suffix}")

    def replication_policy(self, direction: str) -> str:
        return validated("replication policy", f"pol-{WORKLOAD}-{direction}-{self._suffix}")

"""Point a DNS record at the group's machines after a failover or failback (exit 0 when the record is set).

``--zone erp.contoso.com --record www``: the A record ``www`` gets the recovery-side IPs of the group's machines
(from the run context). The DNS backend is an interface with two implementations:

* ``file``  — a JSON zone file ``<zone_dir>/<zone>.json`` (``$ASRCTL_HOME/dns`` by default): what the simulator and
  tests use, and a way to dry-run a runbook;
* ``azure`` — Azure DNS through azure-mgmt-dns (needs ``AZURE_SUBSCRIPTION_ID``, ``ASRCTL_DNS_RESOURCE_GROUP`` and
  DefaultAzureCredential); a sketch until a stack declares its DNS zone.

The backend comes from ``--provider``, else the context's ``dns.provider``, else ``file``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _context import read_context  # noqa: E402

TTL = 60  # seconds: short, so clients follow a failover quickly


class DnsZone(Protocol):
    def set_a_record(self, record: str, addresses: list[str], ttl: int) -> dict: ...


class FileZone:
    """A zone as a JSON file: {"zone": ..., "records": {"www": {"type": "A", "ttl": 60, "values": [...]}}}."""

    def __init__(self, zone: str, directory: Path) -> None:
        self.zone = zone
        self.path = directory / f"{zone}.json"

    def set_a_record(self, record: str, addresses: list[str], ttl: int) -> dict:
        data = json.loads(self.path.read_text()) if self.path.exists() else {"zone": self.zone, "records": {}}
        previous = data["records"].get(record)
        data["records"][record] = {"type": "A", "ttl": ttl, "values": addresses}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename: a crash never leaves a half-written zone.
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(data, tmp, indent=2)
        os.replace(tmp.name, self.path)
        return {"previous": previous, "current": data["records"][record]}


class AzureDnsZone:
    """Azure DNS: replace the A record set (idempotent PUT)."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        try:
            from azure.identity import DefaultAzureCredential
            from azure.mgmt.dns import DnsManagementClient
        except ImportError:
            sys.exit("Azure DNS needs azure-mgmt-dns and azure-identity (pip install azure-mgmt-dns)")
        subscription = os.environ.get("AZURE_SUBSCRIPTION_ID")
        self.resource_group = os.environ.get("ASRCTL_DNS_RESOURCE_GROUP")
        if not subscription or not self.resource_group:
            sys.exit("Azure DNS needs AZURE_SUBSCRIPTION_ID and ASRCTL_DNS_RESOURCE_GROUP")
        self.client = DnsManagementClient(DefaultAzureCredential(), subscription)

    def set_a_record(self, record: str, addresses: list[str], ttl: int) -> dict:
        result = self.client.record_sets.create_or_update(
            self.resource_group, self.zone, record, "A",
            {"ttl": ttl, "a_records": [{"ipv4_address": a} for a in addresses]},
        )
        return {"current": {"type": "A", "ttl": result.ttl, "values": addresses}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zone", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--provider", choices=("file", "azure"))
    parser.add_argument("--zone-dir", help="directory of file zones (default: the context's, else $ASRCTL_HOME/dns)")
    args = parser.parse_args()
    context = read_context()
    dns = context.get("dns") or {}
    provider = args.provider or dns.get("provider") or "file"
    addresses = [m["recovery_ip"] for m in context["machines"]]
    if not addresses:
        print("no machines in the group: nothing to point the record at", file=sys.stderr)
        return 1
    if provider == "file":
        directory = Path(args.zone_dir or dns.get("zone_dir") or Path(os.environ.get("ASRCTL_HOME", ".asrctl")) / "dns")
        zone: DnsZone = FileZone(args.zone, directory)
    else:
        zone = AzureDnsZone(args.zone)
    change = zone.set_a_record(args.record, addresses, TTL)
    print(f"{args.record}.{args.zone} A {', '.join(addresses)} (ttl {TTL}s, {context.get('operation')}); "
          f"was {change.get('previous')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

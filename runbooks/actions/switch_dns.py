"""Point a DNS record at the group's machines after a failover or failback (exit 0 when the record is set).

``--zone erp.contoso.com --record www``: the A record ``www`` gets the recovery-side IPs of the group's machines
(from the run context). The DNS backend is an interface with two implementations:

* ``file``  — a JSON zone file ``<zone_dir>/<zone>.json`` (``$ASRCTL_HOME/dns`` by default): what the simulator and
  tests use, and a way to dry-run a runbook;
* ``azure`` — Azure DNS through azure-mgmt-dns (a pinned dependency of asrctl): the record set is replaced with one
  idempotent PUT. The zone's subscription and resource group come from ``--subscription`` / ``--resource-group``
  (else ``AZURE_SUBSCRIPTION_ID`` / ``ASRCTL_DNS_RESOURCE_GROUP``); the credential is DefaultAzureCredential
  (asrctl hands action scripts no credential variable, so it is the managed identity or `az login` of the machine
  that runs the plan; ``AZURE_TOKEN_CREDENTIALS`` narrows the chain); ``ASRCTL_ARM_ENDPOINT`` overrides the
  management endpoint as for asrctl itself.

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

    def __init__(self, zone: str, subscription: str | None, resource_group: str | None) -> None:
        self.zone = zone
        try:
            from azure.identity import DefaultAzureCredential
            from azure.mgmt.dns import DnsManagementClient
        except ImportError:
            sys.exit("Azure DNS needs azure-mgmt-dns and azure-identity (pip install azure-mgmt-dns azure-identity)")
        subscription = subscription or os.environ.get("AZURE_SUBSCRIPTION_ID")
        self.resource_group = resource_group or os.environ.get("ASRCTL_DNS_RESOURCE_GROUP")
        if not subscription or not self.resource_group:
            sys.exit("Azure DNS needs the zone's subscription and resource group: --subscription/--resource-group "
                     "(or AZURE_SUBSCRIPTION_ID / ASRCTL_DNS_RESOURCE_GROUP)")
        endpoint = (os.environ.get("ASRCTL_ARM_ENDPOINT") or "https://management.azure.com").rstrip("/")
        if not endpoint.lower().startswith("https://"):
            sys.exit(f"ASRCTL_ARM_ENDPOINT {endpoint!r} must be an https:// URL")
        self.client = DnsManagementClient(DefaultAzureCredential(), subscription, base_url=endpoint,
                                          credential_scopes=["https://management.azure.com/.default"])

    def set_a_record(self, record: str, addresses: list[str], ttl: int) -> dict:
        from azure.core.exceptions import AzureError, HttpResponseError
        from azure.mgmt.dns.models import ARecord, RecordSet

        try:
            previous = None
            try:
                old = self.client.record_sets.get(self.resource_group, self.zone, record, "A")
                previous = {"type": "A", "ttl": old.ttl, "values": [a.ipv4_address for a in old.a_records or []]}
            except HttpResponseError as exc:
                if exc.status_code != 404:
                    raise
            result = self.client.record_sets.create_or_update(
                self.resource_group, self.zone, record, "A",
                RecordSet(ttl=ttl, a_records=[ARecord(ipv4_address=a) for a in addresses]),
            )
        except HttpResponseError as exc:
            code = getattr(exc.error, "code", None) or exc.status_code
            sys.exit(f"Azure DNS refused {record}.{self.zone}: {code}: {(exc.message or '').splitlines()[0][:200]}")
        except AzureError as exc:
            sys.exit(f"Azure DNS: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        values = [a.ipv4_address for a in result.a_records or []]
        return {"previous": previous, "current": {"type": "A", "ttl": result.ttl, "values": values}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zone", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--provider", choices=("file", "azure"))
    parser.add_argument("--zone-dir", help="directory of file zones (default: the context's, else $ASRCTL_HOME/dns)")
    parser.add_argument("--subscription", help="Azure DNS: the zone's subscription (default AZURE_SUBSCRIPTION_ID)")
    parser.add_argument("--resource-group", help="Azure DNS: the zone's resource group (default "
                        "ASRCTL_DNS_RESOURCE_GROUP)")
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
        zone = AzureDnsZone(args.zone, args.subscription, args.resource_group)
    change = zone.set_a_record(args.record, addresses, TTL)
    print(f"{args.record}.{args.zone} A {', '.join(addresses)} (ttl {TTL}s, {context.get('operation')}); "
          f"was {change.get('previous')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

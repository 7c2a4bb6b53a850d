"""Azure DNS (Microsoft.Network/dnsZones) in the stand-in: zones a test seeds, record sets a client PUTs and GETs —
what an action script that repoints a DNS record after a failover needs, checked like ARM checks it.

* api-version: ``2018-05-01``, what ``azure-mgmt-dns`` 9.0.0 sends (its ``DnsManagementClient`` default);
* an unknown zone is a 404 ``ParentResourceNotFound`` (ARM's answer for a child of a missing resource);
* bodies are validated against the SDK's own ``RecordSet`` model (``_attribute_map``: wire keys and types); a record
  type in the URL must match the records in the body (an ``A`` record set carries ``ARecords``), each address a valid
  IPv4 address, ``TTL`` a non-negative integer; an invalid body is a 400 ``BadRequest``.

Read back with ``world.dns_records(zone)``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from azure.mgmt.dns import models as dns_models

from . import errors

DNS_API_VERSIONS = ("2018-05-01",)
DNS_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/dnsZones/(?P<zone>[^/]+)"
    r"/(?P<type>A|AAAA|CNAME|TXT)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
# The record list each record type carries (RecordSet._attribute_map keys).
RECORD_KEYS = {"A": "ARecords", "AAAA": "AAAARecords", "CNAME": "CNAMERecord", "TXT": "TXTRecords"}
_JSON_TYPES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def _check(model: type, data: Any, path: str, problems: list[str], unknown: list[str]) -> None:
    """Walk an msrest model's ``_attribute_map`` (dotted wire keys, ``[T]`` lists, ``{T}`` maps, nested models)."""
    if not isinstance(data, dict):
        problems.append(f"{path or 'body'}: expected an object")
        return
    declared: dict[str, str] = {}
    readonly = {k for k, v in getattr(model, "_validation", {}).items() if v.get("readonly")}
    for attr, spec in model._attribute_map.items():  # type: ignore[attr-defined]
        if attr not in readonly:
            declared[spec["key"]] = spec["type"]
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key == "properties" and isinstance(value, dict):
            flat.update({f"properties.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    for key, value in flat.items():
        if key not in declared:
            unknown.append(f"{path}{key}")
            continue
        _type(declared[key], value, f"{path}{key}", problems, unknown)


def _type(kind: str, value: Any, path: str, problems: list[str], unknown: list[str]) -> None:
    if value is None:
        return
    if kind.startswith("["):
        if not isinstance(value, list):
            problems.append(f"{path}: expected an array")
            return
        for n, v in enumerate(value):
            _type(kind[1:-1], v, f"{path}[{n}]", problems, unknown)
    elif kind.startswith("{"):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object")
    elif kind in _JSON_TYPES:
        if not isinstance(value, _JSON_TYPES[kind]) or (kind == "int" and isinstance(value, bool)):
            problems.append(f"{path}: expected {kind}, got {type(value).__name__}")
    else:
        model = getattr(dns_models, kind, None)
        if model is None:
            return
        _check(model, value, f"{path}.", problems, unknown)


class Dns:
    """The DNS zones of one stand-in: ``{zone: {"resource_group": rg, "records": {(type, name): record}}}``."""

    def __init__(self) -> None:
        self.zones: dict[str, dict[str, Any]] = {}
        self.writes: list[dict[str, Any]] = []

    def add_zone(self, zone: str, resource_group: str) -> None:
        self.zones[zone.lower()] = {"name": zone, "resource_group": resource_group, "records": {}}

    def records(self, zone: str) -> dict[tuple[str, str], dict[str, Any]]:
        return self.zones[zone.lower()]["records"]

    def route(self, method: str, match: re.Match[str], body: Any, subscription: str) -> tuple[int, Any, list[str]]:
        zone = self.zones.get(match["zone"].lower())
        if zone is None or zone["resource_group"].lower() != match["rg"].lower():
            raise errors.arm(404, "ParentResourceNotFound",
                             f"Can not perform requested operation on nested resource. Parent resource "
                             f"'{match['zone']}' not found.")  # fmt: skip
        kind, name = match["type"].upper(), match["name"]
        rid = (f"/subscriptions/{subscription}/resourceGroups/{zone['resource_group']}/providers/Microsoft.Network/"
               f"dnszones/{zone['name']}/{kind}/{name}")
        if method == "GET":
            record = zone["records"].get((kind, name.lower()))
            if record is None:
                raise errors.arm(404, "NotFound", f"The resource record '{name}' does not exist in resource group "
                                 f"'{zone['resource_group']}' of subscription '{subscription}'.")
            return 200, self._render(rid, kind, name, zone, record), []
        if method != "PUT":
            raise errors.arm(405, "MethodNotAllowed", f"{method} is not supported by the stand-in for record sets.")
        problems: list[str] = []
        unknown: list[str] = []
        _check(dns_models.RecordSet, body, "", problems, unknown)
        props = (body or {}).get("properties") or {}
        wanted = RECORD_KEYS[kind]
        present = [k for k in RECORD_KEYS.values() if props.get(k)]
        if present != [wanted]:
            problems.append(f"a {kind} record set carries properties.{wanted} (got {present or 'none'})")
        ttl = props.get("TTL")
        if isinstance(ttl, int) and ttl < 0:
            problems.append("properties.TTL: must not be negative")
        values: list[str] = []
        if kind == "A":
            for n, record in enumerate(props.get("ARecords") or []):
                address = (record or {}).get("ipv4Address")
                try:
                    ipaddress.IPv4Address(address)
                except (ipaddress.AddressValueError, ValueError):
                    problems.append(f"properties.ARecords[{n}].ipv4Address: {address!r} is not an IPv4 address")
                    continue
                values.append(address)
        if problems:
            raise errors.arm(400, "BadRequest", "The request body is not a valid record set: " + "; ".join(problems))
        created = (kind, name.lower()) not in zone["records"]
        record = {"ttl": ttl, "values": values}
        zone["records"][(kind, name.lower())] = record
        self.writes.append({"zone": zone["name"], "type": kind, "name": name, **record})
        return (201 if created else 200), self._render(rid, kind, name, zone, record), unknown

    @staticmethod
    def _render(rid: str, kind: str, name: str, zone: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        model = dns_models.RecordSet(ttl=record["ttl"], a_records=[dns_models.ARecord(ipv4_address=v)
                                                                   for v in record["values"]] if kind == "A" else None)
        body = model.serialize()
        body.update({"id": rid, "name": name, "type": f"Microsoft.Network/dnszones/{kind}", "etag": "1"})
        body.setdefault("properties", {})["fqdn"] = f"{name}.{zone['name']}."
        body["properties"]["provisioningState"] = "Succeeded"
        return body

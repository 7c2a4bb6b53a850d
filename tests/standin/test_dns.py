"""The stand-in's Azure DNS: record sets PUT and read back with azure-mgmt-dns's own client, refused like ARM
refuses (unknown zone, bad body, wrong api-version)."""

from __future__ import annotations

import io
import json

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import ARecord, RecordSet

from standin import MachineSpec, modernized_world
from standin.client import StaticToken


@pytest.fixture
def dns(serve):
    world = modernized_world([MachineSpec("app01")])
    world.dns.add_zone("erp.contoso.com", "rg-dns")
    arm = serve(world)
    client = DnsManagementClient(StaticToken(arm.token), world.subscription, base_url=arm.endpoint,
                                 connection_verify=str(arm.cert_path))
    return arm, client


def test_a_record_is_created_then_replaced_and_read_back(dns):
    arm, client = dns
    made = client.record_sets.create_or_update("rg-dns", "erp.contoso.com", "www", "A",
                                               RecordSet(ttl=60, a_records=[ARecord(ipv4_address="10.60.3.31")]))
    assert made.fqdn == "www.erp.contoso.com." and [a.ipv4_address for a in made.a_records] == ["10.60.3.31"]
    client.record_sets.create_or_update("rg-dns", "erp.contoso.com", "www", "A",
                                        RecordSet(ttl=30, a_records=[ARecord(ipv4_address="10.60.3.32")]))
    got = client.record_sets.get("rg-dns", "erp.contoso.com", "www", "A")
    assert (got.ttl, [a.ipv4_address for a in got.a_records]) == (30, ["10.60.3.32"])
    assert [r.status for r in arm.calls("PUT", r"/dnsZones/")] == [201, 200]
    assert arm.calls("PUT", r"/dnsZones/")[0].param("api-version") == "2018-05-01"


def test_unknown_zone_bad_address_and_wrong_version_are_refused(dns):
    arm, client = dns
    with pytest.raises(ResourceNotFoundError):
        client.record_sets.create_or_update("rg-dns", "nope.contoso.com", "www", "A",
                                            RecordSet(ttl=60, a_records=[ARecord(ipv4_address="10.0.0.1")]))
    with pytest.raises(HttpResponseError) as info:
        client.record_sets.create_or_update("rg-dns", "erp.contoso.com", "www", "A",
                                            RecordSet(ttl=60, a_records=[ARecord(ipv4_address="10.0.0.300")]))
    assert info.value.status_code == 400 and "is not an IPv4 address" in info.value.message
    with pytest.raises(HttpResponseError) as info:
        raw = io.BytesIO(json.dumps({"properties": {"TTL": "60"}}).encode())  # bytes: the SDK cannot fix the types
        client.record_sets.create_or_update("rg-dns", "erp.contoso.com", "www", "A", raw)
    assert "expected int" in info.value.message and "carries properties.ARecords" in info.value.message
    old = DnsManagementClient(StaticToken(arm.token), arm.world.subscription, base_url=arm.endpoint,
                              connection_verify=str(arm.cert_path), api_version="2017-10-01")
    with pytest.raises(HttpResponseError) as info:
        old.record_sets.get("rg-dns", "erp.contoso.com", "www", "A")
    assert info.value.status_code == 400
    assert arm.world.dns.records("erp.contoso.com") == {}  # nothing was written

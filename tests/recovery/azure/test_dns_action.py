"""The DNS action (runbooks/actions/switch_dns.py) under --provider azure: azure-mgmt-dns is installed by the
set-up (issue 13: every failover with a DNS action failed without it), and the failover repoints the record in Azure
DNS — the stand-in's — with a credential the action finds itself (here the Azure CLI's, a fake `az` on PATH), since
asrctl hands action scripts no credential variable."""

from __future__ import annotations

import os
from pathlib import Path

FAKE_AZ = Path(__file__).resolve().parents[2] / "fixtures" / "azure"
PLAN = """name: azlab
groups:
  - name: database
    machines: [erp-sql01, erp-sql02]
  - name: web
    machines: [erp-web01]
    after:
      - script: runbooks/actions/switch_dns.py
        args: [--zone, erp.contoso.com, --record, www, --resource-group, rg-dns]
        timeout: 5m
        when: [planned-failover]
"""


def test_azure_dns_is_a_pinned_dependency():
    import azure.mgmt.dns

    root = Path(__file__).resolve().parents[3]
    assert "azure-mgmt-dns==" in (root / "requirements.txt").read_text()
    assert "azure-mgmt-dns>=" in (root / "pyproject.toml").read_text()
    assert azure.mgmt.dns.__name__ == "azure.mgmt.dns"


def test_failover_repoints_the_record_in_azure_dns(make_lab, tmp_path, monkeypatch):
    lab = make_lab(architecture="modernized", plan_text=PLAN,
                   groups=(("database", ("erp-sql01", "erp-sql02")), ("web", ("erp-web01",))))
    lab.world.dns.add_zone("erp.contoso.com", "rg-dns")
    token_file = tmp_path / "az-token"
    token_file.write_text(lab.arm.token)
    monkeypatch.setenv("FAKE_AZ_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("PATH", f"{FAKE_AZ}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")  # no managed-identity probe off loopback
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", lab.cfg.subscription_id)
    run = lab.run("failover", planned=True)
    assert run.status == "succeeded", run.error
    assert lab.world.dns.records("erp.contoso.com") == {("A", "www"): {"ttl": 60, "values": ["10.60.3.31"]}}
    [put] = lab.arm.calls("PUT", r"/dnsZones/erp\.contoso\.com/A/www$")
    assert put.headers["authorization"] == f"Bearer {lab.arm.token}" and not put.unknown_fields
    [action] = [a for g in run.groups for a in g.actions if a.kind == "script"]
    assert action.status == "succeeded"


def test_azure_dns_refusal_fails_the_action_with_one_line(make_lab, tmp_path, monkeypatch):
    lab = make_lab(architecture="modernized", plan_text=PLAN,
                   groups=(("database", ("erp-sql01", "erp-sql02")), ("web", ("erp-web01",))))
    token_file = tmp_path / "az-token"
    token_file.write_text(lab.arm.token)
    monkeypatch.setenv("FAKE_AZ_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("PATH", f"{FAKE_AZ}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", lab.cfg.subscription_id)
    run = lab.run("failover", planned=True)  # the zone does not exist in this vault's subscription
    assert run.status == "failed"
    assert "Azure DNS refused www.erp.contoso.com: ParentResourceNotFound" in run.error

"""ARM's front door and ASR's body validation: SDK-model checks (required fields, discriminators, types, string
booleans), api-version, unknown resources, authentication challenges."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.mgmt.recoveryservicessiterecovery import models as m

from standin import MachineSpec, modernized_world
from standin import helpers as h
from standin.client import site_recovery_client, start
from standin.validation import validate


@pytest.fixture
def v(serve, sdk):
    world = modernized_world([MachineSpec("app01")])
    arm = serve(world)
    return h.Vault(arm, sdk(arm))


def _post(v: h.Vault, action: str, body: object, *, version: str | None = "2025-08-01") -> tuple[int, dict]:
    item = v.world.item("app01")
    params = {"api-version": version} if version else {}
    from azure.core.rest import HttpRequest

    request = HttpRequest("POST", f"{v.arm.endpoint}{v.world.item_id(item)}/{action}", params=params, json=body)
    response = v.client.send_request(request)
    return response.status_code, (response.json() if response.content else {})


# -- bodies ---------------------------------------------------------------------------------------------------------------
def test_missing_required_field_is_refused_with_asrs_error_shape(v):
    status, body = _post(v, "unplannedFailover", {"properties": {"failoverDirection": "PrimaryToRecovery",
                                                                "providerSpecificDetails": {"instanceType": "InMageRcm"}}})  # fmt: skip
    assert status == 400
    assert body["error"]["code"] == "BadRequest"
    detail = body["error"]["details"][0]
    assert detail["code"] == "InvalidRequestBody"
    assert "properties.providerSpecificDetails.performShutdown: required by InMageRcmUnplannedFailoverInput" in detail["message"]
    assert detail["possibleCauses"] and detail["recommendedAction"] and detail["activityId"]
    assert v.world.jobs == {}


def test_wrong_discriminator_is_refused(v):
    status, body = _post(v, "unplannedFailover", {"properties": {"failoverDirection": "PrimaryToRecovery",
                                                                "providerSpecificDetails": {"instanceType": "InMageRcmV3"}}})  # fmt: skip
    assert status == 400
    assert "unknown UnplannedFailoverProviderSpecificInput instanceType 'InMageRcmV3'" in body["error"]["details"][0]["message"]


def test_json_boolean_instead_of_string_true_is_refused(v):
    status, body = _post(v, "unplannedFailover", {"properties": {"failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {
        "instanceType": "InMageRcm", "performShutdown": True}}})  # fmt: skip
    assert status == 400
    assert "performShutdown: expected a string, got boolean true" in body["error"]["details"][0]["message"]
    status, body = _post(v, "unplannedFailover", {"properties": {"failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {
        "instanceType": "InMageRcm", "performShutdown": "yes"}}})  # fmt: skip
    assert status == 400 and 'must be "true" or "false"' in body["error"]["details"][0]["message"]


def test_types_enums_and_nested_models_are_checked():
    checked = validate(m.RecoveryPlanUnplannedFailoverInput, {"properties": {
        "failoverDirection": "Sideways", "sourceSiteOperations": 1,
        "providerSpecificDetails": [{"instanceType": "InMageRcm", "recoveryPointType": "Latest", "useMultiVmSyncPoint": False}]}})  # fmt: skip
    assert checked.problems == [
        "properties.failoverDirection: 'Sideways' is not one of ['PrimaryToRecovery', 'RecoveryToPrimary']",
        "properties.sourceSiteOperations: expected a string, got number 1",
        "properties.providerSpecificDetails[0].useMultiVmSyncPoint: expected a string, got boolean false",
    ]
    checked = validate(m.IPConfigInputDetails, {"isPrimary": "true", "ipConfigName": "c"})  # a real boolean here
    assert checked.problems == ["isPrimary: expected a JSON boolean, got string 'true'"]


def test_undeclared_fields_are_accepted_but_logged(v):
    # LearnREST's migration doc calls it isSelectedForMigration; the SDK's InMageRcm NIC input has no such field.
    item = v.world.item("app01")
    body = {"properties": {"providerSpecificDetails": {"instanceType": "InMageRcm", "vmNics": [
        {"nicId": item.machine.nics[0].mac, "isPrimaryNic": "true", "isSelectedForMigration": "true"}]}}}  # fmt: skip
    poller, _ = start(v.items.begin_update, *v.item_args(item), body)
    patch = v.arm.calls("PATCH")[-1]
    assert patch.unknown_fields == ["properties.providerSpecificDetails.vmNics[0].isSelectedForMigration"]


# -- api-version -------------------------------------------------------------------------------------------------------------
def test_api_version_is_required_and_checked(v):
    status, body = _post(v, "failoverCommit", None, version=None)
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")
    assert body["error"]["message"] == "The api-version query parameter (?api-version=) is required for all requests."
    status, body = _post(v, "failoverCommit", None, version="2018-01-10")
    assert (status, body["error"]["code"]) == (400, "NoRegisteredProviderFound")
    assert "2025-08-01" in body["error"]["message"]
    status, body = _post(v, "failoverCommit", None, version="latest")
    assert (status, body["error"]["code"]) == (400, "InvalidApiVersionParameter")
    machines = v.raw("GET", f"{v.world.site_id(next(iter(v.world.fabrics.values())).site)}/machines", {"api-version": "2025-08-01"})
    assert machines.status_code == 400  # OffAzure has its own versions


# -- unknown resources -----------------------------------------------------------------------------------------------------------
def test_unknown_resources_are_404(v):
    world = v.world
    item = world.item("app01")
    with pytest.raises(ResourceNotFoundError) as info:
        v.items.get(v.rg, v.name, item.fabric, item.container, "no-such-item")
    assert info.value.response.json()["error"]["details"][0]["code"] == "ReplicationProtectedItemNotFound"
    with pytest.raises(ResourceNotFoundError):
        v.jobs.get(v.rg, v.name, "00000000-0000-0000-0000-000000000001")
    with pytest.raises(ResourceNotFoundError):
        v.client.replication_fabrics.get(v.rg, v.name, "no-fabric")
    with pytest.raises(ResourceNotFoundError):
        v.plans.get(v.rg, v.name, "no-plan")
    with pytest.raises(ResourceNotFoundError) as info:
        v.client.replication_fabrics.get(v.rg, "other-vault", item.fabric)
    assert info.value.response.json()["error"]["code"] == "ResourceNotFound"  # ARM's shape for a missing vault
    vnet = v.raw("GET", world.vnet_id("vnet-missing"), {"api-version": "2023-09-01"})
    assert (vnet.status_code, vnet.json()["error"]["code"]) == (404, "ResourceNotFound")


# -- authentication ----------------------------------------------------------------------------------------------------------------
def test_expired_token_gets_an_invalid_token_challenge(v, serve):
    v.arm.expire_token()
    with pytest.raises(ClientAuthenticationError) as info:
        list(v.items.list(v.rg, v.name))
    challenge = info.value.response.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in challenge
    v.arm.valid_tokens.add("fresh")
    fresh = site_recovery_client(v.arm, token="fresh")
    assert [i.name for i in fresh.replication_protected_items.list(v.rg, v.name)] == [v.world.item("app01").name]


def test_a_bad_body_leaves_the_item_untouched(v):
    item = v.world.item("app01")
    with pytest.raises(HttpResponseError):
        v.items.begin_reprotect(*v.item_args(item), {"properties": {"providerSpecificDetails": {"instanceType": "InMageRcm"}}})
    assert (item.state, item.provider, item.current_job) == ("protected", "InMageRcm", None)

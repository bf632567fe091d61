"""What the connections endpoints refuse, and where the refusal points: every error is a
JSON Pointer into the request body (`/settings/issuer`, `/settings/certificates/1`),
whether pydantic or the connector's own parse found it; fields the server owns are refused
(M-04); and a refused request stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from broker.management.errors import InvalidInput
from tests.support.connection_upstreams import (
    SSO_URL,
    Upstreams,
    connections_world,
    create,
    idp_keys,
    next_idp_keys,
    oidc_settings,
    op_key,
    stored_connections,
    upstreams,
)
from tests.support.management_api import ApiWorld
from tests.support.management_checks import management, organization, pointers, problem

__all__ = ["connections_world", "idp_keys", "next_idp_keys", "op_key", "upstreams"]


def refused(world: ApiWorld, org: str, body: dict[str, Any]) -> dict[str, str]:
    """pointer -> detail of a refused create; and nothing was stored."""
    response = world.admin().post(f"/organizations/{org}/connections", json=body)
    pointers(response)  # 422, application/problem+json
    assert stored_connections(world) == []
    errors = problem(response)["errors"]
    assert isinstance(errors, list)
    return {str(e["pointer"]): str(e["detail"]) for e in errors}


def saml(**settings: object) -> dict[str, Any]:
    return {"type": "saml", "settings": settings}


def oidc(upstreams: Upstreams, **changes: object) -> dict[str, Any]:
    settings = {**oidc_settings(upstreams), **changes}
    return {"type": "oidc", "settings": {k: v for k, v in settings.items() if v is not None}}


def test_saml_refusals_point_at_the_field(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    pem = upstreams.keys.certificate_pem.decode()
    values = {"idp_entity_id": "urn:acme:idp", "sso_url": SSO_URL}
    cases: list[tuple[dict[str, Any], str]] = [
        (saml(idp_entity_id="urn:acme:idp", certificates=[pem]), "/settings/sso_url"),
        (saml(**values, certificates=[pem, "not a certificate"]), "/settings/certificates/1"),
        (saml(**values), "/settings/certificates"),
        (saml(), "/settings"),
        (saml(metadata_xml="<nope", **values), "/settings/idp_entity_id"),
        (saml(metadata_xml="<not-xml"), "/settings/metadata_xml"),
        (saml(metadata_url="https://idp.test/absent"), "/settings/metadata_url"),
        (saml(**values, certificates=[pem], attribute_profile="nope"),
         "/settings/attribute_profile"),
        (saml(**values, certificates=[pem], attribute_mapping={"email": []}),
         "/settings/attribute_mapping/email"),
        (saml(**values, certificates=[pem], required_claims=["shoe_size"]),
         "/settings/required_claims"),
        (saml(**values, certificates=[pem], clock_skew_seconds=3600),
         "/settings/clock_skew_seconds"),
        (saml(**values, certificates=[pem], sso_binding="artifact"), "/settings/sso_binding"),
        ({"settings": {"metadata_url": "https://idp.test/metadata"}}, "/type"),
        ({"type": "ldap", "settings": {}}, "/type"),
    ]  # fmt: skip
    for body, where in cases:
        assert where in refused(world, org, body), body


def test_a_private_key_given_as_a_certificate_is_refused_without_repeating_it(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    key = upstreams.keys.private_key_pem.decode()
    body = saml(idp_entity_id="urn:acme:idp", sso_url=SSO_URL, certificates=[key])
    response = world.admin().post(f"/organizations/{org}/connections", json=body)
    assert pointers(response) == {"/settings/certificates/0"}
    assert "private key" in response.text
    assert "PRIVATE KEY" not in response.text


def test_oidc_refusals_point_at_the_field(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    entra = "https://login.microsoftonline.com/common/v2.0"
    manual = {
        "authorization_endpoint": "https://op.test/authorize",
        "token_endpoint": "ftp://op.test/token",
        "jwks_uri": "https://op.test/jwks.json",
    }
    cases: list[tuple[dict[str, Any], str]] = [
        (oidc(upstreams, issuer=None), "/settings/issuer"),
        (oidc(upstreams, issuer="op.test"), "/settings/issuer"),
        (oidc(upstreams, issuer="https://op.test/other"), "/settings/issuer"),  # discovery
        (oidc(upstreams, vendor="entra", issuer=entra), "/settings/issuer"),
        (oidc(upstreams, vendor="nope"), "/settings/vendor"),
        (oidc(upstreams, client_id=None), "/settings/client_id"),
        (oidc(upstreams, client_secret=None), "/settings/client_secret"),
        (oidc(upstreams, token_endpoint_auth_method="private_key_jwt"),
         "/settings/client_secret"),
        (oidc(upstreams, scopes=["profile"]), "/settings/scopes"),
        (oidc(upstreams, scopes=["openid", "bad scope"]), "/settings/scopes"),
        (oidc(upstreams, id_token_algorithms=["HS256"]), "/settings/id_token_algorithms"),
        (oidc(upstreams, endpoints=manual), "/settings/endpoints/token_endpoint"),
        (oidc(upstreams, endpoints={"token_endpoint": "https://op.test/t"}),
         "/settings/endpoints/authorization_endpoint"),
        (oidc(upstreams, always_fetch_userinfo="sometimes"), "/settings/always_fetch_userinfo"),
    ]  # fmt: skip
    for body, where in cases:
        assert where in refused(world, org, body), body


def test_a_discovery_document_that_cannot_serve_the_connection_is_refused(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    upstreams.op.discovery_changes = {"id_token_signing_alg_values_supported": ["HS256"]}
    assert set(refused(world, org, oidc(upstreams))) == {"/settings/issuer"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "con_mine"),
        ("version", 7),
        ("organization_id", "org_other"),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("warnings", []),
    ],
)
def test_server_owned_fields_are_refused(
    connections_world: ApiWorld, upstreams: Upstreams, field: str, value: object
) -> None:
    world, org = connections_world, organization(connections_world)
    body = {**oidc(upstreams), field: value}
    assert set(refused(world, org, body)) == {f"/{field}"}
    cid = create(world, org, "oidc", **oidc_settings(upstreams))["id"]
    path = f"/organizations/{org}/connections/{cid}"
    assert pointers(world.admin().patch(path, json={field: value})) == {f"/{field}"}
    assert world.admin().get(path).json()["version"] == 1


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("oidc", "client_secret_encrypted"),
        ("oidc", "client_key"),
        ("oidc", "tenant_id"),
        ("saml", "sp_signing"),
        ("saml", "sp_encryption"),
        ("saml", "idp_certificates"),
    ],
)
def test_stored_secrets_and_keys_cannot_be_written(
    connections_world: ApiWorld, upstreams: Upstreams, kind: str, field: str
) -> None:
    world, org = connections_world, organization(connections_world)
    forged = {"private_key_encrypted": "AAAA", "certificate_pem": "x"}
    if kind == "oidc":
        body = oidc(upstreams, **{field: forged})
        cid = create(world, org, "oidc", **oidc_settings(upstreams))["id"]
    else:
        metadata = upstreams.metadata().decode()
        body = saml(metadata_xml=metadata, **{field: forged})
        cid = create(world, org, "saml", metadata_xml=metadata)["id"]
    path = f"/organizations/{org}/connections/{cid}"
    patched = world.admin().patch(path, json={"settings": {field: forged}})
    assert pointers(patched) == {f"/settings/{field}"}
    world.admin().delete(path)
    assert set(refused(world, org, body)) == {f"/settings/{field}"}


def test_a_patch_takes_the_settings_of_the_connections_own_type(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    saml_id = create(world, org, "saml", metadata_xml=upstreams.metadata().decode())["id"]
    oidc_id = create(world, org, "oidc", **oidc_settings(upstreams))["id"]
    cases = [
        (saml_id, {"issuer": "https://op.test"}, "/settings/issuer"),
        (saml_id, {"client_secret": "x"}, "/settings/client_secret"),
        (saml_id, {"certificates": ["nope"]}, "/settings/certificates/0"),
        (saml_id, {"metadata_xml": "<x/>", "sso_url": SSO_URL}, "/settings/sso_url"),
        (oidc_id, {"metadata_url": "https://idp.test/metadata"}, "/settings/metadata_url"),
        (oidc_id, {"client_id": None}, "/settings/client_id"),
        (oidc_id, {"token_endpoint_auth_method": "client_secret_post", "client_secret": ""},
         "/settings/client_secret"),
        (oidc_id, {"scopes": "openid"}, "/settings/scopes"),
        (oidc_id, [], "/settings"),
    ]  # fmt: skip
    for cid, settings, where in cases:
        path = f"/organizations/{org}/connections/{cid}"
        response = world.admin().patch(path, json={"settings": settings})
        assert where in pointers(response), (settings, response.text)
        assert world.admin().get(path).json()["version"] == 1


def test_the_use_cases_refuse_the_same_for_every_door(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    """The CLI and the portal call the use cases without the API's models in front: the
    same fields are refused, at the same pointers."""
    world, org = connections_world, organization(connections_world)
    connections = management(world).connections
    metadata = upstreams.metadata()
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: connections.create_saml("cli", org, {"metadata_xml": metadata,
                                                      "sp_signing": {}}), "/settings/sp_signing"),
        (lambda: connections.create_saml("cli", org, {"metadata_xml": metadata}, name=" \t "),
         "/name"),
        (lambda: connections.create_oidc("cli", org, {**oidc_settings(upstreams),
                                                      "client_secret": "x"}),
         "/settings/client_secret"),
        (lambda: connections.create_saml("cli", org, {"metadata_url": 42}),
         "/settings/metadata_url"),
        (lambda: connections.create_saml("cli", org, {"certificates": "pem"}),
         "/settings/certificates"),
    ]  # fmt: skip
    for attempt, where in attempts:
        with pytest.raises(InvalidInput) as refusal:
            attempt()
        assert [e.pointer for e in refusal.value.errors] == [where]
    saml_id = connections.create_saml("cli", org, {"metadata_xml": metadata}).connection.id
    with pytest.raises(InvalidInput) as refusal:
        connections.update("cli", org, saml_id, client_secret="a secret")
    assert [e.pointer for e in refusal.value.errors] == ["/settings/client_secret"]
    assert connections.get(org, saml_id).version == 1


@pytest.mark.parametrize(
    "issuer",
    [
        "https://xn--.com",  # httpx's IDNA refused it from inside the request: a 500
        "https://xn--zz-zzz.com",
        "https://[op.test",  # urlsplit raised ValueError: a 500
        "https://op.test:99999",
        "https://op.test/ x",
    ],
)
def test_an_issuer_no_request_can_be_made_to_is_refused_at_the_field(
    connections_world: ApiWorld, upstreams: Upstreams, issuer: str
) -> None:
    world, org = connections_world, organization(connections_world)
    assert "/settings/issuer" in refused(world, org, oidc(upstreams, issuer=issuer))


@pytest.mark.parametrize("url", ["https://xn--.com/metadata", "https://idp.test:99999/m"])
def test_a_metadata_url_no_request_can_be_made_to_is_refused_at_the_field(
    connections_world: ApiWorld, url: str
) -> None:
    world, org = connections_world, organization(connections_world)
    assert "/settings/metadata_url" in refused(world, org, saml(metadata_url=url))

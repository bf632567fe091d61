"""The connections resource and the rest of Gatehouse: URLs it is given go through the
outbound guard at write time (M-08: no request to a private address, nothing stored);
secrets and private keys never come back (M-05); activation is what routes logins; and a
config the API accepts opens in the broker (the same parse)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy.engine import Engine

from broker.model.records import Domain
from broker.oidc.clients import register_client
from broker.store import Store
from tests.support.config import RP_CALLBACK
from tests.support.connection_upstreams import (
    SSO_URL,
    Upstreams,
    connections_world,
    create,
    idp_keys,
    next_idp_keys,
    oidc_settings,
    op_key,
    open_in_broker,
    stored_connections,
    upstreams,
)
from tests.support.harness import pkce_pair
from tests.support.management_api import ApiWorld, build_api_world
from tests.support.management_checks import database_text, organization, pointers

__all__ = ["connections_world", "idp_keys", "next_idp_keys", "op_key", "upstreams"]

PRIVATE = [
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.7",
    "https://[fd00::1]",
]


@pytest.fixture
def production_world(store: Store, tmp_path: Path, upstreams: Upstreams) -> Iterator[ApiWorld]:
    """The outbound policy of production: https, public addresses only (no loopback)."""
    world = build_api_world(store, tmp_path, http=upstreams.client(), env="production")
    with world.http:
        yield world


def test_urls_to_private_addresses_are_refused_before_any_request(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    manual = {
        "authorization_endpoint": "https://op.test/authorize",
        "token_endpoint": "https://192.168.1.1/token",
        "jwks_uri": "https://op.test/jwks.json",
    }
    cases: list[tuple[str, dict[str, Any], str]] = [
        *[("saml", {"metadata_url": url}, "/settings/metadata_url") for url in PRIVATE],
        *[("oidc", {**oidc_settings(upstreams), "issuer": url}, "/settings/issuer")
          for url in PRIVATE],
        ("oidc", {**oidc_settings(upstreams), "endpoints": manual},
         "/settings/endpoints/token_endpoint"),
    ]  # fmt: skip
    for kind, settings, where in cases:
        response = world.admin().post(
            f"/organizations/{org}/connections", json={"type": kind, "settings": settings}
        )
        assert pointers(response) == {where}, settings
        assert "public address" in response.text
    assert upstreams.requests == []
    assert stored_connections(world) == []


def test_an_update_to_a_private_issuer_is_refused_and_changes_nothing(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    cid = create(world, org, "oidc", **oidc_settings(upstreams))["id"]
    upstreams.requests.clear()
    path = f"/organizations/{org}/connections/{cid}"
    response = world.admin().patch(path, json={"settings": {"issuer": PRIVATE[0]}})
    assert pointers(response) == {"/settings/issuer"}
    assert upstreams.requests == []
    assert world.admin().get(path).json()["settings"]["issuer"] == upstreams.op.issuer


def test_in_production_loopback_and_http_are_refused_too(
    production_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = production_world, organization(production_world)
    pem = upstreams.keys.certificate_pem.decode()
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("saml", {"metadata_url": "https://127.0.0.1/metadata"}, "/settings/metadata_url"),
        ("saml", {"metadata_url": "http://idp.test/metadata"}, "/settings/metadata_url"),
        ("oidc", {**oidc_settings(upstreams), "issuer": "https://127.0.0.1:8443"},
         "/settings/issuer"),
        ("saml", {"idp_entity_id": "urn:idp", "sso_url": "http://idp.test/sso",
                  "certificates": [pem]}, "/settings/sso_url"),
    ]  # fmt: skip
    for kind, settings, where in cases:
        response = world.admin().post(
            f"/organizations/{org}/connections", json={"type": kind, "settings": settings}
        )
        assert pointers(response) == {where}, (settings, response.text)
    assert upstreams.requests == []
    assert stored_connections(world) == []


def test_secrets_and_private_keys_never_come_back(
    connections_world: ApiWorld, upstreams: Upstreams, engine: Engine
) -> None:
    world, org = connections_world, organization(connections_world)
    admin = world.admin()
    answers: list[httpx.Response] = []

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answers.append(admin.post(path, json=body))
        assert answers[-1].status_code == 201, answers[-1].text
        created: dict[str, Any] = answers[-1].json()
        return created

    collection = f"/organizations/{org}/connections"
    secret_one, secret_two = "first-client-secret-value", "second-client-secret-value"
    settings = {**oidc_settings(upstreams), "client_secret": secret_one}
    with_secret = post(collection, {"type": "oidc", "settings": settings})
    del settings["client_secret"]
    with_key = post(collection, {"type": "oidc", "settings": {
        **settings, "token_endpoint_auth_method": "private_key_jwt"}})  # fmt: skip
    metadata = upstreams.metadata().decode()
    with_sp_keys = post(collection, {"type": "saml", "settings": {"metadata_xml": metadata}})
    secret_path = f"{collection}/{with_secret['id']}"
    answers += [
        admin.patch(secret_path, json={"settings": {"client_secret": secret_two}}),
        admin.patch(secret_path, json={"settings": {"client_secret": secret_two, "scopes": []}}),
        admin.get(collection),
        *[admin.post(f"{collection}/{c['id']}/deactivate") for c in (with_key, with_sp_keys)],
        *[admin.get(f"{collection}/{c['id']}") for c in (with_secret, with_key, with_sp_keys)],
        world.http.get(with_key["settings"]["jwks_uri"]),
        world.http.get(with_sp_keys["settings"]["sp_metadata_url"]),
    ]
    assert [a.status_code for a in answers] == [201, 201, 201, 200, 422, *[200] * 8]
    for answer in answers:
        for leak in (secret_one, secret_two, "PRIVATE KEY", "key_encrypted", "secret_encrypted"):
            assert leak not in answer.text, (answer.request.url, leak)
        assert not re.search(r'"(d|p|q|dp|dq|qi)"\s*:', answer.text), answer.request.url
    assert [a.json()["settings"]["client_secret_set"] for a in answers[:2]] == [True, False]
    stored = database_text(engine)
    assert secret_one not in stored
    assert secret_two not in stored


def test_the_openapi_document_marks_the_secret_write_only(connections_world: ApiWorld) -> None:
    document = connections_world.http.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["OidcSettingsCreate"]["properties"]["client_secret"]["anyOf"][0] == {
        "format": "password", "type": "string", "writeOnly": True, "minLength": 1,
        "maxLength": 4096,
    }  # fmt: skip
    assert "client_secret" not in schemas["OidcSettingsOut"]["properties"]


def login_attempt(world: ApiWorld, client_id: str) -> httpx.Response:
    """An RP sends ann@acme.test to /authorize; the broker routes her by her domain."""
    _, challenge = pkce_pair()
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": RP_CALLBACK,
        "scope": "openid email", "state": "s", "nonce": "n", "code_challenge": challenge,
        "code_challenge_method": "S256", "login_hint": "ann@acme.test",
    }  # fmt: skip
    response: httpx.Response = world.http.get(
        "/authorize?" + urlencode(params), follow_redirects=False
    )
    return response


def test_only_an_active_connection_routes_logins(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        uow.domains.add(Domain(organization_id=org, name="acme.test", verified_at=now))
        client = register_client(uow, name="Auth0", redirect_uris=[RP_CALLBACK], now=now)
    metadata = upstreams.metadata().decode()
    created = create(world, org, "saml", metadata_xml=metadata, active=False)
    assert created["active"] is False
    path = f"/organizations/{org}/connections/{created['id']}"

    def routed() -> bool:
        answer = login_attempt(world, client.client.client_id)
        if answer.is_redirect:
            assert answer.headers["location"].startswith(SSO_URL + "?SAMLRequest="), answer
            return True
        assert "single sign-on is not active yet" in answer.text, answer.text
        return False

    assert not routed()
    assert world.admin().post(path + "/activate").json()["active"] is True
    assert routed()
    deactivated = world.admin().post(path + "/deactivate").json()
    assert (deactivated["active"], deactivated["version"]) == (False, 3)
    assert not routed()
    assert world.admin().post(path + "/deactivate").json()["version"] == 3  # already inactive
    assert world.admin().post(path + "/activate").status_code == 200
    assert routed()


def test_every_kind_of_connection_the_api_accepts_opens_in_the_broker(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    upstreams.serve_metadata()
    manual = {
        "authorization_endpoint": "https://op.test/authorize",
        "token_endpoint": "https://op.test/token",
        "jwks_uri": "https://op.test/jwks.json",
    }
    settings = oidc_settings(upstreams)
    del settings["client_secret"]
    made = [
        create(world, org, "saml", metadata_url="https://idp.test/metadata"),
        create(world, org, "saml", idp_entity_id="urn:idp", sso_url=SSO_URL,
               certificates=[upstreams.keys.certificate_base64()], allow_sha1=True,
               attribute_mapping={"email": ["mail"]}, subject_attribute="oid"),
        create(world, org, "oidc", **oidc_settings(upstreams), vendor="okta"),
        create(world, org, "oidc", **oidc_settings(upstreams), endpoints=manual),
        create(world, org, "oidc", **settings, token_endpoint_auth_method="private_key_jwt"),
    ]  # fmt: skip
    assert any("SHA-1" in w for w in made[1]["warnings"])
    assert any("by hand" in w for w in made[3]["warnings"])
    stored = stored_connections(world)
    assert {c.id for c in stored} == {m["id"] for m in made}
    for connection in stored:
        open_in_broker(world, connection)


def test_settings_that_no_longer_pass_are_shown_as_such_and_not_activated(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    """A rule tightened after a connection was saved: reading it must still work (with a
    warning), and it is not switched on until its settings are fixed."""
    world, org = connections_world, organization(connections_world)
    created = create(world, org, "saml", metadata_xml=upstreams.metadata().decode())
    path = f"/organizations/{org}/connections/{created['id']}"
    world.admin().post(path + "/deactivate")
    with world.store.unit_of_work() as uow:
        current = uow.connections.get(created["id"])
        broken = replace(current, config={**current.config, "idp_certificates": []})
        uow.connections.save(broken, expected_version=current.version)
    read = world.admin().get(path).json()
    assert read["settings"] is None
    assert "no longer pass" in read["warnings"][0]
    assert world.admin().post(path + "/activate").status_code == 409
    fixed = world.admin().patch(
        path, json={"settings": {"certificates": [upstreams.keys.certificate_pem.decode()]}}
    )
    assert fixed.status_code == 200, fixed.text
    assert world.admin().post(path + "/activate").json()["active"] is True

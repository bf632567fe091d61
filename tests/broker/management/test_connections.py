"""`/api/v1/organizations/{id}/connections`: SAML (from metadata, by URL or document, or
from the IdP's values) and OIDC (discovery checked first), read, listed by cursor, updated
through the connector's parse with a new version, deleted; every change an audit event
with the caller as actor. Every connection these tests create is opened with the broker's
own `open_connection` when the test ends (the `connections_world` fixture)."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography import x509

from broker.model.portal import ConnectionTest
from broker.upstream.oidc.config import OidcConnectionConfig
from tests.support.config import ISSUER
from tests.support.connection_upstreams import (
    IDP_ENTITY_ID,
    SSO_URL,
    Upstreams,
    connections_world,
    create,
    idp_keys,
    next_idp_keys,
    oidc_settings,
    op_key,
    upstreams,
)
from tests.support.management_api import ApiWorld
from tests.support.management_checks import organization

__all__ = ["connections_world", "idp_keys", "next_idp_keys", "op_key", "upstreams"]


def test_saml_from_a_metadata_document_answers_what_the_idp_admin_needs(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    settings = {"metadata_xml": upstreams.metadata().decode(), "attribute_profile": "okta"}
    response = world.admin().post(
        f"/organizations/{org}/connections",
        json={"type": "saml", "name": "Acme Okta", "settings": settings},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    cid = created["id"]
    assert response.headers["location"] == f"/api/v1/organizations/{org}/connections/{cid}"
    assert (created["type"], created["name"], created["organization_id"]) == (
        "saml", "Acme Okta", org,
    )  # fmt: skip
    # Inactive until asked: no login routes to an IdP its admin has not set up yet.
    assert (created["active"], created["version"]) == (False, 1)
    assert (created["last_test"], created["last_passed_at"]) == (None, None)
    saml = created["settings"]
    assert (saml["idp_entity_id"], saml["sso_url"], saml["sso_binding"]) == (
        IDP_ENTITY_ID, SSO_URL, "redirect",
    )  # fmt: skip
    assert saml["attribute_profile"] == "okta"
    assert saml["metadata_url"] is None  # given by document: nothing to re-read
    assert saml["acs_url"] == f"{ISSUER}/saml/{cid}/acs"
    assert saml["sp_entity_id"] == saml["sp_metadata_url"] == f"{ISSUER}/saml/{cid}/metadata"
    certificate = x509.load_pem_x509_certificate(upstreams.keys.certificate_pem)
    [listed] = saml["certificates"]
    assert listed["subject"] == listed["issuer"] == "CN=Gatehouse IdP simulator"
    assert listed["not_after"].startswith(f"{certificate.not_valid_after_utc:%Y-%m-%dT%H:%M}")
    fingerprint = hashlib.sha256(base64.b64decode(upstreams.keys.certificate_base64()))
    assert listed["sha256_fingerprint"].replace(":", "") == fingerprint.hexdigest().upper()
    read = world.admin().get(f"/organizations/{org}/connections/{cid}").json()
    assert {**read, "warnings": []} == {**created, "warnings": []}
    # The SP metadata the IdP admin is pointed at is served, for this connection.
    assert world.http.get(saml["sp_metadata_url"]).status_code == 200


def test_saml_from_a_metadata_url_is_fetched_by_gatehouse(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    org = organization(connections_world)
    url = upstreams.serve_metadata()
    created = create(connections_world, org, "saml", metadata_url=url)
    assert created["settings"]["idp_entity_id"] == IDP_ENTITY_ID
    assert [str(r.url) for r in upstreams.requests] == [url]
    # Shown, read-only, where the refresh re-reads it (review of issue 16, finding 6).
    assert created["settings"]["metadata_url"] == url
    read = connections_world.admin().get(f"/organizations/{org}/connections/{created['id']}").json()
    assert read["settings"]["metadata_url"] == url
    schemas = connections_world.http.get("/api/v1/openapi.json").json()["components"]["schemas"]
    shown = schemas["SamlSettingsOut"]["properties"]["metadata_url"]
    assert "read-only" in shown["description"]
    assert "metadata_url" in schemas["SamlSettingsOut"]["required"]


def test_saml_from_the_idps_values_takes_a_certificate_as_pem_or_base64_der(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    org = organization(connections_world)
    values: dict[str, Any] = {
        "idp_entity_id": "urn:acme:idp", "sso_url": SSO_URL, "sso_binding": "post",
    }  # fmt: skip
    pem = create(
        connections_world, org, "saml", **values,
        certificates=[upstreams.keys.certificate_pem.decode()],
    )  # fmt: skip
    der = create(
        connections_world, org, "saml", **values,
        certificates=[upstreams.keys.certificate_base64()],
    )  # fmt: skip
    assert pem["settings"]["certificates"] == der["settings"]["certificates"]
    assert (der["settings"]["idp_entity_id"], der["settings"]["sso_binding"]) == (
        "urn:acme:idp", "post",
    )  # fmt: skip


def test_saml_names_the_expected_person_in_the_request_unless_turned_off(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    created = create(world, org, "saml", metadata_xml=upstreams.metadata().decode())
    assert created["settings"]["subject_hint"] is True
    path = f"/organizations/{org}/connections/{created['id']}"
    updated = world.admin().patch(path, json={"settings": {"subject_hint": False}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["settings"]["subject_hint"] is False


def test_saml_accepts_aes_cbc_only_when_asked_and_says_so(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    """S-22: AES-CBC encrypted assertions are an explicit opt-in, shown in the answer, warned
    about, advertised in the SP metadata after AES-GCM, and revocable by an update."""
    world, org = connections_world, organization(connections_world)
    metadata = upstreams.metadata().decode()
    plain = create(world, org, "saml", metadata_xml=metadata)
    assert plain["settings"]["allow_cbc_encryption"] is False
    assert b"aes256-cbc" not in world.http.get(plain["settings"]["sp_metadata_url"]).content
    created = create(world, org, "saml", metadata_xml=metadata, allow_cbc_encryption=True)
    assert created["settings"]["allow_cbc_encryption"] is True
    assert any("AES-CBC" in w for w in created["warnings"])
    served = world.http.get(created["settings"]["sp_metadata_url"]).content
    assert served.index(b"aes256-gcm") < served.index(b"aes256-cbc")
    path = f"/organizations/{org}/connections/{created['id']}"
    updated = world.admin().patch(path, json={"settings": {"allow_cbc_encryption": False}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["settings"]["allow_cbc_encryption"] is False
    assert not any("AES-CBC" in w for w in updated.json()["warnings"])


def test_oidc_with_a_client_secret_is_checked_against_discovery_first(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    org = organization(connections_world)
    created = create(connections_world, org, "oidc", **oidc_settings(upstreams))
    oidc = created["settings"]
    assert [r.url.path for r in upstreams.requests] == ["/.well-known/openid-configuration"]
    assert (oidc["issuer"], oidc["client_id"], oidc["vendor"]) == (
        upstreams.op.issuer, upstreams.op.client_id, "generic",
    )  # fmt: skip
    assert oidc["token_endpoint_auth_method"] == "client_secret_basic"
    assert oidc["client_secret_set"] is True
    assert oidc["redirect_uri"] == f"{ISSUER}/oidc/{created['id']}/callback"
    assert oidc["jwks_uri"] is None
    assert oidc["scopes"] == ["openid", "profile", "email"]


def test_oidc_with_private_key_jwt_publishes_the_key_to_register(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    org = organization(connections_world)
    settings = {**oidc_settings(upstreams), "token_endpoint_auth_method": "private_key_jwt"}
    del settings["client_secret"]
    created = create(connections_world, org, "oidc", **settings)
    oidc = created["settings"]
    assert oidc["client_secret_set"] is False
    assert oidc["jwks_uri"] == f"{ISSUER}/oidc/{created['id']}/jwks.json"
    [key] = connections_world.http.get(oidc["jwks_uri"]).json()["keys"]
    assert key["kty"] == "RSA"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_a_list_is_paged_with_a_cursor_oldest_first(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    made = []
    for n in range(3):
        world.clock.advance(timedelta(seconds=1))
        made.append(create(world, org, "oidc", **oidc_settings(upstreams), name=f"n{n}")["id"])
    path = f"/organizations/{org}/connections"
    first = world.admin().get(path, params={"limit": 2}).json()
    assert [c["id"] for c in first["items"]] == made[:2]
    second = world.admin().get(path, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in second["items"]] == made[2:]
    assert second["next_cursor"] is None
    assert [c["name"] for c in world.admin().get(path).json()["items"]] == ["n0", "n1", "n2"]


def test_an_update_renames_and_rolls_the_certificates_over_with_a_new_version(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    created = create(world, org, "saml", metadata_xml=upstreams.metadata().decode())
    path = f"/organizations/{org}/connections/{created['id']}"
    renamed = world.admin().patch(path, json={"name": "Acme SSO"})
    assert (renamed.json()["name"], renamed.json()["version"]) == ("Acme SSO", 2)
    old = upstreams.keys.certificate_pem.decode()
    new = upstreams.next_keys.certificate_pem.decode()
    rolled = world.admin().patch(path, json={"settings": {"certificates": [old, new]}})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["version"] == 3
    assert len(rolled.json()["settings"]["certificates"]) == 2
    moved = upstreams.metadata(sso_url="https://idp.test/sso2").decode()
    replaced = world.admin().patch(path, json={"settings": {"metadata_xml": moved}}).json()
    assert replaced["settings"]["sso_url"] == "https://idp.test/sso2"
    assert len(replaced["settings"]["certificates"]) == 1
    assert replaced["name"] == "Acme SSO"
    assert replaced["version"] == 4


def test_an_update_without_a_change_writes_nothing(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    created = create(world, org, "saml", metadata_xml=upstreams.metadata().decode())
    path = f"/organizations/{org}/connections/{created['id']}"
    same = {"metadata_xml": upstreams.metadata().decode(), "attribute_profile": "generic"}
    again = world.admin().patch(path, json={"name": created["name"], "settings": same})
    assert again.json()["version"] == 1
    assert kinds(world, org) == ["connection.created"]


def test_an_oidc_update_takes_a_new_secret_and_settings(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    created = create(world, org, "oidc", **oidc_settings(upstreams))
    path = f"/organizations/{org}/connections/{created['id']}"
    change = {"client_secret": "rotated-secret", "scopes": ["openid", "email"]}
    updated = world.admin().patch(path, json={"settings": change})
    assert updated.status_code == 200, updated.text
    assert updated.json()["settings"]["scopes"] == ["openid", "email"]
    assert updated.json()["version"] == 2
    with world.store.unit_of_work() as uow:
        stored = uow.connections.get(created["id"])
    config = OidcConnectionConfig.parse(stored.config)
    assert config.client_secret(world.broker.secrets, stored.id) == "rotated-secret"
    reset = world.admin().patch(path, json={"settings": {"scopes": None}}).json()
    assert reset["settings"]["scopes"] == ["openid", "profile", "email"]


def test_an_edit_made_while_the_idp_was_asked_is_not_overwritten(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    """The discovery document is fetched between reading the connection and saving it;
    a rename saved meanwhile wins, and the update that read the older version is refused
    (compare-and-swap on the version), not merged over it."""
    world, org = connections_world, organization(connections_world)
    cid = create(world, org, "oidc", **oidc_settings(upstreams))["id"]
    path = f"/organizations/{org}/connections/{cid}"

    def rename(request: httpx.Request) -> None:
        upstreams.meanwhile = None
        assert world.admin().patch(path, json={"name": "Renamed meanwhile"}).status_code == 200

    upstreams.meanwhile = rename
    stale = world.admin().patch(path, json={"settings": {"scopes": ["openid", "email"]}})
    assert stale.status_code == 409, stale.text
    read = world.admin().get(path).json()
    assert (read["name"], read["version"]) == ("Renamed meanwhile", 2)
    assert read["settings"]["scopes"] == ["openid", "profile", "email"]


def test_delete_removes_it(connections_world: ApiWorld, upstreams: Upstreams) -> None:
    world, org = connections_world, organization(connections_world)
    created = create(world, org, "oidc", **oidc_settings(upstreams))
    path = f"/organizations/{org}/connections/{created['id']}"
    assert world.admin().delete(path).status_code == 204
    assert world.admin().get(path).status_code == 404
    assert world.admin().delete(path).status_code == 404
    assert world.admin().get(f"/organizations/{org}/connections").json()["items"] == []


def test_every_change_is_an_event_with_the_management_client_as_actor(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    admin = world.admin()
    cid = create(world, org, "oidc", **oidc_settings(upstreams))["id"]
    path = f"/organizations/{org}/connections/{cid}"
    changes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PATCH", path, {"settings": {"client_secret": "another-secret"}}),
        ("POST", path + "/deactivate", None),
        ("POST", path + "/activate", None),
        ("DELETE", path, None),
    ]
    for method, url, body in changes:
        world.clock.advance(timedelta(seconds=1))  # events are ordered by time
        assert admin.request(method, url, json=body).status_code in (200, 204)
    with world.store.unit_of_work() as uow:
        events = list(reversed(uow.audit.list(organization_id=org)))
    ours = [e for e in events if e.kind.startswith("connection.")]
    assert [e.kind for e in ours] == [
        "connection.created", "connection.updated", "connection.deactivated",
        "connection.activated", "connection.deleted",
    ]  # fmt: skip
    assert {e.actor for e in ours} == {f"management_client:{admin.client_id}"}
    assert {e.connection_id for e in ours} == {cid}
    assert ours[1].detail["changed"] == ["client_secret"]
    assert "another-secret" not in repr([e.detail for e in events])


def test_an_idempotency_key_creates_one_connection(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    body = {"type": "oidc", "settings": oidc_settings(upstreams)}
    path = f"/organizations/{org}/connections"
    headers = {"Idempotency-Key": "create-acme-oidc"}
    first = world.admin().post(path, json=body, headers=headers)
    again = world.admin().post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(world.admin().get(path).json()["items"]) == 1


def kinds(world: ApiWorld, org: str) -> list[str]:
    with world.store.unit_of_work() as uow:
        return [e.kind for e in reversed(uow.audit.list(organization_id=org))
                if e.kind.startswith("connection.")]  # fmt: skip


def test_active_true_at_creation_routes_logins_at_once(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    """`"active": true` passes the same check as activateConnection, in the one write that
    creates it: one version, one connection.created event."""
    world, org = connections_world, organization(connections_world)
    saml = create(world, org, "saml", active=True, metadata_xml=upstreams.metadata().decode())
    oidc = create(world, org, "oidc", active=True, **oidc_settings(upstreams))
    for created in (saml, oidc):
        assert (created["active"], created["version"]) == (True, 1)
    with world.store.unit_of_work() as uow:
        kinds = [e.kind for e in uow.audit.list(organization_id=org)]
    assert kinds.count("connection.created") == 2
    assert "connection.activated" not in kinds
    inactive = create(world, org, "saml", active=False, metadata_xml=upstreams.metadata().decode())
    assert inactive["active"] is False


def test_a_connection_says_its_newest_test_and_when_one_last_passed(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    """From the portal's stored test logins: the newest outcome, and the newest pass of
    whatever settings, which the retention purge keeps however old."""
    world, org = connections_world, organization(connections_world)
    cid = create(world, org, "saml", metadata_xml=upstreams.metadata().decode())["id"]
    path = f"/organizations/{org}/connections/{cid}"
    start = world.clock.now()
    outcomes = [(False, "wrong_audience"), (True, None), (True, None), (False, "expired")]
    with world.store.unit_of_work() as uow:
        for n, (passed, reason) in enumerate(outcomes):
            uow.connection_tests.add(
                ConnectionTest(
                    id=f"ct_{n}", organization_id=org, connection_id=cid,
                    config_digest=f"digest{n}", passed=passed, reason=reason, report={},
                    created_at=start + timedelta(minutes=n),
                )
            )  # fmt: skip
    read = world.admin().get(path).json()
    assert read["last_test"]["passed"] is False
    assert _instant(read["last_test"]["at"]) == start + timedelta(minutes=3)
    assert _instant(read["last_passed_at"]) == start + timedelta(minutes=2)
    with world.store.unit_of_work() as uow:
        assert uow.connection_tests.purge_before(start + timedelta(days=90), limit=100) == 2
    after = world.admin().get(path).json()
    assert (after["last_test"], after["last_passed_at"]) == (
        read["last_test"], read["last_passed_at"],
    )  # fmt: skip
    [listed] = world.admin().get(f"/organizations/{org}/connections").json()["items"]
    assert (listed["last_test"], listed["last_passed_at"]) == (
        read["last_test"], read["last_passed_at"],
    )  # fmt: skip


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

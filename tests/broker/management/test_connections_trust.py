"""A connection's own CA bundle through the management API (docs/security.md X-07), against an
on-premises IdP served over real TLS with a certificate its company's private CA issued: the
setup fetches (discovery, metadata) trust the bundle of the connection they are for, and no
other; the bundle is checked when given and shown as the CAs it holds."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.management.errors import InvalidInput
from broker.store import Store
from tests.support.certificates import fingerprint
from tests.support.management_api import ApiWorld, build_api_world
from tests.support.management_checks import organization, problem
from tests.support.private_ca import (
    CLIENT_ID,
    CLIENT_SECRET,
    OnPremisesIdp,
    PrivateCa,
    private_ca,
)

NOT_TRUSTED = "the TLS certificate of localhost is not trusted (unable to get local issuer "


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[ApiWorld]:
    """The management API with the broker's real outbound client, closed after the test
    with the TLS connections to the IdP it kept alive."""
    api_world = build_api_world(store, tmp_path)
    with api_world.http:
        yield api_world
    api_world.broker.close()


def errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    found = problem(response)["errors"]
    assert isinstance(found, list)
    return {str(e["pointer"]): str(e["detail"]) for e in found}


def create(world: ApiWorld, org: str, kind: str, **settings: object) -> httpx.Response:
    response: httpx.Response = world.admin().post(
        f"/organizations/{org}/connections", json={"type": kind, "settings": settings}
    )
    return response


def metadata(company_idp: OnPremisesIdp, company_ca: PrivateCa) -> str:
    """The IdP's metadata document, as its admin downloads it."""
    return httpx.get(
        company_idp.metadata_url, verify=ssl.create_default_context(cadata=company_ca.pem)
    ).text


def oidc(company_idp: OnPremisesIdp, **settings: object) -> dict[str, object]:
    return {
        "issuer": company_idp.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        **settings,
    }  # fmt: skip


def test_an_oidc_connection_to_an_on_premises_idp_needs_its_ca(
    world: ApiWorld, company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    org = organization(world)
    refused = errors(create(world, org, "oidc", **oidc(company_idp)))
    assert list(refused) == ["/settings/issuer"]
    assert refused["/settings/issuer"].startswith(
        f"cannot read the discovery document: {NOT_TRUSTED}"
    )
    created = create(world, org, "oidc", **oidc(company_idp, ca_bundle=company_ca.pem))
    assert created.status_code == 201, created.text
    shown = world.admin().get(created.headers["location"].removeprefix("/api/v1")).json()
    [authority] = shown["settings"]["ca_certificates"]
    assert authority["subject"] == authority["issuer"] == "CN=Example Corp Root CA"
    assert authority["sha256_fingerprint"] == fingerprint(company_ca.pem)
    assert shown["warnings"] == []


def test_no_other_organizations_connection_trusts_it(
    world: ApiWorld, company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    """Acme's CA issued the certificate this host presents: Acme's connection accepts it;
    Globex's, to the same host right after, does not, with no bundle or with its own."""
    acme, globex = organization(world, "Acme"), organization(world, "Globex")
    assert (
        create(world, acme, "oidc", **oidc(company_idp, ca_bundle=company_ca.pem)).status_code
        == 201
    )
    own = private_ca("Globex Root CA").pem
    for settings in (oidc(company_idp), oidc(company_idp, ca_bundle=own)):
        refused = errors(create(world, globex, "oidc", **settings))
        assert NOT_TRUSTED in refused["/settings/issuer"]
    saml = errors(create(world, globex, "saml", metadata_url=company_idp.metadata_url))
    assert saml["/settings/metadata_url"].startswith(
        f"Gatehouse could not fetch the metadata: {NOT_TRUSTED}"
    )


def test_a_saml_connections_metadata_url_is_fetched_trusting_its_bundle(
    world: ApiWorld, company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    org = organization(world)
    refused = errors(create(world, org, "saml", metadata_url=company_idp.metadata_url))
    assert NOT_TRUSTED in refused["/settings/metadata_url"]
    created = create(
        world, org, "saml", metadata_url=company_idp.metadata_url, ca_bundle=company_ca.pem
    )
    assert created.status_code == 201, created.text
    path = created.headers["location"].removeprefix("/api/v1")
    assert created.json()["settings"]["idp_entity_id"] == company_idp.metadata_url

    def patch(**settings: object) -> httpx.Response:
        response: httpx.Response = world.admin().patch(path, json={"settings": settings})
        return response

    # New metadata from the same URL: fetched with the stored bundle.
    assert patch(metadata_url=company_idp.metadata_url).status_code == 200
    # Removing the bundle while fetching again: the fetch no longer trusts the IdP.
    removed = errors(patch(metadata_url=company_idp.metadata_url, ca_bundle=None))
    assert NOT_TRUSTED in removed["/settings/metadata_url"]
    # Removing it alone: no fetch, none shown.
    cleared = patch(ca_bundle=None)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["settings"]["ca_certificates"] == []


def test_an_oidc_connection_cannot_drop_the_bundle_its_idp_needs(
    world: ApiWorld, company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    """Every OIDC change re-reads the discovery document, with the bundle as it would be."""
    org = organization(world)
    created = create(world, org, "oidc", **oidc(company_idp, ca_bundle=company_ca.pem))
    path = created.headers["location"].removeprefix("/api/v1")
    refused = errors(world.admin().patch(path, json={"settings": {"ca_bundle": None}}))
    assert NOT_TRUSTED in refused["/settings/issuer"]
    renamed = world.admin().patch(path, json={"settings": {"clock_skew_seconds": 60}})
    assert renamed.status_code == 200, renamed.text
    assert len(renamed.json()["settings"]["ca_certificates"]) == 1


def test_a_bundle_that_cannot_serve_is_refused_on_its_field(
    world: ApiWorld, company_idp: OnPremisesIdp
) -> None:
    org = organization(world)
    now = world.clock.now()
    expired = private_ca("Old Root", not_before=now - timedelta(days=900), not_after=now)
    cases: list[tuple[object, str]] = [
        (
            private_ca("idp.corp.test", ca=False).pem,
            "CN=idp.corp.test is not a certificate authority (no basicConstraints CA:TRUE): "
            "give the CA that issued your identity provider's TLS certificate, not that "
            "certificate itself",
        ),
        (
            expired.pem,
            f"The certificate authority CN=Old Root expired on {now:%Y-%m-%d}: give its "
            "current certificate",
        ),
        ("corp-root.cer", "not PEM certificates (-----BEGIN CERTIFICATE-----)"),
    ]
    for bundle, detail in cases:
        for kind, settings in (
            ("oidc", oidc(company_idp, ca_bundle=bundle)),
            ("saml", {"metadata_url": company_idp.metadata_url, "ca_bundle": bundle}),
        ):
            assert errors(create(world, org, kind, **settings)) == {"/settings/ca_bundle": detail}
    too_large = errors(create(world, org, "oidc", **oidc(company_idp, ca_bundle="#" * 65537)))
    assert list(too_large) == ["/settings/ca_bundle"]


def test_a_ca_near_its_expiry_is_warned_about(
    world: ApiWorld, company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    """Stored bundles are not refused when they age (the IdP's TLS says so then), but the
    connection's answers say it in advance."""
    org = organization(world)
    ends = world.clock.now() + timedelta(days=10)
    ageing = private_ca("Ageing Root", not_after=ends)
    created = create(
        world, org, "saml", metadata_xml=metadata(company_idp, company_ca), ca_bundle=ageing.pem
    )
    assert created.status_code == 201, created.text
    assert (
        f"The certificate authority CN=Ageing Root in the CA bundle expires on {ends:%Y-%m-%d}: "
        "add its next certificate to the bundle before then."
    ) in created.json()["warnings"]
    world.clock.advance(timedelta(days=11))
    shown = (
        world.caller()
        .get(  # a new token: the admin's expired meanwhile
            created.headers["location"].removeprefix("/api/v1")
        )
        .json()
    )
    assert (
        f"The certificate authority CN=Ageing Root in the CA bundle expired on {ends:%Y-%m-%d}: "
        "Gatehouse cannot verify the IdP's TLS certificate with it; give the CA's current "
        "certificate."
    ) in shown["warnings"]


def test_new_certificates_from_metadata_are_fetched_with_the_stored_bundle(
    world: ApiWorld, company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    """The portal's "add the IdP's next certificate from its metadata" (a draft)."""
    org = organization(world)
    document = metadata(company_idp, company_ca)
    drafts = world.broker.management.connection_drafts
    for bundle, detail in (
        (None, NOT_TRUSTED),
        (company_ca.pem, "lists no certificate that is not"),
    ):
        settings: dict[str, Any] = {"metadata_xml": document, "ca_bundle": bundle}
        cid = create(world, org, "saml", **settings).json()["id"]
        with pytest.raises(InvalidInput) as refused:
            drafts.add_certificates_from_metadata("test", org, cid, company_idp.metadata_url)
        [error] = refused.value.errors
        assert error.pointer == "/settings/metadata_url"
        assert detail in error.detail  # past TLS with the bundle: only nothing new


def test_the_api_document_describes_the_bundle(world: ApiWorld) -> None:
    schemas = world.http.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for name in ("SamlSettingsIn", "OidcSettingsUpdate", "OidcSettingsCreate"):
        field = schemas[name]["properties"]["ca_bundle"]
        [text] = [option for option in field["anyOf"] if option.get("type") == "string"]
        assert text["maxLength"] == 65536
        assert "no other connection's do" in text["description"]
    for name in ("SamlSettingsOut", "OidcSettingsOut"):
        shown = schemas[name]["properties"]["ca_certificates"]
        assert shown["items"] == {"$ref": "#/components/schemas/CertificateOut"}

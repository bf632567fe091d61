"""The SAML settings form refuses what cannot work, beside the field it is about, in words an
IT admin acts on, keeping what they typed (except a key) and storing nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.testclient import TestClient

from broker.management.errors import InvalidInput
from broker.model.records import Connection
from broker.store import Store
from tests.admin_portal.setup_world import (
    EXPIRED_ON,
    ORIGIN,
    SetupWorld,
    certificate,
    idp_keys,
    setup_world,
)
from tests.support.certificates import certificate_and_key
from tests.support.gatehouse import ACTOR
from tests.support.portal_forms import csrf_token

SSO_URL = "https://idp.example.test/sso"


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        # A day in spring 2026: the certificate that expired on 2026-03-02 has expired.
        built.clock.advance(timedelta(days=120))
        yield built


def idp_metadata(certificate_pem: str, entity_id: str = "urn:example:old-idp") -> bytes:
    der = x509.load_pem_x509_certificate(certificate_pem.encode()).public_bytes(Encoding.DER)
    return f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{base64.b64encode(der).decode()}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{SSO_URL}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>""".encode()


def send(
    world: SetupWorld,
    browser: TestClient,
    connection: Connection,
    data: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> httpx.Response:
    page = browser.get(f"/portal/setup/{connection.id}/settings")
    answer: httpx.Response = browser.post(
        f"/portal/setup/{connection.id}/settings",
        data={"csrf": csrf_token(page.text), **data},
        files=files,
        headers=ORIGIN,
        follow_redirects=False,
    )
    return answer


def error_beside(page: str, field: str) -> str:
    assert f'id="{field}-error">' in page, page
    return page.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]


def test_an_expired_certificate_is_refused_for_a_new_connection(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    expired, _ = certificate(not_after=EXPIRED_ON)
    refused = send(world, browser, connection, {
        "source": "manual", "idp_entity_id": "urn:example:idp", "sso_url": SSO_URL,
        "certificate_text": expired,
    })  # fmt: skip
    assert refused.status_code == 422
    assert error_beside(refused.text, "certificate").startswith(
        "This certificate expired on 2026-03-02"
    )
    assert 'value="urn:example:idp"' in refused.text  # what was typed stays
    assert world.connection(connection.id).config == connection.config

    in_metadata = send(
        world, browser, connection, {"source": "file"},
        files={"metadata_file": ("idp.xml", idp_metadata(expired), "application/xml")},
    )  # fmt: skip
    assert in_metadata.status_code == 422
    assert "This certificate expired on 2026-03-02" in error_beside(
        in_metadata.text, "metadata_file"
    )
    assert world.connection(connection.id).config == connection.config


def test_a_connection_that_already_works_keeps_an_expired_certificate_beside_a_new_one(
    world: SetupWorld,
) -> None:
    """Only a new connection refuses it: an IdP mid-rollover may still sign with the old one
    (python3-saml does not check dates), so a working connection gets a warning instead."""
    org = world.organization()
    connections = world.broker.management.connections
    expired, _ = certificate(not_after=EXPIRED_ON)
    current = idp_keys().certificate_pem.decode()
    with pytest.raises(InvalidInput, match="This certificate expired on 2026-03-02"):
        connections.create_saml(
            ACTOR, org.id, {"idp_entity_id": "urn:x", "sso_url": SSO_URL,
                            "certificates": [expired]},
        )  # fmt: skip
    created = connections.create_saml(
        ACTOR, org.id, {"idp_entity_id": "urn:x", "sso_url": SSO_URL, "certificates": [current]}
    )
    rolled = connections.update(
        ACTOR, org.id, created.connection.id, settings={"certificates": [current, expired]}
    )
    assert len(rolled.connection.config["idp_certificates"]) == 2
    view = connections.describe(rolled.connection)
    assert any("expired on 2026-03-02" in w for w in view.warnings)


@pytest.mark.parametrize(
    ("data", "upload", "field", "message"),
    [
        pytest.param({"source": "file"}, "sp-metadata", "metadata_file",
                     "This metadata describes a service provider, not an IdP", id="sp-metadata"),
        pytest.param({"source": "file"}, b"this is not xml at all", "metadata_file",
                     "This is not a metadata document: it is not well-formed XML",
                     id="garbage-file"),
        pytest.param({"source": "file"}, None, "metadata_file",
                     "Choose the metadata file to upload", id="no-file"),
        pytest.param({"source": "url", "metadata_url": "https://unreachable.example/md"}, None,
                     "metadata_url",
                     "Gatehouse could not fetch the metadata: cannot reach https://unreachable.example/md",
                     id="unreachable-url"),
        pytest.param({"source": "url", "metadata_url": "https://idp.example.test/nothing"},
                     None, "metadata_url", "the server answered 404", id="url-404"),
        pytest.param({"source": "manual", "idp_entity_id": "urn:x", "sso_url": SSO_URL,
                      "certificate_text": "garbage, not a certificate"}, None, "certificate",
                     "This is not a certificate.", id="garbage-certificate"),
        pytest.param({"source": "manual", "idp_entity_id": "urn:x", "sso_url": "ftp://x"},
                     "certificate", "sso_url",
                     "The SSO URL must be a full address starting with https://.",
                     id="sso-url"),
        pytest.param({"source": "manual", "idp_entity_id": "", "sso_url": SSO_URL}, None,
                     "idp_entity_id", "The IdP entity ID is required.", id="missing-values"),
    ],
)  # fmt: skip
def test_each_saml_field_error_is_shown_beside_its_field(
    world: SetupWorld,
    data: dict[str, str],
    upload: bytes | str | None,
    field: str,
    message: str,
) -> None:
    org = world.organization()
    connection = world.begin(org.id, "generic-saml", "saml")
    browser = world.signed_in(org.id)
    files = None
    if upload == "sp-metadata":  # Gatehouse's own metadata, pasted back by mistake
        files = {"metadata_file": ("sp.xml", browser.get(f"/saml/{connection.id}/metadata")
                                   .content, "application/xml")}  # fmt: skip
    elif upload == "certificate":
        pem = idp_keys().certificate_pem
        files = {"certificate_file": ("idp.pem", pem, "application/x-pem-file")}
    elif isinstance(upload, bytes):
        files = {"metadata_file": ("idp.xml", upload, "application/xml")}
    refused = send(world, browser, connection, data, files)
    assert refused.status_code == 422, refused.text
    assert message in error_beside(refused.text, field)
    assert f'href="#{field}"' in refused.text
    assert world.connection(connection.id).config == connection.config


def test_a_private_key_is_refused_and_never_shown_back(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    _, key = certificate(not_after=EXPIRED_ON + timedelta(days=3650))
    refused = send(world, browser, connection, {
        "source": "manual", "idp_entity_id": "urn:example:idp", "sso_url": SSO_URL,
        "certificate_text": key,
    })  # fmt: skip
    assert refused.status_code == 422
    assert error_beside(refused.text, "certificate").startswith(
        "This is a private key: paste the IdP&#39;s signing certificate instead"
    )
    body = "".join(key.splitlines()[1:-1])
    assert body[:40] not in refused.text
    assert "PRIVATE KEY" not in refused.text
    assert world.connection(connection.id).config == connection.config


def test_a_certificate_valid_for_ten_years_saves_without_a_notes_page(
    world: SetupWorld,
) -> None:
    """Nothing to act on, nothing to read: the save goes straight on to the attributes."""
    org = world.organization()
    connection = world.begin(org.id, "generic-saml", "saml")
    browser = world.signed_in(org.id)
    now = world.clock.now()
    lasting, _ = certificate_and_key(
        not_before=now - timedelta(days=1), not_after=now + timedelta(days=3650),
        subject="Lasting IdP",
    )  # fmt: skip
    saved = send(
        world, browser, connection, {"source": "file"},
        files={"metadata_file": ("idp.xml", idp_metadata(lasting), "application/xml")},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/portal/setup/{connection.id}/attributes"
    assert world.connection(connection.id).config["idp_certificates"]


def test_a_certificate_expiring_within_the_notice_period_is_said_before_going_on(
    world: SetupWorld,
) -> None:
    """Something to act on: the page says what, with the day, before the attributes."""
    org = world.organization()
    connection = world.begin(org.id, "generic-saml", "saml")
    browser = world.signed_in(org.id)
    soon = world.clock.now() + timedelta(days=20)
    expiring, _ = certificate(not_after=soon, common_name="New IdP")
    saved = send(
        world, browser, connection, {"source": "file"},
        files={"metadata_file": ("idp.xml", idp_metadata(expiring), "application/xml")},
    )  # fmt: skip
    assert saved.status_code == 200
    assert "This needs your attention before you go on" in saved.text
    assert f"The IdP signing certificate CN=New IdP expires on {soon:%Y-%m-%d}" in saved.text
    assert f'href="/portal/setup/{connection.id}/attributes"' in saved.text

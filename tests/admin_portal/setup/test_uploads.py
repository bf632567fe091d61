"""Upload abuse (docs/security.md T-11): what an admin may send the portal's forms, and the
page they get for what cannot be used. Each refusal stores nothing and shows no secret back."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from starlette.testclient import TestClient

from admin_portal.body_cap import MAX_BODY_BYTES
from broker.model.records import Connection
from broker.store import Store
from tests.admin_portal.setup.test_settings_errors import SSO_URL, error_beside, idp_metadata, send
from tests.admin_portal.setup_world import EXPIRED_ON, ORIGIN, SetupWorld, certificate, setup_world
from tests.support.config import ISSUER
from tests.support.portal_forms import csrf_token
from tests.support.saml_pages import hidden_fields

VALID_UNTIL = EXPIRED_ON + timedelta(days=3650)


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


def manual(world: SetupWorld, browser: TestClient, connection: Connection, upload: bytes):
    return send(
        world, browser, connection,
        {"source": "manual", "idp_entity_id": "urn:example:idp", "sso_url": SSO_URL},
        files={"certificate_file": ("idp.cer", upload, "application/octet-stream")},
    )  # fmt: skip


def multipart(csrf: str, file_bytes: int) -> tuple[bytes, bytes, str]:
    """A settings form with a metadata file of `file_bytes`: (head, tail, content type)."""
    boundary = "gatehouse-upload-test"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="source"\r\n\r\nfile\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata_file"; '
        'filename="idp.xml"\r\nContent-Type: application/xml\r\n\r\n'
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_past_the_cap_gets_a_page_not_a_crash(
    world: SetupWorld, declared: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Declared too large, it is refused before a byte is read; sent chunked with no length,
    it is refused as the bytes pass the cap (BodyCap), before the file is kept."""
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    page = browser.get(f"/portal/setup/{connection.id}/settings")
    head, tail, content_type = multipart(csrf_token(page.text), MAX_BODY_BYTES)
    chunk = b"<!-- padding -->" * 4096
    chunks = [head, *[chunk] * (MAX_BODY_BYTES // len(chunk) + 1), tail]
    content: bytes | Iterator[bytes] = b"".join(chunks) if declared else iter(chunks)
    refused = browser.post(
        f"/portal/setup/{connection.id}/settings",
        content=content,
        headers={**ORIGIN, "Content-Type": content_type},
    )
    assert refused.status_code == 413, refused.text
    assert f"larger than {MAX_BODY_BYTES} bytes" in caplog.text  # the log line says why
    assert "This file is too large" in refused.text
    assert "larger than 2 MB" in refused.text
    assert "Traceback" not in refused.text
    assert world.connection(connection.id).config == connection.config


def test_a_metadata_file_past_one_mebibyte_is_refused_beside_its_field(
    world: SetupWorld,
) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    current, _ = certificate(not_after=VALID_UNTIL)
    padded = idp_metadata(current).replace(b"<md:IDPSSO", b"<!--" + b"x" * 1024 * 1024 + b"-->"
                                           b"<md:IDPSSO")  # fmt: skip
    refused = send(world, browser, connection, {"source": "file"},
                   files={"metadata_file": ("idp.xml", padded, "application/xml")})  # fmt: skip
    assert refused.status_code == 422
    assert "This document is larger than 1 MiB" in error_beside(refused.text, "metadata_file")
    assert world.connection(connection.id).config == connection.config


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lolololololololololololololololololololololololololol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol9;"/>"""

#: An entity naming a local file, {secret} its path: the file's text must never come back.
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE md [<!ENTITY secret SYSTEM "file://{secret}">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&secret;"/>"""


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(BILLION_LAUGHS, id="entity-expansion"),
        pytest.param("external", id="external-entity"),
        pytest.param(b"\x89PNG\r\n\x1a\n not metadata", id="binary"),
    ],
)
def test_metadata_that_is_not_plain_xml_is_refused(
    world: SetupWorld, tmp_path: Path, document: bytes | str
) -> None:
    """S-25/S-26 through the portal: no DTD is read, so no entity expands or is fetched."""
    secret = tmp_path / "secret.txt"
    secret.write_text("gatehouse-test-file-contents-never-shown")
    if document == "external":
        document = EXTERNAL_ENTITY.format(secret=secret).encode()
    assert isinstance(document, bytes)
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    refused = send(world, browser, connection, {"source": "file"},
                   files={"metadata_file": ("idp.xml", document, "application/xml")})  # fmt: skip
    assert refused.status_code == 422
    assert "This is not a metadata document" in error_beside(refused.text, "metadata_file")
    assert "lolololol" not in refused.text
    assert "gatehouse-test-file-contents" not in refused.text
    assert world.connection(connection.id).config == connection.config


def test_each_private_key_file_is_refused_kept_nowhere_and_logged_nowhere(
    world: SetupWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """A .pem key, a .der key and a .p12/.pfx bundle, chosen instead of the certificate:
    each is named for what it is, and its bytes are neither stored, shown nor logged."""
    cert_pem, key_pem = certificate(not_after=VALID_UNTIL)
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    der_key = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    bundle = pkcs12.serialize_key_and_certificates(
        b"idp",
        key,
        cert,
        None,
        serialization.NoEncryption(),
    )
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    caplog.set_level(logging.DEBUG)
    secrets = [key_pem.encode(), der_key, bundle]
    expected = ["This is a private key", "This is a private key", "This is a PKCS#12 file"]
    for upload, message in zip(secrets, expected, strict=True):
        refused = manual(world, browser, connection, upload)
        assert refused.status_code == 422, refused.text
        said = error_beside(refused.text, "certificate")
        assert said.startswith(message), said
        assert "treat" in said
        assert "compromised" in said
        assert "PRIVATE KEY" not in refused.text
        assert base64.b64encode(upload)[20:60].decode() not in refused.text
    assert world.connection(connection.id).config == connection.config
    logged = "\n".join(record.getMessage() for record in caplog.records)
    body = "".join(key_pem.splitlines()[1:-1])
    for shown in (body[20:60], base64.b64encode(der_key)[20:60].decode(),
                  base64.b64encode(bundle)[20:60].decode()):  # fmt: skip
        assert shown not in logged


def test_a_weak_key_certificate_is_refused(world: SetupWorld) -> None:
    weak, _ = certificate(not_after=VALID_UNTIL, key_size=1024)
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    refused = manual(world, browser, connection, weak.encode())
    assert refused.status_code == 422
    assert "RSA key of 1024 bits; at least 2048" in error_beside(refused.text, "certificate")
    assert world.connection(connection.id).config == connection.config


def test_a_der_certificate_file_is_accepted(world: SetupWorld) -> None:
    cert_pem, _ = certificate(not_after=VALID_UNTIL)
    der = x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(serialization.Encoding.DER)
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    saved = manual(world, browser, connection, der)
    assert saved.status_code in (200, 303), saved.text
    assert world.connection(connection.id).config["idp_certificates"] == [cert_pem]


def test_a_form_that_cannot_be_read_gets_a_page(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    broken = browser.post(
        f"/portal/setup/{connection.id}/settings",
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
        headers={**ORIGIN, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert broken.status_code == 400, broken.text
    assert "This form could not be read" in broken.text
    assert world.connection(connection.id).config == connection.config


def test_a_link_redemption_with_a_file_is_refused_and_spends_nothing(world: SetupWorld) -> None:
    """The interstitial's form is one field; a body with a file is not it, and is refused
    before the token in it is looked at: the link stays usable, no session is opened."""
    org = world.organization()
    token = hidden_fields(
        TestClient(world.app, base_url=ISSUER).get(urlsplit(world.link(org.id)).path).text
    )["token"]
    browser = TestClient(world.app, base_url=ISSUER)
    refused = browser.post(
        "/portal/link",
        data={"token": token},
        files={"extra": ("big.bin", b"x" * 1024, "application/octet-stream")},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert "This link can no longer be used" in refused.text
    assert not browser.cookies
    opened = browser.post(
        "/portal/link", data={"token": token}, headers=ORIGIN, follow_redirects=False
    )
    assert opened.status_code == 303

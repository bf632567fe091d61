"""More of what a SAML connection's settings and an IdP's metadata may hold: the metadata
an admin pastes by mistake, certificates of other key types and sizes, SP key pairs that
are missing or of the wrong kind, and the warnings a weakened connection shows."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from broker.clock import FixedClock
from broker.errors import ConfigError
from broker.keys import SecretBox
from broker.upstream.base import ConnectorDeps
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from broker.upstream.saml.sp import key_context
from broker.upstream.saml.xmlsig import certificate_fingerprint, trusted_fingerprints
from broker.upstream.urls import endpoints_for
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.saml.metadata import metadata_xml
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_saml_config
from tests.support.saml_golden import MemoryReplays

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BOX = SecretBox(TEST_SECRET_KEY)
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
ARTIFACT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
ENDPOINTS = endpoints_for(ISSUER, "con_1", "saml")


@pytest.fixture(scope="module")
def keys() -> IdpKeys:
    return generate()


@pytest.fixture(scope="module")
def config(keys: IdpKeys) -> dict[str, Any]:
    idp = parse_idp_metadata(
        metadata_xml("https://idp.test/metadata", "https://idp.test/sso", keys)
    )
    return new_saml_config(idp, box=BOX, endpoints=ENDPOINTS, now=NOW)


# -- metadata ---------------------------------------------------------------------------------


def edited(keys: IdpKeys, edit: Callable[[Any], None]) -> bytes:
    root = etree.fromstring(metadata_xml("https://idp.test/metadata", "https://idp.test/sso", keys))
    edit(root)
    document: bytes = etree.tostring(root)
    return document


def idp_of(root: Any) -> Any:
    return root.find(f"{{{MD}}}IDPSSODescriptor")


def as_sp_metadata(root: Any) -> None:
    idp_of(root).tag = f"{{{MD}}}SPSSODescriptor"


def without_entity_id(root: Any) -> None:
    del root.attrib["entityID"]


def artifact_binding_only(root: Any) -> None:
    for service in idp_of(root).findall(f"{{{MD}}}SingleSignOnService"):
        service.set("Binding", ARTIFACT)


def encryption_key_only(root: Any) -> None:
    idp_of(root).find(f"{{{MD}}}KeyDescriptor").set("use", "encryption")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (as_sp_metadata, "This metadata describes a service provider, not an IdP"),
        (without_entity_id, "the IdP has no entityID"),
        (artifact_binding_only, "no SingleSignOnService with the Redirect or POST binding"),
        (encryption_key_only, "the IdP lists no signing certificate"),
    ],
)
def test_metadata_that_cannot_configure_a_connection_says_why(
    keys: IdpKeys, edit: Callable[[Any], None], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_idp_metadata(edited(keys, edit))
    assert refused.value.field == "metadata"
    assert message in refused.value.message


def test_only_signing_certificates_are_trusted_each_once(keys: IdpKeys) -> None:
    encryption = generate("Encryption only")

    def rollover_and_encryption(root: Any) -> None:
        idp = idp_of(root)
        signing = idp.find(f"{{{MD}}}KeyDescriptor")
        idp.insert(0, copy_of(signing))  # the same certificate listed twice
        for_encryption = copy_of(signing)
        for_encryption.set("use", "encryption")
        for_encryption.find(f".//{{{DS}}}X509Certificate").text = encryption.certificate_base64()
        idp.insert(0, for_encryption)

    idp = parse_idp_metadata(edited(keys, rollover_and_encryption))
    assert len(idp.certificates) == 1
    assert keys.certificate_base64()[:64] in idp.certificates[0]


def copy_of(element: Any) -> Any:
    return etree.fromstring(etree.tostring(element))


# -- certificates -------------------------------------------------------------------------------


def certificate_for(key: Any, algorithm: hashes.SHA256 | None) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "IdP")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, algorithm)
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_an_ec_signing_certificate_is_accepted(config: dict[str, Any]) -> None:
    pem = certificate_for(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    parsed = SamlConnectionConfig.parse({**config, "idp_certificates": [pem]})
    assert parsed.idp_certificates == (pem,)


@pytest.mark.parametrize(
    ("make_key", "algorithm", "message"),
    [
        (lambda: rsa.generate_private_key(65537, 1024), hashes.SHA256(),  # noqa: S505
         "RSA key of 1024 bits; at least 2048"),
        (ed25519.Ed25519PrivateKey.generate, None,
         "only RSA and EC signing keys are supported"),
    ],
)  # fmt: skip
def test_a_signing_certificate_of_a_weak_or_unknown_key_is_refused(
    config: dict[str, Any],
    make_key: Callable[[], Any],
    algorithm: hashes.SHA256 | None,
    message: str,
) -> None:
    pem = certificate_for(make_key(), algorithm)
    with pytest.raises(ConfigError) as refused:
        SamlConnectionConfig.parse({**config, "idp_certificates": [pem]})
    assert (refused.value.field, refused.value.message) == ("idp_certificates", message)


# -- SP key pairs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pair",
    [
        None,
        "a PEM",
        {"certificate_pem": "x"},
        {"private_key_encrypted": "x"},
        {"private_key_encrypted": 1, "certificate_pem": "x"},
    ],
)
def test_a_missing_sp_key_pair_is_refused(config: dict[str, Any], pair: object) -> None:
    for field in ("sp_signing", "sp_encryption"):
        with pytest.raises(ConfigError) as refused:
            SamlConnectionConfig.parse({**config, field: pair})
        assert (refused.value.field, refused.value.message) == (field, "missing the SP key pair")


def test_an_sp_signing_key_that_is_not_rsa_cannot_open_the_connector(
    config: dict[str, Any],
) -> None:
    """Stored settings are untrusted: a hand-edited pair holding an EC key is refused when
    the connector opens (python3-saml signs AuthnRequests with RSA-SHA256)."""
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    blob = BOX.encrypt(pem, context=key_context("con_1", "signing"))
    signing = {**config["sp_signing"], "private_key_encrypted": base64.b64encode(blob).decode()}
    parsed = SamlConnectionConfig.parse({**config, "sp_signing": signing})
    deps = ConnectorDeps(
        http=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(599))),
        clock=FixedClock(NOW), secrets=BOX, replays=MemoryReplays(),
    )  # fmt: skip
    with pytest.raises(ValueError, match="SP signing key must be RSA"):
        parsed.open(deps, ENDPOINTS)


# -- warnings -------------------------------------------------------------------------------------


def test_the_warnings_say_what_weakens_the_connection(config: dict[str, Any]) -> None:
    assert SamlConnectionConfig.parse(config).warnings() == ()
    weakened = SamlConnectionConfig.parse(
        {**config, "allow_sha1": True, "allow_cbc_encryption": True,
         "require_assertion_signature": False}
    )  # fmt: skip
    sha1, cbc, unsigned = weakened.warnings()
    assert sha1.startswith("SHA-1 signatures are accepted")
    assert cbc.startswith("AES-CBC encrypted assertions are accepted")
    assert unsigned.startswith("Assertions may arrive unsigned inside a signed response")


# -- fingerprints for a diagnosis ----------------------------------------------------------------


def test_the_trusted_fingerprints_skip_what_is_not_a_certificate(keys: IdpKeys) -> None:
    """Shown beside a signature that did not verify; one unreadable entry hides no other."""
    certificate = x509.load_pem_x509_certificate(keys.certificate_pem)
    expected = certificate_fingerprint(certificate.public_bytes(serialization.Encoding.DER))
    assert trusted_fingerprints(["not a certificate", keys.certificate_pem.decode()]) == expected
    assert trusted_fingerprints([]) == ""

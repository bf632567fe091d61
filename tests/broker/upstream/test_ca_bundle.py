"""A connection's own CA bundle (`ca_bundle`), as SAML and OIDC configs parse it: PEM CA
certificates only, bounded, each refusal a sentence on the field (docs/security.md X-07)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID, ObjectIdentifier

from broker.errors import ConfigError
from broker.keys.crypto import SecretBox
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.idp_metadata import IdpMetadata
from broker.upstream.urls import endpoints_for
from tests.support.certificates import certificate_pem
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_oidc_config, new_saml_config
from tests.support.private_ca import private_ca

ROOT = private_ca("Corp Root")
ISSUING = private_ca("Corp Issuing")
LEAF = private_ca("idp.corp.test", ca=False)


BOX = SecretBox(TEST_SECRET_KEY)


@cache
def stored(kind: str) -> dict[str, object]:
    """A valid stored config of `kind`, made once (SP keys take a while)."""
    if kind == "oidc":
        return new_oidc_config(
            {"issuer": "https://idp.corp.test", "client_id": "gatehouse"},
            box=BOX, connection_id="con_ca", client_secret="s",
        )  # fmt: skip
    idp = IdpMetadata(
        entity_id="https://idp.corp.test/adfs/services/trust",
        sso_url="https://idp.corp.test/adfs/ls/",
        sso_binding="redirect",
        certificates=(certificate_pem(not_after=datetime.now(UTC) + timedelta(days=365)),),
    )
    return new_saml_config(
        idp, box=BOX, endpoints=endpoints_for(ISSUER, "con_ca", "saml"), now=datetime.now(UTC)
    )


def oidc(**options: object) -> dict[str, object]:
    return {**stored("oidc"), **options}


def saml(**options: object) -> dict[str, object]:
    return {**stored("saml"), **options}


Parse = Callable[[Mapping[str, object]], SamlConnectionConfig | OidcConnectionConfig]
CONFIGS: dict[str, tuple[Parse, Callable[..., dict[str, object]]]] = {
    "saml": (SamlConnectionConfig.parse, saml),
    "oidc": (OidcConnectionConfig.parse, oidc),
}


@pytest.mark.parametrize("kind", CONFIGS)
def test_a_bundle_is_kept_one_certificate_each_and_stored_as_it_reads(kind: str) -> None:
    parse, raw = CONFIGS[kind]
    config = parse(raw(ca_bundle=f"Corp root\n{ROOT.pem}\r\n\nIssuing\n{ISSUING.pem}"))
    assert config.ca_bundle == (ROOT.pem, ISSUING.pem)
    stored = config.to_json()
    assert stored["ca_bundle"] == ROOT.pem + ISSUING.pem
    assert parse(stored) == config


@pytest.mark.parametrize("kind", CONFIGS)
@pytest.mark.parametrize("value", [None, ""])
def test_none_is_no_bundle(kind: str, value: str | None) -> None:
    parse, raw = CONFIGS[kind]
    config = parse(raw(ca_bundle=value))
    assert config.ca_bundle == ()
    assert "ca_bundle" not in config.to_json()


def _unreadable_extensions(*, duplicated: bool) -> str:
    """A CA whose basicConstraints extension does not parse, or comes twice (the second made
    by renaming another extension's OID in the DER: parsing does not check the signature)."""
    ca = private_ca("Odd Root")
    key = ca.key
    builder = (
        x509.CertificateBuilder()
        .subject_name(ca.certificate.subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(ca.certificate.not_valid_before_utc)
        .not_valid_after(ca.certificate.not_valid_after_utc)
    )
    if not duplicated:
        broken = x509.UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, b"\x01\x02")
        return _pem(builder.add_extension(broken, critical=True).sign(key, hashes.SHA256()))
    spare = x509.UnrecognizedExtension(ObjectIdentifier("2.5.29.99"), b"\x30\x03\x01\x01\xff")
    der = (
        builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(spare, critical=False)
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )
    renamed = der.replace(bytes.fromhex("0603551d63"), bytes.fromhex("0603551d13"))
    return _pem(x509.load_der_x509_certificate(renamed))


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode()


_KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----\n"
_CRL = "-----BEGIN X509 CRL-----\nMIIBLjCB2AIBATANBgkqhkiG9w0BAQsFADA=\n-----END X509 CRL-----\n"

REFUSALS: list[tuple[str, object, str]] = [
    ("not text", 42, "must be a string"),
    ("not PEM", "corp-root.cer", "not PEM certificates (-----BEGIN CERTIFICATE-----)"),
    (
        "a leaf, not a CA",
        LEAF.pem,
        "CN=idp.corp.test is not a certificate authority (no basicConstraints CA:TRUE): give "
        "the CA that issued your identity provider's TLS certificate, not that certificate "
        "itself",
    ),
    (
        "a private key",
        ROOT.pem + _KEY,
        "this holds a private key: give only the certificate authority's certificate, and "
        "treat the key you pasted as compromised",
    ),
    ("something else too", ROOT.pem + _CRL, "holds something other than PEM certificates"),
    ("too many", ROOT.pem * 21, "at most 20 certificates"),
    ("too large", ROOT.pem + "#" * 65536, "is larger than 64 KiB"),
    (
        "an extension that does not parse",
        _unreadable_extensions(duplicated=False),
        "holds a certificate whose extensions cannot be read",
    ),
    (
        "an extension twice",
        _unreadable_extensions(duplicated=True),
        "holds a certificate whose extensions cannot be read",
    ),
]


@pytest.mark.parametrize("kind", CONFIGS)
@pytest.mark.parametrize(
    ("value", "problem"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_a_bundle_that_cannot_serve_is_refused_on_its_field(
    kind: str, value: object, problem: str
) -> None:
    parse, raw = CONFIGS[kind]
    with pytest.raises(ConfigError) as refused:
        parse(raw(ca_bundle=value))
    assert (refused.value.field, refused.value.message) == ("ca_bundle", problem)


def test_twenty_certificates_fit() -> None:
    bundle = "".join(private_ca(f"CA {n}").pem for n in range(20))
    assert len(OidcConnectionConfig.parse(oidc(ca_bundle=bundle)).ca_bundle) == 20

"""IdP signing certificates a test makes for itself, with the validity it needs (one that
expires next week, one that expired yesterday), and their fingerprints as the portal and
the management API show them."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from idp_simulator.keys import IdpKeys


def certificate_and_key(
    *,
    not_after: datetime,
    subject: str | x509.Name = "Test IdP signing",
    not_before: datetime | None = None,
    key_size: int = 2048,
) -> tuple[str, str]:
    """(certificate PEM, its PKCS#8 private key PEM): a self-signed RSA certificate valid
    until `not_after`, with a fresh key each call. `subject`: a common name, or a whole
    name (for subjects that carry more, or hostile, attributes)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = (
        subject
        if isinstance(subject, x509.Name)
        else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    )
    start = not_before or min(not_after, datetime.now(not_after.tzinfo)) - timedelta(days=400)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def certificate_pem(
    *,
    not_after: datetime,
    common_name: str = "Test IdP signing",
    not_before: datetime | None = None,
) -> str:
    """A self-signed RSA-2048 certificate valid until `not_after` (a fresh key each call)."""
    pem, _ = certificate_and_key(not_after=not_after, subject=common_name, not_before=not_before)
    return pem


def fingerprint(pem: str | bytes) -> str:
    """SHA-256 of the DER, `AB:CD:...`: as IdP admin pages (and ours) show it."""
    raw = pem.encode() if isinstance(pem, str) else pem
    der = x509.load_pem_x509_certificate(raw).public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def keys_pem(keys: IdpKeys) -> str:
    return keys.certificate_pem.decode()


def idp_metadata(entity_id: str, sso_url: str, *certificates: str) -> bytes:
    """A SAML IdP's metadata listing these signing certificates (PEM): what an IdP in a
    rollover publishes (the simulator's own metadata lists its one key)."""
    keys = "".join(
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        + "".join(c.strip().splitlines()[1:-1])
        + "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for c in certificates
    )
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{keys}"
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        f'Location="{sso_url}"/></md:IDPSSODescriptor></md:EntityDescriptor>'
    ).encode()

"""The simulator's own signing identity: an RSA-2048 key and a self-signed certificate.

These are never the broker's keys. A broker connection is seeded with this certificate, so a
simulator that restarts with a new key would break it: `load_or_create` keeps one pair in a
directory and reuses it.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["CERT_FILE", "KEY_FILE", "IdpKeys", "generate", "load_or_create"]

KEY_FILE = "idp-simulator-key.pem"
CERT_FILE = "idp-simulator-cert.pem"
CERT_VALIDITY = timedelta(days=3650)
DEFAULT_COMMON_NAME = "Gatehouse IdP simulator"


@dataclass(frozen=True, slots=True)
class IdpKeys:
    """A PEM private key (PKCS#8, unencrypted) and its PEM certificate."""

    private_key_pem: bytes
    certificate_pem: bytes

    def certificate_base64(self) -> str:
        """The certificate's DER as one base64 line: the text of an `X509Certificate` element."""
        der = x509.load_pem_x509_certificate(self.certificate_pem).public_bytes(
            serialization.Encoding.DER
        )
        return base64.b64encode(der).decode("ascii")


def generate(common_name: str = DEFAULT_COMMON_NAME) -> IdpKeys:
    """A fresh key pair with a ten-year self-signed certificate (SAML trusts the cert pinned in
    metadata, not a CA chain, so self-signed is what real IdPs publish too)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return IdpKeys(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
    )


def load_or_create(directory: Path) -> IdpKeys:
    """The pair kept in `directory`, created there (files mode 0600) on first use.

    A half-written pair (one file missing) is replaced, and a key that does not match its
    certificate is an error rather than a silent regeneration: the operator seeded a broker
    with that certificate and should know.
    """
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    if key_path.is_file() and cert_path.is_file():
        keys = IdpKeys(key_path.read_bytes(), cert_path.read_bytes())
        _check_pair(keys, directory)
        return keys
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = generate()
    _write_private(cert_path, keys.certificate_pem)
    _write_private(key_path, keys.private_key_pem)
    return keys


def _write_private(path: Path, data: bytes) -> None:
    """Write through a temporary file created 0600 and renamed into place, so a reader never
    sees a partial file and the key is never readable by others, not even for a moment."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _check_pair(keys: IdpKeys, directory: Path) -> None:
    key = serialization.load_pem_private_key(keys.private_key_pem, password=None)
    certificate = x509.load_pem_x509_certificate(keys.certificate_pem)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ) != certificate.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise ValueError(f"{directory}: {KEY_FILE} does not match {CERT_FILE}")

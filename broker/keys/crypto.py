"""Cryptographic building blocks for the key manager and, later, connector secrets.

Everything secret that the broker stores (signing keys now; upstream client secrets and SAML
SP keys later) goes through `SecretBox`, so a database dump alone yields no usable secret:
the master key lives in the environment (`GATEHOUSE_SECRET_KEY`), never in the database.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from broker.errors import BrokerError

_HKDF_INFO = b"gatehouse/at-rest/v1"
_VERSION = b"\x01"
_NONCE_BYTES = 12
_MIN_MASTER_KEY_BYTES = 32
_RSA_PUBLIC_EXPONENT = 65537


class KeyDecryptionError(BrokerError):
    """A stored secret could not be decrypted.

    Almost always an operational mistake rather than an attack, so the message says what to
    check; it never contains key material.
    """


class SecretBox:
    """Authenticated encryption of secrets at rest: AES-256-GCM under a key derived from the
    master key.

    The master key is not used directly: HKDF-SHA256 (RFC 5869) with a purpose-specific
    `info` derives the encryption key, so the same master key can later feed other purposes
    (e.g. cookie signing) without two algorithms ever sharing a key. Each message gets a fresh
    random 96-bit nonce (NIST SP 800-38D §8.2.2); the output is
    `version (1 byte) || nonce (12 bytes) || ciphertext+tag`.

    `context` names where the secret lives (`"signing_key:<kid>"`) and is authenticated as
    associated data together with the version byte: a ciphertext copied into another row, or
    relabelled with another version, fails to decrypt instead of silently being accepted.
    """

    __slots__ = ("_aead",)

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < _MIN_MASTER_KEY_BYTES:
            raise ValueError(f"master key must be at least {_MIN_MASTER_KEY_BYTES} bytes")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            master_key
        )
        self._aead = AESGCM(derived)

    def __repr__(self) -> str:
        return "SecretBox(<redacted>)"

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, _aad(context))

    def decrypt(self, blob: bytes, *, context: str) -> bytes:
        header_len = len(_VERSION) + _NONCE_BYTES
        if len(blob) <= header_len or blob[:1] != _VERSION:
            raise KeyDecryptionError(
                f"cannot decrypt {context}: not a Gatehouse at-rest ciphertext (unknown "
                "format version or truncated); was it written by a newer Gatehouse?"
            )
        nonce = blob[1:header_len]
        try:
            return self._aead.decrypt(nonce, blob[header_len:], _aad(context))
        except InvalidTag:
            raise KeyDecryptionError(
                f"cannot decrypt {context}: was GATEHOUSE_SECRET_KEY changed since it was "
                "stored? Restore the previous key; otherwise the stored value was altered or "
                "copied from another record."
            ) from None


def _aad(context: str) -> bytes:
    return _VERSION + context.encode("utf-8")


def generate_rsa_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """RSA with e = 65537; 2048 bits is what RS256 relying parties universally accept."""
    return rsa.generate_private_key(public_exponent=_RSA_PUBLIC_EXPONENT, key_size=bits)


def private_key_to_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM: confidentiality at rest comes from `SecretBox`, so there is
    exactly one encryption layer and one key to manage."""
    return private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def certificate_to_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def generate_self_signed_certificate(
    private_key: rsa.RSAPrivateKey,
    common_name: str,
    *,
    valid_days: int,
    now: datetime,
) -> x509.Certificate:
    """A self-signed end-entity certificate, SHA-256 with RSA.

    SAML metadata carries SP keys as X.509 certificates, but IdPs pin the certificate from
    metadata rather than validating a chain, so self-signed is the norm. The validity window
    starts at `now` (from the injected clock, so tests are deterministic); the serial is 159
    random bits (RFC 5280 §4.1.2.2, CA/B Forum guidance on serial entropy).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if valid_days <= 0:
        raise ValueError("valid_days must be positive")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=False,
        )
        .sign(private_key, hashes.SHA256())
    )

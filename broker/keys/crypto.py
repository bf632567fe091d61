"""Cryptographic building blocks for the key manager and connector secrets.

Everything secret that the broker stores (signing keys now; upstream client secrets and SAML
SP keys later) goes through `SecretBox`, so a database dump alone yields no usable secret:
the master key lives in the environment (`GATEHOUSE_SECRET_KEY`), never in the database.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
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
_VERSION = b"\x02"
_VERSION_1 = b"\x01"
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_V1_HEADER = 1 + _NONCE_BYTES
_V2_KEY_END = 1 + _KEY_ID_BYTES
_V2_HEADER = _V2_KEY_END + _NONCE_BYTES
_MIN_MASTER_KEY_BYTES = 32
_RSA_PUBLIC_EXPONENT = 65537


class KeyDecryptionError(BrokerError):
    """A stored secret could not be decrypted.

    Almost always an operational mistake rather than an attack, so the message says what to
    check; it never contains key material.
    """


def key_id(master_key: bytes) -> str:
    """The first 8 hex digits of the key's SHA-256: names a key in ciphertexts and in
    `gatehouse secrets status` without revealing it (32 bits of a 256-bit key's digest)."""
    return hashlib.sha256(master_key).hexdigest()[:8]


class _Key:
    __slots__ = ("aead", "id")

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < _MIN_MASTER_KEY_BYTES:
            raise ValueError(f"master key must be at least {_MIN_MASTER_KEY_BYTES} bytes")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            master_key
        )
        self.aead = AESGCM(derived)
        self.id = bytes.fromhex(key_id(master_key))


class SecretBox:
    """Authenticated encryption of secrets at rest: AES-256-GCM under a key derived from the
    master key, with a key ring so the master key can be rotated.

    The master key is not used directly: HKDF-SHA256 (RFC 5869) with a purpose-specific
    `info` derives the encryption key, so the same master key can later feed other purposes
    (e.g. cookie signing) without two algorithms ever sharing a key. Each message gets a fresh
    random 96-bit nonce (NIST SP 800-38D §8.2.2); the output is
    `version 2 (1 byte) || key id (4 bytes) || nonce (12 bytes) || ciphertext+tag`.

    `master_key` (GATEHOUSE_SECRET_KEY) encrypts; `old_keys` (GATEHOUSE_SECRET_KEYS_OLD)
    only decrypt, found by the key id a ciphertext carries, until `gatehouse secrets
    reencrypt` has moved everything to the current key. Version 1 ciphertexts (written
    before key ids, `version || nonce || ciphertext+tag`) are tried with every key, current
    first.

    `context` names where the secret lives (`"signing_key:<kid>"`) and is authenticated as
    associated data together with the version byte and key id: a ciphertext copied into
    another row, or relabelled with another version or key, fails to decrypt instead of
    silently being accepted.
    """

    __slots__ = ("_current", "_ring")

    def __init__(self, master_key: bytes, old_keys: Sequence[bytes] = ()) -> None:
        self._current = _Key(master_key)
        self._ring = [self._current, *(_Key(k) for k in old_keys)]

    def __repr__(self) -> str:
        return "SecretBox(<redacted>)"

    @property
    def current_key_id(self) -> str:
        return self._current.id.hex()

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        header = _VERSION + self._current.id
        return (
            header + nonce + self._current.aead.encrypt(nonce, plaintext, header + _utf8(context))
        )

    def decrypt(self, blob: bytes, *, context: str) -> bytes:
        if blob[:1] == _VERSION and len(blob) > _V2_HEADER:
            header, nonce = blob[:_V2_KEY_END], blob[_V2_KEY_END:_V2_HEADER]
            keys = [k for k in self._ring if k.id == header[1:]]
            if not keys:
                raise KeyDecryptionError(
                    f"cannot decrypt {context}: was GATEHOUSE_SECRET_KEY changed since it was "
                    f"stored? It was encrypted with key {header[1:].hex()}, which is neither "
                    "GATEHOUSE_SECRET_KEY nor in GATEHOUSE_SECRET_KEYS_OLD."
                )
            return _open(keys, nonce, blob[_V2_HEADER:], header + _utf8(context), context)
        if blob[:1] == _VERSION_1 and len(blob) > _V1_HEADER:
            nonce = blob[1:_V1_HEADER]
            return _open(self._ring, nonce, blob[_V1_HEADER:], _VERSION_1 + _utf8(context), context)
        raise KeyDecryptionError(
            f"cannot decrypt {context}: not a Gatehouse at-rest ciphertext (unknown "
            "format version or truncated); was it written by a newer Gatehouse?"
        )

    def is_current(self, blob: bytes) -> bool:
        """Written in the current format under GATEHOUSE_SECRET_KEY: nothing to re-encrypt."""
        return blob[:_V2_KEY_END] == _VERSION + self._current.id

    def reencrypt(self, blob: bytes, *, context: str) -> bytes | None:
        """The same secret under the current key, or None when `blob` already is."""
        if self.is_current(blob):
            return None
        return self.encrypt(self.decrypt(blob, context=context), context=context)


def _open(keys: Sequence[_Key], nonce: bytes, sealed: bytes, aad: bytes, context: str) -> bytes:
    for key in keys:
        try:
            return key.aead.decrypt(nonce, sealed, aad)
        except InvalidTag:
            continue
    raise KeyDecryptionError(
        f"cannot decrypt {context}: was GATEHOUSE_SECRET_KEY changed since it was stored? Put "
        "the previous key in GATEHOUSE_SECRET_KEYS_OLD; otherwise the stored value was "
        "altered or copied from another record."
    )


def _utf8(context: str) -> bytes:
    return context.encode("utf-8")


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

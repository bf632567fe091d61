"""SecretBox and certificate helpers, without a store."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from broker.keys import KeyDecryptionError, SecretBox
from broker.keys.crypto import (
    _HKDF_INFO,
    certificate_to_pem,
    generate_rsa_private_key,
    generate_self_signed_certificate,
    key_id,
    private_key_to_pem,
)

CONTEXT = "signing_key:abc"
PLAINTEXT = b"-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n"


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox(secrets.token_bytes(32))


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return generate_rsa_private_key()


def test_round_trip(box: SecretBox) -> None:
    assert box.decrypt(box.encrypt(PLAINTEXT, context=CONTEXT), context=CONTEXT) == PLAINTEXT


def test_empty_plaintext_round_trips(box: SecretBox) -> None:
    assert box.decrypt(box.encrypt(b"", context=CONTEXT), context=CONTEXT) == b""


def test_layout_is_version_key_id_nonce_ciphertext_and_tag() -> None:
    master = secrets.token_bytes(32)
    blob = SecretBox(master).encrypt(PLAINTEXT, context=CONTEXT)
    assert blob[0] == 2
    assert blob[1:5].hex() == hashlib.sha256(master).hexdigest()[:8] == key_id(master)
    assert len(blob) == 1 + 4 + 12 + len(PLAINTEXT) + 16
    assert PLAINTEXT not in blob


def test_every_tampered_byte_is_rejected(box: SecretBox) -> None:
    blob = box.encrypt(PLAINTEXT, context=CONTEXT)
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(KeyDecryptionError):
            box.decrypt(bytes(tampered), context=CONTEXT)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x01",
        b"\x01" + bytes(12),
        b"\x01" + bytes(27),
        b"\x02" + bytes(16),
        b"\x02" + bytes(31),
        b"\x03" + bytes(40),
    ],
)
def test_truncated_blob_is_rejected(box: SecretBox, blob: bytes) -> None:
    with pytest.raises(KeyDecryptionError):
        box.decrypt(blob, context=CONTEXT)


def test_ciphertext_moved_to_another_context_is_rejected(box: SecretBox) -> None:
    blob = box.encrypt(PLAINTEXT, context="signing_key:one")
    with pytest.raises(KeyDecryptionError, match="signing_key:two"):
        box.decrypt(blob, context="signing_key:two")


def test_wrong_master_key_names_the_setting_to_check(box: SecretBox) -> None:
    blob = box.encrypt(PLAINTEXT, context=CONTEXT)
    other = SecretBox(secrets.token_bytes(32))
    with pytest.raises(KeyDecryptionError, match="was GATEHOUSE_SECRET_KEY changed"):
        other.decrypt(blob, context=CONTEXT)


def test_error_message_carries_no_plaintext(box: SecretBox) -> None:
    blob = box.encrypt(PLAINTEXT, context=CONTEXT)
    with pytest.raises(KeyDecryptionError) as caught:
        SecretBox(secrets.token_bytes(32)).decrypt(blob, context=CONTEXT)
    assert "PRIVATE KEY" not in str(caught.value)


def version_1_blob(master: bytes, plaintext: bytes, context: str) -> bytes:
    """A ciphertext as Gatehouse wrote it before key ids: `01 || nonce || ct+tag`, the
    version byte and context as associated data."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(master)
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(derived).encrypt(nonce, plaintext, b"\x01" + context.encode())


def test_version_1_ciphertexts_still_decrypt_with_the_current_key() -> None:
    master = secrets.token_bytes(32)
    blob = version_1_blob(master, PLAINTEXT, CONTEXT)
    box = SecretBox(master)
    assert box.decrypt(blob, context=CONTEXT) == PLAINTEXT
    assert not box.is_current(blob)
    fresh = box.reencrypt(blob, context=CONTEXT)
    assert fresh is not None
    assert box.is_current(fresh)
    assert box.decrypt(fresh, context=CONTEXT) == PLAINTEXT


def test_version_1_ciphertexts_of_an_old_key_decrypt_through_the_ring() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    blob = version_1_blob(old, PLAINTEXT, CONTEXT)
    with pytest.raises(KeyDecryptionError, match="GATEHOUSE_SECRET_KEYS_OLD"):
        SecretBox(new).decrypt(blob, context=CONTEXT)
    assert SecretBox(new, [old]).decrypt(blob, context=CONTEXT) == PLAINTEXT


def test_key_ring_old_keys_decrypt_and_the_current_key_encrypts() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    blob = SecretBox(old).encrypt(PLAINTEXT, context=CONTEXT)
    with pytest.raises(KeyDecryptionError, match=key_id(old)):
        SecretBox(new).decrypt(blob, context=CONTEXT)
    ring = SecretBox(new, [old])
    assert ring.current_key_id == key_id(new)
    assert ring.decrypt(blob, context=CONTEXT) == PLAINTEXT
    assert not ring.is_current(blob)
    fresh = ring.reencrypt(blob, context=CONTEXT)
    assert fresh is not None
    assert fresh[1:5].hex() == key_id(new)
    assert ring.reencrypt(fresh, context=CONTEXT) is None  # already current: left alone
    assert SecretBox(new).decrypt(fresh, context=CONTEXT) == PLAINTEXT


def test_a_ciphertext_relabelled_with_another_key_id_is_rejected() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    blob = SecretBox(old).encrypt(PLAINTEXT, context=CONTEXT)
    relabelled = blob[:1] + bytes.fromhex(key_id(new)) + blob[5:]
    with pytest.raises(KeyDecryptionError):
        SecretBox(new, [old]).decrypt(relabelled, context=CONTEXT)


def test_a_short_old_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SecretBox(secrets.token_bytes(32), [b"x" * 31])


def test_same_plaintext_encrypts_differently(box: SecretBox) -> None:
    assert box.encrypt(PLAINTEXT, context=CONTEXT) != box.encrypt(PLAINTEXT, context=CONTEXT)


def test_short_master_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SecretBox(b"x" * 31)


def test_repr_hides_the_key() -> None:
    master = b"k" * 32
    assert "k" * 8 not in repr(SecretBox(master))


def test_private_key_pem_round_trip(private_key: rsa.RSAPrivateKey) -> None:
    pem = private_key_to_pem(private_key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == private_key.private_numbers()


def test_generated_key_size(private_key: rsa.RSAPrivateKey) -> None:
    assert private_key.key_size == 2048
    assert private_key.public_key().public_numbers().e == 65537


def test_self_signed_certificate(private_key: rsa.RSAPrivateKey) -> None:
    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    cert = generate_self_signed_certificate(
        private_key, "sp.gatehouse.example", valid_days=365, now=now
    )
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [attribute.value for attribute in cn] == ["sp.gatehouse.example"]
    assert cert.issuer == cert.subject
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.not_valid_before_utc == now
    assert cert.not_valid_after_utc == now + timedelta(days=365)
    assert cert.public_key() == private_key.public_key()
    cert.verify_directly_issued_by(cert)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert not constraints.value.ca
    assert x509.load_pem_x509_certificate(certificate_to_pem(cert)) == cert


def test_certificate_serials_are_random(private_key: rsa.RSAPrivateKey) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    serials = {
        generate_self_signed_certificate(private_key, "sp", valid_days=1, now=now).serial_number
        for _ in range(3)
    }
    assert len(serials) == 3


def test_certificate_refuses_naive_now(private_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_self_signed_certificate(
            private_key,
            "sp",
            valid_days=1,
            now=datetime(2026, 3, 1),  # noqa: DTZ001
        )


@pytest.mark.parametrize("valid_days", [0, -1])
def test_certificate_refuses_a_validity_that_is_not_positive(
    private_key: rsa.RSAPrivateKey, valid_days: int
) -> None:
    with pytest.raises(ValueError, match="valid_days must be positive"):
        generate_self_signed_certificate(
            private_key, "sp", valid_days=valid_days, now=datetime(2026, 3, 1, tzinfo=UTC)
        )

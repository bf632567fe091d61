"""One test per way an ID token can be wrong (docs/security.md R-02, R-05..R-09, R-11..R-13).

Each changes one thing about a valid answer from the mock OP and asserts the reason the
connector gives, so a check that is removed or reordered fails its test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from broker.upstream.base import CallbackInput, UpstreamInvalid
from tests.broker.upstream.oidc.conftest import Rp, RpFactory
from tests.support.mock_op import REMOVE, MockOp, b64url, compact

# -- R-02 nonce --------------------------------------------------------------------------


@pytest.mark.parametrize("nonce", ["another-nonce", REMOVE, ""])
def test_r02_a_wrong_or_missing_nonce_is_refused(rp: Rp, op: MockOp, nonce: object) -> None:
    op.claims_changes = {"nonce": nonce}
    assert rp.reason() == "nonce_mismatch"


@pytest.mark.parametrize("nonce", ["wrong", None])
def test_r02_a_nonce_supported_claim_is_refused_outright(
    rp: Rp, op: MockOp, nonce: str | None
) -> None:
    """authlib issue #259: the claim once switched the nonce check off. Nothing honest sends
    it, so its presence alone refuses, with the right nonce (None: unchanged) or without."""
    op.claims_changes = {"nonce_supported": False}
    if nonce is not None:
        op.claims_changes["nonce"] = nonce
    assert rp.reason() == "nonce_supported_claim"


def test_r02_a_replayed_id_token_from_another_flow_fails_its_nonce(rp: Rp, op: MockOp) -> None:
    _, first = rp.begin()
    stolen = op.id_token_for(first)
    op.sign = lambda header, claims: stolen
    assert rp.reason() == "nonce_mismatch"


# -- R-05 issuer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iss", ["https://op.test/", "https://OP.test", "https://evil.test", REMOVE]
)
def test_r05_an_id_token_from_another_issuer_is_refused(rp: Rp, op: MockOp, iss: object) -> None:
    op.claims_changes = {"iss": iss}
    assert rp.reason() == "wrong_issuer"


# -- algorithms ----------------------------------------------------------------


def test_r06_alg_none_is_refused_even_when_the_idp_lists_it(rp: Rp, op: MockOp) -> None:
    op.discovery_changes = {"id_token_signing_alg_values_supported": ["RS256", "none"]}
    op.sign = lambda header, claims: compact({"alg": "none"}, claims)
    assert rp.reason() == "algorithm_not_allowed"


def _public_key_forms(key: RSAKey) -> list[bytes]:
    private = key.raw_value
    assert isinstance(private, rsa.RSAPrivateKey)
    public = private.public_key()
    numbers = public.public_numbers()
    return [
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        json.dumps(key.as_dict(private=False)).encode(),
        numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"),
    ]


@pytest.mark.parametrize("form", range(5))
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_r07_hmac_keyed_with_the_idps_public_key_is_refused(
    rp: Rp, op: MockOp, op_key: RSAKey, form: int, alg: str
) -> None:
    """CVE-2024-37568: a verifier that feeds the RSA public key to HMAC accepts a token anyone
    can make. Refused before any key is used, whatever the key's serialization."""
    secret = _public_key_forms(op_key)[form]
    op.discovery_changes = {"id_token_signing_alg_values_supported": ["RS256", alg]}

    def forge(header: dict[str, Any], claims: dict[str, Any]) -> str:
        head = {**header, "alg": alg}
        unsigned = compact(head, claims).rsplit(".", 1)[0]
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        signature = hmac.new(secret, unsigned.encode(), digest).digest()
        return f"{unsigned}.{b64url(signature)}"

    op.sign = forge
    assert rp.reason() == "algorithm_not_allowed"


def test_r06_an_algorithm_outside_the_connections_list_is_refused(
    make_rp: RpFactory, op: MockOp
) -> None:
    rp = make_rp(id_token_algorithms=["ES256"])
    op.discovery_changes = {"id_token_signing_alg_values_supported": ["RS256", "ES256"]}
    assert rp.reason() == "algorithm_not_allowed"


def test_r06_no_algorithm_in_common_is_a_configuration_problem(
    make_rp: RpFactory, op: MockOp
) -> None:
    rp = make_rp(id_token_algorithms=["ES256"])
    assert rp.reason() == "no_common_algorithm"


# -- R-08 signatures -----------------------------------------------------------------------


def test_r08_a_flipped_signature_byte_is_refused(rp: Rp, op: MockOp, op_key: RSAKey) -> None:
    def tampered(header: dict[str, Any], claims: dict[str, Any]) -> str:
        token = jwt.encode(header, claims, op_key, algorithms=["RS256"])
        head, body, signature = token.split(".")
        raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
        raw[10] ^= 1
        return f"{head}.{body}.{b64url(bytes(raw))}"

    op.sign = tampered
    assert rp.reason() == "signature_invalid"


def test_r08_claims_changed_after_signing_are_refused(rp: Rp, op: MockOp, op_key: RSAKey) -> None:
    def swapped(header: dict[str, Any], claims: dict[str, Any]) -> str:
        head, _, signature = jwt.encode(header, claims, op_key, algorithms=["RS256"]).split(".")
        evil = b64url(json.dumps({**claims, "sub": "admin"}).encode())
        return f"{head}.{evil}.{signature}"

    op.sign = swapped
    assert rp.reason() == "signature_invalid"


def test_r08_es256_signatures_verify_and_a_bad_one_is_refused(
    make_rp: RpFactory, op: MockOp
) -> None:
    ec = ECKey.generate_key("P-256", auto_kid=True)
    op.extra_jwks = [ec.as_dict(private=False)]
    op.discovery_changes = {"id_token_signing_alg_values_supported": ["ES256"]}
    rp = make_rp()
    op.sign = lambda header, claims: jwt.encode(
        {"alg": "ES256", "kid": ec.kid}, claims, ec, algorithms=["ES256"]
    )
    assert rp.login().email == "ann@acme.test"
    other = ECKey.generate_key("P-256")
    op.sign = lambda header, claims: jwt.encode(
        {"alg": "ES256", "kid": ec.kid}, claims, other, algorithms=["ES256"]
    )
    assert rp.reason() == "signature_invalid"


# -- R-09 keys from headers, kid handling ----------------------------------------------------


def test_r09_a_key_in_the_jwk_header_is_never_used(rp: Rp, op: MockOp) -> None:
    attacker = RSAKey.generate_key(2048, auto_kid=True)
    op.sign = lambda header, claims: jwt.encode(
        {"alg": "RS256", "kid": attacker.kid, "jwk": attacker.as_dict(private=False)},
        claims, attacker, algorithms=["RS256"],
    )  # fmt: skip
    assert rp.reason() == "unknown_key"


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_r09_a_key_url_in_the_header_is_never_fetched(rp: Rp, op: MockOp, header: str) -> None:
    attacker = RSAKey.generate_key(2048)
    op.sign = lambda head, claims: jwt.encode(
        {"alg": "RS256", "kid": op.key.kid, header: "https://evil.test/keys"},
        claims, attacker, algorithms=["RS256"],
    )  # fmt: skip
    assert rp.reason() == "signature_invalid"
    assert not any(r.url.host == "evil.test" for r in op.requests)


def test_r09_an_unknown_critical_header_is_refused(rp: Rp, op: MockOp) -> None:
    op.sign = lambda header, claims: compact(
        {**header, "crit": ["exp-policy"], "exp-policy": 1}, claims, b"signature"
    )
    assert rp.reason() == "id_token_malformed"


def test_r09_an_unknown_kid_refetches_the_jwks_at_most_once_a_minute(rp: Rp, op: MockOp) -> None:
    rp.login()  # JWKS loaded once

    def jwks_fetches() -> int:
        return sum(r.url.path == "/jwks.json" for r in op.requests)

    assert jwks_fetches() == 1
    rp.clock.advance(timedelta(seconds=61))
    for _ in range(20):
        op.header_changes = {"kid": secrets.token_urlsafe(8)}
        assert rp.reason() == "unknown_key"
    assert jwks_fetches() == 2  # one refetch for the first unknown kid, then none
    rp.clock.advance(timedelta(seconds=30))
    assert rp.reason() == "unknown_key"
    assert jwks_fetches() == 2
    rp.clock.advance(timedelta(seconds=31))
    assert rp.reason() == "unknown_key"
    assert jwks_fetches() == 3


def test_r09_a_rotated_key_is_found_by_one_refetch(rp: Rp, op: MockOp) -> None:
    rp.login()
    rp.clock.advance(timedelta(seconds=61))
    new_key = RSAKey.generate_key(2048, auto_kid=True)
    op.extra_jwks = [new_key.as_dict(private=False)]
    op.sign = lambda header, claims: jwt.encode(
        {"alg": "RS256", "kid": new_key.kid}, claims, new_key, algorithms=["RS256"]
    )
    assert rp.login().email == "ann@acme.test"


def test_r09_without_a_kid_each_fitting_key_is_tried(rp: Rp, op: MockOp) -> None:
    op.extra_jwks = [RSAKey.generate_key(2048, auto_kid=True).as_dict(private=False)]
    op.header_changes = {"kid": REMOVE}
    assert rp.login().email == "ann@acme.test"


def test_r09_symmetric_and_encryption_keys_in_the_jwks_are_ignored(rp: Rp, op: MockOp) -> None:
    op.jwks_body = json.dumps(
        {"keys": [{"kty": "oct", "k": b64url(b"shared"), "kid": op.key.kid},
                  {**op.key.as_dict(private=False), "use": "enc"}]}
    ).encode()  # fmt: skip
    assert rp.reason() == "unknown_key"


def test_r09_an_oversized_token_is_refused_before_parsing(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"padding": "x" * 20_000}
    assert rp.reason() == "id_token_too_large"


def test_an_encrypted_id_token_is_refused(rp: Rp, op: MockOp) -> None:
    op.sign = lambda header, claims: "a.b.c.d.e"
    assert rp.reason() == "id_token_malformed"


# -- R-11 audience ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "someone-else"},
        {"aud": ["someone-else"], "azp": "gatehouse-client"},
        {"aud": ["gatehouse-client", "someone-else"]},
        {"aud": ["gatehouse-client", "someone-else"], "azp": "someone-else"},
        {"azp": "someone-else"},
        {"aud": REMOVE},
        {"aud": 42},
    ],
)
def test_r11_the_audience_must_be_us_alone_or_name_us_as_azp(
    rp: Rp, op: MockOp, changes: dict[str, Any]
) -> None:
    op.claims_changes = changes
    assert rp.reason() == "wrong_audience"


def test_r11_several_audiences_with_azp_us_are_accepted(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"aud": ["gatehouse-client", "api"], "azp": "gatehouse-client"}
    assert rp.login().email == "ann@acme.test"


# -- R-12 times ----------------------------------------------------------------------------


def _at(rp: Rp, seconds: int) -> int:
    return int(rp.clock.now().timestamp()) + seconds


def test_r12_an_expired_token_is_refused_beyond_the_skew(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"exp": _at(rp, -121)}
    assert rp.reason() == "expired"
    op.claims_changes = {"exp": _at(rp, -119)}
    assert rp.login().email == "ann@acme.test"


def test_r12_a_token_issued_in_the_future_is_refused(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"iat": _at(rp, 121)}
    assert rp.reason() == "issued_in_future"


def test_r12_a_not_yet_valid_token_is_refused(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"nbf": _at(rp, 600)}
    assert rp.reason() == "not_yet_valid"


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_r12_a_token_without_exp_or_iat_is_refused(rp: Rp, op: MockOp, claim: str) -> None:
    op.claims_changes = {claim: REMOVE}
    assert rp.reason() == "id_token_malformed"


@pytest.mark.parametrize("sub", [REMOVE, "", 42, "x" * 256])
def test_r12_a_token_without_a_usable_sub_is_refused(rp: Rp, op: MockOp, sub: object) -> None:
    op.claims_changes = {"sub": sub}
    assert rp.reason() == "missing_subject"


def test_max_age_needs_a_recent_auth_time(rp: Rp, op: MockOp) -> None:
    flow, authorization = rp.begin(max_age=60)
    op.claims_changes = {"auth_time": _at(rp, -600)}
    with pytest.raises(UpstreamInvalid) as stale:
        rp.connector.complete_login(flow, CallbackInput(query=op.answer(authorization)))
    assert stale.value.reason == "stale_authentication"
    flow, authorization = rp.begin(max_age=60)
    op.claims_changes = {"auth_time": REMOVE}
    with pytest.raises(UpstreamInvalid) as missing:
        rp.connector.complete_login(flow, CallbackInput(query=op.answer(authorization)))
    assert missing.value.reason == "auth_time_missing"


# -- R-13 at_hash ----------------------------------------------------------------------------


def test_r13_an_at_hash_for_another_access_token_is_refused(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"at_hash": b64url(hashlib.sha256(b"other").digest()[:16])}
    assert rp.reason() == "at_hash_mismatch"


def test_r13_an_unlisted_header_alg_fails_before_any_hash(
    rp: Rp, op: MockOp, op_key: RSAKey
) -> None:
    """CVE-2026-28498: an alg hashlib does not know made the hash check pass. The alg is
    checked against the allow-list first, so the hash is never computed for it."""
    op.header_changes = {"alg": "RS256X"}
    op.sign = lambda header, claims: compact(header, claims, b"sig")
    assert rp.reason() == "algorithm_not_allowed"

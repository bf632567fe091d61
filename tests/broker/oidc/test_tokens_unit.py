"""`broker/oidc/tokens.py` without the app: the ID token's claims, its lifetimes and its
signature, checked as a relying party checks them (joserfc against the JWKS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError
from joserfc.jwk import KeySet, RSAKey

from broker.keys.manager import SigningKey
from broker.model.records import AuthorizationCode
from broker.oidc.tokens import at_hash, build_id_token_claims, identity_claims, sign_id_token

ISSUER = "https://gatehouse.test"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LOGGED_IN = NOW - timedelta(seconds=40)
TTL = timedelta(minutes=10)
ACCESS_TOKEN = "an-opaque-access-token"
IDENTITY = {
    "sub": "usr_1",
    "email": "ann@acme.test",
    "email_verified": True,
    "organization_id": "org_acme",
    "idp_groups": ["eng"],
}
#: Every claim `build_id_token_claims` sets itself; none may come from the identity.
PROTOCOL = ("iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp")


def code(*, claims: dict[str, Any] | None = None, nonce: str | None = "n-1") -> AuthorizationCode:
    return AuthorizationCode(
        code_hash="h", client_id="rp", redirect_uri="https://rp.test/callback",
        scope=("openid", "email"), nonce=nonce, code_challenge=None, code_challenge_method=None,
        claims=IDENTITY if claims is None else claims, auth_time=LOGGED_IN, issued_at=NOW,
        expires_at=NOW + timedelta(seconds=60),
    )  # fmt: skip


def claims_for(authorization_code: AuthorizationCode) -> dict[str, Any]:
    return build_id_token_claims(
        issuer=ISSUER, code=authorization_code, access_token=ACCESS_TOKEN, now=NOW, ttl=TTL
    )


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey(kid="k1", alg="RS256", key=RSAKey.generate_key(2048, private=True))


def jwks(*keys: SigningKey) -> KeySet:
    """What a relying party builds from our published JWKS: public members only."""
    return KeySet.import_key_set(
        {"keys": [{**k.key.as_dict(private=False), "kid": k.kid} for k in keys]}
    )


def test_the_claims_are_the_identity_plus_the_protocol_claims() -> None:
    assert claims_for(code()) == {
        **IDENTITY,
        "iss": ISSUER,
        "aud": "rp",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + TTL).timestamp()),
        "auth_time": int(LOGGED_IN.timestamp()),
        "at_hash": at_hash(ACCESS_TOKEN),
        "nonce": "n-1",
    }


def test_without_a_nonce_in_the_request_the_token_has_none() -> None:
    assert "nonce" not in claims_for(code(nonce=None))


def test_an_empty_nonce_is_echoed_as_sent() -> None:
    assert claims_for(code(nonce=""))["nonce"] == ""


@pytest.mark.parametrize("name", PROTOCOL)
def test_an_identity_claim_never_overrides_a_protocol_claim(name: str) -> None:
    """Claims stored at login come from an IdP's answer; if one were named `aud` or `iss`,
    it must not reach the token as ours."""
    forged = claims_for(code(claims={**IDENTITY, name: "forged"}, nonce=None))
    assert forged.get(name) != "forged"
    assert "azp" not in forged


def test_the_lifetimes_follow_now_and_the_ttl() -> None:
    claims = build_id_token_claims(
        issuer=ISSUER, code=code(), access_token=ACCESS_TOKEN, now=NOW + timedelta(hours=1),
        ttl=timedelta(seconds=30),
    )  # fmt: skip
    assert claims["iat"] == int(NOW.timestamp()) + 3600
    assert claims["exp"] == claims["iat"] + 30
    # auth_time is when the person logged in upstream, not when the token was made.
    assert claims["auth_time"] == int(LOGGED_IN.timestamp())


def test_the_issuer_is_used_verbatim() -> None:
    issuer = "https://gatehouse.test/tenant/"
    claims = build_id_token_claims(
        issuer=issuer, code=code(), access_token=ACCESS_TOKEN, now=NOW, ttl=TTL
    )
    assert claims["iss"] == issuer


@pytest.mark.parametrize(
    "token", ["an-opaque-access-token", "x", "jHkWEdUXMU1BwAsC4vtUsZwnNIJB2H1eMzqdqIg4l7E"]
)
def test_at_hash_is_what_a_relying_party_computes(token: str) -> None:
    """OIDC Core §3.1.3.6, checked against authlib's independent implementation (the one
    authlib's relying parties verify with)."""
    assert at_hash(token) == create_half_hash(token, "RS256").decode()
    assert len(at_hash(token)) == 22  # 16 bytes, base64url without padding


def test_identity_claims_drop_the_protocol_claims_only() -> None:
    stored = {**IDENTITY, **dict.fromkeys(PROTOCOL, "x")}
    assert identity_claims(stored) == IDENTITY


def test_the_signed_token_verifies_against_the_jwks(key: SigningKey) -> None:
    claims = claims_for(code())
    token = sign_id_token(claims, key)
    decoded = jwt.decode(token, jwks(key), algorithms=["RS256"])
    assert decoded.header == {"alg": "RS256", "kid": "k1", "typ": "JWT"}
    assert decoded.claims == claims
    registry = jwt.JWTClaimsRegistry(
        now=int(NOW.timestamp()) + 60,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": "rp"},
        nonce={"essential": True, "value": "n-1"},
        exp={"essential": True},
    )
    registry.validate(decoded.claims)


def test_the_token_expires_after_its_ttl(key: SigningKey) -> None:
    decoded = jwt.decode(sign_id_token(claims_for(code()), key), jwks(key), algorithms=["RS256"])
    late = jwt.JWTClaimsRegistry(now=int((NOW + TTL).timestamp()) + 1, exp={"essential": True})
    with pytest.raises(ExpiredTokenError):
        late.validate(decoded.claims)


def test_a_token_does_not_verify_with_another_key(key: SigningKey) -> None:
    other = SigningKey(kid="k1", alg="RS256", key=RSAKey.generate_key(2048, private=True))
    token = sign_id_token(claims_for(code()), key)
    with pytest.raises(BadSignatureError):
        jwt.decode(token, jwks(other), algorithms=["RS256"])


def test_a_changed_claim_breaks_the_signature(key: SigningKey) -> None:
    header, payload, signature = sign_id_token(claims_for(code()), key).split(".")
    forged = sign_id_token({**claims_for(code()), "sub": "usr_2"}, key).split(".")[1]
    assert forged != payload
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged}.{signature}", jwks(key), algorithms=["RS256"])


def test_the_kid_names_the_key_among_several(key: SigningKey) -> None:
    """A relying party picks the key by `kid` from a JWKS holding CURRENT, NEXT and
    RETIRED keys."""
    next_key = SigningKey(kid="k2", alg="RS256", key=RSAKey.generate_key(2048, private=True))
    token = sign_id_token(claims_for(code()), next_key)
    decoded = jwt.decode(token, jwks(key, next_key), algorithms=["RS256"])
    assert decoded.header["kid"] == "k2"

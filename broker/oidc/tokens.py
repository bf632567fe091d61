"""What the token endpoint hands out: the ID token (signed JWT) and an opaque access token.

The access token is opaque and stored hashed: its only use is `/userinfo`, and an opaque
token can be revoked when its code is replayed (RFC 6749 §4.1.2), which a self-contained JWT
could not.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from joserfc import jwt
from joserfc.jwk import RSAKey

from broker.model.records import AuthorizationCode

# Claims we set ourselves; identity claims stored on the code never override them.
_PROTOCOL_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp"})


class SigningKey(Protocol):
    """What `broker.keys` gives us to sign with."""

    @property
    def kid(self) -> str: ...

    @property
    def alg(self) -> str: ...

    @property
    def key(self) -> RSAKey: ...


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: base64url of the left half of SHA-256 (for RS256) of the token."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def build_id_token_claims(
    *,
    issuer: str,
    code: AuthorizationCode,
    access_token: str,
    now: datetime,
    ttl: timedelta,
) -> dict[str, Any]:
    """OIDC Core §2: `iss` verbatim, `aud` the client, `auth_time` always (the login always
    happened upstream just now, and `max_age` requests require it), `nonce` echoed when sent."""
    claims: dict[str, Any] = {
        k: v for k, v in identity_claims(code.claims).items() if k not in _PROTOCOL_CLAIMS
    }
    claims.update(
        iss=issuer,
        aud=code.client_id,
        iat=int(now.timestamp()),
        exp=int((now + ttl).timestamp()),
        auth_time=int(code.auth_time.timestamp()),
        at_hash=at_hash(access_token),
    )
    if code.nonce is not None:
        claims["nonce"] = code.nonce
    return claims


def identity_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The identity claims as stored at login (the same set `/userinfo` returns)."""
    return {k: v for k, v in claims.items() if k not in _PROTOCOL_CLAIMS}


def sign_id_token(claims: Mapping[str, Any], key: SigningKey) -> str:
    header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, dict(claims), key.key, algorithms=[key.alg])

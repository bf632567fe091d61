"""ID tokens: the claims that describe a person, and the JWS that carries them.

The signing key is the simulator's existing RSA key (`IdpKeys.private_key_pem`), so the JWKS
survives restarts exactly as the SAML certificate does, and its `kid` is the RFC 7638
thumbprint: stable for the key, different for any other key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from idp_simulator.user import SimulatedUser

__all__ = [
    "ID_TOKEN_ALGORITHM",
    "JWT_ONLY_CLAIMS",
    "OidcSigningKey",
    "at_hash",
    "identity_claims",
    "subject_for",
    "unsigned_jwt",
]

ID_TOKEN_ALGORITHM = "RS256"  # noqa: S105 - an algorithm name, not a secret

JWT_ONLY_CLAIMS = frozenset(
    {"iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "at_hash", "c_hash", "azp", "jti"}
)
"""Claims about the token rather than the person: userinfo leaves them out, and the login
form may not set them (a scenario changes them, so the result stays one of the documented
ones)."""


class OidcSigningKey:
    """An RSA private key as a joserfc JWK with `use: sig`, `alg: RS256` and a thumbprint
    `kid`."""

    def __init__(self, private_key_pem: bytes) -> None:
        kid = RSAKey.import_key(private_key_pem).thumbprint()
        self._key = RSAKey.import_key(
            private_key_pem, {"use": "sig", "alg": ID_TOKEN_ALGORITHM, "kid": kid}
        )
        self.kid = kid

    def public_jwk(self) -> dict[str, Any]:
        """The public half, as published in the JWKS."""
        return dict(self._key.as_dict(private=False))

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact RS256 JWS over `claims`, with `kid` and `typ: JWT` in the header."""
        header = {"alg": ID_TOKEN_ALGORITHM, "kid": self.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self._key, algorithms=[ID_TOKEN_ALGORITHM])


def subject_for(email: str) -> str:
    """A stable, opaque `sub` per email (case-insensitive): the same person logging in twice
    is the same subject, and the email itself is not the identifier (OIDC Core §5.7)."""
    return "sim-" + hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:24]


def identity_claims(user: SimulatedUser) -> dict[str, Any]:
    """`sub`, `email`, `email_verified: true`, the names, `groups` (when any), then every
    extra attribute line: one value → a string, a repeated name → a list. Extras replace a
    standard claim of the same name, as they replace a SAML attribute, and empty ones are left
    out (so `family_name=` removes that claim)."""
    name = " ".join(part for part in (user.given_name, user.family_name) if part)
    claims: dict[str, Any] = {
        "sub": subject_for(user.email),
        "email": user.email,
        "email_verified": True,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "name": name,
        "groups": list(user.groups),
    }
    claims = {key: value for key, value in claims.items() if value not in ("", [])}
    for key, values in user.extra_attributes.items():
        if not any(values):
            claims.pop(key, None)
        else:
            claims[key] = values[0] if len(values) == 1 else list(values)
    return claims


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: base64url of the left half of SHA-256 (the hash of RS256) of the
    access token's ASCII, unpadded."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return _b64url(digest[: len(digest) // 2])


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """`{"alg": "none"}` header, the claims, and an empty signature part.

    Built by hand on purpose: joserfc refuses to produce one, which is right for a library and
    exactly what the `alg-none` scenario needs to get past.
    """
    header = {"alg": "none", "typ": "JWT"}
    return f"{_b64url(_json(header))}.{_b64url(_json(claims))}."


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

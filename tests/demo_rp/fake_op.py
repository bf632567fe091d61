"""A tiny OpenID provider, built only for these tests, that can be told to misbehave.

It is written from the specifications with joserfc and nothing from `broker`: the RP under test
must be judged against an independent reading, not against the code it will later check. Each
knob (`metadata`, `claim_overrides`, `header_overrides`, `token_headers`, `userinfo_sub`,
`forge`) breaks exactly one thing so a test can show the RP refuses exactly that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

ISSUER = "https://op.example"
CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-client-secret"
REDIRECT_URI = "http://testserver/callback"
SUB = "user-123"
EMAIL = "alice@customer.example"


class _Drop:
    """Sentinel: an override with this value removes the claim, header or parameter."""


DROP: Final = _Drop()

SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1"}, private=True)
IMPOSTOR_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1"}, private=True)
"""Same `kid` as the real key, different key pair: a signature the JWKS cannot verify."""

Forger = Callable[[dict[str, Any], dict[str, Any]], str]


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6, written independently of `demo_rp` on purpose."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16])


def public_jwk(key: RSAKey, **members: str) -> dict[str, Any]:
    """The JWKS entry for `key`; `members` adds or replaces JWK members such as `use`."""
    return {**key.as_dict(private=False), **members}


def default_metadata() -> dict[str, Any]:
    return {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "authorization_response_iss_parameter_supported": True,
    }


@dataclass
class _Grant:
    nonce: str | None
    code_challenge: str
    redirect_uri: str


@dataclass
class FakeOP:
    metadata: dict[str, Any] = field(default_factory=default_metadata)
    published_keys: list[dict[str, Any]] = field(
        default_factory=lambda: [public_jwk(SIGNING_KEY, use="sig", alg="RS256")]
    )
    signing_key: RSAKey = field(default_factory=lambda: SIGNING_KEY)
    claim_overrides: dict[str, Any] = field(default_factory=dict)
    header_overrides: dict[str, Any] = field(default_factory=dict)
    token_headers: dict[str, str] = field(
        default_factory=lambda: {"Cache-Control": "no-store", "Pragma": "no-cache"}
    )
    userinfo_sub: str = SUB
    forge: Forger | None = None
    access_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    requests: list[httpx.Request] = field(default_factory=list)
    authorize_params: list[dict[str, str]] = field(default_factory=list)
    token_forms: list[dict[str, str]] = field(default_factory=list)
    _grants: dict[str, _Grant] = field(default_factory=dict)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host != "op.example":
            return httpx.Response(404)
        route = {
            ("GET", "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/jwks"): self._jwks,
            ("POST", "/token"): self._token,
            ("GET", "/userinfo"): self._userinfo,
        }.get((request.method, request.url.path))
        return route(request) if route is not None else httpx.Response(404)

    def authorize(self, url: str, *, iss: str | _Drop = ISSUER) -> dict[str, str]:
        """Play the user and the OP's front channel: approve and return the callback query."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize"
        params = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}
        self.authorize_params.append(params)
        code = secrets.token_urlsafe(16)
        self._grants[code] = _Grant(
            nonce=params.get("nonce"),
            code_challenge=params["code_challenge"],
            redirect_uri=params["redirect_uri"],
        )
        callback = {"code": code, "state": params["state"]}
        if not isinstance(iss, _Drop):
            callback["iss"] = iss
        return callback

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": SUB,
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "auth_time": now,
            "nonce": nonce,
            "at_hash": at_hash(self.access_token),
            "email": EMAIL,
        }
        header: dict[str, Any] = {"alg": "RS256", "kid": self.signing_key.kid}
        _apply(claims, self.claim_overrides)
        _apply(header, self.header_overrides)
        if self.forge is not None:
            return self.forge(header, claims)
        return jwt.encode(header, claims, self.signing_key, algorithms=[header["alg"]])

    def _discovery(self, _request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=self.metadata)

    def _jwks(self, _request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"keys": self.published_keys})

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode("ascii")).items()}
        self.token_forms.append(form)
        grant = self._grants.pop(form.get("code", ""), None)
        if (
            form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("grant_type") != "authorization_code"
        ):
            return httpx.Response(401, json={"error": "invalid_client"}, headers=self.token_headers)
        verifier = form.get("code_verifier", "")
        if (
            grant is None
            or form.get("redirect_uri") != grant.redirect_uri
            or b64url(hashlib.sha256(verifier.encode("ascii")).digest()) != grant.code_challenge
        ):
            return httpx.Response(400, json={"error": "invalid_grant"}, headers=self.token_headers)
        body = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(grant.nonce),
        }
        return httpx.Response(200, json=body, headers=self.token_headers)

    def _userinfo(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return httpx.Response(200, json={"sub": self.userinfo_sub, "email": EMAIL})


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """An `alg: none` token (RFC 7519 §6), assembled by hand: joserfc rightly refuses to."""
    return ".".join(
        [
            b64url(json.dumps({**header, "alg": "none"}).encode()),
            b64url(json.dumps(claims).encode()),
            "",
        ]
    )


def hs256_with_public_key(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """The algorithm-confusion forgery: HMAC keyed with the OP's public key (RFC 8725 §2.1)."""
    signing_input = ".".join(
        [
            b64url(json.dumps({**header, "alg": "HS256"}).encode()),
            b64url(json.dumps(claims).encode()),
        ]
    )
    secret = SIGNING_KEY.as_pem(private=False)
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def _apply(target: dict[str, Any], overrides: dict[str, Any]) -> None:
    for name, value in overrides.items():
        if isinstance(value, _Drop):
            target.pop(name, None)
        else:
            target[name] = value

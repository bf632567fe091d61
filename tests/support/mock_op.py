"""A programmable OpenID Provider for the OIDC connector's unit tests (the R rows of
docs/security.md): discovery, JWKS, authorize, token and userinfo as an `httpx.MockTransport`, with
switches to misbehave. ID tokens are signed for real with joserfc; the token endpoint really
checks client authentication and PKCE, so a connector that skipped either fails here.

The simulator is the end-to-end peer; this is the precise one: each test changes exactly one
thing about an otherwise valid answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

ISSUER = "https://op.test"
CLIENT_ID = "gatehouse-client"
CLIENT_SECRET = "s3cret:with/odd chars"
REMOVE = object()  # a claims/discovery override that deletes the member


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def at_hash(access_token: str) -> str:
    return b64url(hashlib.sha256(access_token.encode()).digest()[:16])


@dataclass
class Authorization:
    """What the connector sent to /authorize, as the OP recorded it."""

    params: dict[str, str]
    code: str


@dataclass
class MockOp:
    key: RSAKey
    now: Callable[[], datetime]
    issuer: str = ISSUER
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    #: The public key Gatehouse authenticates with (private_key_jwt), when it does.
    client_jwk: dict[str, Any] | None = None
    discovery_changes: dict[str, Any] = field(default_factory=dict)
    claims_changes: dict[str, Any] = field(default_factory=dict)
    header_changes: dict[str, Any] = field(default_factory=dict)
    #: Replaces the whole signing step: (header, claims) -> compact token.
    sign: Callable[[dict[str, Any], dict[str, Any]], str] | None = None
    token_changes: dict[str, Any] = field(default_factory=dict)
    token_status: int = 200
    userinfo: dict[str, Any] | None = None
    extra_jwks: list[dict[str, Any]] = field(default_factory=list)
    jwks_body: bytes | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    authorizations: dict[str, Authorization] = field(default_factory=dict)
    access_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    # -- what the browser does ------------------------------------------------------------

    def authorize(self, url: str) -> Authorization:
        """The person logs in: the OP records the request and issues a code."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{self.issuer}/authorize"
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        authorization = Authorization(params=params, code=secrets.token_urlsafe(16))
        self.authorizations[authorization.code] = authorization
        return authorization

    def answer(self, authorization: Authorization, **changes: str | None) -> dict[str, str]:
        """The redirect back: code, state, iss (RFC 9207), with `changes` applied."""
        answer: dict[str, str | None] = {
            "code": authorization.code,
            "state": authorization.params.get("state"),
            "iss": self.issuer,
        }
        answer |= changes
        return {k: v for k, v in answer.items() if v is not None}

    # -- the endpoints --------------------------------------------------------------------

    def client(self) -> httpx.Client:
        # Late-bound, so a test may swap `handle` for a misbehaving one.
        return httpx.Client(transport=httpx.MockTransport(lambda request: self.handle(request)))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix(urlsplit(self.issuer).path)
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.discovery())
        if path == "/jwks.json":
            if self.jwks_body is not None:
                return httpx.Response(200, content=self.jwks_body)
            keys = [self.key.as_dict(private=False), *self.extra_jwks]
            return httpx.Response(200, json={"keys": keys})
        if path == "/token":
            return self._token(request)
        if path == "/userinfo":
            if request.headers.get("authorization") != f"Bearer {self.access_token}":
                return httpx.Response(401)
            return httpx.Response(200, json=self.userinfo or {})
        return httpx.Response(404)

    def discovery(self) -> dict[str, Any]:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks.json",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "private_key_jwt",
            ],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }  # fmt: skip
        return changed(document, self.discovery_changes)

    def id_token_for(self, authorization: Authorization) -> str:
        now = int(self.now().timestamp())
        claims = {
            "iss": self.issuer,
            "sub": "user-123",
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now - 5,
            "nonce": authorization.params.get("nonce"),
            "at_hash": at_hash(self.access_token),
            "email": "ann@acme.test",
            "email_verified": True,
            "given_name": "Ann",
            "family_name": "Example",
            "name": "Ann Example",
            "groups": ["engineering"],
        }
        claims = changed(claims, self.claims_changes)
        header = changed({"alg": "RS256", "kid": self.key.kid}, self.header_changes)
        if self.sign is not None:
            return self.sign(header, claims)
        return jwt.encode(header, claims, self.key, algorithms=[header["alg"]])

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if not self._client_authenticated(request, form):
            return httpx.Response(401, json={"error": "invalid_client"})
        authorization = self.authorizations.pop(form.get("code", ""), None)
        if authorization is None:
            return httpx.Response(400, json={"error": "invalid_grant"})
        params = authorization.params
        verifier = form.get("code_verifier", "")
        if (
            params.get("code_challenge_method") != "S256"
            or b64url(hashlib.sha256(verifier.encode()).digest()) != params.get("code_challenge")
            or form.get("redirect_uri") != params.get("redirect_uri")
        ):
            return httpx.Response(400, json={"error": "invalid_grant"})
        body = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token_for(authorization),
        }
        return httpx.Response(self.token_status, json=changed(body, self.token_changes))

    def _client_authenticated(self, request: httpx.Request, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            if "client_secret" in form or "client_assertion" in form:
                return False  # RFC 6749 §2.3: one method only
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return (unquote(client_id), unquote(secret)) == (self.client_id, self.client_secret)
        if "client_assertion" in form:
            return self._assertion_ok(form)
        return (form.get("client_id"), form.get("client_secret")) == (
            self.client_id,
            self.client_secret,
        )

    def _assertion_ok(self, form: dict[str, str]) -> bool:
        if self.client_jwk is None or form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return False
        keys = KeySet.import_key_set({"keys": [self.client_jwk]})
        try:
            token = jwt.decode(form["client_assertion"], keys, algorithms=["RS256"])
        except JoseError:
            return False
        claims = token.claims
        now = self.now().timestamp()
        return (
            claims.get("iss") == claims.get("sub") == self.client_id == form.get("client_id")
            and claims.get("aud") == f"{self.issuer}/token"
            and isinstance(claims.get("jti"), str)
            and claims["exp"] > now
        )


def changed(document: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`document` with `changes` applied: a member set to `REMOVE` is deleted."""
    result = dict(document)
    for name, value in changes.items():
        if value is REMOVE:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS built by hand (for tokens no library would make: alg none, forged HMAC)."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"

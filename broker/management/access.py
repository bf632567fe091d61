"""Who may call the management API: management clients, their tokens and scopes.

Management clients are not login clients (a leaked Auth0 secret must not administer
tenants). They get tokens with the client credentials grant at `/token`, naming the API as
`audience` (Auth0's shape), and present them as `Authorization: Bearer` (never in a query
string, RFC 6750 §2.3). Tokens are JWTs (RFC 9068 `at+jwt`) signed with the OP's keys,
lived 5 minutes, and checked on every request: signature, `typ` (an ID token Gatehouse
issued to Auth0 is not an access token, M-03), issuer, audience, expiry, and that the client
is still live, so revoking or disabling a client takes effect at once. A rotated client has
two valid secrets until the older one is revoked (`client_admin`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from broker.clock import Clock
from broker.http import HttpRequest, HttpResponse
from broker.keys import KeyManager
from broker.management.errors import MissingScope, Unauthenticated
from broker.model.client_credentials import (
    FAILED,
    NONE,
    ClientCredentials,
    CredentialsRefused,
    parse_client_credentials,
)
from broker.model.management import SCOPES, ManagementClient
from broker.model.opaque import hash_secret, looks_like_id, new_id, new_secret
from broker.store import NotFound, Store, UnitOfWork

log = logging.getLogger(__name__)

TOKEN_TTL = timedelta(minutes=5)
JWT_TYP = "at+jwt"  # RFC 9068 §2.1
_NO_STORE = {"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one API request."""

    client_id: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"management_client:{self.client_id}"

    def require(self, scope: str) -> None:
        """Exact string match (M-02): `connections:read*` grants nothing."""
        if scope not in self.scopes:
            raise MissingScope(scope)


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client: ManagementClient
    client_secret: str


def api_audience(issuer: str) -> str:
    return f"{issuer}/api/v1"


def register_management_client(
    uow: UnitOfWork,
    *,
    name: str,
    scopes: list[str] | tuple[str, ...],
    now: datetime,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> RegisteredClient:
    """The secret is returned once and stored only as SHA-256 (it is 256 random bits)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"unknown scopes {unknown}; choose from {list(SCOPES)}")
    secret = client_secret or new_secret()
    client = ManagementClient(
        client_id=client_id or new_id("mc"),
        name=name,
        secret_hash=hash_secret(secret),
        scopes=tuple(dict.fromkeys(scopes)),
        created_at=now,
    )
    uow.management_clients.add(client)
    return RegisteredClient(client=client, client_secret=secret)


class AccessTokens:
    def __init__(self, *, issuer: str, keys: KeyManager, store: Store, clock: Clock) -> None:
        self._issuer = issuer
        self._audience = api_audience(issuer)
        self._keys = keys
        self._store = store
        self._clock = clock

    def issue(self, request: HttpRequest) -> HttpResponse:
        """`/token` with `grant_type=client_credentials` (RFC 6749 §4.4)."""
        form = {k: v[0] for k, v in request.form.items() if v}
        if any(len(v) > 1 for v in request.form.values()):
            return _oauth_error(400, "invalid_request", "a parameter is repeated")
        try:
            credentials = parse_client_credentials(request.header("authorization"), request.form)
        except CredentialsRefused as exc:
            status = 400 if exc.error == "invalid_request" else 401
            return _oauth_error(status, exc.error, exc.description)
        client = self._authenticate_client(credentials)
        if client is None:
            return _oauth_error(401, "invalid_client", FAILED)
        if form.get("audience") != self._audience:
            return _oauth_error(400, "invalid_request", f"audience must be {self._audience}")
        requested = form.get("scope", "").split()
        scopes = requested or list(client.scopes)
        if not set(scopes) <= set(client.scopes):
            return _oauth_error(400, "invalid_scope", "a scope this client was not granted")
        now = self._clock.now()
        claims = {
            "iss": self._issuer,
            "sub": client.client_id,
            "aud": self._audience,
            "client_id": client.client_id,
            "scope": " ".join(scopes),
            "iat": int(now.timestamp()),
            "exp": int((now + TOKEN_TTL).timestamp()),
            "jti": new_secret(),
        }
        key = self._keys.signing_key()
        header = {"alg": key.alg, "kid": key.kid, "typ": JWT_TYP}
        token = jwt.encode(header, claims, key.key, algorithms=[key.alg])
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(TOKEN_TTL.total_seconds()),
            "scope": " ".join(scopes),
        }
        return HttpResponse(body=json.dumps(body).encode(), headers=_NO_STORE)

    def authenticate(self, request: HttpRequest) -> Principal:
        if "access_token" in request.query:
            raise Unauthenticated("send the token in the Authorization header, not the URL")
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a Bearer access token is required")
        claims = self._verified_claims(token.strip())
        client_id = claims.get("client_id")
        with self._store.unit_of_work() as uow:
            try:
                client = uow.management_clients.get(str(client_id))
            except NotFound as exc:
                raise Unauthenticated("the token's client no longer exists") from exc
        if client.revoked_at is not None:
            raise Unauthenticated("the token's client was revoked")
        if client.disabled_at is not None:
            raise Unauthenticated("the token's client is disabled")
        scope = claims.get("scope")
        granted = set(scope.split()) if isinstance(scope, str) else set()
        return Principal(client_id=client.client_id, scopes=frozenset(granted & set(client.scopes)))

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            keys = KeySet.import_key_set(self._keys.public_jwks())  # type: ignore[arg-type]
            decoded = jwt.decode(token, keys, algorithms=["RS256"])
        except (JoseError, ValueError) as exc:
            raise Unauthenticated("the access token is not valid") from exc
        claims = dict(decoded.claims)
        now = self._clock.now().timestamp()
        problem = _claims_problem(decoded.header, claims, self._issuer, self._audience, now=now)
        if problem:
            raise Unauthenticated(f"the access token is not valid ({problem})")
        return claims

    def _authenticate_client(self, credentials: ClientCredentials) -> ManagementClient | None:
        """client_secret_basic or client_secret_post (read by `parse_client_credentials`,
        which refuses both at once); the same work whether or not the client exists."""
        secret = credentials.secret or ""
        client = None
        if credentials.method != NONE and looks_like_id(credentials.client_id):
            with self._store.unit_of_work() as uow:
                try:
                    client = uow.management_clients.get(credentials.client_id)
                except NotFound:
                    client = None
        if client is None:
            hash_secret(secret)
            return None
        if not client.secret_matches(secret) or not client.is_live:
            return None
        return client


def _claims_problem(
    header: dict[str, Any], claims: dict[str, Any], issuer: str, audience: str, *, now: float
) -> str | None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if header.get("typ") != JWT_TYP:
        return "not an access token"
    if claims.get("iss") != issuer:
        return "wrong issuer"
    if claims.get("aud") != audience:
        return "wrong audience"
    if not isinstance(exp, int) or exp <= now:
        return "expired"
    if not isinstance(iat, int) or iat > now + 60:
        return "issued in the future"
    return None


def _oauth_error(status: int, error: str, description: str) -> HttpResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="gatehouse"'
    body = {"error": error, "error_description": description}
    return HttpResponse(status=status, body=json.dumps(body).encode(), headers=headers)

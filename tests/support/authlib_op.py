"""An OpenID Provider built on authlib's server side: the independent party of the interop
tests.

Gatehouse's OIDC connector and the simulator's OP were both written here, from our reading of
the specifications; a misreading they share would pass every test between them. authlib's
`AuthorizationServer` is another team's reading, so this OP reuses it for every protocol
decision (client authentication, PKCE, code binding, ID token claims, error redirects, RFC
9207 `iss`) and adds only glue: a Starlette adapter, in-memory stores, one fixed person who
is always signed in. It must never import `broker`.

Knobs the tests turn: `approve = False` makes the person decline (authlib's own
`access_denied` redirect); `id_token_key` signs ID tokens with a key the JWKS does not publish.

Routes, under the issuer's path (`/realms/interop`, a path issuer like Keycloak's or Okta's):
discovery, `/jwks`, `/authorize`, `/token`, `/userinfo`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import AuthorizationCodeMixin, UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

ISSUER_PATH = "/realms/interop"
SCOPES = ("openid", "profile", "email")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
#: The one person this OP knows; always signed in.
PERSON = UserInfo(
    sub="f3b1c2d4-authlib-alice",
    email="alice@interop.test",
    email_verified=True,
    given_name="Alice",
    family_name="Interop",
    name="Alice Interop",
)


def new_signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)


@dataclass
class RegisteredClient(ClientMixin):  # type: ignore[misc]
    """A client with one redirect URI and exactly one way to authenticate at /token, so a
    request authenticated any other way is refused (authlib asks `check_endpoint_auth_method`)."""

    client_id: str
    redirect_uri: str
    auth_method: str
    secret: str | None = None
    jwks: dict[str, Any] | None = None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret is not None and secrets.compare_digest(self.secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class _Code(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """Codes live in the OP's memory, single use (authlib deletes after redemption)."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.op.codes[code] = _Code(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            nonce=data["nonce"],
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            auth_time=int(time.time()),
        )
        self.server.op.nonces.add(data["nonce"])

    def query_authorization_code(self, code: str, client: RegisteredClient) -> _Code | None:
        found: _Code | None = self.server.op.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        self.server.op.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: _Code) -> UserInfo:
        return PERSON


class _S256Required(CodeChallenge):  # type: ignore[misc]
    """`CodeChallenge(required=True)` requires a verifier only from public clients; this OP
    also requires the S256 challenge from confidential ones (RFC 9700 §2.1.1), so a relying
    party that forgets PKCE fails here instead of passing unnoticed."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with S256 is required")
        super().validate_code_challenge(grant, redirect_uri)


class _OpenIdCode(OpenIDCode):  # type: ignore[misc]
    """ID tokens: authlib's claims (iss, aud, iat, exp, auth_time, nonce, at_hash) plus the
    person's, signed RS256 with a `kid`."""

    def __init__(self, op: AuthlibOp) -> None:
        super().__init__(require_nonce=True)
        self.op = op

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return nonce in self.op.nonces

    def resolve_client_private_key(self, client: RegisteredClient) -> RSAKey:
        return self.op.key_for_id_tokens()

    def get_client_claims(self, client: RegisteredClient) -> dict[str, Any]:
        return {"iss": self.op.issuer, "aud": [client.client_id]}

    def get_encode_header(self, client: RegisteredClient) -> dict[str, Any]:
        return {"alg": "RS256", "kid": self.op.key_for_id_tokens().kid}

    def generate_user_info(self, user: UserInfo, scope: str) -> UserInfo:
        return user.filter(scope)


class _PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """`private_key_jwt` on the server side (authlib's `PrivateKeyJWT` is the client side):
    the assertion must be signed by a key in the client's registered JWKS, name this OP's
    token endpoint as its only audience, and carry a `jti` never seen before."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, op: AuthlibOp) -> None:
        super().__init__()
        self.op = op
        self.seen: set[tuple[str, str]] = set()

    def get_audiences(self) -> list[str]:
        return [self.op.token_endpoint]

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        key = (str(claims["sub"]), jti)
        fresh = key not in self.seen
        self.seen.add(key)
        return fresh

    def resolve_client_public_key(self, client: RegisteredClient) -> KeySet:
        return KeySet.import_key_set(client.jwks or {"keys": []})  # type: ignore[arg-type]


class _Request(OAuth2Request):  # type: ignore[misc]
    """authlib's request, from what Starlette read (authlib ships no Starlette server glue)."""

    def __init__(self, request: Request, form: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self._args, self._form = dict(request.query_params), dict(form)
        self.payload = BasicOAuth2Payload({**self._args, **self._form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class _Answer:
    """authlib's (status, body, headers); `location` is what the RFC 9207 hook rewrites."""

    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))

    def to_response(self) -> Response:
        body = json.dumps(self.body) if isinstance(self.body, dict | list) else self.body
        return Response(body, status_code=self.status, headers=dict(self.headers))


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, op: AuthlibOp) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.op = op

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.op.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.op.access_tokens[token["access_token"]] = token["scope"]

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> _Answer:
        return _Answer(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        if name == "after_authenticate_client":
            self.op.client_auth_methods.append(kwargs["grant"].request.auth_method)


class _Issuer(IssuerParameter):  # type: ignore[misc]
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


@dataclass
class AuthlibOp:
    """The OP: `app` to serve at `base_url`; clients are registered after Gatehouse made its
    connection (the redirect URI, or the public key, only exists then)."""

    base_url: str
    signing_key: RSAKey
    approve: bool = True
    id_token_key: RSAKey | None = None
    clients: dict[str, RegisteredClient] = field(default_factory=dict)
    access_tokens: dict[str, str] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)
    #: How each token request authenticated, as authlib decided it.
    client_auth_methods: list[str] = field(default_factory=list)
    userinfo_requests: int = 0

    def __post_init__(self) -> None:
        self.issuer = self.base_url + ISSUER_PATH
        self.token_endpoint = f"{self.issuer}/token"
        self._iss = _Issuer(self.issuer)
        self.server = _Server(self)
        self.server.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(32))
        )
        self.server.register_client_auth_method("private_key_jwt", _PrivateKeyJwt(self))
        self.server.register_grant(_CodeGrant, [_S256Required(required=True), _OpenIdCode(self)])
        self.server.register_extension(self._iss)
        OpenIDProviderMetadata(self.discovery()).validate()  # spec-valid by authlib's rules
        routes = [
            Route("/.well-known/openid-configuration", self._discovery),
            Route("/jwks", self._jwks),
            Route("/authorize", self._authorize),
            Route("/token", self._token, methods=["POST"]),
            Route("/userinfo", self._userinfo, methods=["GET", "POST"]),
        ]
        self.app = Starlette(routes=[Mount(ISSUER_PATH, routes=routes)])

    def register(self, client: RegisteredClient) -> None:
        self.clients[client.client_id] = client

    def key_for_id_tokens(self) -> RSAKey:
        return self.id_token_key or self.signing_key

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": self.token_endpoint,
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(SCOPES),
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": sorted({"iss", "aud", "exp", "iat", "nonce", *PERSON}),
            "authorization_response_iss_parameter_supported": True,
        }

    def _discovery(self, _request: Request) -> Response:
        return JSONResponse(self.discovery())

    def _jwks(self, _request: Request) -> Response:
        return JSONResponse({"keys": [self.signing_key.as_dict(private=False)]})

    def _authorize(self, request: Request) -> Response:
        oauth_request = _Request(request)
        person = PERSON if self.approve else None
        try:
            grant = self.server.get_consent_grant(oauth_request, end_user=person)
        except OAuth2Error as error:
            answer = self.server.handle_error_response(oauth_request, error)
            self._iss.add_issuer_parameter(self.server, answer)  # RFC 9207: errors too
            return answer.to_response()  # type: ignore[no-any-return]
        answer = self.server.create_authorization_response(
            oauth_request, grant_user=person, grant=grant
        )
        return answer.to_response()  # type: ignore[no-any-return]

    async def _token(self, request: Request) -> Response:
        form = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
        answer = self.server.create_token_response(_Request(request, form))
        return answer.to_response()  # type: ignore[no-any-return]

    def _userinfo(self, request: Request) -> Response:
        self.userinfo_requests += 1
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        scope = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if scope is None:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            return JSONResponse({"error": "invalid_token"}, status_code=401, headers=headers)
        return JSONResponse(dict(PERSON.filter(scope)))

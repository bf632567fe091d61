"""The only module that touches authlib: the token endpoint's authorization_code grant.

authlib does what it is good at here: client authentication (client_secret_basic with the
RFC 6749 §2.3.1 decoding, client_secret_post, none), the grant's checks (code bound to the
client and redirect_uri, §4.1.3), PKCE verification (RFC 7636 §4.6, via `CodeChallenge`), and
RFC-shaped error bodies. Everything stateful is delegated to one unit of work, and the tokens
are built by `broker.oidc.tokens`, so no hook hides a decision.

authlib is synchronous and not thread-safe per request object, so a server is built per
request: it is a handful of attribute assignments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge

from broker.http import HttpRequest, HttpResponse
from broker.model.client_credentials import (
    FAILED,
    NONE,
    ClientCredentials,
    CredentialsRefused,
    parse_client_credentials,
)
from broker.model.opaque import hash_secret, looks_like_id
from broker.model.records import AuthorizationCode, DownstreamClient
from broker.store import CodeReplayed, NotFound, UnitOfWork

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class _Client(ClientMixin):
    """A client as the token endpoint sees it. The authorization endpoint is ours
    (`authorize.py`), so authlib's hooks for it (redirect_uri, response_type) are left out."""

    def __init__(self, client: DownstreamClient) -> None:
        self.client = client

    def get_client_id(self) -> str:
        return self.client.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        """The current secret or, while a rotation is being rolled out, the previous one."""
        return self.client.secret_matches(client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client.is_public:
            return method == NONE
        return method in ("client_secret_basic", "client_secret_post")

    def authenticates(self, credentials: ClientCredentials) -> bool:
        """A public client names itself; a confidential one proves its secret (RFC 6749
        §3.2.1: it MUST authenticate, so `none` is not enough)."""
        if not self.check_endpoint_auth_method(credentials.method, "token"):
            return False
        return self.client.is_public or self.check_client_secret(credentials.secret or "")

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


class _Code:
    """authlib's view of a redeemed code (AuthorizationCodeMixin + CodeChallenge fields)."""

    def __init__(self, code: AuthorizationCode) -> None:
        self.code = code
        self.code_challenge = code.code_challenge
        self.code_challenge_method = code.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.code.redirect_uri

    def get_scope(self) -> str:
        return " ".join(self.code.scope)


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]

    server: _TokenServer

    def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
        uow = self.server.uow
        now = self.server.now
        try:
            found = uow.codes.consume(hash_secret(code), now=now)
        except NotFound:
            return None
        if isinstance(found, CodeReplayed):
            # RFC 6749 §4.1.2: deny, and revoke what the first redemption issued. The
            # revocation is committed even though this request fails.
            uow.codes.revoke(hash_secret(code), now=now)
            log.warning("authorization code replayed client_id=%s", found.client_id)
            return None
        if found.client_id != client.get_client_id():
            log.warning("authorization code presented by another client")
            return None
        return _Code(found)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        """Nothing to do: `consume` already made the code unusable, atomically."""

    def authenticate_user(self, authorization_code: _Code) -> _Code:
        # The "user" authlib passes to the token generator is the redeemed code: it carries
        # the identity claims captured at login.
        return authorization_code


IssueTokens = Callable[[AuthorizationCode], dict[str, Any]]


class _TokenServer(AuthorizationServer):
    def __init__(self, uow: UnitOfWork, now: datetime, issue: IssueTokens) -> None:
        super().__init__(scopes_supported=None)
        self.uow = uow
        self.now = now
        self.register_grant(_CodeGrant, [CodeChallenge(required=True)])

        def generate(user: _Code, **_: object) -> dict[str, Any]:
            return issue(user.code)

        self.register_token_generator("default", generate)

    def authenticate_client(
        self, request: OAuth2Request, methods: list[str], endpoint: str = "token"
    ) -> _Client:
        """Our reading of the credentials (`broker.model.client_credentials`) instead of
        authlib's, which raises on a Basic header that is not UTF-8 and tells an unknown
        client from a wrong secret. Every failure is the same `invalid_client`: 401 with a
        Basic challenge (RFC 6749 §5.2), the same body, the same work."""
        assert isinstance(request, _Request)
        try:
            credentials = parse_client_credentials(
                request.http.header("authorization"), request.http.form
            )
        except CredentialsRefused as exc:
            if exc.error == "invalid_request":
                raise InvalidRequestError(exc.description) from exc
            raise InvalidClientError(status_code=401, description=FAILED) from exc
        client = None
        if looks_like_id(credentials.client_id):
            client = self.query_client(credentials.client_id)
        if client is None:
            hash_secret(credentials.secret or "")  # the work a known client's check costs
            raise InvalidClientError(status_code=401, description=FAILED)
        if not client.authenticates(credentials):
            raise InvalidClientError(status_code=401, description=FAILED)
        if client.client.disabled_at is not None:
            # After authenticating: only the client itself learns that it is disabled.
            raise InvalidClientError(status_code=401, description="the client is disabled")
        request.auth_method = credentials.method
        return client

    def query_client(self, client_id: str) -> _Client | None:
        try:
            return _Client(self.uow.clients.get(client_id))
        except NotFound:
            return None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """The token generator stores what it issues; nothing left to save here."""

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        return None

    def create_oauth2_request(self, request: HttpRequest) -> OAuth2Request:
        return _Request(request)

    def handle_response(
        self, status: int, body: Mapping[str, Any] | str, headers: list[tuple[str, str]]
    ) -> HttpResponse:
        merged = dict(headers) | NO_STORE
        payload = body if isinstance(body, str) else json.dumps(body)
        merged["Content-Type"] = "application/json"
        return HttpResponse(status=status, body=payload.encode(), headers=merged)


class _Request(OAuth2Request):
    """OAuth parameters come from the form body only (RFC 6749 §3.2, §2.3.1: client
    credentials in a query string are not accepted). The query (`args`) is not offered at
    all: the token grant never reads it, and an authlib that did would fail loudly rather
    than read parameters from a URL."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(method=request.method, uri=request.url, headers=dict(request.headers))
        self.http = request
        self._form = {k: v[0] for k, v in request.form.items() if v}
        self.payload = BasicOAuth2Payload(self._form)

    @property
    def form(self) -> dict[str, str]:
        return self._form


def create_token_response(
    uow: UnitOfWork, request: HttpRequest, *, now: datetime, issue: IssueTokens
) -> HttpResponse:
    """Run the authorization_code grant; `issue` builds and stores the tokens for the one
    caller whose code redemption won."""
    response: HttpResponse = _TokenServer(uow, now, issue).create_token_response(request)
    return response

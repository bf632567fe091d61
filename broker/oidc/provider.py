"""The OpenID Provider toward Auth0: validate, hand off, resume (node-oidc-provider, fosite).

    begin(request)        /authorize: validate -> store a flow -> the login hand-off
    finish(uow, flow, …)  the person logged in upstream -> code -> redirect to the client
    token(request)        /token: redeem the code once -> ID token + access token
    userinfo(request)     /userinfo: the same identity claims as the ID token

Federation happens between `begin` and `finish`, outside this package. Every state change
is in the store, so any Gatehouse process can run any step of any flow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from broker.clock import Clock
from broker.errors import UserFacingError
from broker.http import HttpRequest, HttpResponse, Redirect, with_query
from broker.model.directory_access import still_admitted
from broker.model.opaque import hash_secret, new_secret
from broker.model.records import (
    AccessToken,
    AuthorizationCode,
    DownstreamClient,
    OnRefusal,
    PendingAuthorization,
)
from broker.oidc import _authlib
from broker.oidc.authorize import (
    AuthorizeRejected,
    InvalidClientRequest,
    validate_authorization_request,
)
from broker.oidc.discovery import build_discovery_document
from broker.oidc.tokens import (
    SigningKey,
    build_id_token_claims,
    identity_claims,
    sign_id_token,
)
from broker.settings import TokenSettings
from broker.store import NotFound, Store, UnitOfWork

log = logging.getLogger(__name__)

_JSON = {"Content-Type": "application/json"}


class TokenSigner(Protocol):
    """The narrow view of the key manager the OP needs (fosite: interfaces beside use)."""

    def signing_key(self) -> SigningKey: ...

    def public_jwks(self) -> Mapping[str, object]: ...


class Provider:
    def __init__(
        self,
        *,
        issuer: str,
        store: Store,
        signer: TokenSigner,
        clock: Clock,
        tokens: TokenSettings,
    ) -> None:
        self.issuer = issuer
        self._store = store
        self._signer = signer
        self._clock = clock
        self._tokens = tokens
        self._discovery = json.dumps(build_discovery_document(issuer)).encode()

    # -- metadata ---------------------------------------------------------------------

    def discovery(self) -> HttpResponse:
        return HttpResponse(
            body=self._discovery, headers={**_JSON, "Cache-Control": "public, max-age=3600"}
        )

    def jwks(self) -> HttpResponse:
        # Short cache: a key published as NEXT must reach RPs before it starts signing.
        body = json.dumps(self._signer.public_jwks()).encode()
        return HttpResponse(body=body, headers={**_JSON, "Cache-Control": "public, max-age=300"})

    # -- authorization endpoint -------------------------------------------------------

    def begin(
        self, request: HttpRequest, *, browser_binding: str | None = None
    ) -> PendingAuthorization | Redirect:
        """Validate `/authorize` and store the flow; or an error redirect to the client
        (`start` says how)."""
        check_authorize_method(request)
        with self._store.unit_of_work() as uow:
            started = self.start(uow, request, browser_binding=browser_binding)
            if isinstance(started, PendingAuthorization):
                uow.flows.create(started)
        return started

    def start(
        self, uow: UnitOfWork, request: HttpRequest, *, browser_binding: str | None = None
    ) -> PendingAuthorization | Redirect:
        """Validate `/authorize`: the flow it starts, for the caller to store (the login
        stores it once, already routed, rather than creating it here and updating it at the
        hand-off: issue 18); or an error redirect to the client.

        `browser_binding` is on the flow from the start: the login binds the flow to the
        browser that asked for it, from the first step.

        Raises UserFacingError when the client or redirect_uri cannot be trusted: that
        error is shown, never redirected (RFC 6749 §4.1.2.1). The caller has checked the
        method (`check_authorize_method`) before opening `uow`.
        """
        now = self._clock.now()
        try:
            authz = validate_authorization_request(
                request.params, lambda cid: _find_client(uow, cid)
            )
        except InvalidClientRequest as exc:
            log.warning("authorize refused before redirect: %s", exc.reason)
            raise UserFacingError(
                "This sign-in request is not valid",
                "The application that sent you here is misconfigured. Go back to it and "
                "try again; if this keeps happening, tell its support team the reference "
                "below.",
                detail=exc.reason,
            ) from exc
        except AuthorizeRejected as exc:
            log.info("authorize rejected: %s (%s)", exc.error, exc.description)
            return self._error_redirect(exc.redirect_uri, exc.error, exc.description, exc.state)
        log.info("flow started client_id=%s", authz.client_id)
        return PendingAuthorization(
            id=new_secret(),
            request=authz,
            created_at=now,
            expires_at=now + self._tokens.flow_ttl,
            browser_binding=browser_binding,
        )

    def finish(
        self,
        uow: UnitOfWork,
        flow: PendingAuthorization,
        claims: Mapping[str, Any],
        *,
        auth_time: datetime,
        directory_user_id: str | None = None,
    ) -> Redirect:
        """Issue the code for a consumed flow, in the caller's unit of work, so that
        consuming the flow and issuing its code commit together or not at all.
        `directory_user_id` (the directory user the login was linked to) goes on the code
        and its access token: `/userinfo` refuses the token once that person is inactive."""
        now = self._clock.now()
        code = new_secret()
        authz = flow.request
        uow.codes.add(
            AuthorizationCode(
                code_hash=hash_secret(code),
                client_id=authz.client_id,
                redirect_uri=authz.redirect_uri,
                scope=authz.scope,
                nonce=authz.nonce,
                code_challenge=authz.code_challenge,
                code_challenge_method=authz.code_challenge_method,
                claims=dict(claims),
                auth_time=auth_time,
                issued_at=now,
                expires_at=now + self._tokens.code_ttl,
                directory_user_id=directory_user_id,
            )
        )
        location = with_query(
            authz.redirect_uri, {"code": code, "state": authz.state, "iss": self.issuer}
        )
        return Redirect(location)

    def deny(self, flow: PendingAuthorization, error: str, description: str) -> Redirect:
        """The error redirect for a flow that cannot finish (OIDC Core §3.1.2.6): to the
        redirect URI validated when it began, with its `state` and our `iss`."""
        authz = flow.request
        return self._error_redirect(authz.redirect_uri, error, description, authz.state)

    def on_refusal(self, client_id: str) -> OnRefusal | None:
        """How the client wants refusals delivered; None if it was deleted since the flow
        began (nothing is sent to a client that no longer exists)."""
        with self._store.unit_of_work() as uow:
            client = _find_client(uow, client_id)
        return None if client is None else client.on_refusal

    def _error_redirect(
        self, redirect_uri: str, error: str, description: str, state: str | None
    ) -> Redirect:
        params = {"error": error, "error_description": description, "state": state}
        return Redirect(with_query(redirect_uri, {**params, "iss": self.issuer}))

    # -- token endpoint ---------------------------------------------------------------

    def token(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return _oauth_error(405, "invalid_request", "use POST", extra={"Allow": "POST"})
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "the body must be form-encoded")
        repeated = sorted(k for k, v in request.form.items() if len(v) > 1)
        if repeated:
            # RFC 6749 §3.2: request parameters MUST NOT be included more than once.
            return _oauth_error(400, "invalid_request", f"repeated parameter: {repeated[0]}")
        now = self._clock.now()
        # Fetched before the transaction: the key manager reads the store itself, and on
        # SQLite a second transaction inside this one would wait on its own write lock.
        key = self._signer.signing_key()
        with self._store.unit_of_work() as uow:
            return _authlib.create_token_response(
                uow, request, now=now, issue=lambda code: self._issue(uow, code, now, key)
            )

    def _issue(
        self, uow: UnitOfWork, code: AuthorizationCode, now: datetime, key: SigningKey
    ) -> dict[str, Any]:
        access_token = new_secret()
        uow.access_tokens.add(
            AccessToken(
                token_hash=hash_secret(access_token),
                code_hash=code.code_hash,
                client_id=code.client_id,
                scope=code.scope,
                claims=identity_claims(code.claims),
                issued_at=now,
                expires_at=now + self._tokens.access_token_ttl,
                directory_user_id=code.directory_user_id,
            )
        )
        claims = build_id_token_claims(
            issuer=self.issuer,
            code=code,
            access_token=access_token,
            now=now,
            ttl=self._tokens.id_token_ttl,
        )
        log.info("tokens issued client_id=%s sub=%s", code.client_id, claims.get("sub"))
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(self._tokens.access_token_ttl.total_seconds()),
            "scope": " ".join(code.scope),
            "id_token": sign_id_token(claims, key),
        }

    # -- userinfo ---------------------------------------------------------------------

    def userinfo(self, request: HttpRequest) -> HttpResponse:
        """OIDC Core §5.3 with RFC 6750 bearer tokens: the Authorization header, or the
        form body of a POST (§2.2). Query-string tokens (§2.3) are not accepted: they end
        up in logs.

        A token issued for a directory user is checked live, with one indexed query: once
        that person is deactivated or deleted in the organization's directory, the token is
        `invalid_token` (RFC 6750 §3.1), as a revoked one is. Gatehouse issues no refresh
        tokens, so this is all it holds for the person."""
        token = _bearer_token(request)
        if token is None:
            return _bearer_error(None)
        with self._store.unit_of_work() as uow:
            try:
                found = uow.access_tokens.get(hash_secret(token), now=self._clock.now())
            except NotFound:
                return _bearer_error("invalid_token")
            if found.directory_user_id is not None and not still_admitted(
                uow.directory_users.standing(found.directory_user_id)
            ):
                log.info("userinfo refused: directory user inactive or gone")
                return _bearer_error("invalid_token")
        body = json.dumps(dict(found.claims)).encode()
        return HttpResponse(body=body, headers={**_JSON, "Cache-Control": "no-store"})


def check_authorize_method(request: HttpRequest) -> None:
    """`/authorize` is GET or POST (OIDC Core §3.1.2.1); anything else is refused before any
    transaction is opened."""
    if request.method not in ("GET", "POST"):
        raise UserFacingError("Unsupported request", "Start the sign-in from the application.")


def _find_client(uow: UnitOfWork, client_id: str) -> DownstreamClient | None:
    try:
        return uow.clients.get(client_id)
    except NotFound:
        return None


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.header("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        return value.strip() or None if scheme.lower() == "bearer" else None
    if request.method == "POST":
        values = request.form.get("access_token", [])
        return values[0] if len(values) == 1 and values[0] else None
    return None


def _bearer_error(error: str | None) -> HttpResponse:
    challenge = 'Bearer realm="gatehouse"' + (f', error="{error}"' if error else "")
    body = json.dumps({"error": error} if error else {}).encode()
    headers = {**_JSON, "WWW-Authenticate": challenge, "Cache-Control": "no-store"}
    return HttpResponse(status=401, body=body, headers=headers)


def _oauth_error(
    status: int, error: str, description: str, *, extra: Mapping[str, str] | None = None
) -> HttpResponse:
    body = json.dumps({"error": error, "error_description": description}).encode()
    headers = {**_JSON, **_authlib.NO_STORE, **(extra or {})}
    return HttpResponse(status=status, body=body, headers=headers)

"""The simulated OpenID Provider as plain Python: discovery, JWKS, authorize, token, userinfo.

No web framework here: the Starlette routes (`oidc_routes`) and the tests both drive this
class. It has one registered client (from the config), issues single-use codes that live 60
seconds and are bound to the client, the redirect URI and a PKCE S256 challenge, and access
tokens that live an hour, for userinfo. Time comes from the injected clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.oidc.authorize import (
    AuthorizationRequest,
    AuthorizeError,
    parse_authorization_request,
    pkce_verifier_matches,
)
from idp_simulator.oidc.client_auth import OAuthError, authenticate_client, bearer_token
from idp_simulator.oidc.id_token import (
    JWT_ONLY_CLAIMS,
    OidcSigningKey,
    at_hash,
    identity_claims,
    unsigned_jwt,
)
from idp_simulator.oidc.scenarios import (
    ACCESS_DENIED_DESCRIPTION,
    OidcScenario,
    adjust_claims,
    signing_for,
)
from idp_simulator.pending import PendingRequests
from idp_simulator.urls import with_query
from idp_simulator.user import SimulatedUser

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "CODE_LIFETIME",
    "ID_TOKEN_LIFETIME",
    "SimulatedOp",
]

CODE_LIFETIME = timedelta(seconds=60)
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
ID_TOKEN_LIFETIME = timedelta(minutes=5)
SCOPES = ("openid", "profile", "email", "groups")
CLAIMS = (
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "email",
    "email_verified", "given_name", "family_name", "name", "groups",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Code:
    """What a code stands for until it is redeemed."""

    request: AuthorizationRequest
    user: SimulatedUser
    scenario: OidcScenario
    auth_time: int


class SimulatedOp:
    """An OpenID Provider with one client, the simulator's RSA key, and a throwaway key for
    the unknown-key scenario. It remembers the last callback URL it produced (thread-safe)
    so the web layer can send the browser there again: the replay scenario."""

    def __init__(
        self,
        config: SimulatorConfig,
        keys: IdpKeys,
        clock: Callable[[], datetime],
        *,
        wrong_keys: IdpKeys | None = None,
    ) -> None:
        self.config = config
        self.issuer = config.oidc_issuer
        self.signing_key = OidcSigningKey(keys.private_key_pem)
        wrong = wrong_keys if wrong_keys is not None else generate("Not the OP")
        self.unknown_key = OidcSigningKey(wrong.private_key_pem)
        self._clock = clock

        def seconds() -> float:
            return clock().timestamp()

        self._codes = PendingRequests[_Code](ttl=CODE_LIFETIME.total_seconds(), clock=seconds)
        self._tokens = PendingRequests[dict[str, Any]](
            ttl=ACCESS_TOKEN_LIFETIME.total_seconds(), clock=seconds
        )
        self._last: str | None = None
        self._lock = threading.Lock()

    def discovery(self) -> dict[str, Any]:
        """The OpenID Provider Metadata (OIDC Discovery §3)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks.json",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": list(SCOPES),
            "claims_supported": list(CLAIMS),
            "authorization_response_iss_parameter_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        """The published key set: the signing key only, never the unknown-key one."""
        return {"keys": [self.signing_key.public_jwk()]}

    def authorize(self, params: Mapping[str, str]) -> AuthorizationRequest:
        """Raises `AuthorizeError`; see `oidc_authorize` for which errors are pages."""
        return parse_authorization_request(
            params,
            client_id=self.config.oidc_client_id,
            allowed_redirect_prefixes=self.config.allowed_acs_prefixes,
        )

    def error_callback(self, error: AuthorizeError) -> str:
        """The redirect for an error that goes back to the client (it has a redirect URI)."""
        if error.redirect_uri is None:
            raise ValueError("this error is shown as a page, not redirected")
        return self._callback(
            error.redirect_uri,
            {"error": error.error, "error_description": error.description, "state": error.state},
        )

    def login(
        self,
        request: AuthorizationRequest,
        user: SimulatedUser,
        scenario: OidcScenario | str = OidcScenario.SUCCESS,
    ) -> str:
        """The callback URL for `request` once `user` has logged in: `code`, `state`, `iss`
        (RFC 9207), or `error=access_denied` for that scenario. Remembered for replay."""
        scenario = OidcScenario(scenario)
        if scenario is OidcScenario.ACCESS_DENIED:
            params = {
                "error": "access_denied",
                "error_description": ACCESS_DENIED_DESCRIPTION,
                "state": request.state,
            }
        else:
            auth_time = int(self._clock().timestamp())
            code = self._codes.put(_Code(request, user, scenario, auth_time))
            params = {"code": code, "state": request.state}
        url = self._callback(request.redirect_uri, params)
        with self._lock:
            self._last = url
        return url

    def last_callback(self) -> str | None:
        """The most recent `login` result, for `GET /oidc/replay`."""
        with self._lock:
            return self._last

    def token(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        """The token response body for an authorization code grant; `OAuthError` otherwise.

        Required parameters are checked before the code is looked at; once looked up, the
        code is spent even if a later check fails, so a wrong verifier cannot be retried.
        """
        client_id = authenticate_client(
            authorization,
            form,
            client_id=self.config.oidc_client_id,
            client_secret=self.config.oidc_client_secret,
        )
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        if grant_type != "authorization_code":
            raise OAuthError("unsupported_grant_type", "only authorization_code is supported")
        for name in ("code", "redirect_uri", "code_verifier"):
            if not form.get(name):
                raise OAuthError("invalid_request", f"{name} is required")
        code = self._codes.pop(form["code"])
        if code is None:
            raise OAuthError("invalid_grant", "the code is unknown, expired or already used")
        if code.request.client_id != client_id:
            raise OAuthError("invalid_grant", "the code was issued to another client")
        if form["redirect_uri"] != code.request.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorize request")
        if not pkce_verifier_matches(form["code_verifier"], code.request.code_challenge):
            raise OAuthError("invalid_grant", "the code_verifier does not match the challenge")
        return self._issue(code)

    def userinfo(self, authorization: str | None) -> dict[str, Any]:
        """The claims of the login an access token was issued for; `OAuthError` (401)."""
        claims = self._tokens.peek(bearer_token(authorization))
        if claims is None:
            raise OAuthError(
                "invalid_token",
                "the access token is unknown or expired",
                status=401,
                www_authenticate='Bearer error="invalid_token"',
            )
        return dict(claims)

    def _issue(self, code: _Code) -> dict[str, Any]:
        now = int(self._clock().timestamp())
        claims: dict[str, Any] = {
            **identity_claims(code.user),
            "iss": self.issuer,
            "aud": code.request.client_id,
            "iat": now,
            "exp": now + int(ID_TOKEN_LIFETIME.total_seconds()),
            "auth_time": code.auth_time,
        }
        if code.request.nonce is not None:
            claims["nonce"] = code.request.nonce
        claims = adjust_claims(code.scenario, claims)
        userinfo = {k: v for k, v in claims.items() if k not in JWT_ONLY_CLAIMS}
        access_token = self._tokens.put(userinfo)
        claims["at_hash"] = at_hash(access_token)
        signing = signing_for(code.scenario)
        if signing == "none":
            id_token = unsigned_jwt(claims)
        else:
            key = self.unknown_key if signing == "unknown-key" else self.signing_key
            id_token = key.sign(claims)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "id_token": id_token,
            "scope": code.request.scope,
        }

    def _callback(self, redirect_uri: str, params: Mapping[str, str | None]) -> str:
        return with_query(redirect_uri, {**params, "iss": self.issuer})

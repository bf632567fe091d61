"""A strict OpenID Connect relying party: authorization code flow with PKCE, nothing else.

Framework-free and synchronous so end-to-end tests can drive it directly against the real
Gatehouse. It is deliberately stricter than many production RPs: every check the specifications
make mandatory is enforced, and a few SHOULDs too (listed on `RelyingParty`), because its job is
to catch a provider that a lenient client such as Auth0 would quietly accept.

Every refusal is a `LoginFailed` whose `reason` is a short, stable string that tests assert on
and the demo page shows; `detail` carries free text for humans and is never asserted on.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import RSAKey

from demo_rp.errors import AuthorizationError, DiscoveryFailed, IdTokenInvalid, LoginFailed
from demo_rp.id_token import (
    ALLOWED_ID_TOKEN_ALGS,
    b64url,
    check_id_token_claims,
    constant_time_equal,
    left_half_hash,
    non_empty_str,
    rs256_verification_key,
)

__all__ = [
    "ALLOWED_ID_TOKEN_ALGS",
    "SCOPE",
    "AuthorizationError",
    "DiscoveryFailed",
    "IdTokenInvalid",
    "LoginFailed",
    "LoginState",
    "RelyingParty",
    "VerifiedLogin",
    "left_half_hash",
]

SCOPE = "openid profile email"
_VERIFIER_BYTES = 64
_RANDOM_BYTES = 32


@dataclass(frozen=True, slots=True)
class LoginState:
    """What the RP must remember between redirecting the browser out and getting it back.

    All three values are secrets bound to one browser: `state` defeats login CSRF (RFC 6749
    §10.12), `nonce` binds the ID token to this request (OIDC Core §3.1.2.1) and `code_verifier`
    binds the code to this client instance (RFC 7636 §1).
    """

    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class VerifiedLogin:
    """A login whose every step was checked; `id_token` is kept for display and logout hints."""

    id_token_claims: dict[str, Any]
    userinfo: dict[str, Any]
    id_token: str


@dataclass(frozen=True, slots=True)
class _Tokens:
    access_token: str
    id_token: str


class RelyingParty:
    """One OIDC client registration at one provider.

    Beyond the MUSTs it enforces: the provider must advertise `code`, `S256`, `RS256` and the
    client authentication method used (Discovery §3); the token response must carry
    `Cache-Control: no-store` (RFC 6749 §5.1); the ID token must carry `kid`, `iat`, `nonce` and,
    unless `require_at_hash=False`, `at_hash` (optional in the code flow, OIDC Core §3.1.3.6,
    but Gatehouse issues it); JWKS keys under 2048 bits are ignored (NIST SP 800-131A).

    `clock` returns the current Unix time and `leeway_seconds` tolerates clock skew for `exp`,
    `iat` and `nbf`; both exist so tests can pin time, the defaults suit a single machine.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        http: httpx.Client,
        *,
        clock: Callable[[], float] = time.time,
        leeway_seconds: int = 0,
        require_at_hash: bool = True,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._client_secret = client_secret
        self._http = http
        self._clock = clock
        self._leeway = leeway_seconds
        self._require_at_hash = require_at_hash
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, RSAKey] | None = None

    @property
    def token_endpoint_auth_method(self) -> str:
        """`client_secret_post` when there is a secret (Auth0's only secret method), else `none`."""
        return "none" if self._client_secret is None else "client_secret_post"

    def discover(self) -> Mapping[str, Any]:
        """Fetch, check and cache the provider metadata.

        The `issuer` in the document must equal the configured issuer exactly (Discovery §4.3):
        otherwise a provider could publish metadata that makes us accept another issuer's tokens.
        A failed discovery is not cached, so the next login retries.
        """
        if self._metadata is None:
            self._metadata = self._fetch_metadata()
        return self._metadata

    def start_login(
        self, *, login_hint: str | None = None, extra: Mapping[str, str] | None = None
    ) -> tuple[str, LoginState]:
        """Build the authorization request URL (OIDC Core §3.1.2.1, RFC 7636 §4.3).

        Returns the URL to redirect the browser to and the `LoginState` the caller must keep,
        bound to this browser, until the callback. `extra` adds parameters but may not replace
        a protocol one: that would silently disable state, nonce or PKCE.
        """
        metadata = self.discover()
        saved = LoginState(
            state=secrets.token_urlsafe(_RANDOM_BYTES),
            nonce=secrets.token_urlsafe(_RANDOM_BYTES),
            code_verifier=secrets.token_urlsafe(_VERIFIER_BYTES),
        )
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": SCOPE,
            "state": saved.state,
            "nonce": saved.nonce,
            "code_challenge": _s256(saved.code_verifier),
            "code_challenge_method": "S256",
        }
        if login_hint:
            params["login_hint"] = login_hint
        for name, value in (extra or {}).items():
            if name in params:
                raise ValueError(f"extra parameter {name!r} would replace a protocol parameter")
            params[name] = value
        return _add_query(metadata["authorization_endpoint"], params), saved

    def finish_login(self, callback_params: Mapping[str, str], saved: LoginState) -> VerifiedLogin:
        """Check the authorization response, redeem the code and verify everything returned.

        Order matters: `state` first, so a forged response is refused before anything it
        carries is believed, then the RFC 9207 `iss` (which also applies to error responses,
        §2.4, so a mix-up attacker cannot forge an error either), then the provider's error.
        """
        metadata = self.discover()
        self._check_authorization_response(callback_params, saved, metadata)
        code = callback_params.get("code")
        if not code:
            raise LoginFailed("code_missing")
        tokens = self._redeem(code, saved, metadata)
        claims = self._verify_id_token(tokens, saved.nonce, metadata)
        userinfo = self._userinfo(tokens.access_token, claims["sub"], metadata)
        return VerifiedLogin(id_token_claims=claims, userinfo=userinfo, id_token=tokens.id_token)

    def _fetch_metadata(self) -> dict[str, Any]:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = self._send("GET", url, DiscoveryFailed, "discovery_unreachable")
        if response.status_code != 200:
            raise DiscoveryFailed("discovery_unavailable", f"HTTP {response.status_code}")
        doc = _json_object(response, DiscoveryFailed, "discovery_invalid")
        if doc.get("issuer") != self.issuer:
            raise DiscoveryFailed(
                "discovery_issuer_mismatch", f"{doc.get('issuer')!r} != {self.issuer!r}"
            )
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
            if not non_empty_str(doc.get(name)):
                raise DiscoveryFailed("discovery_incomplete", name)
        if "code" not in _str_list(doc, "response_types_supported", []):
            raise DiscoveryFailed("code_flow_unsupported")
        if "S256" not in _str_list(doc, "code_challenge_methods_supported", []):
            raise DiscoveryFailed("pkce_s256_unsupported")
        if not ALLOWED_ID_TOKEN_ALGS & set(
            _str_list(doc, "id_token_signing_alg_values_supported", [])
        ):
            raise DiscoveryFailed("id_token_alg_unsupported")
        methods = _str_list(doc, "token_endpoint_auth_methods_supported", ["client_secret_basic"])
        if self.token_endpoint_auth_method not in methods:
            raise DiscoveryFailed("client_auth_method_unsupported", self.token_endpoint_auth_method)
        return doc

    def _check_authorization_response(
        self, params: Mapping[str, str], saved: LoginState, metadata: Mapping[str, Any]
    ) -> None:
        state = params.get("state")
        if state is None or not constant_time_equal(state, saved.state):
            raise LoginFailed("state_mismatch")
        iss = params.get("iss")
        if iss is None:
            if metadata.get("authorization_response_iss_parameter_supported") is True:
                raise LoginFailed("iss_parameter_missing")
        elif iss != self.issuer:
            raise LoginFailed("iss_parameter_mismatch", iss)
        error = params.get("error")
        if error is not None:
            raise AuthorizationError(error, params.get("error_description"))

    def _redeem(self, code: str, saved: LoginState, metadata: Mapping[str, Any]) -> _Tokens:
        """Token request (OIDC Core §3.1.3.1) with the PKCE verifier (RFC 7636 §4.5)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": saved.code_verifier,
        }
        if self._client_secret is not None:
            form["client_secret"] = self._client_secret
        response = self._send(
            "POST",
            metadata["token_endpoint"],
            LoginFailed,
            "token_endpoint_unreachable",
            data=form,
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise LoginFailed("token_error", _oauth_error(response))
        directives = {
            d.strip().lower() for d in response.headers.get_list("cache-control", split_commas=True)
        }
        if "no-store" not in directives:
            raise LoginFailed("token_response_cacheable")
        body = _json_object(response, LoginFailed, "token_response_invalid")
        access_token = body.get("access_token")
        if not non_empty_str(access_token):
            raise LoginFailed("token_response_invalid", "access_token")
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise LoginFailed("token_type_unsupported", repr(token_type))
        id_token = body.get("id_token")
        if not non_empty_str(id_token):
            raise LoginFailed("id_token_missing")
        return _Tokens(access_token=access_token, id_token=id_token)

    def _verify_id_token(
        self, tokens: _Tokens, nonce: str, metadata: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Signature then claims, in the order of OIDC Core §3.1.3.7."""
        try:
            header = jws.extract_compact(tokens.id_token.encode("ascii")).headers()
        except (JoseError, ValueError) as exc:
            raise IdTokenInvalid("id_token_malformed") from exc
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ID_TOKEN_ALGS:
            raise IdTokenInvalid("id_token_alg_not_allowed", repr(alg))
        kid = header.get("kid")
        if not non_empty_str(kid):
            raise IdTokenInvalid("id_token_kid_missing")
        key = self._signing_key(kid, metadata)
        try:
            token = jwt.decode(tokens.id_token, key, algorithms=sorted(ALLOWED_ID_TOKEN_ALGS))
        except BadSignatureError as exc:
            raise IdTokenInvalid("id_token_bad_signature") from exc
        except (JoseError, ValueError) as exc:
            raise IdTokenInvalid("id_token_malformed", type(exc).__name__) from exc
        check_id_token_claims(
            token.claims,
            issuer=self.issuer,
            client_id=self.client_id,
            nonce=nonce,
            access_token=tokens.access_token,
            now=self._clock(),
            leeway=self._leeway,
            require_at_hash=self._require_at_hash,
        )
        return token.claims

    def _signing_key(self, kid: str, metadata: Mapping[str, Any]) -> RSAKey:
        """The key for `kid`, refetching the JWKS once if it is new (OIDC Core §10.1.1 rotation)."""
        keys = self._jwks
        if keys is None or kid not in keys:
            keys = self._fetch_jwks(metadata["jwks_uri"])
        if kid not in keys:
            raise IdTokenInvalid("id_token_unknown_kid", kid)
        return keys[kid]

    def _fetch_jwks(self, jwks_uri: str) -> dict[str, RSAKey]:
        response = self._send("GET", jwks_uri, LoginFailed, "jwks_unreachable")
        if response.status_code != 200:
            raise LoginFailed("jwks_unavailable", f"HTTP {response.status_code}")
        entries = _json_object(response, LoginFailed, "jwks_invalid").get("keys")
        if not isinstance(entries, list):
            raise LoginFailed("jwks_invalid", "keys")
        keys: dict[str, RSAKey] = {}
        for entry in entries:
            usable = rs256_verification_key(entry)
            if usable is None:
                continue
            kid, key = usable
            if kid in keys:
                raise LoginFailed("jwks_invalid", f"duplicate kid {kid!r}")
            keys[kid] = key
        self._jwks = keys
        return keys

    def _userinfo(self, access_token: str, sub: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """UserInfo request (OIDC Core §5.3); its `sub` must match the ID token's (§5.3.2)."""
        response = self._send(
            "GET",
            metadata["userinfo_endpoint"],
            LoginFailed,
            "userinfo_unreachable",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        if response.status_code != 200:
            raise LoginFailed("userinfo_error", f"HTTP {response.status_code}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise LoginFailed("userinfo_invalid", media_type)
        userinfo = _json_object(response, LoginFailed, "userinfo_invalid")
        if userinfo.get("sub") != sub:
            raise LoginFailed("userinfo_sub_mismatch")
        return userinfo

    def _send(
        self,
        method: str,
        url: str,
        error: type[LoginFailed],
        reason: str,
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise error(reason, type(exc).__name__) from exc


def _s256(verifier: str) -> str:
    """PKCE `code_challenge` for method S256 (RFC 7636 §4.2)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _add_query(url: str, params: Mapping[str, str]) -> str:
    """Append `params`, keeping any query the endpoint already has (RFC 6749 §3.1)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _json_object(response: httpx.Response, error: type[LoginFailed], reason: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise error(reason, "not JSON") from exc
    if not isinstance(body, dict):
        raise error(reason, "not a JSON object")
    return body


def _oauth_error(response: httpx.Response) -> str:
    """A short description of an RFC 6749 §5.2 error response, for the human reading the page."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}" + (f" {error}" if isinstance(error, str) else "")


def _str_list(doc: Mapping[str, Any], name: str, default: list[str]) -> list[str]:
    value = doc.get(name, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DiscoveryFailed("discovery_invalid", name)
    return value

"""Validation of an authorization request: a table of small checks run in a fixed order
(node-oidc-provider's `actions/authorization/*`).

The order is the security argument. Until the client and its redirect_uri are proven, an
error must be *shown* and never redirected (RFC 6749 §4.1.2.1, §10.15: an unvalidated
redirect is an open redirector). After that, every error goes back to the client as an
OAuth error redirect carrying `state` and `iss` (RFC 9207).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from broker.model.numerals import InvalidNumeral, parse_decimal
from broker.model.opaque import looks_like_id
from broker.model.records import AuthorizationRequest, DownstreamClient

SUPPORTED_SCOPES = ("openid", "profile", "email")
_PROMPT_VALUES = {"none", "login", "consent", "select_account"}
# RFC 7636 §4.2: S256 challenge is BASE64URL(SHA256(verifier)), i.e. exactly 43 characters.
# Matched whole (`fullmatch`): `$` would also accept one trailing newline.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_MAX_PARAM_LENGTH = 2048
#: Tighter bounds where the value's nature allows: every flow stores these, and anyone may
#: start a flow, so what one costs is bounded by what one request may carry. An email is at
#: most 254 characters (RFC 5321 §4.5.3.1 path limit), an id of ours at most 255.
_MAX_LENGTHS = {"login_hint": 320, "nonce": 512, "organization": 255, "connection": 255}
#: OIDC Core §3.1.2.1 puts no bound on max_age; 2^31 - 1 seconds (68 years) is the largest
#: "no limit really" relying parties send, and anything above it is not a freshness demand.
MAX_MAX_AGE = 2**31 - 1
# Parameters that must not repeat (RFC 6749 §3.1). Repeats of the first two cannot be
# trusted to redirect anywhere.
_SINGLE_VALUED = (
    "client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "prompt",
    "max_age", "login_hint", "code_challenge", "code_challenge_method", "response_mode",
    "organization", "connection",
)  # fmt: skip

Params = Mapping[str, list[str]]


class InvalidClientRequest(Exception):
    """The client or redirect_uri cannot be trusted: show a page, never redirect."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AuthorizeRejected(Exception):
    """A valid client sent an invalid request: redirect `error` back to it."""

    error: str
    description: str
    redirect_uri: str
    state: str | None


def _first(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def check_trusted_redirect(
    params: Params, find_client: Callable[[str], DownstreamClient | None]
) -> tuple[DownstreamClient, str]:
    """The client exists and `redirect_uri` is one of its registered URIs, byte for byte.

    No prefix, wildcard, case folding or normalisation: RFC 9700 §4.1.3 requires exact string
    matching, and every "smart" comparison has been an open redirect somewhere.
    """
    for name in ("client_id", "redirect_uri"):
        if len(params.get(name, [])) > 1:
            raise InvalidClientRequest(f"the {name} parameter was sent more than once")
    client_id = _first(params, "client_id")
    if not client_id:
        raise InvalidClientRequest("the request has no client_id")
    # An id no client can have (a NUL, which PostgreSQL refuses) is not looked up.
    client = find_client(client_id) if looks_like_id(client_id) else None
    if client is None:
        raise InvalidClientRequest("the client_id is not registered with Gatehouse")
    redirect_uri = _first(params, "redirect_uri")
    if not redirect_uri:
        # OIDC Core §3.1.2.1 makes redirect_uri REQUIRED; no registered default is assumed.
        raise InvalidClientRequest("the request has no redirect_uri")
    if redirect_uri not in client.redirect_uris:
        raise InvalidClientRequest("the redirect_uri is not registered for this client")
    return client, redirect_uri


class _Checks:
    """The checks that run once the redirect is trusted; each raises AuthorizeRejected."""

    def __init__(self, params: Params, client: DownstreamClient, redirect_uri: str) -> None:
        self.params = params
        self.client = client
        self.redirect_uri = redirect_uri
        state = _first(params, "state")
        self.state = state if state and len(state) <= _MAX_PARAM_LENGTH else None

    def reject(self, error: str, description: str) -> AuthorizeRejected:
        return AuthorizeRejected(error, description, self.redirect_uri, self.state)

    def param(self, name: str) -> str | None:
        return _first(self.params, name) or None

    def check_enabled(self) -> None:
        """RFC 6749 §4.1.2.1 `unauthorized_client`: the client is known and its redirect is
        trusted, but it may not obtain a code while an operator has it disabled."""
        if self.client.disabled_at is not None:
            raise self.reject("unauthorized_client", "the client is disabled")

    def check_single_values(self) -> None:
        for name in _SINGLE_VALUED:
            if len(self.params.get(name, [])) > 1:
                raise self.reject("invalid_request", f"'{name}' was sent more than once")
        for name, values in self.params.items():
            limit = _MAX_LENGTHS.get(name, _MAX_PARAM_LENGTH)
            if any(len(v) > limit for v in values):
                raise self.reject("invalid_request", f"'{name[:40]}' is too long")

    def check_no_request_object(self) -> None:
        # OIDC Core §6: we advertise request(_uri)_parameter_supported=false. Fetching a
        # request_uri would be an SSRF primitive, so both are refused outright.
        if "request" in self.params:
            raise self.reject("request_not_supported", "request objects are not supported")
        if "request_uri" in self.params:
            raise self.reject("request_uri_not_supported", "request_uri is not supported")

    def check_response_type(self) -> None:
        response_type = self.param("response_type")
        if not response_type:
            raise self.reject("invalid_request", "'response_type' is required")
        if response_type != "code":
            raise self.reject("unsupported_response_type", "only response_type=code is supported")
        response_mode = self.param("response_mode")
        if response_mode not in (None, "query"):
            raise self.reject("invalid_request", "only response_mode=query is supported")

    def check_scope(self) -> tuple[str, ...]:
        requested = (self.param("scope") or "").split()
        if "openid" not in requested:
            raise self.reject("invalid_scope", "the 'openid' scope is required")
        # Unknown scopes are ignored, as OIDC Core §5.4 / RFC 6749 §3.3 allow.
        return tuple(s for s in SUPPORTED_SCOPES if s in requested)

    def check_pkce(self) -> tuple[str | None, str | None]:
        challenge = self.param("code_challenge")
        method = self.param("code_challenge_method")
        if challenge is None:
            if method is not None:
                raise self.reject("invalid_request", "'code_challenge' is required with a method")
            if self.client.is_public:
                raise self.reject("invalid_request", "PKCE (S256) is required for this client")
            return None, None
        # A missing method means "plain" (RFC 7636 §4.3); plain protects nothing once the
        # authorization request leaks, so only S256 is accepted (RFC 9700 §2.1.1).
        if method != "S256":
            raise self.reject("invalid_request", "code_challenge_method must be S256")
        if not _S256_CHALLENGE.fullmatch(challenge):
            raise self.reject("invalid_request", "'code_challenge' is not a valid S256 value")
        return challenge, method

    def check_prompt(self) -> tuple[str, ...]:
        prompt = tuple((self.param("prompt") or "").split())
        if not set(prompt) <= _PROMPT_VALUES:
            raise self.reject("invalid_request", "unsupported 'prompt' value")
        if "none" in prompt:
            if len(prompt) > 1:
                raise self.reject("invalid_request", "prompt=none cannot be combined")
            # Gatehouse keeps no browser session: every login goes to the upstream IdP, so no
            # request can be satisfied without interaction (OIDC Core §3.1.2.6).
            raise self.reject("login_required", "the user must log in at their identity provider")
        return prompt

    def check_max_age(self) -> int | None:
        raw = self.param("max_age")
        if raw is None:
            return None
        try:
            return parse_decimal(raw, maximum=MAX_MAX_AGE)
        except InvalidNumeral as exc:
            raise self.reject(
                "invalid_request", f"'max_age' must be a whole number of seconds: {exc}"
            ) from exc


def validate_authorization_request(
    params: Params, find_client: Callable[[str], DownstreamClient | None]
) -> AuthorizationRequest:
    """Turn untrusted `/authorize` parameters into an `AuthorizationRequest`, or raise
    InvalidClientRequest (show a page) or AuthorizeRejected (redirect the error)."""
    client, redirect_uri = check_trusted_redirect(params, find_client)
    checks = _Checks(params, client, redirect_uri)
    checks.check_enabled()
    checks.check_single_values()
    checks.check_no_request_object()
    checks.check_response_type()
    scope = checks.check_scope()
    challenge, method = checks.check_pkce()
    prompt = checks.check_prompt()
    max_age = checks.check_max_age()
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=checks.state,
        nonce=checks.param("nonce"),
        code_challenge=challenge,
        code_challenge_method=method,
        login_hint=checks.param("login_hint"),
        prompt=prompt,
        max_age=max_age,
        organization_hint=checks.param("organization"),
        connection_hint=checks.param("connection"),
    )

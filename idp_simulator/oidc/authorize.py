"""Reading an authorization request (OIDC Core §3.1.2.1, RFC 6749 §4.1.1, RFC 7636).

The order of the checks is the order RFC 6749 §4.1.2.1 asks for: until the client and its
redirect URI are known to be good, an error is shown to the person (a redirect would hand an
attacker-chosen URI the error, and the state with it); after that, errors go back to the client
as `error`/`error_description` on the redirect URI.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from idp_simulator.urls import url_allowed

__all__ = [
    "MAX_PARAMETER_CHARS",
    "AuthorizationRequest",
    "AuthorizeError",
    "parse_authorization_request",
    "pkce_verifier_matches",
]

MAX_PARAMETER_CHARS = 4_096
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
"""RFC 7636 §4.1/§4.2: 43 to 128 unreserved characters, for a verifier and a challenge."""


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What the simulator keeps server side while the person fills in the login form.

    `state` and `nonce` are kept verbatim and returned verbatim; the rest is shown on the
    login page so a developer can see what their relying party sent.
    """

    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    state: str | None = None
    nonce: str | None = None
    login_hint: str | None = None
    prompt: str | None = None
    max_age: str | None = None
    domain_hint: str | None = None


class AuthorizeError(ValueError):
    """An authorization request the simulator will not answer.

    With `redirect_uri` None the message is for a 400 page; otherwise the client gets `error`
    and `error_description` (and its `state`) on its redirect URI.
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        redirect_uri: str | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state


def parse_authorization_request(
    params: Mapping[str, str],
    *,
    client_id: str,
    allowed_redirect_prefixes: tuple[str, ...],
) -> AuthorizationRequest:
    """Vet `params` (single-valued query parameters) for the one registered client.

    Raises `AuthorizeError`, for a page until the client and redirect URI check out and for
    the redirect URI after.
    """
    for name, value in params.items():
        if len(value) > MAX_PARAMETER_CHARS:
            raise AuthorizeError("invalid_request", f"the {name} parameter is too large")
    sent_client = params.get("client_id", "")
    if not sent_client or sent_client != client_id:
        raise AuthorizeError("invalid_request", f"unknown client_id {sent_client!r}")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        raise AuthorizeError("invalid_request", "the request carries no redirect_uri")
    if "#" in redirect_uri or not url_allowed(redirect_uri, allowed_redirect_prefixes):
        raise AuthorizeError(
            "invalid_request",
            f"the simulator will not redirect to {redirect_uri}: a redirect URI must start "
            f"with one of {', '.join(allowed_redirect_prefixes)} (set IDP_SIM_ALLOWED_ACS) "
            "and have no fragment",
        )
    state = params.get("state")

    def refuse(error: str, description: str) -> AuthorizeError:
        return AuthorizeError(error, description, redirect_uri=redirect_uri, state=state)

    response_type = params.get("response_type", "")
    if not response_type:
        raise refuse("invalid_request", "response_type is required")
    if response_type != "code":
        raise refuse("unsupported_response_type", "only response_type=code is supported")
    if params.get("response_mode", "query") != "query":
        raise refuse("invalid_request", "only response_mode=query is supported")
    scope = params.get("scope", "")
    if "openid" not in scope.split(" "):
        raise refuse("invalid_scope", "the scope must include openid")
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if challenge is not None and method != "S256":
        # An absent method means "plain" (RFC 7636 §4.3), which is as good as no PKCE.
        raise refuse("invalid_request", "code_challenge_method must be S256")
    if not challenge:
        raise refuse("invalid_request", "PKCE S256 is required")
    if not _PKCE_VALUE.fullmatch(challenge):
        raise refuse("invalid_request", "code_challenge is not a valid S256 challenge")
    max_age = params.get("max_age")
    if max_age is not None and not max_age.isdigit():
        raise refuse("invalid_request", "max_age must be a number of seconds")
    prompt = params.get("prompt")
    if prompt is not None and "none" in prompt.split(" "):
        # The simulator keeps no session: a login without showing the form is impossible.
        raise refuse("login_required", "the simulator always shows its login form")
    return AuthorizationRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=challenge,
        code_challenge_method="S256",
        state=state,
        nonce=params.get("nonce"),
        login_hint=params.get("login_hint"),
        prompt=prompt,
        max_age=max_age,
        domain_hint=params.get("domain_hint"),
    )


def pkce_verifier_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6 (S256): base64url(SHA-256(ASCII(verifier))) equals the challenge,
    compared in constant time."""
    if not _PKCE_VALUE.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=")
    return hmac.compare_digest(computed, challenge.encode("ascii"))

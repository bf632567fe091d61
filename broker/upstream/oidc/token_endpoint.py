"""The back channel to the IdP: redeeming the code (RFC 6749 §4.1.3) and reading userinfo.

Client authentication is one of `client_secret_basic` (RFC 6749 §2.3.1, both parts
form-encoded before base64), `client_secret_post`, or `private_key_jwt` (RFC 7523 §2.2 / OIDC
Core §9: a short-lived assertion signed with the connection's own key, `aud` the token
endpoint, a fresh `jti`). Every request goes through the outbound guard; responses are size
capped and checked for shape (R-19) before anything in them is used.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from broker.model.opaque import new_secret
from broker.model.reasons import Reason
from broker.upstream import outbound
from broker.upstream.base import UpstreamInvalid, UpstreamUnavailable
from broker.upstream.oidc.idp_json import is_ascii_text, parse_object
from broker.upstream.outbound import OutboundError, OutboundPolicy

MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
MAX_USERINFO_BYTES = 64 * 1024
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = timedelta(seconds=60)
_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_TOKEN_ENDPOINT = (Reason.TOKEN_ENDPOINT_REFUSED, Reason.TOKEN_ENDPOINT_UNAVAILABLE)
_USERINFO = (Reason.USERINFO_REFUSED, Reason.USERINFO_UNAVAILABLE)
_OAUTH_ERRORS = (
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientAuth:
    """How Gatehouse proves itself to this IdP, with the secret material already opened."""

    method: str
    client_id: str
    secret: str | None = None
    key: RSAKey | None = None

    def apply(self, form: dict[str, str], *, token_endpoint: str, now: datetime) -> dict[str, str]:
        """Adds credentials to `form`; returns the headers to send."""
        if self.method == "client_secret_basic":
            assert self.secret is not None
            pair = f"{quote(self.client_id, safe='')}:{quote(self.secret, safe='')}"
            return {"authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        form["client_id"] = self.client_id
        if self.method == "client_secret_post":
            assert self.secret is not None
            form["client_secret"] = self.secret
        else:
            form["client_assertion_type"] = ASSERTION_TYPE
            form["client_assertion"] = self._assertion(token_endpoint, now)
        return {}

    def _assertion(self, token_endpoint: str, now: datetime) -> str:
        assert self.key is not None
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_endpoint,
            "jti": new_secret(),
            "iat": int(now.timestamp()),
            "exp": int((now + ASSERTION_LIFETIME).timestamp()),
        }
        header = {"alg": "RS256", "kid": self.key.kid}
        return jwt.encode(header, claims, self.key, algorithms=["RS256"])


@dataclass(frozen=True, slots=True)
class TokenResponse:
    id_token: str
    access_token: str


def redeem_code(
    http: httpx.Client,
    policy: OutboundPolicy,
    *,
    token_endpoint: str,
    auth: ClientAuth,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    now: datetime,
) -> TokenResponse:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    headers = {"accept": "application/json"}
    headers |= auth.apply(form, token_endpoint=token_endpoint, now=now)
    try:
        status, body = outbound.post(
            http,
            token_endpoint,
            policy=policy,
            max_bytes=MAX_TOKEN_RESPONSE_BYTES,
            data=form,
            headers=headers,
        )
    except OutboundError as exc:
        raise _unreachable(_TOKEN_ENDPOINT, exc, token_endpoint) from exc
    where = {"token_endpoint": token_endpoint, "client_auth_method": auth.method}
    if status >= 500:
        raise UpstreamUnavailable(
            Reason.TOKEN_ENDPOINT_UNAVAILABLE,
            detail=f"status {status}",
            facts={**where, "token_status": str(status)},
        )
    data = _json_object(body, Reason.TOKEN_RESPONSE_INVALID)
    if status != 200:
        error = data.get("error")
        code_name = error if error in _OAUTH_ERRORS else "other"
        facts = {**where, "token_status": str(status), "token_error": code_name}
        description = data.get("error_description")
        if isinstance(description, str) and description:
            # The IdP's words, for the IT admin's test report only (escaped there).
            facts["idp_error_description"] = _PRINTABLE.sub("?", description)[:300]
        raise UpstreamInvalid(
            Reason.TOKEN_ERROR, detail=f"{code_name} (status {status})", facts=facts
        )
    token_type, id_token = data.get("token_type"), data.get("id_token")
    access_token = data.get("access_token")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise UpstreamInvalid(
            Reason.TOKEN_RESPONSE_INVALID,
            detail="token_type is not Bearer",
            facts={**where, "token_type": str(token_type)[:50]},
        )
    if not isinstance(id_token, str) or not isinstance(access_token, str) or not access_token:
        present = sorted(k for k in ("id_token", "access_token") if isinstance(data.get(k), str))
        raise UpstreamInvalid(
            Reason.TOKEN_RESPONSE_INVALID,
            detail="no id_token or access_token",
            facts={**where, "tokens_received": ", ".join(present) or "(none)"},
        )
    if not is_ascii_text(access_token, max_chars=MAX_TOKEN_RESPONSE_BYTES):
        # RFC 6749 A.12: an access token is VSCHAR (printable ASCII). It is hashed for
        # at_hash and sent back in a header, neither of which takes anything else.
        raise UpstreamInvalid(
            Reason.TOKEN_RESPONSE_INVALID,
            detail="access_token is not printable ASCII",
            facts={**where, "tokens_received": "access_token (not printable ASCII)"},
        )
    return TokenResponse(id_token=id_token, access_token=access_token)


def fetch_userinfo(
    http: httpx.Client, policy: OutboundPolicy, *, endpoint: str, access_token: str
) -> dict[str, Any]:
    """The userinfo claims, as JSON (Core §5.3.2). A signed userinfo response is refused
    rather than read unverified: we never ask for one."""
    try:
        body = outbound.get(
            http,
            endpoint,
            policy=policy,
            max_bytes=MAX_USERINFO_BYTES,
            headers={"authorization": f"Bearer {access_token}", "accept": "application/json"},
        )
    except OutboundError as exc:
        raise _unreachable(_USERINFO, exc, endpoint) from exc
    return _json_object(body, Reason.USERINFO_INVALID)


def _json_object(body: bytes, reason: Reason) -> dict[str, Any]:
    return parse_object(body, reason, "the response")


def _unreachable(
    reasons: tuple[Reason, Reason], exc: OutboundError, url: str
) -> UpstreamInvalid | UpstreamUnavailable:
    """`reasons`: (the outbound guard refused the URL, the request failed)."""
    refused, unavailable = reasons
    facts = {"url": url[:500], "problem": exc.detail[:300]}
    if exc.kind == "refused":
        return UpstreamInvalid(refused, detail=exc.detail, facts=facts)
    return UpstreamUnavailable(unavailable, detail=exc.detail, facts=facts)

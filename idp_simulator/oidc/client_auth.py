"""OAuth error responses and client authentication at the token endpoint (RFC 6749 §2.3.1).

Two methods, `client_secret_basic` and `client_secret_post`, and exactly one per request: a
client that sends both, or neither, is refused (§2.3: "MUST NOT use more than one
authentication method in each request"). Secrets are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from urllib.parse import unquote_plus

__all__ = ["OAuthError", "authenticate_client", "bearer_token"]


class OAuthError(Exception):
    """An RFC 6749 §5.2 / RFC 6750 §3 error: a JSON body, a status, maybe a challenge."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        www_authenticate: str | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.www_authenticate = www_authenticate

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def authenticate_client(
    authorization: str | None,
    form: Mapping[str, str],
    *,
    client_id: str,
    client_secret: str,
) -> str:
    """The authenticated client's id, or `OAuthError("invalid_client")` (401).

    Basic credentials are form-urlencoded before base64 (§2.3.1), so they are decoded with
    `unquote_plus`; a Basic attempt that fails says so with `WWW-Authenticate: Basic`.
    """
    basic = _basic_credentials(authorization)
    tried_basic = basic is not None
    challenge = 'Basic realm="idp-simulator"' if tried_basic else None

    def refuse(description: str) -> OAuthError:
        return OAuthError("invalid_client", description, status=401, www_authenticate=challenge)

    if basic is not None and "client_secret" in form:
        raise refuse("use one client authentication method, not Basic and client_secret")
    if basic is not None:
        sent_id, sent_secret = basic
        if "client_id" in form and form["client_id"] != sent_id:
            raise refuse("the client_id field differs from the Basic credentials")
    elif "client_secret" in form:
        sent_id, sent_secret = form.get("client_id", ""), form["client_secret"]
    else:
        raise refuse("client authentication is required (client_secret_basic or _post)")
    id_ok = hmac.compare_digest(sent_id.encode("utf-8"), client_id.encode("utf-8"))
    secret_ok = hmac.compare_digest(sent_secret.encode("utf-8"), client_secret.encode("utf-8"))
    if not (id_ok and secret_ok):
        raise refuse("unknown client or wrong client secret")
    return client_id


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), the only way
    the simulator's userinfo accepts one; `OAuthError` (401) otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        # No error code when no credentials came at all (RFC 6750 §3.1).
        raise OAuthError(
            "invalid_token",
            "send the access token as Authorization: Bearer <token>",
            status=401,
            www_authenticate="Bearer",
        )
    return token.strip()


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(id, secret) from a Basic header; None when the header is absent or another scheme.

    A malformed Basic header is an authentication attempt that failed, not an absent one.
    """
    if authorization is None:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    sent_id, colon, sent_secret = decoded.partition(":")
    if not colon:
        return ("", "")
    return unquote_plus(sent_id), unquote_plus(sent_secret)

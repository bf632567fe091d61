"""Client credentials at the token endpoint, read once, strictly (RFC 6749 §2.3.1).

Both grants `/token` serves (authorization codes for relying parties, client credentials for
management clients) read a client's credentials here, so they refuse the same things the same
way (docs/security.md P-07):

- `Authorization: Basic` holds `form-urlencode(id) ":" form-urlencode(secret)`, base64
  encoded. Anything else there (not base64, not UTF-8 once decoded, no colon, a percent
  escape that is not UTF-8) is a failed authentication, never a crash.
- "The client MUST NOT use more than one authentication method in each request": a secret
  (or an assertion) in the body beside a Basic header is an `invalid_request`, and so is a
  body `client_id` naming another client than the header.
- Without a header, `client_id` and `client_secret` come from the body
  (`client_secret_post`); a `client_id` alone is a public client's `none`.

Which failure it was (no such client, a wrong secret, a malformed header) is not told to
the caller: `FAILED` is the one description of them all, so the answers are the same bytes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

BASIC = "client_secret_basic"
POST = "client_secret_post"
NONE = "none"
#: The description of every failed client authentication, whatever failed.
FAILED = "client authentication failed"
#: Longer than any secret Gatehouse issues; a Basic header past it is not one of ours.
_MAX_BASIC_CHARS = 4096


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    method: str  # BASIC | POST | NONE
    client_id: str
    secret: str | None = None


class CredentialsRefused(ValueError):
    """`error` is `invalid_request` (two methods; `description` says so) or
    `invalid_client` (`description` is `FAILED`)."""

    def __init__(self, error: str, description: str = FAILED) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


def parse_client_credentials(
    authorization: str | None, form: Mapping[str, list[str]]
) -> ClientCredentials:
    """The one set of credentials the request carries; CredentialsRefused otherwise."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    body_id = _one(form, "client_id")
    if scheme.lower() == "basic":
        if _one(form, "client_secret") is not None or _one(form, "client_assertion") is not None:
            raise CredentialsRefused(
                "invalid_request",
                "client credentials were sent both in the Authorization header and in the "
                "body; use one method",
            )
        client_id, secret = _basic(token.strip())
        if body_id is not None and body_id != client_id:
            raise CredentialsRefused(
                "invalid_request", "the body's client_id is not the Authorization header's"
            )
        return ClientCredentials(BASIC, client_id, secret)
    if not body_id:
        raise CredentialsRefused("invalid_client")
    body_secret = _one(form, "client_secret")
    if body_secret:
        return ClientCredentials(POST, body_id, body_secret)
    return ClientCredentials(NONE, body_id)


def _basic(token: str) -> tuple[str, str]:
    if not token or len(token) > _MAX_BASIC_CHARS or not token.isascii():
        raise CredentialsRefused("invalid_client")
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
        raw_id, colon, raw_secret = decoded.partition(":")
        client_id = unquote(raw_id, errors="strict")
        secret = unquote(raw_secret, errors="strict")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise CredentialsRefused("invalid_client") from exc
    if not colon or not client_id or not secret:
        raise CredentialsRefused("invalid_client")
    return client_id, secret


def _one(form: Mapping[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None

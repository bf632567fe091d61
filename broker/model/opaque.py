"""Opaque identifiers and bearer secrets.

Every handle we give out (flow id, code, access token, client secret) is 256 bits from the
OS CSPRNG (RFC 6749 §10.10 asks for at least 128). Secrets we only need to *recognize* are
stored as SHA-256: they are high-entropy, so a slow password hash would buy nothing and cost a
KDF per token request. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_SECRET_BYTES = 32
#: Longer than any id or secret Gatehouse makes, or accepts from an operator (client ids).
MAX_ID_CHARS = 255


def new_id(prefix: str) -> str:
    """A readable, unguessable id: `org_…`, `con_…`, `usr_…`. The prefix names the kind."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def new_secret() -> str:
    """A bearer secret (code, access token, flow id, client secret): 256 bits, URL-safe."""
    return secrets.token_urlsafe(_SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), expected_hash)


def secrets_match(secret: str, current_hash: str, previous_hash: str | None) -> bool:
    """The current secret, or the one a rotation replaced. Both comparisons always run, in
    constant time, so the answer's timing says neither which one matched nor whether a
    previous secret exists."""
    digest = hash_secret(secret)
    current = hmac.compare_digest(digest, current_hash)
    # Without a previous secret, the current one is compared again: the same work.
    previous = hmac.compare_digest(digest, previous_hash or current_hash)
    return current | (previous and previous_hash is not None)


def looks_like_id(text: str | None) -> bool:
    """Whether `text` could be an id or secret of ours: printable ASCII without spaces, at
    most `MAX_ID_CHARS`. Anything else, from a URL or a form, names nothing, and is answered
    as unknown without a lookup: the store never sees text it cannot hold (PostgreSQL
    refuses a NUL in a text parameter, a 500 where "not found" belongs)."""
    if not text or len(text) > MAX_ID_CHARS:
        return False
    return all("!" <= ch <= "~" for ch in text)

"""Opaque identifiers and bearer secrets.

Every handle we give out (flow id, code, access token, client secret) is 256 bits from the
OS CSPRNG (RFC 6749 §10.10 asks for at least 128). Secrets we only need to *recognize* are
stored as SHA-256: they are high-entropy, so a slow password hash would buy nothing and cost a
KDF per token request. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_SECRET_BYTES = 32
#: What any of our ids can look like (`con_…`; tests and operators choose shorter ones).
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_id(prefix: str) -> str:
    """A readable, unguessable id: `org_…`, `con_…`, `usr_…`. The prefix names the kind."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def looks_like_an_id(text: str) -> bool:
    """Whether `text` could be one of our ids: anything else (a URL path segment of 30 KB,
    CR/LF, Unicode) is refused before it is looked up, logged in full or stored."""
    return _ID.fullmatch(text) is not None


def new_secret() -> str:
    """A bearer secret (code, access token, flow id, client secret): 256 bits, URL-safe."""
    return secrets.token_urlsafe(_SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), expected_hash)

"""URL rules shared by the SAML and OIDC sides: where the simulator may send a browser.

The simulator keeps no registry of service providers or redirect URIs, so one allow-list of
prefixes (`IDP_SIM_ALLOWED_ACS`) bounds both the SAML ACS URL and the OIDC redirect URI:
without it the simulator would hand a signed login to any site that asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["url_allowed", "with_query"]


def url_allowed(url: str, prefixes: tuple[str, ...]) -> bool:
    """True when `url` is a plain http(s) URL that starts with one of `prefixes` at a boundary.

    A bare `startswith` would let `http://localhost.evil.test/` or `http://localhost@evil.test/`
    through a `http://localhost` prefix; the character after the prefix must end the host
    (`:`, `/`, `?`, `#`) unless the prefix itself ends with `/`, and userinfo is refused.
    """
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return False
    for prefix in prefixes:
        if not url.startswith(prefix):
            continue
        rest = url[len(prefix) :]
        if prefix.endswith("/") or not rest or rest[0] in ":/?#":
            return True
    return False


def with_query(url: str, params: Mapping[str, str | None]) -> str:
    """`url` with `params` (those not None) added to its query, keeping the query it already
    has: RFC 6749 §3.1.2 lets a redirect URI carry one, and the client expects it back."""
    parts = urlsplit(url)
    added = urlencode({name: value for name, value in params.items() if value is not None})
    query = f"{parts.query}&{added}" if parts.query and added else parts.query or added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))

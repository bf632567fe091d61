"""Cross-site request forgery on portal forms (SECURITY-CATALOGUE T-08: a forged certificate
upload is a tenant takeover).

Three independent checks, each enough on its own against a form on another site: the
session cookie is `SameSite=Lax` (not sent on a cross-site POST), every form carries the
session's synchronizer token (compared in constant time), and the browser's own `Origin` /
`Sec-Fetch-Site` must say the request came from this site.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit


class CsrfRefused(Exception):
    pass


def check(
    *, form_token: str | None, session_token: str, headers: Mapping[str, str], origin: str
) -> None:
    """`origin` is this site's (scheme://host[:port]), from configuration."""
    check_origin(headers, origin)
    # Compared as bytes: `compare_digest` raises TypeError on a str that is not ASCII, and a
    # form can send any text (surrogatepass: even a lone surrogate encodes, to no match).
    if not form_token or not hmac.compare_digest(
        form_token.encode("utf-8", "surrogatepass"), session_token.encode("utf-8")
    ):
        raise CsrfRefused("missing or wrong form token")


def check_origin(headers: Mapping[str, str], origin: str) -> None:
    """What the browser says about where a POST came from, when it says it (older clients
    send neither header; the other checks still hold for them).

    The portal's `Referrer-Policy: no-referrer` (T-05) makes browsers send `Origin: null`
    on every form POST, our own pages' included (Fetch, "serializing a request origin";
    Chromium does). `null` is then only accepted beside `Sec-Fetch-Site: same-origin`,
    which the browser sets itself and no page can forge; alone, or from anywhere else (a
    sandboxed frame, a data: URL), it is refused like any other foreign origin."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise CsrfRefused(f"Sec-Fetch-Site {fetch_site}")
    sent_origin = headers.get("origin")
    if sent_origin == "null" and fetch_site == "same-origin":
        return
    if sent_origin is not None and sent_origin != origin:
        raise CsrfRefused(f"Origin {sent_origin}")


def site_origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"

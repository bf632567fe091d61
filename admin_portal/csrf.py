"""Cross-site request forgery on portal forms (docs/security.md T-08: a forged certificate
upload is a tenant takeover).

Three independent checks, each enough on its own against a form on another site: the
session cookie is `SameSite=Lax` (not sent on a cross-site POST), every form carries the
session's synchronizer token (compared in constant time), and the browser's own `Origin` /
`Sec-Fetch-Site` must say the request came from this site.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from broker.http import foreign_origin, site_origin

__all__ = ["CsrfRefused", "check", "check_origin", "site_origin"]


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
    """What the browser says about where a POST came from (`broker.http.foreign_origin`:
    the portal's `Referrer-Policy: no-referrer`, T-05, makes it send `Origin: null`)."""
    problem = foreign_origin(headers, origin)
    if problem is not None:
        raise CsrfRefused(problem)

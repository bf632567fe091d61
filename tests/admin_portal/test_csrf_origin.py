"""The browser's word on where a portal POST came from (T-08), as real browsers say it.

With the portal's `Referrer-Policy: no-referrer`, Chromium sends `Origin: null` on a form
POST from the portal's own page (found by the browser tests); only `Sec-Fetch-Site`
then tells our page from another site's."""

from __future__ import annotations

import pytest

from admin_portal.csrf import CsrfRefused, check_origin

SITE = "https://gatehouse.test"


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": SITE, "sec-fetch-site": "same-origin"},
        {"origin": "null", "sec-fetch-site": "same-origin"},  # no-referrer, our own page
        {"origin": SITE},
        {"sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "none"},  # typed or bookmarked by the person
        {},  # an old client says nothing: the form token and SameSite still hold
    ],
)
def test_our_own_pages_pass(headers: dict[str, str]) -> None:
    check_origin(headers, SITE)


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.test", "sec-fetch-site": "cross-site"},
        {"origin": "https://evil.test"},
        {"origin": "null", "sec-fetch-site": "cross-site"},  # a sandboxed frame elsewhere
        {"origin": "null", "sec-fetch-site": "same-site"},  # a sibling subdomain
        {"origin": "null"},  # null with nothing to vouch for it
        {"origin": "null", "sec-fetch-site": "none"},
        {"origin": SITE, "sec-fetch-site": "cross-site"},
        {"origin": "http://gatehouse.test", "sec-fetch-site": "same-origin"},
    ],
)
def test_anything_else_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(CsrfRefused):
        check_origin(headers, SITE)

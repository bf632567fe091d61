"""Forms posted from the admin portal's pages the way a page does: with the form token the
page carries and our Origin."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from starlette.testclient import TestClient

from tests.support.config import ISSUER

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_token(page: str) -> str:
    found = _CSRF.search(page)
    assert found, page
    return html.unescape(found.group(1))


def post_from(
    browser: TestClient,
    path: str,
    data: dict[str, str],
    page: str,
    *,
    files: dict[str, Any] | None = None,
) -> httpx.Response:
    """A form posted from the portal page whose HTML is `page`: its token, our Origin."""
    answer: httpx.Response = browser.post(
        path,
        data={"csrf": csrf_token(page), **data},
        files=files,
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )
    return answer


def submit(
    browser: TestClient,
    path: str,
    data: dict[str, str] | None = None,
    *,
    files: dict[str, Any] | None = None,
    token_from: str = "/portal/",  # noqa: S107 (a page's path, not a password)
) -> httpx.Response:
    """A form posted from the portal page at `token_from` (read first, for its token)."""
    return post_from(browser, path, data or {}, browser.get(token_from).text, files=files)

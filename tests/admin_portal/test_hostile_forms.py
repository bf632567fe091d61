"""Portal forms against what no page of ours sends: a form token that is not ASCII, a
version that is not a number of ASCII digits, a `Content-Length` that is not a length. Each
gets the page its refusal has (never a 500), and changes nothing."""

from __future__ import annotations

import gc
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from tests.support.certificates import certificate_pem
from tests.support.config import ISSUER
from tests.support.maintain_world import MaintainWorld, world
from tests.support.portal_forms import csrf_token, submit
from tests.support.raw_asgi import raw_client

__all__ = ["world"]  # fixtures

FEATURES = ["sso", "domain_verification"]


@pytest.mark.parametrize("token", ["é" * 43, "\u00ff", "\u2028", "x\x00"])
def test_a_form_token_that_is_not_ascii_is_a_refused_form(world: MaintainWorld, token: str) -> None:
    """`hmac.compare_digest` raises TypeError on a non-ASCII str: the comparison is of
    bytes, so such a token is simply wrong."""
    org = world.organization()
    browser = world.signed_in(org.id, enabled_features=FEATURES)
    before = world.rows()
    refused = browser.post(
        "/portal/domains",
        data={"csrf": token, "name": "claimed.example"},
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )
    assert refused.status_code == 403, refused.text
    assert "This form has expired" in refused.text
    assert refused.headers["x-request-id"] in refused.text
    assert world.rows() == before
    assert browser.get("/portal/", follow_redirects=False).status_code == 200  # still signed in


@pytest.mark.parametrize("version", ["²", "\u0661", "9" * 5000, "9" * 30, "-1", " 1"])
def test_a_switch_over_version_that_is_not_a_number_is_a_stale_page(
    world: MaintainWorld, version: str
) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    browser = world.editing(org.id, connection)
    path = f"/portal/connections/{connection.id}"
    pem = certificate_pem(not_after=world.clock.now() + timedelta(days=500))
    submit(browser, f"{path}/certificates", {"action": "add", "certificate_text": pem})
    drafted = world.stored(connection.id)
    world.passed_test(connection, drafted.draft)
    refused = submit(browser, f"{path}/switch-over", {"version": version})
    assert refused.status_code == 409, refused.text
    assert "edited since you looked" in refused.text
    assert world.stored(connection.id) == drafted


@pytest.mark.parametrize("declared", ["²", "9" * 5000, "-1", "1e3", " 12", "12, 12"])
def test_a_content_length_that_is_not_a_length_is_an_unreadable_form(
    world: MaintainWorld, declared: str
) -> None:
    """httpx writes its own Content-Length, so the request goes to the app directly."""
    org = world.organization()
    browser = world.signed_in(org.id, enabled_features=FEATURES)
    token = csrf_token(browser.get("/portal/").text)
    cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    body = urlencode({"csrf": token, "name": "claimed.example"}).encode()
    before = world.rows()
    with raw_client(world.app) as raw:
        answer = raw.request(
            "POST",
            "/portal/domains",
            headers=[
                (b"cookie", cookies.encode()),
                (b"origin", ISSUER.encode()),
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", declared.encode("latin-1")),
            ],
            body=body,
        )
    assert answer.escaped is None, answer.escaped
    assert answer.status == 400, answer.text
    assert "This form could not be read" in answer.text
    assert world.rows() == before


@pytest.mark.parametrize("path", ["/portal/domains", "/portal/setup/begin", "/portal/sign-out"])
def test_files_sent_to_any_form_are_closed(world: MaintainWorld, path: str) -> None:
    """Found by the fuzz tier: Starlette spools uploads to temporary files and leaves them
    open; a form that reads no file (or is refused) left them to the garbage collector (a
    ResourceWarning, which this suite makes an error). Every portal form closes them now."""
    org = world.organization()
    browser = world.signed_in(org.id, enabled_features=FEATURES)
    token = csrf_token(browser.get("/portal/").text)
    answer = browser.post(
        path,
        data={"csrf": token, "name": "files.example"},
        files={"certificate_file": ("cert.pem", b"x" * 2048, "application/octet-stream")},
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )
    assert answer.status_code < 500
    gc.collect()  # an unclosed file warns when it is collected: now, inside this test

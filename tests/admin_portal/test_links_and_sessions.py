"""Portal links become sessions (docs/security.md T-01..T-07, T-09, T-12)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa

from broker.store.sql import SqlStore
from tests.support.config import ISSUER
from tests.support.gatehouse import Gatehouse


def test_a_link_opens_a_session_and_the_url_loses_the_token(world: Gatehouse) -> None:
    org = world.organization()
    browser = world.browser()
    url = world.link(org.id)
    response = world.open_link(browser, url)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" in cookie
    home = browser.get("/portal/")
    assert home.status_code == 200
    assert "Single sign-on for Acme Corp" in home.text
    token = urlsplit(url).path.rsplit("/", 1)[1]
    assert token not in home.text


def test_the_interstitial_spends_nothing(world: Gatehouse) -> None:
    """T-03: a mail scanner fetching the link leaves it usable."""
    org = world.organization()
    url = world.link(org.id, max_uses=1)
    scanner = world.browser()
    for _ in range(3):
        assert scanner.get(urlsplit(url).path).status_code == 200
    assert world.open_link(world.browser(), url).status_code == 303
    second = world.open_link(world.browser(), url)
    assert second.status_code == 410
    assert "can no longer be used" in second.text


def test_portal_pages_carry_their_security_headers(world: Gatehouse) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)
    for path in ("/portal/", "/portal/link/anything", "/portal/signed-out"):
        page = browser.get(path)
        assert page.headers["referrer-policy"] == "no-referrer", path
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"], path
        assert "script-src 'self'" in page.headers["content-security-policy"], path
        assert page.headers["x-frame-options"] == "DENY", path
        assert page.headers["cache-control"] == "no-store", path


def test_no_cookie_no_page(world: Gatehouse) -> None:
    page = world.browser().get("/portal/")
    assert page.status_code == 401
    assert "Open your setup link again" in page.text


def test_a_session_ends_when_idle_and_at_its_absolute_end(world: Gatehouse) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)
    world.clock.advance(timedelta(minutes=29))
    assert browser.get("/portal/").status_code == 200
    world.clock.advance(timedelta(minutes=31))
    assert browser.get("/portal/").status_code == 401
    busy = world.signed_in(org.id)
    for _ in range(17):  # active every 29 minutes: still ends 8 hours after it began
        world.clock.advance(timedelta(minutes=29))
        status = busy.get("/portal/").status_code
    assert status == 401


def test_revoking_the_link_ends_its_sessions(world: Gatehouse) -> None:
    """T-06."""
    org = world.organization()
    issued = world.broker.management.portal_links.create("test", org.id)
    browser = world.browser()
    assert world.open_link(browser, issued.url).status_code == 303
    assert browser.get("/portal/").status_code == 200
    world.broker.management.portal_links.revoke("test", org.id, issued.link.id)
    assert browser.get("/portal/").status_code == 401


def test_a_cookie_the_browser_brought_is_never_the_session(world: Gatehouse) -> None:
    """T-12: session fixation. The cookie is minted at the exchange, whatever was there."""
    org = world.organization()
    browser = world.browser()
    browser.cookies.set("__Host-gatehouse-portal", "chosen-by-the-attacker")
    response = world.open_link(browser, world.link(org.id))
    assert "chosen-by-the-attacker" not in response.headers["set-cookie"]


def test_neither_the_link_nor_the_session_is_stored_in_clear(world: Gatehouse) -> None:
    org = world.organization()
    url = world.link(org.id)
    browser = world.browser()
    response = world.open_link(browser, url)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-gatehouse-portal=")  # https issuer: a __Host- cookie
    secret = cookie.split(";", 1)[0].split("=", 1)[1]
    assert len(secret) >= 43
    assert isinstance(world.store, SqlStore)
    with world.store.engine.connect() as connection:
        for table in ("portal_links", "portal_sessions", "audit_events"):
            rows = connection.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608
            dumped = repr(rows)
            assert urlsplit(url).path.rsplit("/", 1)[1] not in dumped, table
            assert secret not in dumped, table


def test_a_cross_site_exchange_is_refused(world: Gatehouse) -> None:
    org = world.organization()
    token = urlsplit(world.link(org.id)).path.rsplit("/", 1)[1]
    browser = world.browser()
    forged = browser.post(
        "/portal/link", data={"token": token}, headers={"Origin": "https://evil.test"}
    )
    assert forged.status_code == 410
    assert browser.get("/portal/").status_code == 401
    # The link was not spent by the refused attempt.
    assert world.open_link(world.browser(), f"{ISSUER}/portal/link/{token}").status_code == 303

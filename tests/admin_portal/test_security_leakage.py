"""Token leakage (docs/security.md T-05).

- No log line carries a link's token or a session's cookie: a whole run (the link, its
  exchange, pages, a refused second use, sign-out) against Gatehouse served by uvicorn with
  its access log on, every logger captured at DEBUG (SQL statements included). The access
  log shows the link's path as `/portal/link/…` (broker/web/middleware.py scrubs it).
- The interstitial, the one page with the token in its URL, says `no-referrer` (header and
  meta) and loads nothing from another site, whatever the profile's branding.
- No portal page of the setup assistant's whole flow (tests/admin_portal/setup/test_saml.py's,
  plus its result page, the maintenance pages and the error pages) loads anything from
  another origin: every `src`, every stylesheet, every form `action` is Gatehouse's.
- The one image from elsewhere is the profile's logo, by design (the app team's https URL):
  the page's CSP allows that one origin for images, not `https:` at large, so markup that
  slipped into a page could not beacon anything out through an image URL.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from broker.management.profiles import ProfileFields
from broker.model.management import Branding
from broker.store import Store
from tests.admin_portal.setup import test_saml as setup_flow
from tests.admin_portal.setup_world import SetupWorld, setup_world
from tests.support.config import ISSUER
from tests.support.gatehouse import ACTOR, Gatehouse, build_gatehouse
from tests.support.live_server import free_port, serve_config
from tests.support.saml_pages import hidden_fields

#: What the servers log with: uvicorn's own loggers, which a deployment keeps.
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")
LOGO = "https://cdn.example.com/brand/logo.png"


# -- logs -------------------------------------------------------------------------------


@pytest.fixture
def served(store: Store, tmp_path: Path) -> Iterator[tuple[str, Gatehouse]]:
    """Gatehouse under uvicorn with its access log, as `gatehouse serve` runs it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    world = build_gatehouse(store, tmp_path, issuer=base)
    config = uvicorn.Config(
        world.app, host="127.0.0.1", port=port, log_config=None, access_log=True,
        log_level="debug", lifespan="off",
    )  # fmt: skip
    with serve_config(config):
        yield base, world


@pytest.fixture
def every_log_line(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG: SQLAlchemy's (which sets itself to WARNING) and uvicorn's
    (which may not propagate) too."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    loggers = [logging.getLogger(name) for name in SERVER_LOGGERS]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        for logger in loggers:
            logger.removeHandler(caplog.handler)


def test_no_log_line_carries_a_link_token_or_a_session_cookie(
    served: tuple[str, Gatehouse], every_log_line: pytest.LogCaptureFixture
) -> None:
    base, world = served
    org = world.broker.management.organizations.create(ACTOR, name="Acme Corp")
    issued = world.broker.management.portal_links.create(ACTOR, org.id, max_uses=1)
    token = urlsplit(issued.url).path.rsplit("/", 1)[1]
    origin = {"Origin": base}
    # The test's browser is an httpx client, which logs what it fetches and receives
    # (its history, not Gatehouse's logs): its loggers are quiet while it browses.
    quiet = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    with httpx.Client(base_url=base, follow_redirects=False) as browser:
        interstitial = browser.get(urlsplit(issued.url).path)
        assert interstitial.status_code == 200
        assert hidden_fields(interstitial.text)["token"] == token
        opened = browser.post("/portal/link", data={"token": token}, headers=origin)
        assert opened.status_code == 303
        cookie = opened.cookies["gatehouse-portal"]
        for path in ("/portal/", "/portal/setup", "/portal/no-such-page"):
            assert browser.get(path).status_code in (200, 404), path
        again = browser.post("/portal/link", data={"token": token}, headers=origin)
        assert again.status_code == 410  # a refused second use: logged and an event
        guess = secrets.token_urlsafe(32)
        assert (
            browser.post("/portal/link", data={"token": guess}, headers=origin).status_code == 410
        )
        assert browser.get(f"/portal/link/{guess}").status_code == 200
        signed_out = browser.post("/portal/sign-out", headers=origin)
        assert signed_out.status_code == 303
    for logger in quiet:
        logger.setLevel(logging.NOTSET)

    lines = [f"{r.name} {r.getMessage()}" for r in every_log_line.records]
    access = [line for line in lines if line.startswith("uvicorn.access")]
    assert any('"GET /portal/link/… HTTP/1.1" 200' in line for line in access), access
    assert any("sqlalchemy" in line for line in lines)  # DEBUG reached the SQL too
    assert "portal link refused: no link has this token" in "\n".join(lines)
    for secret in (token, cookie, guess):
        leaked = [line for line in lines if secret in line]
        assert leaked == [], leaked


# -- the interstitial and the pages' assets -----------------------------------------------


class References(HTMLParser):
    """Every URL a page makes the browser load or send to: `src`, a `<link>`'s href (a
    stylesheet), a form's action; and the links a person may follow, apart."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, str]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("src", "srcset", "poster", "formaction", "data", "background"):
                self.loads.append((tag, value))
            elif name == "href" and tag == "a":
                self.links.append(value)
            elif name in ("href", "action"):
                self.loads.append((tag, value))


def same_origin(url: str) -> bool:
    if url.startswith("//"):
        return False
    if url.startswith(("/", "#")):
        return True
    return url.startswith(f"{ISSUER}/")


def references(page: str) -> References:
    found = References()
    found.feed(page)
    return found


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


def test_no_portal_page_of_the_whole_setup_flow_loads_anything_from_elsewhere(
    world: SetupWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages: list[tuple[str, str]] = []
    browsers: list[TestClient] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        html = "html" in response.headers.get("content-type", "")
        if html and response.url.path.startswith("/portal"):
            pages.append((f"{response.request.method} {response.url.path}", response.text))

    signed_in = world.signed_in

    def watched(organization_id: str, **options: object) -> TestClient:
        browser = signed_in(organization_id, **options)
        browser.event_hooks = {"response": [keep]}
        browsers.append(browser)
        return browser

    monkeypatch.setattr(world, "signed_in", watched)
    setup_flow.test_a_saml_connection_from_the_first_page_to_on(world)
    # What the flow went past without opening: its result page, the connection's
    # maintenance pages once it is on, the interstitial, and the pages of refusals.
    connection = world.connection(first_connection_id(pages))
    [test] = world.broker.management.connection_tests.latest(
        connection.organization_id, connection.id
    )
    browser = browsers[0]
    for path in (
        f"/portal/tests/{test.id}",
        f"/portal/connections/{connection.id}",
        f"/portal/connections/{connection.id}/certificates",
        "/portal/no-such-page",
        "/portal/signed-out",
        f"/portal/link/{secrets.token_urlsafe(32)}",
    ):
        assert browser.get(path).status_code in (200, 404), path

    kinds = {re.sub(r"/(con|tst)_[\w-]+", "/ID", path) for path, _ in pages}
    for expected in (
        "GET /portal/",
        "GET /portal/setup",
        "GET /portal/setup/ID/guide",
        # The metadata's certificate needs no note, so its save is a redirect: the notes
        # page (setup_saved.html) is rendered with hostile text in setup/test_xss.py.
        "GET /portal/setup/ID/settings",
        "GET /portal/setup/ID/attributes",
        "GET /portal/setup/ID/test",
        "GET /portal/tests/ID",
        "GET /portal/domains",
        "GET /portal/setup/ID/done",
        "GET /portal/connections/ID",
        "GET /portal/connections/ID/certificates",
    ):
        assert expected in kinds, sorted(kinds)
    for path, page in pages:
        found = references(page)
        assert found.loads, path  # the page's own stylesheet and script at least
        foreign = [(tag, url) for tag, url in found.loads if not same_origin(url)]
        assert foreign == [], path
        assert all(same_origin(url) for url in found.links), (path, found.links)


def first_connection_id(pages: list[tuple[str, str]]) -> str:
    for path, _ in pages:
        found = re.search(r"con_[\w-]+", path)
        if found:
            return found.group(0)
    raise AssertionError("no connection page")


def branded(world: SetupWorld) -> str:
    profile = world.broker.management.profiles.create(
        ACTOR, ProfileFields(name="Customers", branding=Branding(logo_url=LOGO))
    )
    return profile.id


def test_the_profiles_logo_is_the_one_image_from_elsewhere(world: SetupWorld) -> None:
    org = world.organization()
    browser = world.signed_in(org.id, profile_id=branded(world))
    welcome = browser.get("/portal/")
    assert ("img", LOGO) in references(welcome.text).loads
    policy = welcome.headers["content-security-policy"]
    images = next(d for d in policy.split("; ") if d.startswith("img-src "))
    assert images == "img-src 'self' data: https://cdn.example.com"
    # Without a logo, images come from Gatehouse only.
    plain = world.signed_in(world.organization("Plain").id).get("/portal/")
    assert "img-src 'self' data:;" in plain.headers["content-security-policy"]
    assert "https:" not in plain.headers["content-security-policy"]


def test_the_interstitial_sends_no_referrer_and_loads_nothing_from_elsewhere(
    world: SetupWorld,
) -> None:
    """Even for a branded link: the interstitial has no session yet, so no branding."""
    org = world.organization()
    url = world.link(org.id, profile_id=branded(world))
    page = TestClient(world.app, base_url=ISSUER).get(urlsplit(url).path)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<meta name="referrer" content="no-referrer">' in page.text
    assert page.headers["cache-control"] == "no-store"
    found = references(page.text)
    assert [url for _, url in found.loads if not same_origin(url)] == []
    assert LOGO not in page.text
    assert "img-src 'self' data:;" in page.headers["content-security-policy"]

"""The browser tier: the admin portal in a real headless Chromium (Debian's `chromium`,
driven by Playwright), against Gatehouse, the IdP simulator and the demo app on loopback.

Without Chromium (or Playwright) every test here is skipped with the reason; CI sets
GATEHOUSE_TEST_STRICT=1, which makes that a failure. .ci/run installs Chromium.

Fixtures
--------
`world`   (package)  Gatehouse with the portal at `world.portal_url`, the simulator, the
                     demo app (`world.rp_url`), on SQLite; `world.organization()`,
                     `world.profile(...)`, `world.link(org_id, **options)`,
                     `world.issue(...)`/`world.revoke(...)`: the app team's side, through
                     the management use cases. `world.example_corp` is the demo's active
                     SAML connection to the simulator (alice@example.com logs in through it).
                     `world.zone.publish(name, value)`: a TXT record in the DNS server the
                     broker's domain verification asks (tests/support/dns_server.py).
`chromium` (package) one browser for the whole tier.
`context`, `page`    a fresh browser context (own cookies) and page per test, 1280x800,
                     every step waiting at most 10 s. A console error, uncaught exception or
                     failed stylesheet/script on any page of the context (a CSP refusal is
                     one; popups count) fails the test; a test that expects some asserts on
                     `page_log.errors` and clears it.
`shot`               `shot("step name")` saves a full-page PNG, numbered per test, under
                     var/screenshots/<module>.<test>/ (or $GATEHOUSE_SCREENSHOTS). CI prints
                     the listing at the end of its log. Look at them.
`assert_accessible(page)` (tests.support.browser_a11y): axe-core plus the keyboard checks.

Adding a flow (the setup assistant, a failing test's diagnosis, a certificate rotation)
-------------------------------------------------------------------------------------------
1. A new `tests/browser/test_<flow>.py`; use `world`, `page` and `shot`.
2. Arrange through the world, as the app team would: `org = world.organization()`,
   `page.goto(world.link(org.id, profile_id=world.profile(strategies=[...]).id))`, then
   `page.get_by_role("button", name="Continue").click()`. An edit link for an existing
   connection: `world.link(org_id, connection_id=...)`.
3. Act as the person does: click by role and accessible name
   (`page.get_by_role("link", name="Okta")`, `page.get_by_label("Metadata URL").fill(...)`),
   never by CSS class; a selector that cannot find a control by its name is an
   accessibility bug. The test login opens a new tab: `with page.expect_popup() as tab:`.
   The simulator's login page is at `world.simulator_url`; a demo-app login starts at
   `f"{world.rp_url}/login?login_hint=..."`.
4. `shot("what the person sees")` after every step, and `assert_accessible(page)` on each
   new kind of page (after its shot: the check moves focus and resizes the window).
5. Assert on what a person reads (`expect(page.get_by_role("heading", ...))`), and on the
   state behind it through `world.broker.management` (events, the connection's version).

The servers use the system clock; a flow that needs time to pass (session idle, expiring
certificates) arranges its data with dates instead. The setup assistant's steps, as a person
takes them, are in tests/support/browser_setup.py (`Assistant`, `invite_acme`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import (
    DESKTOP,
    STEP_TIMEOUT_MS,
    PageLog,
    Screenshots,
    chromium_problem,
    running_chromium,
)
from tests.support.browser_world import BrowserWorld, browser_world
from tests.support.tiers import missing_dependency

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page


@pytest.fixture(scope="package", autouse=True)
def browser_tier() -> None:
    """First, before any server starts: no browser, no tier."""
    problem = chromium_problem()
    if problem is not None:
        missing_dependency(problem)


@pytest.fixture(scope="package")
def chromium(browser_tier: None) -> Iterator[Browser]:
    with running_chromium() as browser:
        yield browser


# PostgreSQL adds nothing a browser can see; the store is tested on both elsewhere.
@pytest.fixture(scope="package", params=["sqlite"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser_tier: None
) -> Iterator[BrowserWorld]:
    with browser_world(request, tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def context(chromium: Browser, page_log: PageLog) -> Iterator[BrowserContext]:
    context = chromium.new_context(viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    # Every page of the context, the test login's new tab included.
    context.on("page", page_log.watch)
    try:
        yield context
    finally:
        context.close()
    assert not page_log.errors, "the pages reported errors:\n" + "\n".join(page_log.errors)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def shot(request: pytest.FixtureRequest, page: Page) -> Screenshots:
    return Screenshots.for_test(request.node.nodeid, page)

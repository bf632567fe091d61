"""A customer's IT admin opens the portal link they were sent, in a real browser: the
interstitial, the session, the welcome page, signing out; and the pages for a link that can
no longer be used, a URL that does not exist and a session that has ended."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.browser import Screenshots
from tests.support.browser_world import BrowserWorld

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.browser


def open_link(page: Page, url: str, shot: Screenshots) -> None:
    """Follow the link from the mail, then "Continue" on the interstitial, and wait for the
    welcome page: a test that acts next (a reload) must not race the navigation."""
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up single sign-on")
    shot("interstitial")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Single sign-on for "))


def test_a_link_opens_the_welcome_page_and_the_url_loses_the_token(
    world: BrowserWorld, page: Page, shot: Screenshots
) -> None:
    org = world.organization("Acme Corp")
    url = world.link(org.id)
    open_link(page, url, shot)
    expect(page.get_by_role("heading", level=1)).to_have_text("Single sign-on for Acme Corp")
    shot("welcome")
    assert page.url == f"{world.portal_url}/"
    token = urlsplit(url).path.rsplit("/", 1)[1]
    assert token not in page.content()
    steps = page.get_by_role("list").filter(has_text="Choose your identity provider")
    expect(steps.get_by_role("listitem")).to_have_count(7)
    cookies = page.context.cookies()
    assert [c["name"] for c in cookies] == ["gatehouse-portal"]
    assert cookies[0]["httpOnly"]
    assert cookies[0]["sameSite"] == "Lax"


def test_the_welcome_page_wears_the_profile_branding(
    world: BrowserWorld, page: Page, shot: Screenshots
) -> None:
    org = world.organization("Branded Ltd")
    profile = world.profile(
        "Branded", primary_color="#6a1b9a",
        introduction="Acme's app signs your people in with your own identity provider.",
    )  # fmt: skip
    open_link(page, world.link(org.id, profile_id=profile.id), shot)
    expect(page.get_by_text("Acme's app signs your people in")).to_be_visible()
    shot("welcome with branding")
    brand = page.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()"
    )
    assert brand == "#6a1b9a"


def test_signing_out_ends_the_session(world: BrowserWorld, page: Page, shot: Screenshots) -> None:
    org = world.organization()
    open_link(page, world.link(org.id), shot)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    shot("signed out")
    assert page.context.cookies() == []
    page.goto(f"{world.portal_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Open your setup link again")
    shot("no session")


def test_a_used_up_link_says_so_and_whom_to_ask(
    world: BrowserWorld, context: BrowserContext, page: Page, shot: Screenshots
) -> None:
    org = world.organization()
    url = world.link(org.id, max_uses=1)
    open_link(page, url, shot)
    expect(page.get_by_role("heading", level=1)).to_have_text("Single sign-on for Acme Corp")
    colleague = context.browser.new_context() if context.browser else None
    assert colleague is not None
    try:
        second = colleague.new_page()
        second.goto(url)
        shot("interstitial again", page=second)
        second.get_by_role("button", name="Continue").click()
        heading = second.get_by_role("heading", level=1)
        expect(heading).to_have_text("This link can no longer be used")
        expect(second.get_by_text("Ask the person who sent it")).to_be_visible()
        shot("used up", page=second)
    finally:
        colleague.close()


def test_a_revoked_link_is_refused(world: BrowserWorld, page: Page, shot: Screenshots) -> None:
    org = world.organization()
    issued = world.issue(org.id)
    world.revoke(issued)
    page.goto(issued.url)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This link can no longer be used")
    shot("revoked")
    assert page.context.cookies() == []


def test_a_revoked_link_ends_the_session_it_opened(
    world: BrowserWorld, page: Page, shot: Screenshots
) -> None:
    org = world.organization()
    issued = world.issue(org.id)
    open_link(page, issued.url, shot)
    world.revoke(issued)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open your setup link again")
    shot("session ended")


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_an_unknown_portal_url_is_the_portal_404(
    world: BrowserWorld, page: Page, shot: Screenshots, signed_in: bool
) -> None:
    if signed_in:
        org = world.organization("Acme Corp")
        open_link(page, world.link(org.id), shot)
    response = page.goto(f"{world.portal_url}/no/such/page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("contentinfo")).to_have_text(re.compile(r"Reference \w{8,}"))
    expect(page.get_by_role("button", name="Sign out")).to_have_count(1 if signed_in else 0)
    shot("not found")
    page.get_by_role("link", name="Back to the start").click()
    heading = "Single sign-on for Acme Corp" if signed_in else "Open your setup link again"
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    shot("back to the start")

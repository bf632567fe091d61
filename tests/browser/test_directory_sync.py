"""Directory sync from a portal link, in a real browser (issue 17 item 5 and its "done
when"): the IT admin creates the directory, copies the base URL and the token with the
copy buttons, their IdP (the simulator's SCIM client, provisioning as Okta does, over
loopback) sends its people with that token, the page that waits shows that they arrived,
by itself, and a person the IdP deactivates is counted as one who cannot sign in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from idp_simulator.scim.client import ScimClient
from idp_simulator.scim.directory import build_directory
from idp_simulator.scim.okta import OktaDialect
from idp_simulator.scim.sync import DirectorySync
from tests.support.browser import Screenshots
from tests.support.browser_a11y import assert_accessible
from tests.support.browser_setup import allow_clipboard, copy, h1
from tests.support.browser_world import BrowserWorld

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser


def test_an_admin_sets_up_provisioning_and_sees_the_first_user_arrive(
    world: BrowserWorld, page: Page, shot: Screenshots
) -> None:
    org = world.organization("Provisioned Corp")
    page.goto(world.link(org.id, enabled_features=["directory_sync"]))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Set up or check directory sync").click()
    expect(h1(page)).to_have_text("Directory sync (SCIM)")
    page.get_by_role("radio", name="Okta").check()
    page.get_by_role("radio", name="By email address").check()
    shot("the IdP and the link key")
    assert_accessible(page)
    page.get_by_role("button", name="Create token").click()

    expect(h1(page)).to_have_text("Set up provisioning in Okta")
    allow_clipboard(page, world.issuer)
    base_url = copy(page, "SCIM base URL")
    token = copy(page, "Token")
    assert base_url.startswith(f"{world.issuer}/scim/v2/dir_")
    assert token.startswith("gh_scim_")
    shot("the base URL and the token, shown once")
    assert_accessible(page)

    page.get_by_role("link", name="Next: see what Okta sends").click()
    expect(page.get_by_role("heading", name="Nothing arrived yet from Okta")).to_be_visible()
    shot("waiting for Okta's first request")

    with ScimClient(base_url, token, concurrency=2) as client:
        okta = DirectorySync(client, OktaDialect(), build_directory(3, 1, seed="browser"))
        okta.sync()
        assert not okta.summaries[0].failures, okta.summaries[0].failures

        # The page asks every few seconds while it is in view, and reloads on a new request.
        expect(page.get_by_role("heading", name="✓ Okta reached Gatehouse")).to_be_visible()
        expect(page.get_by_role("cell", name="POST /Users").first).to_be_visible()
        expect(summary(page, "People")).to_have_text("3")
        shot("the first users arrived")
        assert_accessible(page)

        assert okta.set_active(1, active=False) == 200
    page.reload()
    expect(summary(page, "Deactivated (cannot sign in)")).to_have_text("1")
    expect(summary(page, "Active")).to_have_text("2")
    shot("a person deactivated in Okta")
    assert page.get_by_text(token).count() == 0


def summary(page: Page, term: str) -> Locator:
    """The count the directory page gives for `term` (a <dt>/<dd> pair)."""
    return page.locator(f"dl div:has(> dt:text-is('{term}')) > dd")

"""Directory sync from a portal link, in a real browser (issue 17 item 5): the IT admin
creates the directory, copies the base URL and the token with the copy buttons, their IdP
(here a plain SCIM client, httpx over loopback) sends a user with that token, and the page
that waits shows that it arrived, by itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import Screenshots
from tests.support.browser_a11y import assert_accessible
from tests.support.browser_setup import allow_clipboard, copy, h1
from tests.support.browser_world import BrowserWorld
from tests.support.scim import SCIM_JSON, user_body

if TYPE_CHECKING:
    from playwright.sync_api import Page

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

    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    sent = httpx.post(
        f"{base_url}/Users", json=user_body("ann@provisioned.example"), headers=headers
    )
    assert sent.status_code == 201, sent.text

    # The page asks every few seconds while it is in view, and reloads on a new request.
    expect(page.get_by_role("heading", name="✓ Okta reached Gatehouse")).to_be_visible()
    expect(page.get_by_role("cell", name="POST /Users")).to_be_visible()
    shot("the first user arrived")
    assert_accessible(page)
    assert page.get_by_text(token).count() == 0

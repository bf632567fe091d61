"""The SAML settings step's option "Tell the identity provider who is signing in", in
Chromium: on by default once the IdP's values are saved; the admin of an IdP that refuses
AuthnRequests naming the person turns it off from the page, and the connection stores it."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from broker.upstream.saml.config import SamlConnectionConfig
from tests.support.browser import Screenshots
from tests.support.browser_setup import Assistant, h1, invite_acme
from tests.support.browser_world import BrowserWorld

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_the_admin_turns_the_subject_hint_off(
    world: BrowserWorld, page: Page, shot: Screenshots
) -> None:
    # The setup's earlier pages are checked for accessibility in test_setup_flow.py.
    admin = Assistant(world, page, shot, accessibility=False)
    invitation = invite_acme(world, f"options-{secrets.token_hex(4)}.test")
    admin.open_link(invitation.url)
    admin.choose_generic_saml()
    admin.read_guide()
    admin.give_metadata_url()

    page.get_by_role("navigation", name="Setup steps").get_by_role("link", name="Settings").click()
    expect(h1(page)).to_have_text("Your identity provider's settings")
    options = page.get_by_role("region", name="Options")
    hint = options.get_by_label("Tell the identity provider who is signing in")
    expect(hint).to_be_checked()
    expect(options).to_contain_text("refuses sign-in requests that name the person")
    shot("the settings with their options")
    admin.check(always=True)

    hint.uncheck()
    options.get_by_role("button", name="Save the options").click()
    expect(h1(page)).to_have_text("Attributes")
    [connection] = world.broker.management.connections.page(
        invitation.organization.id, after=None, limit=10
    )
    assert SamlConnectionConfig.parse(connection.config).subject_hint is False
    page.go_back()
    page.reload()
    expect(page.get_by_label("Tell the identity provider who is signing in")).not_to_be_checked()

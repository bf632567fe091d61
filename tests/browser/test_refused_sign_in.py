"""A person's refused sign-in, from the demo app and back to it (issue 15 item 1): the
address typed at Gatehouse picks the simulator's scenario by its local part (it travels to
the IdP in the AuthnRequest's Subject), Gatehouse's page says what happened in the person's
terms, and its button takes them back to the app, which shows the error it received."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from broker.management.events import EventFilter
from tests.support.browser import Screenshots
from tests.support.browser_a11y import assert_accessible
from tests.support.browser_setup import h1
from tests.support.browser_world import BrowserWorld

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_an_expired_answer_sends_the_person_back_to_the_app_with_the_error(
    world: BrowserWorld, page: Page, shot: Screenshots
) -> None:
    page.goto(world.rp_url)
    page.get_by_role("button", name="Log in with SSO").click()
    expect(h1(page)).to_have_text("Sign in with your work email")
    page.get_by_label("Work email").fill("expired@example.com")
    page.get_by_role("button", name="Continue").click()
    expect(h1(page)).to_have_text("Log in to the simulator")
    # The typed address arrived with the AuthnRequest: nothing to retype.
    expect(page.get_by_label("Email")).to_have_value("expired@example.com")
    shot("the simulator, the address already there")
    page.get_by_role("button", name="Log in").click()

    expect(h1(page)).to_have_text("Sign in again")
    reference = page.locator(".reference code").inner_text()
    shot("Gatehouse says the answer was too old")
    assert_accessible(page)
    page.get_by_role("link", name="Back to the application").click()

    expect(h1(page)).to_have_text("Sign-in refused")
    shot("the demo app shows what it received")
    received = page.get_by_role("table")
    for name, value in (
        ("error", "login_required"),
        ("error_description", f"expired (reference {reference})"),
        ("iss", f"{world.issuer} (the expected issuer, RFC 9207)"),
    ):
        row = received.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=name, exact=True)
        )
        expect(row.get_by_role("cell")).to_have_text(value)
    # The reference finds the refusal: what the app's support gives the IT team.
    where = EventFilter(organization_id=world.organization_id, request_id=reference)
    [refused] = world.broker.management.events.page(where, before=None, limit=10)
    assert (refused.kind, refused.reason) == ("login.failed", "expired")

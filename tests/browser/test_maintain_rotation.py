"""A certificate rotation in the portal, in Chromium, while people keep signing in to the
demo app through the connection being changed.

The simulator here is a real server with one signing key, so this tier shows what the
person does and sees: the overview with an expiring certificate, adding the IdP's next
certificate (a draft), the test login in a new tab, the switch-over, and the guard (a draft
that removes the certificate the IdP signs with fails its test, and cannot be switched
on). The IdP switching keys mid-rotation is proven in process, with real signed logins at
every step, by tests/admin_portal/maintain/test_rotation.py.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from broker.model.connection_labels import connection_label
from tests.support.browser import Screenshots
from tests.support.browser_a11y import assert_accessible
from tests.support.browser_world import BrowserWorld
from tests.support.certificates import certificate_pem, fingerprint
from tests.support.gatehouse import ACTOR

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.browser


def _demo_login(
    world: BrowserWorld, context: BrowserContext, shot: Screenshots, email: str, step: str
) -> None:
    """A person signs in to the demo app through the connection, in their own tab."""
    app = context.new_page()
    app.goto(f"{world.rp_url}/login?login_hint={email}")
    app.get_by_label("Email").fill(email)
    app.get_by_role("button", name="Log in").click()
    expect(app.get_by_role("heading", level=1)).to_have_text("Signed in")
    shot(f"demo app: {step}", page=app)
    app.close()


def _test_in_new_tab(page: Page, shot: Screenshots, email: str, step: str) -> Page:
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Test the changes (opens a new tab)").click()
    tab = opened.value
    tab.get_by_label("Email").fill(email)
    tab.get_by_role("button", name="Log in").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Test login result")
    shot(f"test result: {step}", page=tab)
    return tab


def test_adding_the_idps_next_certificate_loses_no_login(
    world: BrowserWorld, context: BrowserContext, page: Page, shot: Screenshots
) -> None:
    management = world.broker.management
    org = world.organization("Rotating Corp")
    domain = f"rotating-{secrets.token_hex(4)}.example"
    management.domains.add(ACTOR, org.id, domain)
    management.domains.mark_verified(ACTOR, org.id, domain)
    saml = {"metadata_url": f"{world.simulator_url}/metadata"}
    connection = management.connections.create_saml(ACTOR, org.id, saml).connection
    email = f"alice@{domain}"
    now = datetime.now(UTC)
    next_certificate = certificate_pem(not_after=now + timedelta(days=730), common_name="Next")

    _demo_login(world, context, shot, email, "before")

    # The IT admin opens the edit link: the connection's overview.
    page.goto(world.link(org.id, connection_id=connection.id))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(connection_label(connection))
    shot("overview")
    assert_accessible(page)

    # Add the IdP's next certificate beside the current one: a draft.
    page.get_by_role("link", name="Add or remove a certificate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signing certificates")
    shot("certificates")
    assert_accessible(page)
    page.get_by_label("Or paste it").fill("not a certificate")
    page.get_by_role("button", name="Add this certificate").click()
    expect(page.get_by_text("This is not a certificate.")).to_be_visible()
    shot("certificate refused")
    assert_accessible(page)
    page.get_by_label("Or paste it").fill(next_certificate)
    page.get_by_role("button", name="Add this certificate").click()
    expect(page.get_by_role("heading", name="Changes waiting to be switched over")).to_be_visible()
    expect(page.get_by_role("button", name="Switch over")).to_be_disabled()
    shot("draft saved")
    assert_accessible(page)
    _demo_login(world, context, shot, email, "with the draft saved")

    # Test it in a new tab, then switch over.
    # The overview follows the test in the other tab by itself: no reload to press.
    _test_in_new_tab(page, shot, email, "draft with the next certificate").close()
    expect(page.get_by_role("button", name="Switch over")).to_be_enabled()
    shot("tested")
    page.get_by_role("button", name="Switch over").click()
    expect(page.get_by_role("status")).to_contain_text("sign-ins now use the new settings")
    shot("switched over")
    stored = management.connections.get(org.id, connection.id)
    assert stored.draft is None
    trusted = [fingerprint(c) for c in stored.config["idp_certificates"]]
    assert fingerprint(next_certificate) in trusted
    assert len(trusted) == 2
    _demo_login(world, context, shot, email, "after the switch-over")

    # Removing the certificate the IdP still signs with: the test fails, the switch-over
    # stays off, and discarding leaves sign-ins as they were.
    page.get_by_role("link", name="Add or remove a certificate").click()
    page.get_by_role("button", name="Remove the certificate CN=Gatehouse IdP simulator").click()
    shot("removal drafted")
    tab = _test_in_new_tab(page, shot, email, "draft without the signing certificate")
    expect(tab.get_by_text("✗ Failed")).to_be_visible()
    tab.close()
    expect(page.get_by_text("Test failed")).to_be_visible()
    expect(page.get_by_role("button", name="Switch over")).to_be_disabled()
    shot("test failed")
    page.get_by_role("button", name="Discard the changes").click()
    expect(page.get_by_role("status")).to_contain_text("The draft is discarded")
    shot("discarded")
    _demo_login(world, context, shot, email, "after the discard")

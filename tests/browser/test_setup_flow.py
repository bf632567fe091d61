"""Issue 6's promise, in Chromium: following only what the portal says, a customer's IT admin
who has never seen Gatehouse sets up a new SAML connection to the IdP simulator (a generic
SAML IdP), tests a real login, proves the email domain through DNS and turns single sign-on
on; then a person of that organization signs in to the demo app through it.

The app team's side is arranged through the management use cases (an organization with a
claimed domain, a branded profile, a portal link); everything after that is read from the
pages and clicked by accessible name. The TXT record is copied with the page's Copy button
and published in the world's loopback DNS server, which the broker's domain verification
asks, as the admin would paste it at their DNS provider. The whole flow runs at 1280 px and
again at 360 px, with `assert_accessible` on every portal page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from broker.management.events import EventFilter
from tests.support.browser import DESKTOP, PHONE, Screenshots
from tests.support.browser_setup import (
    Assistant,
    Invitation,
    SpValues,
    allow_clipboard,
    copy,
    h1,
    invite_acme,
)
from tests.support.browser_world import BrowserWorld

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, ViewportSize

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("viewport", "domain"),
    # Each run claims and verifies its own domain: a verified domain is one organization's.
    [(DESKTOP, "acme.test"), (PHONE, "acme-phone.test")],
    ids=["1280px", "360px"],
)
def test_an_it_admin_sets_up_saml_and_a_person_signs_in_through_it(
    world: BrowserWorld,
    context: BrowserContext,
    page: Page,
    shot: Screenshots,
    viewport: ViewportSize,
    domain: str,
) -> None:
    email = f"alice@{domain}"
    admin = Assistant(world, page, shot, viewport=viewport)
    invitation = invite_acme(world, domain)

    admin.open_link(invitation.url)
    admin.choose_generic_saml()
    sp = admin.read_guide()
    admin.give_metadata_url()
    admin.keep_attributes()
    _test_passes(admin, email)
    _prove_the_domain(admin, domain)
    connection_id = _turn_on(admin, invitation, domain, sp)
    _sign_in_to_the_demo_app(world, context, shot, viewport, email, connection_id)
    _come_back(admin, invitation, connection_id)


def _test_passes(admin: Assistant, email: str) -> None:
    """The test login in a new tab passes, with a tick for each required attribute; the
    first tab sees it and leads on to the domains."""
    result = admin.test_login(email, "success")
    expect(result.get_by_text("✓ Passed", exact=True)).to_be_visible()
    expect(result.get_by_role("heading", name="The test login worked")).to_be_visible()
    admin.shot("the test passed", page=result)
    admin.check(result)
    required = result.get_by_role("table").filter(
        has=result.get_by_role("columnheader", name="Names looked for")
    )
    for attribute, sent in (("Email", email), ("First name", "Alice")):
        row = required.get_by_role("row").filter(
            has=result.get_by_role("rowheader", name=attribute, exact=True)
        )
        expect(row.get_by_role("cell").last).to_have_text(f"✓ Sent: {sent}")
    result.close()

    # The first tab followed the test by itself: nobody pressed "Check again".
    page = admin.page
    expect(page.get_by_text("✓ A test of the current settings passed.")).to_be_visible()
    expect(page.get_by_role("link", name="See the result of")).to_have_count(1)
    admin.shot("the test step after the pass")
    admin.check()
    page.get_by_role("link", name="Next: prove you own your email domain").click()
    expect(h1(page)).to_have_text("Your email domains")


def _prove_the_domain(admin: Assistant, domain: str) -> None:
    """Copy the TXT record the page shows, publish it, "Check now"."""
    page = admin.page
    claim = page.get_by_role("region", name=domain)
    expect(claim.get_by_text("Not verified yet.")).to_be_visible()
    admin.shot("the domains")
    admin.check()
    allow_clipboard(page, admin.world.issuer)
    # The page warns that most DNS consoles add the domain to the name: the admin types the
    # host part alone, and the console (here: the test) adds the domain.
    expect(claim.get_by_text("Which name to type.")).to_be_visible()
    host, value = copy(page, "Name (host)"), copy(page, "Value")
    assert host == "_gatehouse-challenge"
    assert copy(page, "Full name") == f"{host}.{domain}"
    admin.world.zone.publish(f"{host}.{domain}", value)
    claim.get_by_role("button", name=f"Check now for {domain}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{domain} is verified.")
    expect(page.get_by_role("region", name=domain)).to_contain_text("✓ Verified")
    admin.shot("the domain verified")
    admin.check()


def _turn_on(admin: Assistant, invitation: Invitation, domain: str, sp: SpValues) -> str:
    """Both conditions done, turn it on: the done page names the domain. Returns the
    connection's id (the one in the SP values the guide showed)."""
    page = admin.page
    page.get_by_role("link", name="Next: turn single sign-on on").click()
    expect(h1(page)).to_have_text("Turn single sign-on on")
    checklist = page.get_by_role("list").filter(has_text="Done")
    expect(checklist.get_by_role("listitem")).to_have_count(2)
    expect(checklist).to_contain_text(f"verified domain: {domain}.")
    admin.shot("turn on")
    admin.check()
    page.get_by_role("button", name="Turn single sign-on on").click()
    expect(h1(page)).to_have_text("Single sign-on is on")
    expect(page.get_by_role("main")).to_contain_text(f"an email address at {domain} sign in")
    admin.shot("done")
    admin.check()

    # Behind the page: the one connection the guide's values named is on, by the link.
    management = admin.world.broker.management
    org = invitation.organization
    [connection] = management.connections.page(org.id, after=None, limit=10)
    assert connection.active
    assert (sp.acs_url, sp.entity_id) == (
        f"{admin.world.issuer}/saml/{connection.id}/acs",
        f"{admin.world.issuer}/saml/{connection.id}/metadata",
    )
    where = EventFilter(organization_id=org.id, type="connection.activated")
    [activated] = management.events.page(where, before=None, limit=10)
    assert activated.actor == f"portal_link:{invitation.link_id}"
    return connection.id


def _sign_in_to_the_demo_app(
    world: BrowserWorld,
    context: BrowserContext,
    shot: Screenshots,
    viewport: ViewportSize,
    email: str,
    connection_id: str,
) -> None:
    """A person of Acme: the demo app, "Log in with SSO", their email at Gatehouse, the
    simulator's login, and back in the app, signed in as themselves, of Acme."""
    app = context.new_page()
    app.set_viewport_size(viewport)
    app.goto(world.rp_url)
    shot("the demo app", page=app)
    app.get_by_role("button", name="Log in with SSO").click()
    expect(h1(app)).to_have_text("Sign in with your work email")
    app.get_by_label("Work email").fill(email)
    shot("Gatehouse asks for the email", page=app)
    app.get_by_role("button", name="Continue").click()
    expect(h1(app)).to_have_text("Log in to the simulator")
    app.get_by_label("Email").fill(email)
    shot("the simulator", page=app)
    app.get_by_role("button", name="Log in").click()
    expect(h1(app)).to_have_text("Signed in")
    shot("signed in to the demo app", page=app)
    claims = app.get_by_role("table").first
    for claim, value in (
        ("email", email), ("organization_name", "Acme"), ("connection_id", connection_id),
    ):  # fmt: skip
        row = claims.get_by_role("row").filter(
            has=app.get_by_role("rowheader", name=claim, exact=True)
        )
        expect(row.get_by_role("cell")).to_have_text(value)


def _come_back(admin: Assistant, invitation: Invitation, connection_id: str) -> None:
    """Days later the admin opens the same link again: single sign-on is on, so it lands on
    the live connection's overview, named after its IdP, not on "Start" and the seven
    steps; from there, the welcome page lists it and offers another setup."""
    page = admin.page
    page.goto(invitation.url)
    page.get_by_role("button", name="Continue").click()
    # The simulator is a generic SAML IdP: the connection is named after its host.
    host = urlsplit(admin.world.simulator_url).hostname
    expect(h1(page)).to_have_text(f"{host} (SAML)")
    assert page.url.endswith(f"/portal/connections/{connection_id}")
    expect(page.get_by_text("People of Acme sign in through this connection.")).to_be_visible()
    admin.shot("the returning admin lands on the live connection")
    admin.check()
    page.get_by_role("link", name="All of Acme's connections").click()
    expect(h1(page)).to_have_text("Single sign-on for Acme")
    expect(page.get_by_role("heading", name="Single sign-on is on")).to_be_visible()
    expect(page.get_by_role("link", name="Start", exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", name="The steps")).to_have_count(0)
    admin.shot("the welcome page with single sign-on on")
    admin.check()
    live = page.get_by_role("link", name=f"{host} (SAML)")
    expect(live).to_have_attribute("href", f"/portal/connections/{connection_id}")
    page.get_by_role("link", name="Set up another connection").click()
    expect(h1(page)).to_have_text("Choose your identity provider")

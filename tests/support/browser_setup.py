"""The setup assistant's steps as a customer's IT admin takes them in the browser, shared by
the browser tests of a new connection (tests/browser/test_setup_flow.py) and of a failing
test's diagnosis (tests/browser/test_diagnosis_flow.py).

Everything here reads what the page shows and clicks what a person clicks, by role and
accessible name: no URL is typed except the portal link the app team sends by email, and no
form is posted by hand. The values a person copies into their identity provider (the SP
entity ID, the ACS URL, the TXT record) are read next to their visible labels. The only
thing known in advance is what the simulator's own documentation says: it serves its
metadata at `<simulator>/metadata` and needs no registration of the SP.

`Assistant.check` runs after each step's screenshot: `assert_accessible` on every portal
page of the flow (a test that walks pages another test checks turns it off with
`accessibility=False`, and checks its own pages with `check(..., always=True)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from playwright.sync_api import expect

from broker.model.management import UserAttribute
from broker.model.records import Organization
from tests.support.browser import Screenshots
from tests.support.browser_a11y import assert_accessible
from tests.support.browser_world import BrowserWorld
from tests.support.gatehouse import ACTOR

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, ViewportSize

#: The generic SAML tile's buttons are named "<tile>, <protocol>".
GENERIC_SAML_TILE = "Another SAML identity provider, SAML"
#: What the app team's self-service profile offers: a few products, and the generic tiles.
OFFERED = ("okta", "entra", "google", "generic-saml", "generic-oidc")
INTRODUCTION = "Northwind Notes signs your people in with your own identity provider."
BRAND_COLOR = "#6a1b9a"
#: The app needs a first name as well as the email: two required attributes to tick.
REQUIRED = (
    UserAttribute(name="email"),
    UserAttribute(name="given_name", description="Shown beside each note"),
)


@dataclass(frozen=True, slots=True)
class SpValues:
    """What the guide shows for this connection, as the person reads it off the page."""

    entity_id: str
    acs_url: str
    metadata_url: str


@dataclass(frozen=True, slots=True)
class Invitation:
    """What the app team set up, and the link they mail to the customer's IT admin."""

    organization: Organization
    url: str
    #: Changes made through the link are recorded as `portal_link:<link_id>`.
    link_id: str


def invite_acme(world: BrowserWorld, domain: str) -> Invitation:
    """The app team's side: the organization "Acme" with `domain` claimed (not verified),
    a branded self-service profile that requires a first name, and a new-connection link
    with SSO and the domain step."""
    management = world.broker.management
    org = world.organization("Acme")
    management.domains.add(ACTOR, org.id, domain)
    profile = world.profile(
        "Northwind Notes customers", strategies=list(OFFERED), attributes=REQUIRED,
        primary_color=BRAND_COLOR, introduction=INTRODUCTION,
    )  # fmt: skip
    features = ["sso", "domain_verification"]
    issued = world.issue(org.id, profile_id=profile.id, enabled_features=features)
    return Invitation(organization=org, url=issued.url, link_id=issued.link.id)


def shown_value(page: Page, label: str) -> str:
    """The value the page shows beside `label` (a copy row: the label, the value, its Copy
    button), as the person reads it before copying it. A page may show it more than once
    (the guide lists its values on top, and again in the step that needs them): always the
    same value."""
    values = page.get_by_text(label, exact=True).locator("xpath=following-sibling::code[1]")
    expect(values.first).to_be_visible()
    shown = {text.strip() for text in values.all_inner_texts()}
    assert len(shown) == 1, f"{label}: {shown}"
    return shown.pop()


def copy(page: Page, label: str) -> str:
    """Press the Copy button beside `label` and read the clipboard, as the person pastes
    it elsewhere (their DNS provider, their IdP). Needs the clipboard permissions (see
    `allow_clipboard`); the button says "Copied" once it has. A page that shows the value
    more than once (a guide: on top, and in its step) is copied from the first."""
    row = page.get_by_text(label, exact=True)
    button = row.locator("xpath=following-sibling::button[1]").first
    button.click()
    expect(button).to_have_text("Copied")
    pasted: str = page.evaluate("() => navigator.clipboard.readText()")
    assert pasted == shown_value(page, label)
    return pasted


def allow_clipboard(page: Page, origin: str) -> None:
    """What a person's browser asks once: the portal may write to the clipboard (and the
    test reads it back)."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)


def h1(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


@dataclass
class Assistant:
    """One IT admin in one browser tab, through the setup assistant."""

    world: BrowserWorld
    page: Page
    shot: Screenshots
    #: The tab size: the test login's tab opens at the context's, so it is set there too.
    viewport: ViewportSize | None = None
    #: Off for a test that walks pages another test checks, to keep the tier fast.
    accessibility: bool = True

    def check(self, page: Page | None = None, *, always: bool = False) -> None:
        """The step's accessibility check (after its screenshot: it moves focus)."""
        if not (self.accessibility or always):
            return
        assert_accessible(page or self.page)

    def open_link(self, url: str) -> None:
        """Follow the link from the mail, continue on the interstitial: the welcome page."""
        if self.viewport is not None:
            self.page.set_viewport_size(self.viewport)
        self.page.goto(url)
        expect(h1(self.page)).to_have_text("Set up single sign-on")
        self.shot("the link's interstitial")
        self.check()
        self.page.get_by_role("button", name="Continue").click()
        expect(h1(self.page)).to_have_text("Single sign-on for Acme")
        expect(self.page.get_by_text(INTRODUCTION)).to_be_visible()
        self.shot("welcome")
        self.check()

    def choose_generic_saml(self) -> None:
        self.page.get_by_role("link", name="Start").click()
        expect(h1(self.page)).to_have_text("Choose your identity provider")
        self.shot("choose the identity provider")
        self.check()
        self.page.get_by_role("button", name=GENERIC_SAML_TILE).click()
        expect(h1(self.page)).to_have_text("Create the application in your SAML identity provider")

    def read_guide(self) -> SpValues:
        """The guide: the values to give the IdP (the simulator needs none of them: it
        accepts any SP), read as the person would copy them."""
        self.shot("the guide")
        self.check()
        values = SpValues(
            entity_id=shown_value(self.page, "SP entity ID (audience, identifier)"),
            acs_url=shown_value(self.page, "ACS URL (reply URL, single sign-on URL)"),
            metadata_url=shown_value(self.page, "SP metadata URL"),
        )
        what_to_bring = self.page.get_by_role("heading", name="What to bring back")
        expect(what_to_bring).to_be_visible()
        expect(self.page.get_by_text("SAML metadata: a URL or a file")).to_be_visible()
        self.page.get_by_role("link", name="Next: give Gatehouse these settings").click()
        expect(h1(self.page)).to_have_text("Your identity provider's settings")
        return values

    def give_metadata_url(self) -> None:
        """The settings: the simulator's metadata URL (what the guide said to bring back).
        Its certificate lasts for years, so there is nothing to read: on to the attributes."""
        expect(self.page.get_by_text("SAML metadata: a URL or a file")).to_be_visible()
        self.shot("the settings")
        self.check()
        by_url = self.page.get_by_role("region", name="Option 1: from a URL")
        by_url.get_by_label("Metadata URL").fill(f"{self.world.simulator_url}/metadata")
        by_url.get_by_role("button", name="Save").click()
        expect(h1(self.page)).to_have_text("Attributes")

    def keep_attributes(self) -> None:
        """The attributes: the defaults, unchanged."""
        self.shot("the attributes")
        self.check()
        self.page.get_by_role("button", name="Save and continue").click()
        expect(h1(self.page)).to_have_text("Test a real login")
        self.shot("the test step")
        self.check()

    def test_login(self, email: str, scenario: str) -> Page:
        """The test step's button opens a new tab at the simulator; the person signs in as
        `email` with `scenario` and the tab lands on the result page, which is returned."""
        opener = self.page.get_by_role("button", name="Open a test login in a new tab")
        with self.page.context.expect_page() as opened:
            opener.click()
        tab = opened.value
        if self.viewport is not None:
            tab.set_viewport_size(self.viewport)
        return self._at_the_simulator(tab, email, scenario)

    def run_again(self, result: Page, email: str, scenario: str) -> Page:
        """ "Run the test again" on a result page: the same tab goes to the simulator and
        comes back with the new result."""
        result.get_by_role("button", name="Run the test again").click()
        return self._at_the_simulator(result, email, scenario)

    def _at_the_simulator(self, tab: Page, email: str, scenario: str) -> Page:
        """The simulator's login page (it asks who signs in, and how its answer should
        go); the broker checks the answer and sends the tab to the result page."""
        expect(h1(tab)).to_have_text("Log in to the simulator")
        tab.get_by_label("Email").fill(email)
        tab.get_by_label("Scenario").select_option(scenario)
        self.shot(f"the simulator: {scenario}", page=tab)
        tab.get_by_role("button", name="Log in").click()
        expect(h1(tab)).to_have_text("Test login result")
        return tab

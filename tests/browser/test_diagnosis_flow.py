"""A failing test login shows the right diagnosis, in Chromium.

The IT admin sets a new SAML connection up as in test_setup_flow.py, up to the test step
(those pages are checked for accessibility there); at the simulator they pick a failing
scenario. The result page says the test failed, names the problem, shows what Gatehouse
expected beside what it received (the expected value is the one the guide gave them, or the
certificate Gatehouse read from the IdP's metadata) and says how to fix it. The admin
changes nothing, runs the test again from the result page with the normal scenario, and it
passes: the diagnosis was about that one answer, and the settings were right.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.support.browser import Screenshots
from tests.support.browser_setup import Assistant, SpValues, h1, invite_acme
from tests.support.browser_world import BrowserWorld
from tests.support.certificates import fingerprint
from tests.support.scenarios import SAML

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Shown:
    """What the result page must show for a scenario beside its title (the scenario table's):
    the comparison row, and the fix."""

    #: The expected-vs-received row: its label, and the expected value from what the
    #: admin was shown (the SP values) and what Gatehouse stored (its trusted certificate).
    row: str
    expected: Callable[[SpValues, str], str | re.Pattern[str]]
    received: Callable[[SpValues, str], str | re.Pattern[str]]
    #: A sentence of the fix, in the generic SAML IdP's words, and the value it says to
    #: paste there, if any.
    fix: str
    fix_value: Callable[[SpValues], str] | None = None


SCENARIOS = {
    "wrong-audience": Shown(
        row="Audience (SP entity ID)",
        expected=lambda sp, _trusted: sp.entity_id,
        received=lambda sp, _trusted: f"{sp.entity_id}-other",
        fix="In your identity provider's settings for this application, set the Audience "
        "(also called SP Entity ID, Identifier or Audience Restriction) to:",
        fix_value=lambda sp: sp.entity_id,
    ),
    "expired": Shown(
        row="Its distance from Gatehouse's clock",
        expected=lambda _sp, _trusted: "within ± 120 s",
        received=lambda _sp, _trusted: re.compile(r"^-36\d\d s \(1 hour behind our clock\)$"),
        fix="Check the clock of your identity provider's server: it must be set by NTP.",
    ),
    "wrong-key": Shown(
        row="Signing certificate (SHA-256 fingerprint)",
        expected=lambda _sp, trusted: trusted,
        # Another certificate's: any fingerprint but the trusted one.
        received=lambda _sp, trusted: re.compile(
            rf"^(?!{trusted}$)([0-9A-F]{{2}}:){{31}}[0-9A-F]{{2}}$"
        ),
        fix="Download your identity provider's current signing certificate (or its metadata) "
        "and give it to Gatehouse in the connection's settings.",
    ),
}


def compared(result: Page, label: str) -> tuple[Locator, Locator]:
    """The Expected and Received cells of a row of the comparison table."""
    table = result.get_by_role("table", name="What Gatehouse expected, and what it received")
    row = table.get_by_role("row").filter(
        has=result.get_by_role("rowheader", name=label, exact=True)
    )
    cells = row.get_by_role("cell")
    return cells.nth(0), cells.nth(1)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_failing_test_login_says_what_is_wrong_and_how_to_fix_it(
    world: BrowserWorld, page: Page, shot: Screenshots, scenario: str
) -> None:
    shown = SCENARIOS[scenario]
    title = SAML[scenario].diagnosis.title  # the one scenario table's
    domain = f"acme-{scenario}.test"
    email = f"alice@{domain}"
    invitation = invite_acme(world, domain)
    admin = Assistant(world, page, shot, accessibility=False)
    admin.open_link(invitation.url)
    admin.choose_generic_saml()
    sp = admin.read_guide()
    admin.give_metadata_url()
    admin.keep_attributes()
    [connection] = world.broker.management.connections.page(
        invitation.organization.id, after=None, limit=10
    )
    [trusted] = [fingerprint(pem) for pem in connection.config["idp_certificates"]]

    # The failing answer, and what the page makes of it.
    result = admin.test_login(email, scenario)
    expect(result).to_have_title(re.compile(r"^Test login failed"))
    expect(result.get_by_text("✗ Failed", exact=True)).to_be_visible()
    diagnosis = result.get_by_role("region", name=title)
    expect(diagnosis.get_by_role("heading", level=2)).to_have_text(title)
    expected, received = compared(result, shown.row)
    expect(expected).to_have_text(shown.expected(sp, trusted))
    expect(received).to_have_text(shown.received(sp, trusted))
    fix = diagnosis.get_by_role("listitem").filter(has_text=shown.fix)
    expect(fix).to_have_count(1)
    if shown.fix_value is not None:
        expect(fix.get_by_role("code")).to_have_text(shown.fix_value(sp))
    expect(diagnosis.get_by_text(re.compile(r"^Reason code \w+"))).to_be_visible()
    shot("the test failed", page=result)
    admin.check(result, always=True)

    # Nothing changed, the test again with the normal answer: it passes.
    again = admin.run_again(result, email, "success")
    expect(again.get_by_text("✓ Passed", exact=True)).to_be_visible()
    shot("the test again: passed", page=again)
    again.get_by_role("link", name="Back to the connection").click()
    expect(h1(again)).to_have_text("Test a real login")
    results = again.get_by_role("table").filter(
        has=again.get_by_role("columnheader", name="Result")
    )
    expect(results.get_by_role("row")).to_have_count(3)  # the header, the pass, the failure
    expect(results.get_by_role("row").nth(1)).to_contain_text("✓ Passed")
    expect(results.get_by_role("row").nth(2)).to_contain_text("✗ Failed")
    expect(again.get_by_text("✓ A test of the current settings passed.")).to_be_visible()
    shot("the test step: failed, then passed", page=again)

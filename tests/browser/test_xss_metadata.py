"""T-10 in Chromium: IdP metadata whose every value holds `<img onerror>` markup, uploaded
through the setup assistant as a person does it, runs no script on any page that shows it.

Each payload's handler would set `window.__xss` and open a dialog; the CSP would refuse it
and say so on the console. So on every page: no dialog fired (in any tab), `window.__xss`
is unset, no `<img>` of ours has an `onerror`, and the page log has no error. The values
are asserted on as text the person reads (the markup, verbatim, as characters), so a page
that stopped showing them could not pass for one that escapes them.

The simulator names itself with its own entity ID, so the hostile one makes the test login
fail on the issuer: its result page quotes the entity ID Gatehouse expected. The pages of
a live connection are reached through an edit link for a connection made from the same
metadata through the management API (the simulator cannot go live under a hostile entity
ID here; tests/admin_portal/setup/test_xss.py takes one live in process, page by page).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.sync_api import expect

from broker.model.connection_labels import connection_label
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from tests.support.browser import PageLog, Screenshots
from tests.support.browser_setup import Assistant, h1, invite_acme
from tests.support.browser_world import BrowserWorld
from tests.support.gatehouse import ACTOR
from tests.support.xss_metadata import (
    ENTITY,
    SSO,
    Payload,
    certificate_payloads,
    hostile_certificate,
    hostile_metadata,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Dialog, FilePayload, Page

pytestmark = pytest.mark.browser

CERT_CN, CERT_O = certificate_payloads("cert")


class NoScriptRan:
    """Every dialog any tab of the context opens, and what each step checks: the screenshot
    first (the evidence, even of a failure), then that nothing ran, then that the person
    reads each payload's markup, as characters, on the page."""

    def __init__(
        self, context: BrowserContext, page: Page, page_log: PageLog, shot: Screenshots
    ) -> None:
        self.dialogs: list[str] = []
        self.page_log = page_log
        self.shot = shot
        page.on("dialog", self._dialog)
        context.on("page", lambda opened: opened.on("dialog", self._dialog))

    def step(self, page: Page, where: str, *shown: Payload) -> None:
        self.shot(where, page=page)
        self(page, where)
        for payload in shown:
            expect(page.locator("main")).to_contain_text(payload.element)

    def _dialog(self, dialog: Dialog) -> None:
        url = dialog.page.url if dialog.page else "?"
        self.dialogs.append(f"{dialog.type}: {dialog.message} ({url})")
        dialog.dismiss()

    def __call__(self, page: Page, where: str) -> None:
        assert self.dialogs == [], f"{where}: a payload opened a dialog: {self.dialogs}"
        assert page.evaluate("() => window.__xss") is None, f"{where}: a payload ran"
        assert page.locator("img[onerror]").count() == 0, f"{where}: a payload is markup"
        assert self.page_log.errors == [], f"{where}: the page reported {self.page_log.errors}"


def chosen_file(name: str, mime_type: str, content: bytes) -> FilePayload:
    """A file the person picks in the file dialog."""
    return {"name": name, "mimeType": mime_type, "buffer": content}


def simulator_certificate(world: BrowserWorld) -> str:
    """The simulator's signing certificate, from the metadata it publishes."""
    document = httpx.get(f"{world.simulator_url}/metadata", timeout=10).content
    return parse_idp_metadata(document).certificates[0]


def test_hostile_metadata_runs_no_script_in_the_assistant_or_on_the_connection(
    world: BrowserWorld,
    context: BrowserContext,
    page: Page,
    shot: Screenshots,
    page_log: PageLog,
) -> None:
    safe = NoScriptRan(context, page, page_log, shot)
    domain = f"xss-{secrets.token_hex(4)}.test"
    admin = Assistant(world, page, shot, accessibility=False)
    entity_id = f"{world.simulator_url}/{ENTITY.value}"
    sso_url = f"{world.simulator_url}/sso?from={SSO.value}"
    hostile = hostile_certificate("cert", not_after=datetime.now(UTC) + timedelta(days=20))
    document = hostile_metadata(entity_id, sso_url, [simulator_certificate(world), hostile])

    invitation = invite_acme(world, domain)
    admin.open_link(invitation.url)
    admin.choose_generic_saml()
    admin.read_guide()

    by_file = page.get_by_role("region", name="Option 2: from a file")
    by_file.get_by_label("Metadata file (XML)").set_input_files(
        files=chosen_file("idp.xml", "application/xml", document)
    )
    by_file.get_by_role("button", name="Upload and save").click()
    expect(h1(page)).to_have_text("Settings saved")
    safe.step(page, "the notes after the upload", CERT_CN, CERT_O)

    page.get_by_role("link", name="Continue: the attributes").click()
    expect(h1(page)).to_have_text("Attributes")
    safe.step(page, "the attributes")
    page.get_by_role("button", name="Save and continue").click()
    expect(h1(page)).to_have_text("Test a real login")
    safe.step(page, "the test step")

    # The simulator answers as itself: the issuer is not the hostile entity ID.
    result = admin.test_login(f"alice@{domain}", "success")
    issuer = result.get_by_role("heading", name="The response comes from an unexpected issuer")
    expect(issuer).to_be_visible()
    safe.step(result, "the wrong-issuer result", ENTITY)
    result.close()

    page.get_by_role("navigation", name="Setup steps").get_by_role("link", name="Settings").click()
    expect(h1(page)).to_have_text("Your identity provider's settings")
    safe.step(page, "the settings step with the stored values", ENTITY, SSO, CERT_CN, CERT_O)
    by_hand = page.get_by_role("region", name="Option 3: by hand")
    expect(by_hand.get_by_label("IdP entity ID (issuer)")).to_have_value(entity_id)
    expect(by_hand.get_by_label("SSO URL (sign-in URL, HTTP-Redirect binding)")).to_have_value(
        sso_url
    )

    _typed_values_come_back_as_text(page, safe)
    _the_live_connections_pages(world, page, safe, document)


def _typed_values_come_back_as_text(page: Page, safe: NoScriptRan) -> None:
    """The by-hand form refused (what was pasted is no certificate): what was typed comes
    back into the same fields, character for character."""
    entity, sso = Payload("typed-entity"), Payload("typed-sso", compact=True)
    pasted = f"</textarea>{Payload('typed-cert').value}"
    by_hand = page.get_by_role("region", name="Option 3: by hand")
    by_hand.get_by_label("IdP entity ID (issuer)").fill(f"urn:{entity.value}")
    by_hand.get_by_label("SSO URL (sign-in URL, HTTP-Redirect binding)").fill(
        f"https://idp.example.test/sso?{sso.value}"
    )
    by_hand.get_by_label("Or paste the certificate").fill(pasted)
    by_hand.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("This is not a certificate.")
    safe.step(page, "the refused form, typed values back")
    by_hand = page.get_by_role("region", name="Option 3: by hand")
    expect(by_hand.get_by_label("IdP entity ID (issuer)")).to_have_value(f"urn:{entity.value}")
    expect(by_hand.get_by_label("Or paste the certificate")).to_have_value(pasted)


def _the_live_connections_pages(
    world: BrowserWorld, page: Page, safe: NoScriptRan, document: bytes
) -> None:
    """A live connection made from the same metadata: its overview (its name too is made
    from the entity ID), its certificates, the refusal of another IdP's metadata (which
    quotes both entity IDs), and a new hostile certificate pending."""
    management = world.broker.management
    org = world.organization("Hostile IdP Corp")
    made = management.connections.create_saml(ACTOR, org.id, {"metadata_xml": document})
    connection = made.connection
    page.goto(world.link(org.id, connection_id=connection.id))
    page.get_by_role("button", name="Continue").click()
    # Named after the IdP's host (the name stored is made from the entity ID, payload and
    # all, and the facts below still show the entity ID).
    expect(h1(page)).to_have_text(connection_label(connection))
    safe.step(page, "the overview", ENTITY, SSO, CERT_CN, CERT_O)

    page.get_by_role("link", name="Add or remove a certificate").click()
    expect(h1(page)).to_have_text("Signing certificates")
    safe.step(page, "the certificates", CERT_CN, CERT_O)

    page.get_by_label("Metadata URL").fill(f"{world.simulator_url}/metadata")
    page.get_by_role("button", name="Fetch the metadata").click()
    expect(page.get_by_text("This metadata describes another identity provider")).to_be_visible()
    safe.step(page, "another IdP's metadata refused", ENTITY)

    after = hostile_certificate("next", not_after=datetime.now(UTC) + timedelta(days=400))
    page.get_by_label("Certificate file").set_input_files(
        files=chosen_file("next.pem", "application/x-pem-file", after.encode())
    )
    page.get_by_role("button", name="Add this certificate").click()
    expect(page.get_by_role("heading", name="Changes waiting to be switched over")).to_be_visible()
    safe.step(page, "a hostile certificate pending", *certificate_payloads("next"))

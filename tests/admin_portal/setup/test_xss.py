"""T-10, stored XSS through an IdP's metadata: an IT admin (or whoever controls their IdP)
uploads metadata whose every value holds markup, and every portal page that shows one of
those values shows it as text, from the upload to the active connection's overview.

The simulator here names itself with an entity ID that holds markup, so the test login
passes with it and the connection goes live carrying it; the SSO URL carries markup in
its query (without whitespace, which no URL has: an SSO URL with some is refused), also
into the AuthnRequest's Destination, which must stay well-formed XML for the simulator to
answer; and a certificate beside the simulator's has markup in its subject's CN and O (and
expires in 20 days, so the expiry warnings quote that subject too). The metadata's
Organization and ContactPerson are never read by Gatehouse: no page shows them, escaped
or not. Refusals that quote a value (an aggregate of IdPs named by entity ID, another IdP's
metadata, an unreachable URL, what was typed by hand) show it as text too.

Each assertion checks both halves: no payload is markup (`RAW` absent), and the value is on
the page, escaped (`Payload.shown` present), so a page that stopped showing a value cannot
pass for one that escapes it. Chromium runs the same metadata in
tests/browser/test_xss_metadata.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from markupsafe import escape
from starlette.testclient import TestClient

from broker.store import Store
from tests.admin_portal.setup_world import IDP_BASE, SetupWorld, idp_keys, setup_world
from tests.support.certificates import certificate_pem
from tests.support.gatehouse import ACTOR
from tests.support.maintain_world import build_maintain_world
from tests.support.portal_forms import submit
from tests.support.xss_metadata import (
    ENTITY,
    SSO,
    Payload,
    assert_escaped,
    certificate_payloads,
    entities,
    hostile_certificate,
    hostile_metadata,
)

#: The simulator's entity ID (its Responses' Issuer): `<base>/metadata`.
ENTITY_BASE = f"{IDP_BASE}/{ENTITY.value}"
ENTITY_ID = f"{ENTITY_BASE}/metadata"
#: https, no whitespace: the config takes it; the simulator's /sso ignores the parameter.
SSO_URL = f"{IDP_BASE}/sso?from={SSO.value}"
CERT = certificate_payloads("cert")
NEXT = certificate_payloads("next")


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path, simulator_base=ENTITY_BASE) as built:
        yield built


def settings_form(
    browser: TestClient,
    connection_id: str,
    data: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> httpx.Response:
    path = f"/portal/setup/{connection_id}/settings"
    return submit(browser, path, data, files=files, token_from=path)


def upload(browser: TestClient, connection_id: str, document: bytes) -> httpx.Response:
    files = {"metadata_file": ("idp.xml", document, "application/xml")}
    return settings_form(browser, connection_id, {"source": "file"}, files)


def post(browser: TestClient, path: str) -> httpx.Response:
    """The one button of the page at `path` (its form posts back to `path`)."""
    return submit(browser, path, token_from=path)


def errors(page: str) -> list[str]:
    """The refusals a page says (beside a field, or at the top), as written in the HTML."""
    return re.findall(r'class="(?:field-)?error"[^>]*>(.*?)</p>', page, flags=re.S)


def subject(pem: str) -> str:
    """A certificate's subject as the portal words it (RFC 4514)."""
    return x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string()


def test_hostile_metadata_is_text_on_every_page_from_the_upload_to_the_live_connection(
    world: SetupWorld,
) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    hostile = hostile_certificate("cert", not_after=world.clock.now() + timedelta(days=20))
    simulator = idp_keys().certificate_pem.decode()
    setup = f"/portal/setup/{connection.id}"

    saved = upload(
        browser, connection.id, hostile_metadata(ENTITY_ID, SSO_URL, [simulator, hostile])
    )
    assert saved.status_code == 200, saved.text
    assert "Settings saved" in saved.text
    assert_escaped(saved.text, *CERT, where="the notes after the upload")  # "Certificate … expires"
    stored = world.connection(connection.id).config
    assert (stored["idp_entity_id"], stored["sso_url"]) == (ENTITY_ID, SSO_URL)

    settings = browser.get(f"{setup}/settings")
    assert_escaped(settings.text, ENTITY, SSO, *CERT, where="the settings step")
    # The by-hand form starts from the stored values: inside attribute values, quotes too.
    assert f'name="idp_entity_id" value="{escape(ENTITY_ID)}"' in settings.text
    assert f'name="sso_url" value="{escape(SSO_URL)}"' in settings.text

    attributes = browser.get(f"{setup}/attributes")
    assert attributes.status_code == 200
    assert_escaped(attributes.text, where="the attributes step")  # shows none of them
    assert post(browser, f"{setup}/attributes").status_code == 303

    test_step = browser.get(f"{setup}/test")
    assert_escaped(test_step.text, where="the test step")  # shows none of them
    # The SSO URL reaches the page's CSP (form-action, for the hand-off): as an origin only.
    policy = test_step.headers["content-security-policy"]
    assert f"form-action 'self' {IDP_BASE};" in policy
    assert "onerror" not in policy

    # A refused test login quotes the entity ID Gatehouse expected: as text.
    refused = browser.get(world.test_login(browser, connection.id, scenario="wrong-issuer"))
    assert "The response comes from an unexpected issuer" in refused.text
    assert_escaped(refused.text, ENTITY, where="the wrong-issuer result")
    assert f'<code class="multi">{escape(ENTITY_ID)}</code>' in refused.text

    # The test login passes with that issuer; the decoded Response shows it, as text.
    passed = browser.get(world.test_login(browser, connection.id))
    assert "✓ Passed" in passed.text, passed.text
    assert_escaped(passed.text, where="the passed result")
    assert f"&amp;lt;{ENTITY.shown[4:]}" in passed.text  # XML-escaped, then HTML-escaped

    test_step = browser.get(f"{setup}/test")
    assert "Failed</span> (wrong_issuer)" in test_step.text
    assert_escaped(test_step.text, where="the test step with results")

    world.verified_domain(org.id)
    assert_escaped(browser.get(f"{setup}/activate").text, where="the activation step")
    assert post(browser, f"{setup}/activate").status_code == 303
    done = browser.get(f"{setup}/done")
    assert "Single sign-on is on" in done.text
    assert_escaped(done.text, where="the done page")  # shows none of them

    _the_live_connections_pages(world, org.id, connection.id, hostile)


def _the_live_connections_pages(
    world: SetupWorld, organization_id: str, connection_id: str, hostile: str
) -> None:
    """An edit link for the connection now live: its overview, its certificates, and a
    new certificate with markup in its subject, pending."""
    editor = world.signed_in(organization_id, connection_id=connection_id)
    path = f"/portal/connections/{connection_id}"

    overview = editor.get(path)
    assert overview.status_code == 200
    assert_escaped(overview.text, ENTITY, SSO, *CERT, where="the overview")
    # The expiry warning quotes the subject too (20 days left).
    assert f"The IdP signing certificate {escape(subject(hostile))} expires on" in overview.text

    certificates = editor.get(f"{path}/certificates")
    assert_escaped(certificates.text, *CERT, where="the certificates page")
    # The remove button's accessible name quotes the subject inside an attribute.
    assert (
        f'aria-label="Remove the certificate {escape(subject(hostile))} with' in certificates.text
    )

    after = hostile_certificate("next", not_after=world.clock.now() + timedelta(days=400))
    files = {"certificate_file": ("next.pem", after.encode(), "application/x-pem-file")}
    added = submit(editor, f"{path}/certificates", {"action": "add"}, files=files,
                   token_from=f"{path}/certificates")  # fmt: skip
    assert added.status_code == 303, added.text
    pending = editor.get(path)
    assert "Changes waiting to be switched over" in pending.text
    assert_escaped(pending.text, ENTITY, SSO, *CERT, *NEXT,
                   where="the overview with the change pending")  # fmt: skip
    assert f"Adds the certificate <code>{escape(subject(after))}</code>" in pending.text
    assert_escaped(editor.get(f"{path}/certificates").text, *CERT, *NEXT,
                   where="the certificates page with the change pending")  # fmt: skip


def test_the_post_bindings_hand_off_page_has_the_sso_url_as_an_attributes_text(
    world: SetupWorld,
) -> None:
    """Over the POST binding, the test login's first page is a form whose action is the SSO
    URL (sent by the portal's script): the URL is an attribute's text there, and only its
    origin reaches the page's CSP."""
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    simulator = idp_keys().certificate_pem.decode()
    document = hostile_metadata(ENTITY_ID, SSO_URL, [simulator], binding="post")
    assert upload(browser, connection.id, document).status_code == 303  # nothing to note
    test_step = f"/portal/setup/{connection.id}/test"
    hand_off = submit(browser, f"/portal/connections/{connection.id}/test", token_from=test_step)
    assert hand_off.status_code == 200, hand_off.text
    assert f'<form id="autopost" method="post" action="{escape(SSO_URL)}"' in hand_off.text
    assert_escaped(hand_off.text, SSO, where="the POST binding's hand-off")
    assert f"form-action 'self' {IDP_BASE};" in hand_off.headers["content-security-policy"]


def test_refusals_quote_what_was_given_as_text(world: SetupWorld) -> None:
    """The settings step's refusals that quote a value: an aggregate's entity IDs, an
    unreachable URL, and what was typed by hand (put back into the form's fields)."""
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    simulator = idp_keys().certificate_pem.decode()

    first, second = Payload("entity-a"), Payload("entity-b")
    aggregate = entities(
        f"{IDP_BASE}/{first.value}", f"{IDP_BASE}/{second.value}",
        sso_url=SSO_URL, certificate=simulator,
    )  # fmt: skip
    several = upload(browser, connection.id, aggregate)
    assert several.status_code == 422
    assert "Several IdPs in this document; choose one of:" in several.text, errors(several.text)
    assert_escaped(several.text, first, second, where="the aggregate's refusal")

    # An SSO URL with whitespace is no URL: refused beside the file, in words that do not
    # quote it (python3-saml would refuse it at every login: the 500 this caught).
    spaced = f"{IDP_BASE}/sso?from={Payload('spaced-sso').value}"
    refused = upload(browser, connection.id, hostile_metadata(ENTITY_ID, spaced, [simulator]))
    assert refused.status_code == 422
    assert "must be an absolute https URL with a full host name and no spaces" in refused.text, (
        errors(refused.text)
    )
    assert_escaped(refused.text, where="the spaced SSO URL's refusal")

    at_url = Payload("url", compact=True)
    url = f"https://unreachable.example/{at_url.value}"
    unreachable = settings_form(browser, connection.id, {"source": "url", "metadata_url": url})
    assert unreachable.status_code == 422
    assert "Gatehouse could not fetch the metadata: cannot reach" in unreachable.text, errors(
        unreachable.text
    )
    assert_escaped(unreachable.text, at_url, where="the unreachable URL's refusal")
    assert f'name="metadata_url" value="{escape(url)}"' in unreachable.text

    entity, sso, pasted = (
        Payload("typed-entity"),
        Payload("typed-sso", compact=True),
        Payload("typed-cert"),
    )
    typed = {
        "source": "manual",
        "idp_entity_id": f"urn:{entity.value}",
        "sso_url": f"{IDP_BASE}/sso?{sso.value}",
        # Not a certificate: refused, and put back into the textarea it came from.
        "certificate_text": f"</textarea>{pasted.value}",
    }
    by_hand = settings_form(browser, connection.id, typed)
    assert by_hand.status_code == 422
    assert "This is not a certificate." in by_hand.text, errors(by_hand.text)
    assert_escaped(by_hand.text, entity, sso, pasted,
                   where="the refused form, typed values shown back")  # fmt: skip
    assert "</textarea><img" not in by_hand.text
    assert world.connection(connection.id).config == connection.config


def test_another_idps_metadata_is_refused_quoting_both_entity_ids_as_text(
    store: Store, tmp_path: Path
) -> None:
    """The certificates page's "fetch from metadata" names the IdP it found and the one the
    connection trusts: both from metadata, both text. The connection was made from hostile
    metadata (what the settings step's upload saves, through the same use case)."""
    world = build_maintain_world(store, tmp_path)
    org = world.organization()
    stored, fetched = Payload("stored"), Payload("fetched")
    current = certificate_pem(not_after=world.clock.now() + timedelta(days=365))
    made = world.broker.management.connections.create_saml(
        ACTOR, org.id,
        {"metadata_xml": hostile_metadata(f"https://idp.acme.test/{stored.value}", SSO_URL,
                                          [current])},
    )  # fmt: skip
    connection = made.connection
    other = certificate_pem(not_after=world.clock.now() + timedelta(days=365))
    url = "https://idp.acme.test/other"
    world.documents[url] = hostile_metadata(f"https://other.test/{fetched.value}", SSO_URL, [other])
    browser = world.editing(org.id, connection)
    path = f"/portal/connections/{connection.id}"
    refused = submit(
        browser, f"{path}/certificates", {"action": "fetch", "metadata_url": url},
        token_from=f"{path}/certificates",
    )  # fmt: skip
    assert refused.status_code == 422
    assert "This metadata describes another identity provider" in refused.text, errors(refused.text)
    assert_escaped(refused.text, stored, fetched, where="the other IdP's refusal")
    assert world.stored(connection.id) == connection
    assert_escaped(browser.get(path).text, stored, SSO, where="its overview")

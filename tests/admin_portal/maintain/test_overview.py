"""The overview an edit link opens on: the IdP, its certificates with their expiry (a warning
30 days before, an error look once expired, both said in words), the values the IdP admin
pastes, recent sign-ins with their reasons in plain words, and the pending change."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import RSAKey

from broker.model.opaque import new_id
from broker.model.reasons import Reason
from broker.model.records import AuditEvent
from broker.settings import UpstreamSettings
from broker.store import Store
from broker.upstream.base import UpstreamUnavailable
from tests.support.certificates import certificate_pem, fingerprint
from tests.support.gatehouse import ACTOR
from tests.support.maintain_world import (
    IDP_ENTITY_ID,
    SSO_URL,
    MaintainWorld,
    build_maintain_world,
    op_key,
    world,
)
from tests.support.portal_forms import submit

__all__ = ["op_key", "world"]  # fixtures


def _row(page: str, text: str) -> str:
    """The table row that contains `text`."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", page, re.S):
        if text in row:
            return str(row)
    raise AssertionError(f"no row with {text!r}")


def test_an_edit_link_opens_on_its_connection(world: MaintainWorld) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    browser = world.editing(org.id, connection)
    page = browser.get("/portal/")
    assert page.status_code == 200
    assert str(page.url).endswith(f"/portal/connections/{connection.id}")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    text = page.text
    assert IDP_ENTITY_ID in text
    assert SSO_URL in text
    # What the IdP admin pastes, each behind a copy button.
    for value_id, value in (
        ("acs-url", f"https://gatehouse.test/saml/{connection.id}/acs"),
        ("sp-entity-id", f"https://gatehouse.test/saml/{connection.id}/metadata"),
        ("sp-metadata-url", f"https://gatehouse.test/saml/{connection.id}/metadata"),
    ):
        assert f'id="{value_id}">{value}</code>' in text
        assert f'data-copy="{value_id}"' in text
    assert "No one has signed in through this connection yet." in text
    assert "Changes waiting" not in text


def test_certificates_show_subject_fingerprint_and_expiry_with_a_warning(
    world: MaintainWorld,
) -> None:
    now = world.clock.now()
    lasting = certificate_pem(not_after=now + timedelta(days=400), common_name="Acme lasting")
    soon = certificate_pem(not_after=now + timedelta(days=20), common_name="Acme soon")
    org = world.organization()
    connection = world.saml(org.id, lasting, soon)

    def overview() -> str:
        """Opened with a fresh link: a portal session lasts hours, these steps are days."""
        page: httpx.Response = world.editing(org.id, connection).get(
            f"/portal/connections/{connection.id}"
        )
        assert page.status_code == 200
        return page.text

    page = overview()
    fine = _row(page, fingerprint(lasting))
    assert "CN=Acme lasting" in fine
    assert f"{now + timedelta(days=400):%Y-%m-%d}" in fine
    assert "Expires soon" not in fine
    assert "Expired" not in fine
    expiring = _row(page, fingerprint(soon))
    assert "CN=Acme soon" in expiring
    assert 'class="cert-expiring"' in expiring
    assert "Expires soon" in expiring
    assert "in 20 days" in expiring
    assert "expires on" in page  # describe()'s warning, in words

    # 31 days before expiry there is no warning yet; 30 days before, there is.
    world.clock.advance(timedelta(days=-11))
    assert "Expires soon" not in _row(overview(), fingerprint(soon))
    world.clock.advance(timedelta(days=1))
    assert "Expires soon" in _row(overview(), fingerprint(soon))

    # Once it has expired: an error look, and words that say so.
    world.clock.advance(timedelta(days=31))
    gone = _row(overview(), fingerprint(soon))
    assert 'class="cert-expired"' in gone
    assert "Expired" in gone
    assert "Sign-ins signed with it fail." in gone


def test_recent_sign_ins_say_what_happened_and_nothing_about_the_person(
    world: MaintainWorld,
) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    other = world.saml(org.id)
    now = world.clock.now()

    def login(kind: str, reason: str | None, minutes: int, connection_id: str) -> None:
        with world.store.unit_of_work() as uow:
            uow.audit.record(
                AuditEvent(
                    id=new_id("evt"), at=now + timedelta(minutes=minutes), kind=kind,
                    reason=reason, organization_id=org.id, connection_id=connection_id,
                    detail={"user_id": "usr_secretperson", "detail": "email ann@acme.test"},
                )
            )  # fmt: skip

    login("login.succeeded", None, 1, connection.id)
    login("login.failed", "signature_invalid", 2, connection.id)
    login("login.failed", "idp_refused:urn:oasis:names:tc:SAML:2.0:status:Responder", 3,
          connection.id)  # fmt: skip
    login("login.failed", "wrong_audience", 4, other.id)
    page = world.editing(org.id, connection).get(f"/portal/connections/{connection.id}").text

    succeeded = _row(page, f"{now + timedelta(minutes=1):%Y-%m-%d %H:%M}")
    assert "Signed in" in succeeded
    failed = _row(page, f"{now + timedelta(minutes=2):%Y-%m-%d %H:%M}")
    assert "Failed" in failed
    assert "did not match a certificate this connection trusts" in failed
    assert "<code>signature_invalid</code>" in failed
    refused = _row(page, f"{now + timedelta(minutes=3):%Y-%m-%d %H:%M}")
    assert "The identity provider refused the sign-in" in refused
    # Another connection's sign-ins are not this one's.
    assert f"{now + timedelta(minutes=4):%Y-%m-%d %H:%M}" not in page
    assert "check the audience" not in page
    # No personal data: not the user id, not the detail text.
    assert "usr_secretperson" not in page
    assert "ann@acme.test" not in page


def test_a_pending_change_is_shown_with_its_test_and_the_switch_over_waits_for_one(
    world: MaintainWorld,
) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    browser = world.editing(org.id, connection)
    new = certificate_pem(not_after=world.clock.now() + timedelta(days=700), common_name="Next")
    saved = submit(
        browser, f"/portal/connections/{connection.id}/certificates",
        {"action": "add", "certificate_text": new},
    )  # fmt: skip
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/portal/connections/{connection.id}?done=saved"
    page = browser.get(saved.headers["location"]).text
    assert "test the change, then switch over" in page
    section = page[page.index('id="pending-heading"') :]
    assert f"<code>{fingerprint(new)}</code>" in section
    assert "CN=Next" in section
    assert "Not tested" in section
    assert re.search(r'<button type="submit" class="primary" disabled[^>]*>Switch over', page)
    # The test button tests the draft, in a new tab.
    test_form = re.search(r'<form[^>]*/test" target="_blank">(.*?)</form>', page, re.S)
    assert test_form
    assert '<input type="hidden" name="draft" value="1">' in test_form.group(1)

    draft = world.stored(connection.id).draft
    failed = world.passed_test(connection, draft, passed=False)
    page = browser.get(f"/portal/connections/{connection.id}").text
    assert "Test failed" in page
    assert f'href="/portal/tests/{failed}"' in page
    assert re.search(r'class="primary" disabled[^>]*>Switch over', page)

    world.clock.advance(timedelta(minutes=1))
    passed = world.passed_test(connection, draft)
    page = browser.get(f"/portal/connections/{connection.id}").text
    assert "A test login with these changes passed" in page
    assert f'href="/portal/tests/{failed}"' not in page
    assert f'href="/portal/tests/{passed}"' in page
    assert re.search(r'<button type="submit" class="primary">Switch over', page)

    # A later failure is said, though the passed test still allows the switch-over.
    world.clock.advance(timedelta(minutes=1))
    world.passed_test(connection, draft, passed=False)
    page = browser.get(f"/portal/connections/{connection.id}").text
    assert "but the latest one failed" in page
    assert re.search(r'<button type="submit" class="primary">Switch over', page)


def test_an_oidc_connection_shows_its_issuer_and_redirect_uri_never_its_secret(
    store: Store, tmp_path: Path, op_key: RSAKey
) -> None:
    world = build_maintain_world(store, tmp_path, op_key=op_key)
    assert world.op is not None
    org = world.organization()
    connection = world.oidc(org.id)
    page = world.editing(org.id, connection).get(f"/portal/connections/{connection.id}").text
    assert world.op.issuer in page
    assert html.escape(world.op.client_id) in page
    assert "Set (never shown)" in page
    assert world.op.client_secret not in page
    assert html.escape(world.op.client_secret) not in page
    assert f'id="redirect-uri">https://gatehouse.test/oidc/{connection.id}/callback</code>' in page
    assert "Signing certificates" not in page
    assert f'href="/portal/connections/{connection.id}/secret"' in page


def test_an_oidc_connection_without_a_secret_offers_no_secret_change(
    store: Store, tmp_path: Path, op_key: RSAKey
) -> None:
    world = build_maintain_world(store, tmp_path, op_key=op_key)
    assert world.op is not None
    org = world.organization()
    settings = {
        "issuer": world.op.issuer,
        "client_id": world.op.client_id,
        "token_endpoint_auth_method": "private_key_jwt",
    }
    connection = world.broker.management.connections.create_oidc(ACTOR, org.id, settings).connection
    page = world.editing(org.id, connection).get(f"/portal/connections/{connection.id}").text
    assert "there is no client secret to change" in page
    assert f'href="/portal/connections/{connection.id}/secret"' not in page
    assert f'id="jwks-uri">https://gatehouse.test/oidc/{connection.id}/jwks.json</code>' in page


def test_the_overview_says_when_gatehouse_cannot_reach_the_idp(world: MaintainWorld) -> None:
    """The connection's circuit breaker (the broker's own bulkheads) opens after failed
    requests; the overview says so until a later request succeeds."""
    org = world.organization()
    connection = world.saml(org.id)
    bulkheads = world.broker.bulkheads
    browser = world.editing(org.id, connection)
    assert "cannot reach your identity provider" not in browser.get("/portal/").text

    for _ in range(UpstreamSettings().breaker_failures):
        with pytest.raises(UpstreamUnavailable), bulkheads.slot(connection.id):
            raise UpstreamUnavailable(
                Reason.TOKEN_ENDPOINT_UNAVAILABLE, detail="<b>did not answer</b>"
            )
    page = browser.get("/portal/").text
    assert "Gatehouse cannot reach your identity provider" in page
    assert "5 requests in a row" in page
    assert "&lt;b&gt;did not answer&lt;/b&gt;" in page  # the IdP's URL or words, as text
    # A trial request succeeds later (in this process or another): the breaker says so.
    world.clock.advance(timedelta(minutes=1))
    world.broker.management.connection_health.closed(connection.id)
    assert "cannot reach your identity provider" not in browser.get("/portal/").text


def test_the_overview_shows_the_metadata_url_the_refresh_reads(world: MaintainWorld) -> None:
    """Read-only: where Gatehouse re-reads the IdP's metadata, or that it reads none
    (review of issue 16, finding 6)."""
    org = world.organization()
    by_hand = world.saml(org.id)
    page = world.editing(org.id, by_hand).get(f"/portal/connections/{by_hand.id}").text
    assert "Metadata URL" in page
    assert "None: the settings were given by a metadata file or by hand" in page
    url = "https://idp.example.test/app/metadata?tenant=a&amp=1"
    refreshed = world.saml(org.id)
    with world.store.unit_of_work() as uow:
        uow.connections.save(
            replace(refreshed, config={**refreshed.config, "metadata_url": url}),
            expected_version=refreshed.version,
        )
    page = world.editing(org.id, refreshed).get(f"/portal/connections/{refreshed.id}").text
    assert f"<code>{html.escape(url)}</code>" in page
    assert "read again at least daily" in page

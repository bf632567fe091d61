"""Turning on: only after a real test login of exactly the current settings passed, and with
a verified domain. The page says what is missing and links to it; the use case checks again
when asked, so a forged POST without them is refused too, with a page a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from broker.store import Store
from tests.admin_portal.setup_world import IDP_METADATA_URL, ORIGIN, SetupWorld, setup_world
from tests.support.portal_forms import csrf_token


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


def turn_on(browser: TestClient, connection_id: str) -> httpx.Response:
    page = browser.get(f"/portal/setup/{connection_id}/activate")
    answer: httpx.Response = browser.post(
        f"/portal/setup/{connection_id}/activate",
        data={"csrf": csrf_token(page.text)},
        headers=ORIGIN,
        follow_redirects=False,
    )
    return answer


def configured(world: SetupWorld, browser: TestClient, org_id: str) -> str:
    connection = world.begin(org_id, "okta", "saml")
    page = browser.get(f"/portal/setup/{connection.id}/settings")
    saved = browser.post(
        f"/portal/setup/{connection.id}/settings",
        data={"csrf": csrf_token(page.text), "source": "url", "metadata_url": IDP_METADATA_URL},
        headers=ORIGIN,
    )
    assert saved.status_code == 200, saved.text
    return connection.id


def test_activation_needs_a_passed_test_of_the_current_settings_and_a_verified_domain(
    world: SetupWorld,
) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)
    connection_id = configured(world, browser, org.id)

    page = browser.get(f"/portal/setup/{connection_id}/activate")
    assert "✗ Not yet:</span> a login test of the current settings must pass" in page.text
    assert f'href="/portal/setup/{connection_id}/test"' in page.text
    assert f'href="/portal/domains?connection={connection_id}"' in page.text
    assert "disabled" in page.text
    refused = turn_on(browser, connection_id)
    assert refused.status_code == 409
    assert "Test a login with these settings first; it must pass." in refused.text
    assert not world.connection(connection_id).active

    # A failed test does not count.
    world.test_login(browser, connection_id, scenario="wrong-audience")
    assert turn_on(browser, connection_id).status_code == 409

    world.test_login(browser, connection_id)
    refused = turn_on(browser, connection_id)
    assert refused.status_code == 409
    assert "Verify at least one of your email domains first." in refused.text
    assert not world.connection(connection_id).active

    world.verified_domain(org.id)
    # Settings changed since the test: tested again before they go live.
    page = browser.get(f"/portal/setup/{connection_id}/attributes")
    browser.post(
        f"/portal/setup/{connection_id}/attributes",
        data={"csrf": csrf_token(page.text), "names_email": "mail"},
        headers=ORIGIN,
    )
    assert turn_on(browser, connection_id).status_code == 409
    assert "Earlier ones" in browser.get(f"/portal/setup/{connection_id}/test").text

    page = browser.get(f"/portal/setup/{connection_id}/attributes")
    browser.post(
        f"/portal/setup/{connection_id}/attributes",
        data={"csrf": csrf_token(page.text), "names_email": ""},
        headers=ORIGIN,
    )
    world.test_login(browser, connection_id)
    page = browser.get(f"/portal/setup/{connection_id}/activate")
    assert "disabled" not in page.text
    assert "✓ Done:</span> verified domain: acme.example." in page.text
    on = turn_on(browser, connection_id)
    assert on.status_code == 303
    assert world.connection(connection_id).active
    activated = [e for e in world.events(org.id) if e.kind == "connection.activated"]
    assert [e.actor for e in activated] == [f"portal_link:{world.link_ids[0]}"]


def test_the_done_page_is_for_a_connection_that_is_on(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    done = browser.get(f"/portal/setup/{connection.id}/done", follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/portal/setup/{connection.id}/activate"


def test_the_test_step_waits_for_the_settings(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    page = browser.get(f"/portal/setup/{connection.id}/test")
    assert "Give Gatehouse your identity provider" in page.text
    assert 'target="_blank"' not in page.text
    assert "No test yet." in page.text
    assert "form-action 'self';" in page.headers["content-security-policy"]
    configured_id = configured(world, browser, org.id)
    ready = browser.get(f"/portal/setup/{configured_id}/test")
    # The form is answered by a redirect to the IdP, which a browser checks against
    # form-action: the IdP's origin is allowed on this page, no other.
    csp = ready.headers["content-security-policy"]
    assert "form-action 'self' https://idp.example.test;" in csp
    assert (
        f'<form method="post" action="/portal/connections/{configured_id}/test" target="_blank">'
        in ready.text
    )

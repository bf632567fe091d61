"""The result page of a portal test login: who may read it (T-04, X-03), that the IdP's
content is shown escaped, and the diagnoses the simulator's scenarios do not reach (a wrong
client secret; no verified domain yet). Whether each scenario's answer is shown (only once
its signature verified) is a column of the scenario tables, checked in
test_results_scenarios.py."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from broker.store import Store
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER
from tests.support.gatehouse import ACTOR
from tests.support.portal_forms import csrf_token
from tests.support.portal_idp_world import PortalIdpWorld, build_portal_idp_world
from tests.support.saml_pages import autopost, hidden_fields, login_form
from tests.support.scenario_checks import page_text
from tests.support.simulator import arrive


def _failed_test(idp_world: PortalIdpWorld) -> str:
    """A failed SAML test of the world's organization; the path of its result page."""
    connection = idp_world.saml_connection()
    idp_world.saml_test(connection, "wrong-audience")
    return f"/portal/tests/{idp_world.last_test_id}"


# -- who may read a result ------------------------------------------------------------------


def test_another_organizations_result_is_not_found(idp_world: PortalIdpWorld) -> None:
    """T-04: the id of organization A's result, from a session of organization B, is "not
    found", exactly as an id that does not exist; nothing of the report shows."""
    path = _failed_test(idp_world)
    rival = idp_world.portal.organization("Rival Inc")
    theirs = idp_world.portal.signed_in(rival.id)
    page = theirs.get(path)
    assert page.status_code == 404
    assert "nothing here for your organization" in page.text
    assert "metadata-other" not in page.text  # the IdP's audience, from the report
    assert "Example Corp" not in page.text
    absent = theirs.get("/portal/tests/tst_doesnotexist000000000")
    assert absent.status_code == 404
    assert "nothing here for your organization" in absent.text


def test_an_edit_link_reads_only_its_own_connections_results(idp_world: PortalIdpWorld) -> None:
    path = _failed_test(idp_world)
    other = idp_world.saml_connection()
    edit = idp_world.portal.signed_in(idp_world.organization.id, connection_id=other.id)
    assert edit.get(path).status_code == 404
    mine = idp_world.portal.signed_in(
        idp_world.organization.id, connection_id=idp_world.last_test().connection_id
    )
    assert mine.get(path).status_code == 200


def test_without_a_session_the_result_is_not_shown(idp_world: PortalIdpWorld) -> None:
    path = _failed_test(idp_world)
    stranger = idp_world.portal.browser()
    page = stranger.get(path)
    assert page.status_code == 401
    assert "metadata-other" not in page.text


def test_a_link_without_single_sign_on_cannot_read_results(idp_world: PortalIdpWorld) -> None:
    path = _failed_test(idp_world)
    domains_only = idp_world.portal.signed_in(
        idp_world.organization.id, enabled_features=("domain_verification",)
    )
    page = domains_only.get(path)
    assert page.status_code == 403
    assert "metadata-other" not in page.text


# -- what a failure page shows --------------------------------------------------------------


def test_a_failure_page_has_the_reference_and_no_stack_trace(idp_world: PortalIdpWorld) -> None:
    path = _failed_test(idp_world)
    page = idp_world.browser.get(path)
    assert page.status_code == 200
    reference = page.headers["x-request-id"]
    assert f"Reference <code>{reference}</code>" in page.text
    assert "Traceback" not in page.text
    assert 'File "' not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_the_idps_content_is_escaped_everywhere(idp_world: PortalIdpWorld) -> None:
    """T-10: what the IdP sends is text on the page, never markup: an attribute value with
    a script tag shows in the profile, the attributes and the decoded XML, escaped."""
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    connection = idp_world.saml_connection(required=("email",))
    to_idp = idp_world.start_test(connection.id)
    page = _login_page(idp_world, to_idp)
    form = login_form(
        hidden_fields(page)["pending"], email="alice@example.com", attributes=f"displayName={evil}"
    )
    posted = idp_world.idp.post("/sso/login", data=form)
    result = idp_world.result(arrive(idp_world.browser, autopost(posted.text)))
    assert result.status_code == 200
    assert "Passed" in result.text
    assert "<script>alert" not in result.text
    assert "<img src=x" not in result.text
    assert "&lt;script&gt;alert(" in result.text
    assert re.search(r"<script(?![^>]*src=)", result.text) is None  # no inline script at all


def _login_page(idp_world: PortalIdpWorld, to_idp: httpx.Response) -> str:
    location = urlsplit(to_idp.headers["location"])
    page: httpx.Response = idp_world.idp.get(f"{location.path}?{location.query}")
    assert page.status_code == 200
    return page.text


# -- diagnoses beyond the simulator's scenarios ---------------------------------------------


def test_a_wrong_client_secret_is_named_as_such(idp_world: PortalIdpWorld) -> None:
    """The token endpoint's invalid_client: "the client secret is wrong or expired", with
    the vendor's place to make a new one."""
    connection = idp_world.oidc_connection("keycloak")
    idp_world.portal.broker.management.connections.update(
        ACTOR, idp_world.organization.id, connection.id, client_secret="not-the-secret"
    )
    page = idp_world.oidc_test(connection, "success")
    assert idp_world.last_test().reason == "token_error"
    text = page_text(page.text)
    assert "The client secret is wrong or expired" in text
    assert "invalid_client (HTTP 401)" in text
    assert "Credentials tab" in text  # Keycloak's own label
    assert "not-the-secret" not in page.text
    assert "not-the-secret" not in str(idp_world.last_test().report)


def test_before_any_domain_is_verified_a_test_passes_with_a_note(
    store: Store, tmp_path: Path, idp_keys: IdpKeys
) -> None:
    """The setup steps may come in either order: without a verified domain yet, the test
    passes and says which domain to verify; once one is verified, an address outside the
    verified domains fails the test (as it would fail a login)."""
    idp_world = build_portal_idp_world(store, tmp_path, idp_keys, verify_domain=False)
    with idp_world.browser, idp_world.idp:
        connection = idp_world.saml_connection()
        page = idp_world.saml_test(connection, "success")
        assert idp_world.last_test().passed
        assert "Before you turn single sign-on on, verify example.com" in page_text(page.text)

        domains = idp_world.portal.broker.management.domains
        domains.add(ACTOR, idp_world.organization.id, "example.org")
        domains.mark_verified(ACTOR, idp_world.organization.id, "example.org")
        page = idp_world.saml_test(connection, "success")
        assert not idp_world.last_test().passed
        assert idp_world.last_test().reason == "email_domain_not_verified"
        assert "one of: example.org" in page_text(page.text)


def test_the_result_offers_the_same_test_again(idp_world: PortalIdpWorld) -> None:
    path = _failed_test(idp_world)
    page = idp_world.browser.get(path)
    token = csrf_token(page.text)
    action = re.search(r'<form method="post" action="([^"]+/test)"', page.text)
    assert action
    again = idp_world.browser.post(
        action.group(1), data={"csrf": token}, headers={"Origin": ISSUER}, follow_redirects=False
    )
    assert again.status_code == 303
    assert again.headers["location"].startswith("https://idp.example.test/sso?")


def test_the_result_page_lets_its_test_form_reach_the_idp_and_nowhere_else(
    idp_world: PortalIdpWorld,
) -> None:
    """A browser checks CSP form-action on the redirect that answers a form: "Run the test
    again" hands the browser to the IdP, so the page allows the IdP's origin, and only it
    (Chromium stopped the hand-off before: tests/browser/test_diagnosis_flow.py)."""
    page = idp_world.browser.get(_failed_test(idp_world))
    found = re.search(r"form-action ([^;]+);", page.headers["content-security-policy"])
    assert found
    assert found.group(1).split() == ["'self'", "https://idp.example.test"]

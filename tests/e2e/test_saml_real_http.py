"""SAML logins over real HTTP on loopback, every party its own server: the demo relying
party (a strict, independent RP app) → Gatehouse → the IdP simulator → Gatehouse's ACS →
back to the RP, which redeems the code and verifies the ID token itself.

Every simulator scenario is played. Success must reach the RP with a verified ID token
describing Alice and Example Corp; every failure must leave the person on Gatehouse's error
page with a reference id, send no code (nor anything) to the RP, and leave an audit event,
correlated by that reference, recording the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from broker.app import Broker
from broker.demo import seed_example_corp_with
from broker.model.records import Connection
from broker.settings import Settings
from idp_simulator.saml.scenarios import Scenario
from tests.support.loopback_world import (
    BACKENDS,
    LoopbackWorld,
    browser_client,
    loopback_world,
    verified_claims,
)
from tests.support.saml_http import EMAIL, ORG_NAME, SamlBrowser, reference_on_page

pytestmark = pytest.mark.e2e

VERIFY = "We could not verify your sign-in"

# scenario -> (audit reason, text on the error page, HTTP status)
FAILURES: dict[str, tuple[str, str, int]] = {
    "expired": ("expired", VERIFY, 400),
    "not-yet-valid": ("not_yet_valid", VERIFY, 400),
    "wrong-audience": ("wrong_audience", VERIFY, 400),
    "wrong-destination": ("wrong_destination", VERIFY, 400),
    "wrong-issuer": ("wrong_issuer", VERIFY, 400),
    "unsigned": ("unsigned", VERIFY, 400),
    "wrong-key": ("signature_invalid", VERIFY, 400),
    "in-response-to-mismatch": ("in_response_to_mismatch", VERIFY, 400),
    "signature-wrapping": ("wrong_number_of_assertions", VERIFY, 400),
    "sha1-signature": ("weak_algorithm", VERIFY, 400),
    "status-responder": ("idp_refused:Responder", "did not sign you in", 403),
    "status-authn-failed": ("idp_refused:Responder / AuthnFailed", "AuthnFailed", 403),
    "missing-email": ("missing_attributes", "Missing: email", 403),
    "nameid-comment": ("email_domain_not_verified", "cannot be used here", 403),
}


def seed(broker: Broker, simulator_url: str, settings: Settings) -> Connection:
    """Example Corp through the demo's own seed, from the simulator's metadata URL."""
    return seed_example_corp_with(broker, simulator_url=simulator_url)


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoopbackWorld]:
    with loopback_world(request, tmp_path_factory.mktemp("saml-http"), seed) as world:
        yield world


def start(live: LoopbackWorld, browser: SamlBrowser) -> httpx.Response:
    """The person clicks "log in" at the RP and lands on the simulator's login page."""
    to_gatehouse = browser.http.get(f"{live.rp_url}/login", params={"login_hint": EMAIL})
    assert to_gatehouse.status_code == 302, to_gatehouse.text
    authorize_url = to_gatehouse.headers["location"]
    assert authorize_url.startswith(f"{live.issuer}/authorize?"), authorize_url
    return browser.at_idp(authorize_url, simulator_url=live.simulator_url)


@pytest.fixture
def browser() -> Iterator[SamlBrowser]:
    with browser_client() as http:
        yield SamlBrowser(http)


def test_every_scenario_of_the_simulator_is_played() -> None:
    assert {*FAILURES, "success", "replay"} == {scenario.value for scenario in Scenario}


def test_alice_logs_in_and_the_relying_party_verifies_her_id_token(
    live: LoopbackWorld, browser: SamlBrowser
) -> None:
    postback = browser.log_in(start(live, browser), simulator_url=live.simulator_url)
    assert postback.acs_url == f"{live.issuer}/saml/{live.connection_id}/acs"
    back = browser.post(postback)
    result = browser.follow(back, f"{live.rp_url}/callback?")
    assert result.status_code == 200, result.text
    assert "Signed in" in result.text  # signature, iss, aud, exp, nonce, at_hash checked
    claims = verified_claims(result.text)
    assert claims["email"] == EMAIL
    assert claims["email_verified"] is True
    assert claims["organization_id"] == live.organization_id
    assert claims["organization_name"] == ORG_NAME
    assert claims["connection_id"] == live.connection_id
    assert claims["idp_type"] == "saml"
    [event] = live.audit_for(back.headers["x-request-id"])
    assert (event.kind, event.reason) == ("login.succeeded", None)
    assert event.detail["user_id"] == claims["sub"]


@pytest.mark.parametrize("scenario", sorted(FAILURES))
def test_a_failing_scenario_ends_on_an_error_page_and_nothing_reaches_the_rp(
    live: LoopbackWorld, browser: SamlBrowser, scenario: str
) -> None:
    reason, text, status = FAILURES[scenario]
    postback = browser.log_in(
        start(live, browser), simulator_url=live.simulator_url, scenario=scenario
    )
    callbacks_before = live.rp_log.callbacks()
    back = browser.post(postback)
    assert back.status_code == status, back.text
    assert "location" not in back.headers
    assert text in back.text
    assert "Traceback" not in back.text
    reference = reference_on_page(back)
    assert live.rp_log.callbacks() == callbacks_before  # no code, no error: nothing
    [event] = live.audit_for(reference)
    assert (event.kind, event.reason) == ("login.failed", reason)
    assert event.connection_id == live.connection_id


def test_a_replayed_response_is_refused_and_only_the_first_reaches_the_rp(
    live: LoopbackWorld, browser: SamlBrowser
) -> None:
    postback = browser.log_in(
        start(live, browser), simulator_url=live.simulator_url, scenario="replay"
    )
    first = browser.post(postback)
    assert first.status_code == 302, first.text
    assert "code=" in first.headers["location"]
    callbacks_before = live.rp_log.callbacks()
    again = browser.post(browser.replay(simulator_url=live.simulator_url))
    assert again.status_code == 400, again.text
    assert "location" not in again.headers
    assert "This sign-in has expired" in again.text
    assert live.rp_log.callbacks() == callbacks_before
    [event] = live.audit_for(reference_on_page(again))
    assert (event.kind, event.reason) == ("login.failed", "flow_expired")

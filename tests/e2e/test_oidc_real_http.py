"""OIDC logins over real HTTP on loopback, every party its own server: the demo relying
party (a strict, independent RP app) → Gatehouse → the IdP simulator's OpenID Provider →
Gatehouse's redirect URI (which redeems the code at the simulator over real HTTP, through
Gatehouse's own guarded outbound client) → back to the RP, which redeems Gatehouse's code and
verifies the ID token itself.

Every OIDC scenario of the simulator is played. Success must reach the RP with a verified ID
token describing Alice and Example Labs; every failure must leave the person on Gatehouse's
error page with a reference id, send no code (nor anything) to the RP, and leave an audit
event, correlated by that reference, recording the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broker.app import Broker
from broker.demo import demo_oidc_client_secret, seed_example_labs_with
from broker.model.records import Connection
from broker.settings import Settings
from idp_simulator.oidc.scenarios import OidcScenario
from tests.support.loopback_world import (
    BACKENDS,
    LoopbackWorld,
    browser_client,
    loopback_world,
    verified_claims,
)
from tests.support.oidc_http import EMAIL, ORG_NAME, OidcBrowser
from tests.support.saml_http import reference_on_page

pytestmark = pytest.mark.e2e

VERIFY = "We could not verify your sign-in"

# scenario -> (audit reason, text on the error page, HTTP status); the reasons are those of
# the in-process tests (tests/broker/upstream/oidc/test_login_scenarios.py).
FAILURES: dict[str, tuple[str, str, int]] = {
    "wrong-issuer": ("wrong_issuer", VERIFY, 400),
    "wrong-audience": ("wrong_audience", VERIFY, 400),
    "expired": ("expired", VERIFY, 400),
    "nonce-mismatch": ("nonce_mismatch", VERIFY, 400),
    "unknown-key": ("unknown_key", VERIFY, 400),
    "alg-none": ("algorithm_not_allowed", VERIFY, 400),
    "missing-email": ("missing_attributes", "Missing: email", 403),
    "email-unverified": ("email_not_verified", "not verified", 403),
    "access-denied": ("idp_refused:access_denied", "did not sign you in", 403),
}


def seed(broker: Broker, simulator_url: str, settings: Settings) -> Connection:
    """Example Labs through the demo's own seed: `Connections.create_oidc` fetches and checks
    the running simulator's discovery document before anything is stored."""
    return seed_example_labs_with(
        broker, simulator_url=simulator_url, client_secret=demo_oidc_client_secret(settings)
    )


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoopbackWorld]:
    with loopback_world(request, tmp_path_factory.mktemp("oidc-http"), seed) as world:
        yield world


def redirect_uri(live: LoopbackWorld) -> str:
    return f"{live.issuer}/oidc/{live.connection_id}/callback"


def log_in(live: LoopbackWorld, browser: OidcBrowser, scenario: str) -> str:
    """The person clicks "log in" at the RP, lands at the simulator's login page and logs in
    there; returns where the simulator sends the browser back (not followed)."""
    to_gatehouse = browser.http.get(f"{live.rp_url}/login", params={"login_hint": EMAIL})
    authorize_url = to_gatehouse.headers["location"]
    assert authorize_url.startswith(f"{live.issuer}/authorize?"), authorize_url
    page = browser.at_simulator(authorize_url, simulator_url=live.simulator_url)
    callback = browser.log_in(page, simulator_url=live.simulator_url, scenario=scenario)
    assert callback.startswith(f"{redirect_uri(live)}?"), callback
    return callback


@pytest.fixture
def browser() -> Iterator[OidcBrowser]:
    with browser_client() as http:
        yield OidcBrowser(http)


def test_every_oidc_scenario_of_the_simulator_is_played() -> None:
    assert {*FAILURES, "success", "replay"} == {scenario.value for scenario in OidcScenario}


def test_alice_logs_in_and_the_relying_party_verifies_her_id_token(
    live: LoopbackWorld, browser: OidcBrowser
) -> None:
    back = browser.http.get(log_in(live, browser, "success"))
    result = browser.hop(back, f"{live.rp_url}/callback?")
    assert result.status_code == 200, result.text
    assert "Signed in" in result.text  # signature, iss, aud, exp, nonce, at_hash checked
    claims = verified_claims(result.text)
    assert claims["email"] == EMAIL
    assert claims["email_verified"] is True
    assert claims["organization_id"] == live.organization_id
    assert claims["organization_name"] == ORG_NAME
    assert claims["connection_id"] == live.connection_id
    assert claims["idp_type"] == "oidc"
    assert claims["raw_attributes"]["sub"].startswith("sim-")
    [event] = live.audit_for(back.headers["x-request-id"])
    assert (event.kind, event.reason) == ("login.succeeded", None)
    assert event.detail["user_id"] == claims["sub"]


@pytest.mark.parametrize("scenario", sorted(FAILURES))
def test_a_failing_scenario_ends_on_an_error_page_and_nothing_reaches_the_rp(
    live: LoopbackWorld, browser: OidcBrowser, scenario: str
) -> None:
    reason, text, status = FAILURES[scenario]
    callback = log_in(live, browser, scenario)
    callbacks_before = live.rp_log.callbacks()
    back = browser.http.get(callback)
    assert back.status_code == status, back.text
    assert "location" not in back.headers
    assert text in back.text
    assert "Traceback" not in back.text
    assert "simulated" not in back.text.lower()  # the IdP's error_description is not shown
    reference = reference_on_page(back)
    assert live.rp_log.callbacks() == callbacks_before  # no code, no error: nothing
    [event] = live.audit_for(reference)
    assert (event.kind, event.reason) == ("login.failed", reason)
    assert event.connection_id == live.connection_id


def test_a_replayed_callback_is_refused_and_only_the_first_reaches_the_rp(
    live: LoopbackWorld, browser: OidcBrowser
) -> None:
    first = browser.http.get(log_in(live, browser, "replay"))
    assert first.status_code == 302, first.text
    assert "code=" in first.headers["location"]
    callbacks_before = live.rp_log.callbacks()
    again = browser.http.get(browser.replay(simulator_url=live.simulator_url))
    assert again.status_code == 400, again.text
    assert "location" not in again.headers
    assert "This sign-in has expired" in again.text
    assert live.rp_log.callbacks() == callbacks_before
    [event] = live.audit_for(reference_on_page(again))
    assert (event.kind, event.reason) == ("login.failed", "flow_expired")

"""SAML logins over real HTTP on loopback, every party its own server: the demo relying
party (a strict, independent RP app) → Gatehouse → the IdP simulator → Gatehouse's ACS →
back to the RP, which redeems the code and verifies the ID token itself.

This tier plays what only real HTTP shows: real sockets and the uvicorn stack, the auto-post
form, redirects and cookies across three origins, headers on the wire. It plays the success,
and every refused row of the SAML scenario table (tests/support/saml_scenarios.toml) as a
person of the demo would: typing `<scenario>@example.com` in the demo app, whose address
reaches the simulator (in the AuthnRequest's Subject) and chooses the scenario there. On
SQLite; what every scenario means, on SQLite and PostgreSQL, is proven in process from the
same table (tests/broker/upstream/saml/test_login_scenarios.py).

Success must reach the RP with a verified ID token; a refusal must leave the person on
Gatehouse's error page with a reference, send no code to the RP, record an audit event
correlated by that reference, and take the person back to the RP with the row's `error`
when they press the page's button.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from broker.app import Broker
from broker.demo import seed_example_corp_with
from broker.model.records import Connection
from broker.settings import Settings
from tests.support.loopback_world import LoopbackWorld, browser_client, loopback_world
from tests.support.saml_http import EMAIL, ORG_NAME, SamlBrowser
from tests.support.scenario_checks import assert_refused_on_the_wire, assert_rp_signed_in
from tests.support.scenarios import SAML, Row, by_scenario, refused
from tests.support.simulator_moves import prefilled_email

pytestmark = pytest.mark.e2e


def seed(broker: Broker, simulator_url: str, settings: Settings) -> Connection:
    """Example Corp through the demo's own seed, from the simulator's metadata URL."""
    return seed_example_corp_with(broker, simulator_url=simulator_url)


@pytest.fixture(scope="module", params=["sqlite"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoopbackWorld]:
    with loopback_world(request, tmp_path_factory.mktemp("saml-http"), seed) as world:
        yield world


def start(live: LoopbackWorld, browser: SamlBrowser, email: str = EMAIL) -> httpx.Response:
    """The person types `email` at the RP, clicks "log in", and lands on the simulator's
    login page."""
    to_gatehouse = browser.http.get(f"{live.rp_url}/login", params={"login_hint": email})
    assert to_gatehouse.status_code == 302, to_gatehouse.text
    authorize_url = to_gatehouse.headers["location"]
    assert authorize_url.startswith(f"{live.issuer}/authorize?"), authorize_url
    return browser.at_idp(authorize_url, simulator_url=live.simulator_url)


@pytest.fixture
def browser() -> Iterator[SamlBrowser]:
    with browser_client() as http:
        yield SamlBrowser(http)


def test_alice_logs_in_and_the_relying_party_verifies_her_id_token(
    live: LoopbackWorld, browser: SamlBrowser
) -> None:
    postback = browser.log_in(start(live, browser), simulator_url=live.simulator_url)
    assert postback.acs_url == f"{live.issuer}/saml/{live.connection_id}/acs"
    back = browser.post(postback)
    result = browser.follow(back, f"{live.rp_url}/callback?")
    assert_rp_signed_in(
        live, back, result, email=EMAIL, organization_name=ORG_NAME, idp_type="saml"
    )


@pytest.mark.parametrize("row", refused(SAML), ids=by_scenario)
def test_a_scenario_chosen_by_the_address_in_the_demo_app_ends_back_there_with_its_error(
    live: LoopbackWorld, browser: SamlBrowser, row: Row
) -> None:
    """As README's demo promises: the person types `<scenario>@example.com` in the demo
    app; the address travels to the simulator in the AuthnRequest's Subject, so "Log in"
    there runs that scenario; Gatehouse's refusal page's button takes the error, `state`
    and `iss` back to the demo app."""
    assert row.refusal is not None
    address = f"{row.scenario}@example.com"
    login_page = start(live, browser, address)
    assert prefilled_email(login_page) == address
    # As shown: the address the simulator starts with, no scenario picked from its list.
    postback = browser.log_in(
        login_page, simulator_url=live.simulator_url, email=address, scenario=""
    )
    assert_refused_on_the_wire(live, browser.http, lambda: browser.post(postback), row.refusal)

"""OIDC logins over real HTTP on loopback, every party its own server: the demo relying
party (a strict, independent RP app) → Gatehouse → the IdP simulator's OpenID Provider →
Gatehouse's redirect URI (which redeems the code at the simulator over real HTTP, through
Gatehouse's own guarded outbound client) → back to the RP, which redeems Gatehouse's code and
verifies the ID token itself.

This tier plays what only real HTTP shows: real sockets and the uvicorn stack, redirects and
cookies across three origins, the back channel on real sockets, headers on the wire. It
plays the success, and every refused row of the OIDC scenario table
(tests/support/oidc_scenarios.toml) as a person of the demo would: typing
`<scenario>@example.org` in the demo app, whose address reaches the simulator (login_hint)
and chooses the scenario there. On SQLite; what every scenario means, on SQLite and
PostgreSQL, is proven in process from the same table
(tests/broker/upstream/oidc/test_login_scenarios.py).

Success must reach the RP with a verified ID token; a refusal must leave the person on
Gatehouse's error page with a reference, send no code to the RP, record an audit event
correlated by that reference, and take the person back to the RP with the row's `error`
when they press the page's button.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broker.app import Broker
from broker.demo import demo_oidc_client_secret, seed_example_labs_with
from broker.model.records import Connection
from broker.settings import Settings
from idp_simulator.oidc.scenarios import OidcScenario
from tests.support.loopback_world import LoopbackWorld, browser_client, loopback_world
from tests.support.oidc_http import EMAIL, ORG_NAME, OidcBrowser
from tests.support.scenario_checks import assert_refused_on_the_wire, assert_rp_signed_in
from tests.support.scenarios import OIDC, Row, by_scenario, refused
from tests.support.simulator_moves import prefilled_email

pytestmark = pytest.mark.e2e


def seed(broker: Broker, simulator_url: str, settings: Settings) -> Connection:
    """Example Labs through the demo's own seed: `Connections.create_oidc` fetches and checks
    the running simulator's discovery document before anything is stored."""
    return seed_example_labs_with(
        broker, simulator_url=simulator_url, client_secret=demo_oidc_client_secret(settings)
    )


@pytest.fixture(scope="module", params=["sqlite"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoopbackWorld]:
    with loopback_world(request, tmp_path_factory.mktemp("oidc-http"), seed) as world:
        yield world


def log_in(live: LoopbackWorld, browser: OidcBrowser, scenario: str, email: str = EMAIL) -> str:
    """The person types `email` at the RP, clicks "log in", lands at the simulator's login
    page, which starts with that address, and logs in there with `scenario` picked from its
    list ("" for none: the address's local part chooses); returns where the simulator sends
    the browser back (not followed)."""
    to_gatehouse = browser.http.get(f"{live.rp_url}/login", params={"login_hint": email})
    authorize_url = to_gatehouse.headers["location"]
    assert authorize_url.startswith(f"{live.issuer}/authorize?"), authorize_url
    page = browser.at_simulator(authorize_url, simulator_url=live.simulator_url)
    assert prefilled_email(page) == email
    callback = browser.log_in(
        page, simulator_url=live.simulator_url, scenario=scenario, email=email
    )
    redirect_uri = f"{live.issuer}/oidc/{live.connection_id}/callback"
    assert callback.startswith(f"{redirect_uri}?"), callback
    return callback


@pytest.fixture
def browser() -> Iterator[OidcBrowser]:
    with browser_client() as http:
        yield OidcBrowser(http)


def test_alice_logs_in_and_the_relying_party_verifies_her_id_token(
    live: LoopbackWorld, browser: OidcBrowser
) -> None:
    back = browser.http.get(log_in(live, browser, OidcScenario.SUCCESS))
    result = browser.hop(back, f"{live.rp_url}/callback?")
    claims = assert_rp_signed_in(
        live, back, result, email=EMAIL, organization_name=ORG_NAME, idp_type="oidc"
    )
    assert claims["raw_attributes"]["sub"].startswith("sim-")


@pytest.mark.parametrize("row", refused(OIDC), ids=by_scenario)
def test_a_scenario_chosen_by_the_address_in_the_demo_app_ends_back_there_with_its_error(
    live: LoopbackWorld, browser: OidcBrowser, row: Row
) -> None:
    """As README's demo promises: the person types `<scenario>@example.org` in the demo
    app; the address travels to the simulator as `login_hint`, so "Log in" there runs that
    scenario; Gatehouse's refusal page's button takes the error, `state` and `iss` back to
    the demo app."""
    assert row.refusal is not None
    callback = log_in(live, browser, "", email=f"{row.scenario}@example.org")
    assert_refused_on_the_wire(live, browser.http, lambda: browser.http.get(callback), row.refusal)

"""SAML logins over real HTTP on loopback, every party its own server: the demo relying
party (a strict, independent RP app) → Gatehouse → the IdP simulator → Gatehouse's ACS →
back to the RP, which redeems the code and verifies the ID token itself.

This tier plays what only real HTTP shows: real sockets and the uvicorn stack, the auto-post
form, redirects and cookies across three origins, headers on the wire. So it plays the rows
of the SAML scenario table (tests/support/saml_scenarios.toml) marked `wire` (a success, and one
refusal for each status of the error page) on SQLite; what every scenario means, on SQLite and
PostgreSQL, is proven in process from the same table
(tests/broker/upstream/saml/test_login_scenarios.py).

Success must reach the RP with a verified ID token describing Alice and Example Corp; a
refusal must leave the person on Gatehouse's error page with a reference id, send no code
(nor anything) to the RP, and leave an audit event, correlated by that reference, recording
the reason.
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
from tests.support.scenarios import SAML, Row, by_scenario, refused, statuses

pytestmark = pytest.mark.e2e

WIRE = [row for row in SAML.values() if row.wire]


def seed(broker: Broker, simulator_url: str, settings: Settings) -> Connection:
    """Example Corp through the demo's own seed, from the simulator's metadata URL."""
    return seed_example_corp_with(broker, simulator_url=simulator_url)


@pytest.fixture(scope="module", params=["sqlite"])
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


def test_the_wire_plays_a_success_and_one_refusal_per_error_page_status() -> None:
    assert [row.refusal for row in WIRE].count(None) == 1
    assert statuses(WIRE) == sorted(set(statuses(refused(SAML))))


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


@pytest.mark.parametrize("row", [row for row in WIRE if row.refusal], ids=by_scenario)
def test_a_refused_answer_shows_its_page_whose_button_takes_the_error_to_the_rp(
    live: LoopbackWorld, browser: SamlBrowser, row: Row
) -> None:
    assert row.refusal is not None
    postback = browser.log_in(
        start(live, browser), simulator_url=live.simulator_url, scenario=row.scenario
    )
    assert_refused_on_the_wire(live, browser.http, lambda: browser.post(postback), row.refusal)

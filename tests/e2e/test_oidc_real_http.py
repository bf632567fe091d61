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

import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest

from broker.app import create_app
from broker.demo import DEMO_OIDC_CLIENT_ID, demo_oidc_client_secret, simulator_environment
from broker.domain.model import AuditEvent
from broker.oidc.clients import register_client
from broker.store.sql import SqlStore, make_engine
from demo_rp.app import create_app as create_relying_party
from demo_rp.oidc_client import RelyingParty
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.oidc_scenarios import OidcScenario
from tests.support import databases
from tests.support.config import make_settings
from tests.support.live_server import free_port, serve
from tests.support.oidc_http import (
    EMAIL,
    ORG_NAME,
    OidcBrowser,
    RequestLog,
    audit_for,
    seed_oidc_tenant,
    verified_claims,
)
from tests.support.saml_http import reference_on_page

pytestmark = pytest.mark.e2e

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
VERIFY = "We could not verify your sign-in"

# scenario -> (audit reason, text on the error page, HTTP status); the reasons are those of
# the in-process tests (tests/oidc_upstream/test_login_scenarios.py).
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


@dataclass
class LiveOidc:
    issuer: str
    simulator_url: str
    rp_url: str
    rp_log: RequestLog
    store: SqlStore
    organization_id: str
    connection_id: str

    @property
    def redirect_uri(self) -> str:
        return f"{self.issuer}/oidc/{self.connection_id}/callback"

    def start(self, browser: OidcBrowser) -> httpx.Response:
        """The person clicks "log in" at the RP and lands on the simulator's login page."""
        to_gatehouse = browser.http.get(f"{self.rp_url}/login", params={"login_hint": EMAIL})
        authorize_url = to_gatehouse.headers["location"]
        assert authorize_url.startswith(f"{self.issuer}/authorize?"), authorize_url
        return browser.at_simulator(authorize_url, simulator_url=self.simulator_url)

    def log_in(self, browser: OidcBrowser, scenario: str) -> str:
        callback = browser.log_in(
            self.start(browser), simulator_url=self.simulator_url, scenario=scenario
        )
        assert callback.startswith(f"{self.redirect_uri}?"), callback
        return callback

    def audit_for(self, request_id: str) -> list[AuditEvent]:
        return audit_for(self.store, self.organization_id, request_id)


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveOidc]:
    """One world per backend for the whole module (keys and servers are the slow part);
    each test uses its own browser and finds its own audit events by reference id."""
    tmp = tmp_path_factory.mktemp("oidc-http")
    with ExitStack() as stack:
        if request.param == "sqlite":
            template = request.getfixturevalue("sqlite_template")
            engine = stack.enter_context(databases.sqlite_copy(template, tmp)).engine
        else:
            url = request.getfixturevalue("postgres_url")
            schema = stack.enter_context(databases.throwaway_schema(url, migrated=True))
            engine = make_engine(url, schema=schema)
            stack.callback(engine.dispose)
        store = SqlStore(engine)
        broker_port, simulator_port, rp_port = free_port(), free_port(), free_port()
        issuer = f"http://127.0.0.1:{broker_port}"
        simulator_url = f"http://127.0.0.1:{simulator_port}"
        rp_url = f"http://127.0.0.1:{rp_port}"
        settings = make_settings(tmp, issuer=issuer)

        # The simulator configured exactly as `gatehouse demo` starts it, so its client id
        # and secret are the ones the demo seed gives Gatehouse.
        environment = simulator_environment(settings, simulator_url=simulator_url)
        simulator_config = SimulatorConfig.from_env(environment)
        assert simulator_config.oidc_client_id == DEMO_OIDC_CLIENT_ID
        stack.enter_context(serve(create_simulator(simulator_config), simulator_port))
        # No `http=`: Gatehouse's own outbound client and its development policy (loopback
        # http allowed) carry discovery, JWKS and token requests.
        gatehouse = create_app(settings, store=store)
        stack.callback(gatehouse.state.broker.close)
        stack.enter_context(serve(gatehouse, broker_port))
        organization, connection = seed_oidc_tenant(
            gatehouse.state.broker,
            simulator_url=simulator_url,
            client_secret=demo_oidc_client_secret(settings),
        )
        with store.unit_of_work() as uow:
            registered = register_client(
                uow,
                name="Demo RP",
                redirect_uris=[f"{rp_url}/callback"],
                now=gatehouse.state.broker.clock.now(),
            )
        assert registered.client_secret is not None

        rp_http = stack.enter_context(httpx.Client(timeout=10, follow_redirects=False))
        relying_party = RelyingParty(
            issuer,
            registered.client.client_id,
            registered.client_secret,
            f"{rp_url}/callback",
            rp_http,
        )
        rp_log = RequestLog(
            create_relying_party(relying_party, session_secret=secrets.token_urlsafe(32))
        )
        stack.enter_context(serve(rp_log, rp_port))
        yield LiveOidc(
            issuer=issuer,
            simulator_url=simulator_url,
            rp_url=rp_url,
            rp_log=rp_log,
            store=store,
            organization_id=organization.id,
            connection_id=connection.id,
        )


@pytest.fixture
def browser() -> Iterator[OidcBrowser]:
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        yield OidcBrowser(http)


def test_every_oidc_scenario_of_the_simulator_is_played() -> None:
    assert {*FAILURES, "success", "replay"} == {scenario.value for scenario in OidcScenario}


def test_alice_logs_in_and_the_relying_party_verifies_her_id_token(
    live: LiveOidc, browser: OidcBrowser
) -> None:
    back = browser.http.get(live.log_in(browser, "success"))
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
    live: LiveOidc, browser: OidcBrowser, scenario: str
) -> None:
    reason, text, status = FAILURES[scenario]
    callback = live.log_in(browser, scenario)
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
    live: LiveOidc, browser: OidcBrowser
) -> None:
    first = browser.http.get(live.log_in(browser, "replay"))
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

"""SAML logins over real HTTP on loopback, every party its own server: the demo relying
party (a strict, independent RP app) → Gatehouse → the IdP simulator → Gatehouse's ACS →
back to the RP, which redeems the code and verifies the ID token itself.

Every simulator scenario is played. Success must reach the RP with a verified ID token
describing Alice and Example Corp; every failure must leave the person on Gatehouse's error
page with a reference id, send no code (nor anything) to the RP, and leave an audit event,
correlated by that reference, recording the reason.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from broker.app import create_app
from broker.domain.model import AuditEvent
from broker.oidc.clients import register_client
from broker.store.sql import SqlStore, make_engine
from demo_rp.app import create_app as create_relying_party
from demo_rp.oidc_client import RelyingParty
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.scenarios import Scenario
from tests.support import databases
from tests.support.config import make_settings
from tests.support.live_server import free_port, serve
from tests.support.saml_http import (
    EMAIL,
    ORG_NAME,
    SamlBrowser,
    reference_on_page,
    seed_saml_tenant,
)

pytestmark = pytest.mark.e2e

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
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


class RequestLog:
    """ASGI wrapper recording every request path and query the wrapped app receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['path']}?{scope['query_string'].decode('latin-1')}")
        await self.app(scope, receive, send)

    def callbacks(self) -> list[str]:
        return [entry for entry in self.seen if entry.startswith("/callback")]


@dataclass
class LiveSaml:
    issuer: str
    simulator_url: str
    rp_url: str
    rp_log: RequestLog
    store: SqlStore
    organization_id: str
    connection_id: str

    def start(self, browser: SamlBrowser) -> httpx.Response:
        """The person clicks "log in" at the RP and lands on the simulator's login page."""
        to_gatehouse = browser.http.get(f"{self.rp_url}/login", params={"login_hint": EMAIL})
        assert to_gatehouse.status_code == 302, to_gatehouse.text
        authorize_url = to_gatehouse.headers["location"]
        assert authorize_url.startswith(f"{self.issuer}/authorize?"), authorize_url
        return browser.at_idp(authorize_url, simulator_url=self.simulator_url)

    def audit_for(self, request_id: str) -> list[AuditEvent]:
        with self.store.unit_of_work() as uow:
            events = uow.audit.list(limit=1000, organization_id=self.organization_id)
        return [event for event in events if event.request_id == request_id]


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSaml]:
    """One world per backend for the whole module (keys and servers are the slow part);
    each test uses its own browser and finds its own audit events by reference id."""
    tmp = tmp_path_factory.mktemp("saml-http")
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

        simulator = create_simulator(
            SimulatorConfig(base_url=simulator_url, key_dir=None, allowed_acs_prefixes=(issuer,))
        )
        stack.enter_context(serve(simulator, simulator_port))
        outbound = stack.enter_context(httpx.Client(timeout=10, follow_redirects=False))
        gatehouse = create_app(make_settings(tmp, issuer=issuer), store=store, http=outbound)
        stack.enter_context(serve(gatehouse, broker_port))
        organization, connection = seed_saml_tenant(
            gatehouse.state.broker, simulator_url=simulator_url
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
        yield LiveSaml(
            issuer=issuer,
            simulator_url=simulator_url,
            rp_url=rp_url,
            rp_log=rp_log,
            store=store,
            organization_id=organization.id,
            connection_id=connection.id,
        )


@pytest.fixture
def browser() -> Iterator[SamlBrowser]:
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        yield SamlBrowser(http)


def verified_claims(result_page: str) -> dict[str, Any]:
    """The claims the RP verified, from the raw JSON its result page shows."""
    raw = re.search(r"<h2>Raw JSON</h2>\s*<pre>(.*?)</pre>", result_page, re.S)
    assert raw, result_page
    shown: dict[str, Any] = json.loads(html.unescape(raw.group(1)))
    return dict(shown["id_token_claims"])


def test_every_scenario_of_the_simulator_is_played() -> None:
    assert {*FAILURES, "success", "replay"} == {scenario.value for scenario in Scenario}


def test_alice_logs_in_and_the_relying_party_verifies_her_id_token(
    live: LiveSaml, browser: SamlBrowser
) -> None:
    postback = browser.log_in(live.start(browser), simulator_url=live.simulator_url)
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
    live: LiveSaml, browser: SamlBrowser, scenario: str
) -> None:
    reason, text, status = FAILURES[scenario]
    postback = browser.log_in(
        live.start(browser), simulator_url=live.simulator_url, scenario=scenario
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
    live: LiveSaml, browser: SamlBrowser
) -> None:
    postback = browser.log_in(
        live.start(browser), simulator_url=live.simulator_url, scenario="replay"
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

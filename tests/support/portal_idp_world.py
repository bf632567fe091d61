"""The admin portal and the IdP simulator in process (tests/support/simulator.py), for
portal test logins end to end; nothing of Gatehouse is mocked.

A customer's IT admin has a portal session; their organization has a connection set up in
the portal (begun from a tile, then given the simulator's values through the same use cases
the setup pages call). A test login goes: POST /portal/connections/{id}/test -> the
simulator (its login form, where the scenario is chosen) -> Gatehouse's ACS or redirect URI
-> 303 to /portal/tests/{id}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.testclient import TestClient

from broker.clock import FixedClock
from broker.model.portal import ConnectionTest
from broker.model.records import Connection, Organization
from broker.model.vendors import STRATEGIES
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER
from tests.support.gatehouse import ACTOR, Gatehouse, build_gatehouse
from tests.support.portal_forms import submit
from tests.support.saml_pages import PostBack
from tests.support.simulator import (
    IDP_BASE,
    OP_CLIENT_ID,
    OP_CLIENT_SECRET,
    OP_ISSUER,
    arrive,
    build_simulator,
    oidc_answer,
    saml_answer,
)
from tests.support.simulator_moves import oidc_replay, query_params, saml_replay

EMAIL = "alice@example.com"
DOMAIN = "example.com"
_RESULT = re.compile(r"^/portal/tests/(tst_[A-Za-z0-9_-]+)$")


@dataclass
class PortalIdpWorld:
    portal: Gatehouse
    #: The browser at the simulator (its own origin; the portal browser holds Gatehouse's
    #: cookies).
    idp: TestClient
    organization: Organization
    browser: TestClient
    last_test_id: str = ""

    @property
    def store(self) -> Any:
        return self.portal.store

    # -- connections, as the setup pages make them ----------------------------------------

    def saml_connection(
        self, strategy: str = "okta", required: tuple[str, ...] = ("email", "given_name")
    ) -> Connection:
        metadata = self.idp.get("/metadata").text
        return self._set_up("saml", strategy, required, {"metadata_xml": metadata})

    def oidc_connection(
        self, strategy: str = "okta", required: tuple[str, ...] = ("email", "given_name")
    ) -> Connection:
        values = {"issuer": OP_ISSUER, "client_id": OP_CLIENT_ID}
        return self._set_up("oidc", strategy, required, values, client_secret=OP_CLIENT_SECRET)

    def _set_up(
        self,
        protocol: str,
        strategy: str,
        required: tuple[str, ...],
        settings: dict[str, str],
        **secret: str,
    ) -> Connection:
        """Begun from a tile, then given the simulator's values."""
        management = self.portal.broker.management
        begun = management.connection_setup.begin(
            ACTOR, self.organization.id, strategy=strategy, protocol=protocol,
            offered=STRATEGIES, required_claims=required,
        )  # fmt: skip
        saved = management.connections.update(
            ACTOR, self.organization.id, begun.id, settings=settings, **secret
        )
        return saved.connection

    # -- the IT admin's moves -------------------------------------------------------------

    def start_test(
        self, connection_id: str, *, browser: TestClient | None = None
    ) -> httpx.Response:
        """ "Open a test login": the portal's form, answered with the hand-off to the IdP."""
        path = f"/portal/connections/{connection_id}/test"
        response = submit(browser or self.browser, path, token_from="/portal/no-such-page")
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith(IDP_BASE), response.headers
        return response

    def result(self, back: httpx.Response, *, browser: TestClient | None = None) -> httpx.Response:
        """The broker's 303 to the result page, followed."""
        assert back.status_code == 303, back.text
        path = urlsplit(back.headers["location"]).path
        found = _RESULT.match(path)
        assert found, path
        self.last_test_id = found.group(1)
        page: httpx.Response = (browser or self.browser).get(path)
        return page

    def last_test(self) -> ConnectionTest:
        """The stored result of the last test login whose result page was opened."""
        with self.store.unit_of_work() as uow:
            test: ConnectionTest = uow.connection_tests.get(self.organization.id, self.last_test_id)
        return test

    # -- whole test logins ----------------------------------------------------------------

    def saml_test(self, connection: Connection, scenario: str) -> httpx.Response:
        if scenario == "replay":
            return self._saml_replay(connection)
        to_idp = self.start_test(connection.id)
        postback = saml_answer(self.idp, to_idp, email=EMAIL, scenario=scenario)
        return self.result(arrive(self.browser, postback))

    def oidc_test(self, connection: Connection, scenario: str) -> httpx.Response:
        if scenario == "replay":
            return self._oidc_replay(connection)
        to_idp = self.start_test(connection.id)
        callback = oidc_answer(self.idp, to_idp, email=EMAIL, scenario=scenario)
        return self.result(arrive(self.browser, callback))

    def _saml_replay(self, connection: Connection) -> httpx.Response:
        """A first test passes; its response, posted into a second test login (the flow
        of the second hand-off: its RelayState), is refused by the replay cache."""
        first = self.saml_test(connection, "success")
        assert "Passed" in first.text, first.text
        used = saml_replay(self.idp, IDP_BASE)
        second = self.start_test(connection.id)
        relay_state = query_params(second.headers["location"])["RelayState"]
        replayed = PostBack(used.acs_url, {**used.fields, "RelayState": relay_state})
        return self.result(arrive(self.browser, replayed))

    def _oidc_replay(self, connection: Connection) -> httpx.Response:
        """A first test passes; its callback (code) repeated into a second test login's
        flow (its state) is refused: the code was redeemed once already."""
        first = self.oidc_test(connection, "success")
        assert "Passed" in first.text, first.text
        callback = oidc_replay(self.idp, IDP_BASE)
        second = self.start_test(connection.id)
        params = {
            **query_params(callback),
            "state": query_params(second.headers["location"])["state"],
        }
        replayed = f"{ISSUER}{urlsplit(callback).path}?{urlencode(params)}"
        return self.result(arrive(self.browser, replayed))


def build_portal_idp_world(
    store: Any, tmp_path: Any, idp_keys: IdpKeys, *, verify_domain: bool = True
) -> PortalIdpWorld:
    """`verify_domain`: the organization has example.com verified (the simulator's users'
    domain), as it has by the time its connection is turned on."""
    clock = FixedClock()
    simulator = build_simulator(idp_keys, clock)
    portal = build_gatehouse(store, tmp_path, clock=clock, http=simulator.back_channel())
    organization = portal.organization("Example Corp")
    if verify_domain:
        portal.verified_domain(organization.id, DOMAIN)
    return PortalIdpWorld(
        portal=portal,
        idp=simulator.browser(),
        organization=organization,
        browser=portal.signed_in(organization.id),
    )

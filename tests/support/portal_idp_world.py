"""The admin portal and the IdP simulator in process, for portal test logins end to end.

A customer's IT admin has a portal session; their organization has a connection set up in
the portal (begun from a tile, then given the simulator's values through the same use cases
the setup pages call). A test login goes: POST /portal/connections/{id}/test -> the
simulator (its login form, where the scenario is chosen) -> Gatehouse's ACS or redirect URI
-> 303 to /portal/tests/{id}. Gatehouse's outbound client (metadata, discovery, JWKS, token,
userinfo) is routed to the same simulator app, so every byte of the back channel is its real
answer; nothing of Gatehouse is mocked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from starlette.testclient import TestClient

from broker.app import create_app
from broker.clock import FixedClock
from broker.model.portal import ConnectionTest
from broker.model.records import Connection, Organization
from broker.model.vendors import STRATEGIES
from idp_simulator.app import create_app as create_simulator
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER, make_settings
from tests.support.oidc_world import (
    IDP_BASE,
    OP_CLIENT_ID,
    OP_CLIENT_SECRET,
    OP_ISSUER,
    simulator_config as oidc_simulator_config,
)
from tests.support.portal_world import ACTOR, PortalWorld, csrf_token
from tests.support.saml_pages import PostBack, autopost, hidden_fields, login_form

EMAIL = "alice@example.com"
DOMAIN = "example.com"
_RESULT = re.compile(r"^/portal/tests/(tst_[A-Za-z0-9_-]+)$")


@dataclass
class PortalIdpWorld:
    portal: PortalWorld
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
        management = self.portal.broker.management
        begun = management.connection_setup.begin(
            ACTOR, self.organization.id, strategy=strategy, protocol="saml",
            offered=STRATEGIES, required_claims=required,
        )  # fmt: skip
        metadata = self.idp.get("/metadata").text
        saved = management.connections.update(
            ACTOR, self.organization.id, begun.id, settings={"metadata_xml": metadata}
        )
        return saved.connection

    def oidc_connection(
        self, strategy: str = "okta", required: tuple[str, ...] = ("email", "given_name")
    ) -> Connection:
        management = self.portal.broker.management
        begun = management.connection_setup.begin(
            ACTOR, self.organization.id, strategy=strategy, protocol="oidc",
            offered=STRATEGIES, required_claims=required,
        )  # fmt: skip
        saved = management.connections.update(
            ACTOR, self.organization.id, begun.id,
            settings={"issuer": OP_ISSUER, "client_id": OP_CLIENT_ID},
            client_secret=OP_CLIENT_SECRET,
        )  # fmt: skip
        return saved.connection

    # -- the IT admin's moves -------------------------------------------------------------

    def start_test(
        self, connection_id: str, *, browser: TestClient | None = None
    ) -> httpx.Response:
        """ "Open a test login": the portal's form, answered with the hand-off to the IdP."""
        browser = browser or self.browser
        token = csrf_token(browser.get("/portal/no-such-page").text)
        response: httpx.Response = browser.post(
            f"/portal/connections/{connection_id}/test",
            data={"csrf": token},
            headers={"Origin": ISSUER},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith(IDP_BASE), response.headers
        return response

    def saml_answer(self, to_idp: httpx.Response, *, scenario: str, email: str = EMAIL) -> PostBack:
        """The person signs in at the simulator, which renders its auto-post page."""
        location = urlsplit(to_idp.headers["location"])
        page = self.idp.get(f"{location.path}?{location.query}")
        assert page.status_code == 200, page.text
        form = login_form(hidden_fields(page.text)["pending"], email=email, scenario=scenario)
        posted = self.idp.post("/sso/login", data=form)
        assert posted.status_code == 200, posted.text
        return autopost(posted.text)

    def post_to_acs(self, postback: PostBack) -> httpx.Response:
        response: httpx.Response = self.browser.post(
            postback.acs_path, data=postback.fields, follow_redirects=False
        )
        return response

    def oidc_answer(self, to_idp: httpx.Response, *, scenario: str, email: str = EMAIL) -> str:
        """The person signs in at the simulator's OP; where it sends the browser back."""
        location = urlsplit(to_idp.headers["location"])
        page = self.idp.get(f"{location.path}?{location.query}")
        assert page.status_code == 200, page.text
        form = login_form(hidden_fields(page.text)["pending"], email=email, scenario=scenario)
        form.pop("sign")
        posted = self.idp.post("/oidc/login", data=form, follow_redirects=False)
        assert posted.status_code == 302, posted.text
        return str(posted.headers["location"])

    def to_callback(self, callback_url: str) -> httpx.Response:
        assert callback_url.startswith(f"{ISSUER}/oidc/"), callback_url
        parts = urlsplit(callback_url)
        response: httpx.Response = self.browser.get(
            f"{parts.path}?{parts.query}", follow_redirects=False
        )
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
        return self.result(self.post_to_acs(self.saml_answer(to_idp, scenario=scenario)))

    def oidc_test(self, connection: Connection, scenario: str) -> httpx.Response:
        if scenario == "replay":
            return self._oidc_replay(connection)
        to_idp = self.start_test(connection.id)
        return self.result(self.to_callback(self.oidc_answer(to_idp, scenario=scenario)))

    def _saml_replay(self, connection: Connection) -> httpx.Response:
        """A first test passes; its response, posted into a second test login (the flow
        of the second hand-off: its RelayState), is refused by the replay cache."""
        first = self.saml_test(connection, "success")
        assert "Passed" in first.text, first.text
        again = self.idp.get("/replay")
        assert again.status_code == 200, again.text
        used = autopost(again.text)
        second = self.start_test(connection.id)
        relay_state = _query(second.headers["location"])["RelayState"]
        return self.result(
            self.post_to_acs(PostBack(used.acs_url, {**used.fields, "RelayState": relay_state}))
        )

    def _oidc_replay(self, connection: Connection) -> httpx.Response:
        """A first test passes; its callback (code) repeated into a second test login's
        flow (its state) is refused: the code was redeemed once already."""
        first = self.oidc_test(connection, "success")
        assert "Passed" in first.text, first.text
        again = self.idp.get("/oidc/replay", follow_redirects=False)
        assert again.status_code == 302, again.text
        callback = str(again.headers["location"])
        second = self.start_test(connection.id)
        state = _query(second.headers["location"])["state"]
        parts = urlsplit(callback)
        params = {**_query(callback), "state": state}
        return self.result(self.to_callback(f"{ISSUER}{parts.path}?{urlencode(params)}"))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def build_portal_idp_world(
    store: Any, tmp_path: Any, idp_keys: IdpKeys, *, verify_domain: bool = True
) -> PortalIdpWorld:
    """`verify_domain`: the organization has example.com verified (the simulator's users'
    domain), as it has by the time its connection is turned on."""
    clock = FixedClock()
    simulator = create_simulator(oidc_simulator_config(), keys=idp_keys, clock=clock.now)
    back_channel = TestClient(simulator, base_url=IDP_BASE)
    app = create_app(make_settings(tmp_path), store=store, clock=clock, http=back_channel)
    portal = PortalWorld(store=store, clock=clock, broker=app.state.broker, app=app)
    organization = portal.organization("Example Corp")
    if verify_domain:
        domains = portal.broker.management.domains
        domains.add(ACTOR, organization.id, DOMAIN)
        domains.mark_verified(ACTOR, organization.id, DOMAIN)
    return PortalIdpWorld(
        portal=portal,
        idp=TestClient(simulator, base_url=IDP_BASE),
        organization=organization,
        browser=portal.signed_in(organization.id),
    )

"""A SAML login over real HTTP, as a browser makes it: the moves between a relying party,
Gatehouse and the IdP simulator when each is a real server on loopback (tests/support/
simulator_moves.py), plus the tenant (Example Corp, its verified domain, a SAML connection
configured from the simulator's metadata URL) those logins need."""

from __future__ import annotations

import httpx

from broker.app import Broker
from broker.demo import DEMO_ORG_NAME, seed_example_corp_with
from broker.model.records import Connection, Organization
from tests.support.saml_pages import PostBack
from tests.support.simulator_moves import (
    Browser,
    query_params as query_params,
    saml_replay,
    saml_sign_in,
)

EMAIL = "alice@example.com"
ORG_NAME = DEMO_ORG_NAME


def seed_saml_tenant(broker: Broker, *, simulator_url: str) -> tuple[Organization, Connection]:
    """Example Corp with the verified domain example.com and a SAML connection read from the
    running simulator's metadata URL, as an IT admin would configure it."""
    connection = seed_example_corp_with(broker, simulator_url=simulator_url)
    with broker.store.unit_of_work() as uow:
        return uow.organizations.get(connection.organization_id), connection


class SamlBrowser(Browser):
    #: What the SAML suites call a hop.
    follow = Browser.hop

    def at_idp(self, authorize_url: str, *, simulator_url: str) -> httpx.Response:
        """From the RP's authorization URL (at Gatehouse) to the simulator's login page."""
        return self.to_login_page(authorize_url, f"{simulator_url}/sso?")

    def log_in(self, login_page: httpx.Response, *, simulator_url: str, **form: str) -> PostBack:
        """Fill the simulator's form (`form`: the scenario, the email); returns its auto-post
        of the SAMLResponse."""
        chosen = {"email": EMAIL, "groups": "engineering", **form}
        return saml_sign_in(self.http, login_page, simulator_url=simulator_url, **chosen)

    def replay(self, *, simulator_url: str) -> PostBack:
        return saml_replay(self.http, simulator_url)

    def post(self, postback: PostBack, url: str | None = None) -> httpx.Response:
        """The auto-post arriving at the ACS (at `url`, else where the form says)."""
        return self.http.post(url or postback.acs_url, data=postback.fields)


def reference_on_page(response: httpx.Response) -> str:
    """The error page's reference id, which must be the response's X-Request-Id."""
    request_id = response.headers["x-request-id"]
    assert f"<code>{request_id}</code>" in response.text, response.text
    return request_id

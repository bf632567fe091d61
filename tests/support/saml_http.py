"""A SAML login over real HTTP, as a browser makes it: the moves between a relying party,
Gatehouse and the IdP simulator when each is a real server on loopback, plus the tenant
(Example Corp, its verified domain, a SAML connection configured from the simulator's
metadata URL) those logins need."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from broker.app import Broker
from broker.demo import DEMO_ORG_NAME, seed_example_corp_with
from broker.model.records import Connection, Organization
from tests.support.saml_pages import PostBack, autopost, login_form, pending_key

EMAIL = "alice@example.com"
ORG_NAME = DEMO_ORG_NAME


def seed_saml_tenant(broker: Broker, *, simulator_url: str) -> tuple[Organization, Connection]:
    """Example Corp with the verified domain example.com and a SAML connection read from the
    running simulator's metadata URL, as an IT admin would configure it."""
    connection = seed_example_corp_with(broker, simulator_url=simulator_url)
    with broker.store.unit_of_work() as uow:
        return uow.organizations.get(connection.organization_id), connection


class SamlBrowser:
    """One browser (one cookie jar) that follows nothing by itself: each hop is a step."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def follow(self, response: httpx.Response, prefix: str) -> httpx.Response:
        assert response.status_code in (302, 303), (response.status_code, response.text)
        location = response.headers["location"]
        assert location.startswith(prefix), (location, prefix)
        return self.http.get(location)

    def at_idp(self, authorize_url: str, *, simulator_url: str) -> httpx.Response:
        """From the RP's authorization URL (at Gatehouse) to the simulator's login page."""
        to_idp = self.http.get(authorize_url)
        page = self.follow(to_idp, f"{simulator_url}/sso?")
        assert page.status_code == 200, page.text
        return page

    def log_in(
        self,
        login_page: httpx.Response,
        *,
        simulator_url: str,
        scenario: str = "success",
        email: str = EMAIL,
    ) -> PostBack:
        """Fill the simulator's form; returns its auto-post of the SAMLResponse."""
        form = login_form(
            pending_key(login_page.text), email=email, scenario=scenario, groups="engineering"
        )
        posted = self.http.post(f"{simulator_url}/sso/login", data=form)
        assert posted.status_code == 200, posted.text
        return autopost(posted.text)

    def replay(self, *, simulator_url: str) -> PostBack:
        page = self.http.get(f"{simulator_url}/replay")
        assert page.status_code == 200, page.text
        return autopost(page.text)

    def post(self, postback: PostBack, url: str | None = None) -> httpx.Response:
        """The auto-post arriving at the ACS (at `url`, else where the form says)."""
        return self.http.post(url or postback.acs_url, data=postback.fields)


def query_params(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def reference_on_page(response: httpx.Response) -> str:
    """The error page's reference id, which must be the response's X-Request-Id."""
    request_id = response.headers["x-request-id"]
    assert f"<code>{request_id}</code>" in response.text, response.text
    return request_id

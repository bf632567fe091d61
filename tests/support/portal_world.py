"""The admin portal in process, as a customer's IT admin meets it: the app team created
their organization and sent a portal link; a browser (a TestClient, which keeps cookies)
opens it."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.testclient import TestClient

from broker.app import Broker, create_app
from broker.clock import FixedClock
from broker.management.access import register_management_client
from broker.model.records import Organization
from broker.store import Store
from tests.support.config import ISSUER, make_settings
from tests.support.management_api import Caller

ACTOR = "management_client:mc_test"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class PortalWorld:
    store: Store
    clock: FixedClock
    broker: Broker
    app: Any

    def organization(self, name: str = "Acme Corp") -> Organization:
        return self.broker.management.organizations.create(ACTOR, name=name)

    def link(self, organization_id: str, **options: Any) -> str:
        """A portal link's URL, as the management API hands it to the app team."""
        issued = self.broker.management.portal_links.create(ACTOR, organization_id, **options)
        return issued.url

    def browser(self) -> TestClient:
        return TestClient(self.app, base_url=ISSUER, raise_server_exceptions=False)

    def open_link(self, browser: TestClient, url: str) -> httpx.Response:
        """Click the link, then "Continue" on the interstitial: a session, at /portal/."""
        path = urlsplit(url).path
        page = browser.get(path)
        assert page.status_code == 200, page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert token, page.text
        response: httpx.Response = browser.post(
            "/portal/link",
            data={"token": html.unescape(token.group(1))},
            headers={"Origin": ISSUER},
            follow_redirects=False,
        )
        return response

    def signed_in(self, organization_id: str, **link_options: Any) -> TestClient:
        browser = self.browser()
        response = self.open_link(browser, self.link(organization_id, **link_options))
        assert response.status_code == 303, response.text
        return browser


def csrf_token(page: str) -> str:
    found = _CSRF.search(page)
    assert found, page
    return html.unescape(found.group(1))


def post_from(browser: TestClient, path: str, data: dict[str, str], page: str) -> httpx.Response:
    """A form posted from the portal page whose HTML is `page`: its token, our Origin."""
    answer: httpx.Response = browser.post(
        path,
        data={"csrf": csrf_token(page), **data},
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )
    return answer


def app_team(world: PortalWorld) -> Caller:
    """The app team's backend as a management API client that reads events."""
    with world.store.unit_of_work() as uow:
        registered = register_management_client(
            uow, name="backend", scopes=["events:read"], now=world.clock.now()
        )
    return Caller(
        http=TestClient(world.app, base_url=ISSUER),
        client_id=registered.client.client_id,
        client_secret=registered.client_secret,
        scopes=("events:read",),
    )


def build_portal_world(store: Store, tmp_path: Any, **settings: Any) -> PortalWorld:
    clock = FixedClock()
    app = create_app(make_settings(tmp_path, **settings), store=store, clock=clock)
    return PortalWorld(store=store, clock=clock, broker=app.state.broker, app=app)

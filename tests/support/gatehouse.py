"""One Gatehouse, built the one way every test world builds it (dex builds each test server
from one function plus the difference: server/helpers_test.go).

`build_gatehouse` makes the default: `make_settings` (the test issuer, a throwaway var dir),
a `FixedClock`, the connector kinds Gatehouse ships plus the tests' fake one, `create_app`.
A world passes only what it changes (the broker's outbound client, where domain checks look,
the clock, settings fields) and adds its seeds and upstream in the module that names it: the
default tenant (harness.py), the IdP simulator (simulator.py and the worlds around it), IdP
documents and a MockOp (connection_upstreams.py), real HTTP on loopback (loopback_world.py).
Every world has the app team's moves, so they are here, on the Gatehouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from broker.app import DEFAULT_CONNECTOR_TYPES, Broker, create_app
from broker.clock import Clock, FixedClock
from broker.management.dns_txt import TxtLookup
from broker.management.portal_links import IssuedLink
from broker.management.profiles import ProfileFields
from broker.model.management import Branding, SelfServiceProfile, UserAttribute
from broker.model.records import Organization
from broker.settings import Settings
from broker.store import Store
from broker.upstream.registry import ConnectorTypes
from tests.support.config import make_settings
from tests.support.fake_connector import FakeConnectorConfig
from tests.support.saml_pages import hidden_fields

#: Who the app team's calls are recorded as: a management client.
ACTOR = "management_client:mc_test"

#: The kinds Gatehouse ships, plus the fake connector tests drive themselves.
TEST_CONNECTOR_TYPES: ConnectorTypes = {**DEFAULT_CONNECTOR_TYPES, "test": FakeConnectorConfig}


@dataclass
class Gatehouse:
    """A world grows from it as a subclass: `World(**vars(gatehouse), <its difference>)`."""

    store: Store
    settings: Settings
    app: Starlette
    #: The portal links `link` made, oldest first (an event's actor names one).
    link_ids: list[str]

    @property
    def broker(self) -> Broker:
        broker: Broker = self.app.state.broker
        return broker

    @property
    def clock(self) -> FixedClock:
        """The clock a test moves. A served world runs on the system clock and has none."""
        clock = self.broker.clock
        assert isinstance(clock, FixedClock), "this Gatehouse runs on the system clock"
        return clock

    def browser(self, *, raise_server_exceptions: bool = False) -> TestClient:
        """A new browser (its own cookies) at the issuer, in process; by default a 500 is an
        answer the test looks at, not an exception."""
        return TestClient(
            self.app,
            base_url=self.settings.issuer,
            raise_server_exceptions=raise_server_exceptions,
        )

    # -- the app team's moves, through the management use cases ---------------------------

    def organization(self, name: str = "Acme Corp") -> Organization:
        return self.broker.management.organizations.create(ACTOR, name=name)

    def verified_domain(self, organization_id: str, name: str = "acme.example") -> None:
        """An operator's assertion (the CLI's): for tests whose subject is not DNS."""
        domains = self.broker.management.domains
        domains.add(ACTOR, organization_id, name)
        domains.mark_verified(ACTOR, organization_id, name)

    def profile(
        self,
        name: str = "Customers",
        *,
        strategies: Sequence[str] | None = None,
        attributes: Sequence[UserAttribute] | None = None,
        logo_url: str | None = None,
        primary_color: str | None = None,
        introduction: str | None = None,
    ) -> SelfServiceProfile:
        branding = Branding(logo_url=logo_url, primary_color=primary_color)
        fields = ProfileFields(
            name=name, allowed_strategies=strategies, user_attributes=attributes,
            branding=branding, introduction=introduction,
        )  # fmt: skip
        return self.broker.management.profiles.create(ACTOR, fields)

    def link(self, organization_id: str, **options: Any) -> str:
        """A portal link's URL as the app team receives it (options: profile_id,
        connection_id for an edit link, ttl_sec, max_uses, enabled_features)."""
        return self.issue(organization_id, **options).url

    def issue(self, organization_id: str, **options: Any) -> IssuedLink:
        """The link and its URL, for a test that revokes it later."""
        issued = self.broker.management.portal_links.create(ACTOR, organization_id, **options)
        self.link_ids.append(issued.link.id)
        return issued

    def revoke(self, issued: IssuedLink) -> None:
        """The app team withdraws the link."""
        link = issued.link
        self.broker.management.portal_links.revoke(ACTOR, link.organization_id, link.id)

    # -- the IT admin opens the link --------------------------------------------------------

    def open_link(self, browser: TestClient, url: str) -> httpx.Response:
        """Click the link, then "Continue" on the interstitial: a session, at /portal/."""
        page = browser.get(urlsplit(url).path)
        assert page.status_code == 200, page.text
        response: httpx.Response = browser.post(
            "/portal/link",
            data={"token": hidden_fields(page.text)["token"]},
            headers={"Origin": self.settings.issuer},
            follow_redirects=False,
        )
        return response

    def signed_in(self, organization_id: str, **link_options: Any) -> TestClient:
        """A new browser with a portal session from a new link."""
        browser = self.browser()
        response = self.open_link(browser, self.link(organization_id, **link_options))
        assert response.status_code == 303, response.text
        return browser


def build_gatehouse(
    store: Store,
    tmp_path: Any,
    *,
    clock: Clock | None = None,
    http: httpx.Client | None = None,
    dns: TxtLookup | None = None,
    connector_types: ConnectorTypes = TEST_CONNECTOR_TYPES,
    **settings: Any,
) -> Gatehouse:
    """`http` is the broker's outbound client (without one, the guarded client production
    uses); `settings` are `Settings` fields (tiny rate limits, another issuer)."""
    app = create_app(
        make_settings(tmp_path, **settings),
        store=store,
        clock=clock or FixedClock(),
        http=http,
        dns=dns,
        connector_types=connector_types,
    )
    broker: Broker = app.state.broker
    return Gatehouse(store=store, settings=broker.settings, app=app, link_ids=[])

"""What the browser tests run against: Gatehouse (the portal at /portal), the IdP simulator
and the demo relying party, each a real HTTP server on a free loopback port, on SQLite in a
temporary directory.

It is the end-to-end suites' `loopback_world`, seeded with the demo's Example Corp (an active
SAML connection to the simulator), plus what a browser test needs beyond it: the broker's
management use cases, to play the app team's side (organizations, self-service profiles,
portal links) exactly as the management API would; and a real DNS server on loopback, the
one the broker's domain verification asks (GATEHOUSE_DNS_RESOLVER), where a test publishes
the TXT record the portal shows, as the customer would at their DNS provider.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from broker.app import Broker
from broker.demo import seed_example_corp_with
from broker.management.portal_links import IssuedLink
from broker.management.profiles import ProfileFields
from broker.model.management import Branding, SelfServiceProfile, UserAttribute
from broker.model.records import Connection, Organization
from broker.settings import Settings
from tests.support.dns_server import Zone, dns_server
from tests.support.loopback_world import LoopbackWorld, loopback_world

#: Who the app team's calls are recorded as, as in tests/support/portal_world.py.
ACTOR = "management_client:mc_browser_tests"


@dataclass
class BrowserWorld:
    loop: LoopbackWorld
    broker: Broker
    #: The DNS the broker asks: `zone.publish(name, value)` is the customer's DNS provider.
    zone: Zone

    @property
    def issuer(self) -> str:
        return self.loop.issuer

    @property
    def portal_url(self) -> str:
        return f"{self.loop.issuer}/portal"

    @property
    def simulator_url(self) -> str:
        return self.loop.simulator_url

    @property
    def rp_url(self) -> str:
        """The demo app: its /login starts a login through Gatehouse."""
        return self.loop.rp_url

    def organization(self, name: str = "Acme Corp") -> Organization:
        """A new organization for one test: tests share the servers, never an organization."""
        return self.broker.management.organizations.create(ACTOR, name=name)

    def profile(
        self,
        name: str = "Browser tests",
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
        return self.broker.management.portal_links.create(ACTOR, organization_id, **options)

    def revoke(self, issued: IssuedLink) -> None:
        """The app team withdraws the link."""
        link = issued.link
        self.broker.management.portal_links.revoke(ACTOR, link.organization_id, link.id)

    @property
    def example_corp(self) -> Connection:
        """The demo organization's active SAML connection to the simulator (for edit links
        and logins from the demo app: alice@example.com signs in through it)."""
        connections = self.broker.management.connections
        return connections.get(self.loop.organization_id, self.loop.connection_id)


@contextmanager
def browser_world(request: pytest.FixtureRequest, tmp: Path) -> Iterator[BrowserWorld]:
    """`request.param` is the backend, as for `loopback_world`."""
    brokers: list[Broker] = []

    def seed(broker: Broker, simulator_url: str, settings: Settings) -> Connection:
        brokers.append(broker)
        return seed_example_corp_with(broker, simulator_url=simulator_url)

    with (
        dns_server() as (zone, resolver),
        loopback_world(request, tmp, seed, dns_resolver=resolver) as loop,
    ):
        yield BrowserWorld(loop=loop, broker=brokers[0], zone=zone)

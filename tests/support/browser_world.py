"""What the browser tests run against: Gatehouse (the portal at /portal), the IdP simulator
and the demo relying party, each a real HTTP server on a free loopback port, on SQLite in a
temporary directory.

It is the end-to-end suites' `loopback_world`, seeded with the demo's Example Corp (an active
SAML connection to the simulator), plus what a browser test needs beyond it: the app team's
moves of every Gatehouse (tests/support/gatehouse.py: organizations, self-service profiles,
portal links, through the management use cases exactly as the management API would); and a
real DNS server on loopback, the one the broker's domain verification asks
(GATEHOUSE_DNS_RESOLVER), where a test publishes the TXT record the portal shows, as the
customer would at their DNS provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from broker.app import Broker
from broker.demo import seed_example_corp_with
from broker.model.records import Connection
from broker.settings import Settings
from tests.support.dns_server import Zone, dns_server
from tests.support.loopback_world import LoopbackWorld, loopback_world


@dataclass
class BrowserWorld(LoopbackWorld):
    #: The DNS the broker asks: `zone.publish(name, value)` is the customer's DNS provider.
    zone: Zone

    @property
    def portal_url(self) -> str:
        return f"{self.issuer}/portal"

    @property
    def example_corp(self) -> Connection:
        """The demo organization's active SAML connection to the simulator (for edit links
        and logins from the demo app: alice@example.com signs in through it)."""
        return self.broker.management.connections.get(self.organization_id, self.connection_id)


def seed(broker: Broker, simulator_url: str, settings: Settings) -> Connection:
    return seed_example_corp_with(broker, simulator_url=simulator_url)


@contextmanager
def browser_world(request: pytest.FixtureRequest, tmp: Path) -> Iterator[BrowserWorld]:
    """`request.param` is the backend, as for `loopback_world`."""
    with (
        dns_server() as (zone, resolver),
        loopback_world(request, tmp, seed, dns_resolver=resolver) as loop,
    ):
        yield BrowserWorld(**vars(loop), zone=zone)

"""The setup assistant's world: a Gatehouse (tests/support/gatehouse.py) with the IdP
simulator upstream (tests/support/simulator.py) and a real DNS server on loopback, the one
domain verification asks.

Gatehouse's outbound client (IdP metadata by URL, OIDC discovery, JWKS, the token endpoint)
reaches the simulator at `idp.example.test`; any other host fails to connect, as an
unreachable one does. The admin's browser is a TestClient on the broker (the portal is
mounted at /portal); the simulator's pages get their own TestClient, as another site.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from starlette.testclient import TestClient

from broker.clock import FixedClock
from broker.management.dns_txt import DnsTxtLookup
from broker.model.records import AuditEvent, Connection
from broker.model.vendors import STRATEGIES
from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from tests.support.certificates import certificate_and_key
from tests.support.config import ISSUER
from tests.support.dns_server import Zone, dns_server
from tests.support.gatehouse import ACTOR, Gatehouse, build_gatehouse
from tests.support.portal_forms import post_from

# The simulator's values are part of the world's API (tests type them into the assistant).
from tests.support.simulator import (
    IDP_BASE as IDP_BASE,
    IDP_METADATA_URL as IDP_METADATA_URL,
    OP_CLIENT_ID as OP_CLIENT_ID,
    OP_CLIENT_SECRET as OP_CLIENT_SECRET,
    OP_ISSUER as OP_ISSUER,
    arrive,
    build_simulator,
    oidc_answer,
    saml_answer,
)

ORIGIN = {"Origin": ISSUER}


@functools.cache
def idp_keys() -> IdpKeys:
    """The simulator's keys: generated once per test session (RSA is the slow part)."""
    return generate()


@dataclass
class SetupWorld(Gatehouse):
    #: The person's browser at the simulator.
    idp: TestClient
    #: The DNS the broker asks: `zone.publish(name, value)` is the customer's DNS provider.
    zone: Zone

    def begin(self, organization_id: str, strategy: str, protocol: str) -> Connection:
        """A connection begun as the choose step begins it (for tests of later steps)."""
        return self.broker.management.connection_setup.begin(
            ACTOR, organization_id, strategy=strategy, protocol=protocol, offered=STRATEGIES
        )

    def connection(self, connection_id: str) -> Connection:
        with self.store.unit_of_work() as uow:
            return uow.connections.get(connection_id)

    def connections(self, organization_id: str) -> list[Connection]:
        with self.store.unit_of_work() as uow:
            return list(uow.connections.for_organization(organization_id))

    def events(self, organization_id: str) -> list[AuditEvent]:
        with self.store.unit_of_work() as uow:
            return list(uow.audit.list(limit=1000, organization_id=organization_id))

    def metadata(self) -> bytes:
        document: bytes = self.idp.get("/metadata").content
        return document

    # -- a real test login, as the admin runs it from the test step ---------------------

    def test_login(self, browser: TestClient, connection_id: str, **idp_form: str) -> str:
        """Start the test from the test step's form, sign in at the simulator, come back:
        the path of the result page the IdP's answer leads to."""
        page = browser.get(f"/portal/setup/{connection_id}/test")
        assert page.status_code == 200, page.text
        started = post_from(browser, f"/portal/connections/{connection_id}/test", {}, page.text)
        assert started.status_code == 303, started.text
        oidc = urlsplit(started.headers["location"]).path.startswith("/oidc/")
        answer = (oidc_answer if oidc else saml_answer)(
            self.idp, started, email="alice@acme.example", **idp_form
        )
        result = arrive(browser, answer)
        assert result.status_code == 303, result.text
        result_page: str = result.headers["location"]
        return urlsplit(result_page).path


@contextmanager
def setup_world(
    store: Store, tmp_path: Path, *, simulator_base: str = IDP_BASE
) -> Iterator[SetupWorld]:
    """`simulator_base`: the simulator's own idea of its base URL (tests/support/
    simulator.py); a test of hostile IdP values gives one that holds markup (T-10)."""
    clock = FixedClock()
    simulator = build_simulator(idp_keys(), clock, base_url=simulator_base)
    with dns_server() as (zone, nameserver):
        outbound = simulator.back_channel()
        built = build_gatehouse(
            store, tmp_path, clock=clock, http=outbound,
            dns=DnsTxtLookup(nameserver, lifetime=1.0),
        )  # fmt: skip
        try:
            yield SetupWorld(**vars(built), idp=simulator.browser(), zone=zone)
        finally:
            built.broker.close()
            outbound.close()


# -- certificates for the refusals ------------------------------------------------------


def certificate(
    *, not_after: datetime, common_name: str = "Old IdP", key_size: int = 2048
) -> tuple[str, str]:
    """(certificate PEM, its private key PEM): a self-signed RSA certificate valid for the
    year before `not_after`."""
    return certificate_and_key(
        not_after=not_after,
        subject=common_name,
        not_before=not_after - timedelta(days=365),
        key_size=key_size,
    )


EXPIRED_ON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

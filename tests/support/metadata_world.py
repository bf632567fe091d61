"""A SAML connection configured from a metadata URL served on loopback, and the scheduled
refresh that re-reads it (broker/jobs/saml_metadata_refresh.py).

Two hosts can serve the metadata, each a real HTTP server on 127.0.0.1 that Gatehouse's own
guarded outbound client reaches (the development policy allows loopback http):

- the IdP simulator itself (`rollover_world`): its metadata, its `POST /rollover`, and the
  person's logins at it through a browser in process (the same app object, so the same
  IdP state as the served one);
- `MetadataHost` (`hosted_world`): whatever document, status and headers a test sets,
  counting the fetches: validUntil in the past, a cacheDuration, garbage.

Both connections are created through the management use case, the door the API, the CLI
and the portal share, so what is refreshed is what a person configured.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from broker.clock import FixedClock
from broker.jobs import saml_metadata_refresh
from broker.model.records import AuditEvent, Connection
from broker.store import Store
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys
from idp_simulator.saml.metadata import metadata_xml
from tests.support.config import ISSUER
from tests.support.gatehouse import ACTOR
from tests.support.harness import build_harness
from tests.support.live_server import free_port, serve
from tests.support.saml_world import SamlWorld
from tests.support.simulator import IDP_BASE, OP_CLIENT_ID, OP_CLIENT_SECRET

DAY = timedelta(days=1)
IDP_ENTITY_ID = "https://idp.example.test/metadata"
SSO_URL = "https://idp.example.test/sso"


@dataclass
class MetadataHost:
    """A metadata URL whose answer a test decides."""

    document: bytes
    status: int = 200
    fetches: int = 0

    def app(self) -> Starlette:
        def metadata(_request: Request) -> Response:
            self.fetches += 1
            return Response(self.document, self.status, media_type="application/xml")

        return Starlette(routes=[Route("/metadata", metadata)])


@dataclass
class RefreshWorld(SamlWorld):
    metadata_url: str = ""
    host: MetadataHost = field(default_factory=lambda: MetadataHost(b""))

    @property
    def clock(self) -> FixedClock:
        return self.gatehouse.clock

    def refresh(self, after: timedelta = DAY) -> dict[str, int]:
        """Time passes, then the instance's tick: the refresh job's outcomes (empty when
        no connection was due)."""
        self.clock.advance(after)
        outcomes = self.gatehouse.broker.scheduler.run_due()
        ran = [o for o in outcomes if o.name == saml_metadata_refresh.NAME]
        assert len(ran) == 1, outcomes
        assert ran[0].ok, ran[0].summary
        summary: dict[str, int] = ast.literal_eval(ran[0].summary)
        return summary

    def current(self) -> Connection:
        with self.store.unit_of_work() as uow:
            return uow.connections.get(self.connection.id)

    def trusted(self) -> list[str]:
        found = self.current().config["idp_certificates"]
        assert isinstance(found, list)
        return [str(pem) for pem in found]

    def events(self, kind: str) -> list[AuditEvent]:
        """This connection's events of `kind`, oldest first."""
        with self.store.unit_of_work() as uow:
            found = uow.audit.list(limit=100, kind=kind)
        return [e for e in reversed(found) if e.connection_id == self.connection.id]


def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(
        base_url=IDP_BASE,
        key_dir=None,
        allowed_acs_prefixes=(ISSUER,),
        oidc_client_id=OP_CLIENT_ID,
        oidc_client_secret=OP_CLIENT_SECRET,
    )


@contextmanager
def rollover_world(
    store: Store, tmp_path: Path, keys: IdpKeys, next_keys: IdpKeys
) -> Iterator[RefreshWorld]:
    """Example Corp logs in through the simulator; its connection was configured from the
    simulator's metadata URL on loopback."""
    clock = FixedClock()
    simulator = create_simulator(
        simulator_config(), keys=keys, clock=clock.now, next_keys=next_keys
    )
    with ExitStack() as stack:
        url = stack.enter_context(serve(simulator, free_port()))
        world = _world(store, tmp_path, clock, f"{url}/metadata")
        stack.callback(world.gatehouse.broker.close)  # its outbound client's sockets
        world.idp = stack.enter_context(TestClient(simulator, base_url=IDP_BASE))
        yield world


@contextmanager
def hosted_world(store: Store, tmp_path: Path, keys: IdpKeys) -> Iterator[RefreshWorld]:
    """The connection's metadata URL is a `MetadataHost`, first serving the simulator's
    metadata for `keys`."""
    host = MetadataHost(metadata_xml(IDP_ENTITY_ID, SSO_URL, keys))
    with ExitStack() as stack:
        url = stack.enter_context(serve(host.app(), free_port()))
        world = _world(store, tmp_path, FixedClock(), f"{url}/metadata")
        stack.callback(world.gatehouse.broker.close)
        world.host = host
        world.idp = TestClient(host.app())  # nobody logs in here
        yield world


def _world(store: Store, tmp_path: Path, clock: FixedClock, metadata_url: str) -> RefreshWorld:
    harness = build_harness(store, tmp_path, clock=clock)  # its own guarded client
    organization = harness.organization("Example Corp")
    harness.verified_domain(organization.id, "example.com")
    saved = harness.broker.management.connections.create_saml(
        ACTOR, organization.id, {"metadata_url": metadata_url}, active=True
    )
    return RefreshWorld(
        gatehouse=harness,
        idp=TestClient(Starlette()),  # the world's builder sets the IdP's
        organization=organization,
        connection=saved.connection,
        metadata_url=metadata_url,
    )


def post_rollover(world: RefreshWorld, step: str) -> None:
    """The IdP's admin takes a rollover step, over the simulator's loopback URL."""
    base = world.metadata_url.removesuffix("/metadata")
    answer = httpx.post(f"{base}/rollover", data={"step": step}, timeout=10)
    assert answer.status_code == 200, answer.text

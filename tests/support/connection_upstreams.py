"""The IdPs a connection is configured from, in process: SAML metadata documents (the IdP
simulator's own) served at chosen URLs, and a programmable OpenID Provider (MockOp), behind
one httpx transport that becomes the broker's outbound client (`IdpHosts`, which the
maintenance pages' world uses too). Requests still pass the outbound policy first (it checks
each URL before the transport is reached), so an SSRF attempt is refused exactly as it would
be in production.

The `connections_world` fixture ends every test by opening each connection the test left in
the store with the broker's own `open_connection`: a config the API accepted must open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from broker.app import DEFAULT_CONNECTOR_TYPES
from broker.clock import FixedClock
from broker.login.replays import StoreReplayGuard
from broker.model.records import Connection
from broker.store import Store
from broker.upstream.base import ConnectorDeps
from broker.upstream.registry import open_connection
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.saml.metadata import metadata_xml
from tests.support.config import ISSUER
from tests.support.management_api import ApiWorld, build_api_world
from tests.support.mock_op import MockOp

METADATA_URL = "https://idp.test/metadata"
IDP_ENTITY_ID = "https://idp.test/metadata"
SSO_URL = "https://idp.test/sso"


@dataclass
class IdpHosts:
    op: MockOp | None = None
    #: What is served, by URL.
    documents: dict[str, bytes] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    #: Runs before each answer: what happens elsewhere while Gatehouse waits for the IdP.
    meanwhile: Callable[[httpx.Request], None] | None = None

    def client(self) -> httpx.Client:
        """The broker's outbound client; any other URL is a 404."""
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.meanwhile is not None:
            self.meanwhile(request)
        document = self.documents.get(str(request.url))
        if document is not None:
            return httpx.Response(200, content=document)
        if self.op is not None and request.url.host == urlsplit(self.op.issuer).hostname:
            return self.op.handle(request)
        return httpx.Response(404)


@dataclass(kw_only=True)
class Upstreams(IdpHosts):
    op: MockOp
    keys: IdpKeys
    #: The IdP's next signing key, for a certificate rollover.
    next_keys: IdpKeys

    def metadata(self, *, entity_id: str = IDP_ENTITY_ID, sso_url: str = SSO_URL) -> bytes:
        return metadata_xml(entity_id, sso_url, self.keys)

    def serve_metadata(self, url: str = METADATA_URL, **values: str) -> str:
        self.documents[url] = self.metadata(**values)
        return url


@pytest.fixture(scope="session")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture(scope="session")
def op_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)


@pytest.fixture(scope="session")
def next_idp_keys() -> IdpKeys:
    return generate("Gatehouse IdP simulator (next)")


@pytest.fixture
def upstreams(idp_keys: IdpKeys, next_idp_keys: IdpKeys, op_key: RSAKey) -> Upstreams:
    op = MockOp(key=op_key, now=FixedClock().now)
    return Upstreams(keys=idp_keys, next_keys=next_idp_keys, op=op)


@pytest.fixture
def connections_world(store: Store, tmp_path: Path, upstreams: Upstreams) -> Iterator[ApiWorld]:
    world = build_api_world(store, tmp_path, http=upstreams.client())
    with world.http:
        yield world
    for connection in stored_connections(world):
        open_in_broker(world, connection)


def oidc_settings(upstreams: Upstreams) -> dict[str, Any]:
    return {
        "issuer": upstreams.op.issuer,
        "client_id": upstreams.op.client_id,
        "client_secret": upstreams.op.client_secret,
    }


def create(
    world: ApiWorld,
    org: str,
    kind: str,
    *,
    name: str | None = None,
    active: bool = True,
    **settings: object,
) -> dict[str, Any]:
    """A connection the API accepted (201), as the API answered it."""
    body: dict[str, object] = {"type": kind, "settings": settings, "active": active}
    if name is not None:
        body["name"] = name
    response = world.admin().post(f"/organizations/{org}/connections", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def stored_connections(world: ApiWorld) -> list[Connection]:
    with world.store.unit_of_work() as uow:
        return [c for o in uow.organizations.list() for c in uow.connections.for_organization(o.id)]


def open_in_broker(world: ApiWorld, connection: Connection) -> None:
    """What a login does with the connection first (`ConnectorCache.get`)."""
    broker = world.broker
    deps = ConnectorDeps(
        http=broker.http,
        clock=broker.clock,
        secrets=broker.secrets,
        replays=StoreReplayGuard(broker.store, broker.clock),
        outbound=broker.outbound,
    )
    open_connection(DEFAULT_CONNECTOR_TYPES, connection, deps, issuer=ISSUER)

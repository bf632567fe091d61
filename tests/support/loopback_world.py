"""The real-HTTP world both end-to-end suites share: the demo relying party, Gatehouse and
the IdP simulator, each a real server on loopback, over SQLite or PostgreSQL.

Gatehouse is `build_gatehouse`'s on the system clock, with the connector kinds it ships and
its own guarded outbound client (the development policy lets it reach the simulator on
loopback); the simulator is configured exactly as `gatehouse demo` starts it
(`simulator_environment`), and the tenant is seeded by the demo's own seed functions, so
these tests exercise what a developer runs. Each suite names the organization its logins
use.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from broker.app import DEFAULT_CONNECTOR_TYPES, Broker
from broker.clock import SystemClock
from broker.demo import simulator_environment
from broker.model.records import AuditEvent, Connection
from broker.oidc.clients import register_client
from broker.settings import ManagementSettings, Settings
from broker.store import Store
from broker.store.sql import SqlStore, make_engine
from demo_rp.app import create_app as create_relying_party
from demo_rp.oidc_client import RelyingParty
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from tests.support import databases
from tests.support.gatehouse import Gatehouse, build_gatehouse
from tests.support.live_server import free_port, serve

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

#: Seeds the tenant through the running simulator: (broker, simulator URL, settings).
Seed = Callable[[Broker, str, Settings], Connection]


class RequestLog:
    """ASGI wrapper recording every request path and query the wrapped app receives: how a
    test sees that nothing reached the relying party."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['path']}?{scope['query_string'].decode('latin-1')}")
        await self.app(scope, receive, send)

    def callbacks(self) -> list[str]:
        return [entry for entry in self.seen if entry.startswith("/callback")]


@dataclass
class LoopbackWorld(Gatehouse):
    simulator_url: str
    rp_url: str
    rp_log: RequestLog
    organization_id: str
    connection_id: str

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    def audit_for(self, request_id: str) -> list[AuditEvent]:
        return audit_for(self.store, self.organization_id, request_id)


def audit_for(store: Store, organization_id: str, request_id: str) -> list[AuditEvent]:
    """The audit events a request left: what an operator finds from a reference id."""
    with store.unit_of_work() as uow:
        events = uow.audit.list(limit=1000, organization_id=organization_id)
    return [event for event in events if event.request_id == request_id]


@contextmanager
def loopback_world(
    request: pytest.FixtureRequest, tmp: Path, seed: Seed, *, dns_resolver: str | None = None
) -> Iterator[LoopbackWorld]:
    """`request.param` is the backend ("sqlite" or "postgres"); one world per module (keys
    and servers are the slow part), each test with its own browser. `dns_resolver`
    (`host:port`) is the DNS server domain verification asks, as GATEHOUSE_DNS_RESOLVER."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            template = request.getfixturevalue("sqlite_template")
            engine = stack.enter_context(databases.sqlite_copy(template, tmp)).engine
        else:
            url = request.getfixturevalue("postgres_url")
            schema = stack.enter_context(databases.throwaway_schema(url, migrated=True))
            engine = make_engine(url, schema=schema)
            stack.callback(engine.dispose)
        store = SqlStore(engine)
        broker_port, simulator_port, rp_port = free_port(), free_port(), free_port()
        issuer = f"http://127.0.0.1:{broker_port}"
        simulator_url = f"http://127.0.0.1:{simulator_port}"
        rp_url = f"http://127.0.0.1:{rp_port}"
        gatehouse = build_gatehouse(
            store, tmp, clock=SystemClock(), connector_types=DEFAULT_CONNECTOR_TYPES,
            issuer=issuer, management=ManagementSettings(dns_resolver=dns_resolver),
        )  # fmt: skip
        broker = gatehouse.broker
        environment = simulator_environment(broker.settings, simulator_url=simulator_url)
        stack.enter_context(
            serve(create_simulator(SimulatorConfig.from_env(environment)), simulator_port)
        )
        stack.callback(broker.close)
        stack.enter_context(serve(gatehouse.app, broker_port))
        connection = seed(broker, simulator_url, broker.settings)
        with store.unit_of_work() as uow:
            registered = register_client(
                uow, name="Demo RP", redirect_uris=[f"{rp_url}/callback"], now=broker.clock.now()
            )
        assert registered.client_secret is not None
        rp_http = stack.enter_context(browser_client())
        relying_party = RelyingParty(
            issuer,
            registered.client.client_id,
            registered.client_secret,
            f"{rp_url}/callback",
            rp_http,
        )
        rp_log = RequestLog(
            create_relying_party(relying_party, session_secret=secrets.token_urlsafe(32))
        )
        stack.enter_context(serve(rp_log, rp_port))
        yield LoopbackWorld(
            **vars(gatehouse),
            simulator_url=simulator_url,
            rp_url=rp_url,
            rp_log=rp_log,
            organization_id=connection.organization_id,
            connection_id=connection.id,
        )


def browser_client() -> httpx.Client:
    """A browser's or RP's HTTP client: follows nothing by itself, each hop is a step."""
    return httpx.Client(timeout=10, follow_redirects=False)


def verified_claims(result_page: str) -> dict[str, Any]:
    """The claims the demo RP verified, from the raw JSON its result page shows."""
    raw = re.search(r"<h2>Raw JSON</h2>\s*<pre>(.*?)</pre>", result_page, re.S)
    assert raw, result_page
    shown: dict[str, Any] = json.loads(html.unescape(raw.group(1)))
    return dict(shown["id_token_claims"])

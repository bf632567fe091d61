"""The routes that wait on IdPs have their own worker pool (broker/workers.py): when every
login thread is stuck (here, on a connector that blocks until the test releases it), the
token endpoint, discovery, JWKS and the management API still answer. Gatehouse under uvicorn
on loopback, with the pool at its default size (anyio's own default pool is the same size,
so had the login routes shared it, these requests would queue behind the stuck ones)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self
from urllib.parse import urlencode

import httpx
import pytest

from broker.app import DEFAULT_CONNECTOR_TYPES, create_app
from broker.http import Redirect
from broker.model.records import UpstreamIdentity
from broker.oidc.clients import register_client
from broker.settings import UpstreamSettings
from broker.store.sql import SqlStore
from broker.upstream.base import CallbackInput, ConnectorDeps, FlowContext, LoginStart
from broker.upstream.urls import ConnectionEndpoints
from tests.support import databases
from tests.support.config import make_settings
from tests.support.factories import add_organization
from tests.support.live_server import free_port, serve

pytestmark = pytest.mark.e2e

THREADS = UpstreamSettings().login_threads
RP_CALLBACK = "http://127.0.0.1:9/callback"


class Gate:
    """Holds every hand-off until opened; counts how many are held."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.held = threading.Semaphore(0)


@dataclass(frozen=True, slots=True)
class StuckConfig:
    kind: ClassVar[str] = "stuck"
    gate: ClassVar[Gate]

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> Self:
        return cls()

    def open(self, deps: ConnectorDeps, endpoints: ConnectionEndpoints) -> StuckConnector:
        return StuckConnector(self.gate)

    @classmethod
    def describe_unfinished(cls, raw: Mapping[str, object], endpoints: ConnectionEndpoints) -> None:
        return None


class StuckConnector:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def describe(self) -> None:
        return None

    def begin_login(self, flow: FlowContext) -> LoginStart:
        self.gate.held.release()
        self.gate.opened.wait(60)
        return LoginStart(action=Redirect("https://idp.test/"), connector_state=b"x")

    def complete_login(self, flow: FlowContext, callback: CallbackInput) -> UpstreamIdentity:
        raise AssertionError("never reached")


@pytest.fixture
def stuck(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, str, Gate]]:
    gate = Gate()
    StuckConfig.gate = gate
    with databases.sqlite_copy(sqlite_template, tmp_path) as database:
        store = SqlStore(database.engine)
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        app = create_app(
            make_settings(tmp_path, issuer=issuer),
            store=store,
            connector_types={**DEFAULT_CONNECTOR_TYPES, StuckConfig.kind: StuckConfig},
        )
        broker = app.state.broker
        with store.unit_of_work() as uow:
            add_organization(
                uow, org_id="org_stuck", name="Stuck", domain="stuck.example",
                now=broker.clock.now(), connection_id="con_stuck", kind="stuck",
            )  # fmt: skip
            client = register_client(
                uow, name="RP", redirect_uris=[RP_CALLBACK], now=broker.clock.now()
            )
        try:
            with serve(app, port):
                yield issuer, client.client.client_id, gate
        finally:
            gate.opened.set()
            broker.close()


def test_stuck_logins_do_not_hold_the_token_endpoint_discovery_or_jwks(
    stuck: tuple[str, str, Gate],
) -> None:
    issuer, client_id, gate = stuck
    query = urlencode({
        "client_id": client_id, "redirect_uri": RP_CALLBACK, "response_type": "code",
        "scope": "openid", "connection": "con_stuck",
    })  # fmt: skip

    def hand_off() -> None:
        with httpx.Client(timeout=90) as http:
            http.get(f"{issuer}/authorize?{query}")

    threads = [threading.Thread(target=hand_off, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for _ in range(THREADS):  # every login thread is now stuck in a hand-off
        assert gate.held.acquire(timeout=60)

    with httpx.Client(timeout=20) as http:
        token = http.post(
            f"{issuer}/token",
            data={"grant_type": "authorization_code", "code": "nope", "client_id": client_id},
        )
        assert token.status_code in (400, 401), token.text
        assert http.get(f"{issuer}/.well-known/openid-configuration").status_code == 200
        assert http.get(f"{issuer}/jwks.json").status_code == 200
        assert http.get(f"{issuer}/api/v1/organizations").status_code == 401
    assert not gate.opened.is_set()  # all of that while every login thread was held
    gate.opened.set()
    for thread in threads:
        thread.join(60)

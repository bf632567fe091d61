"""The OIDC connector's fixtures: a connector opened on a `MockOp` with one login through it,
step by step (`rp`), and a whole Gatehouse with the simulator's OP (`world`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from broker.clock import FixedClock
from broker.keys import SecretBox
from broker.model.records import UpstreamIdentity
from broker.store import Store
from broker.upstream.base import CallbackInput, ConnectorDeps, FlowContext, UpstreamError
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.oidc.connector import OidcConnector
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.urls import endpoints_for
from idp_simulator.keys import IdpKeys, generate
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_oidc_config
from tests.support.mock_op import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER as OP_ISSUER,
    Authorization,
    MockOp,
)
from tests.support.oidc_world import OidcWorld, build_oidc_world
from tests.support.saml_golden import MemoryReplays

CONNECTION_ID = "con_oidc_unit"
BOX = SecretBox(TEST_SECRET_KEY)


@pytest.fixture(scope="session")
def op_key() -> RSAKey:
    return RSAKey.generate_key(2048, auto_kid=True)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def op(op_key: RSAKey, clock: FixedClock) -> MockOp:
    return MockOp(key=op_key, now=clock.now)


def make_config(client_secret: str | None = CLIENT_SECRET, **options: Any) -> dict[str, Any]:
    return new_oidc_config(
        {"issuer": OP_ISSUER, "client_id": CLIENT_ID, **options},
        box=BOX,
        connection_id=CONNECTION_ID,
        client_secret=client_secret,
    )


@dataclass
class Rp:
    """Gatehouse's side of one login: the opened connector and the flow it serves."""

    op: MockOp
    clock: FixedClock
    connector: OidcConnector
    config: OidcConnectionConfig

    def begin(
        self, *, login_hint: str | None = "ann@acme.test", **flow: Any
    ) -> tuple[FlowContext, Authorization]:
        context = FlowContext(
            flow_id="flow-1",
            connection_id=CONNECTION_ID,
            callback_url=endpoints_for(ISSUER, CONNECTION_ID, "oidc").callback_url,
            login_hint=login_hint,
            **flow,
        )
        start = self.connector.begin_login(context)
        authorization = self.op.authorize(start.action.location)  # type: ignore[union-attr]
        context = FlowContext(**{**_fields(context), "connector_state": start.connector_state})
        return context, authorization

    def login(self, **answer_changes: str | None) -> UpstreamIdentity:
        context, authorization = self.begin()
        answer = self.op.answer(authorization, **answer_changes)
        return self.connector.complete_login(context, CallbackInput(query=answer))

    def reason(self, **answer_changes: str | None) -> str:
        try:
            identity = self.login(**answer_changes)
        except UpstreamError as exc:
            return exc.reason
        raise AssertionError(f"accepted: {identity}")


def _fields(context: FlowContext) -> dict[str, Any]:
    return {name: getattr(context, name) for name in FlowContext.__dataclass_fields__}


RpFactory = Callable[..., Rp]


@pytest.fixture
def make_rp(op: MockOp, clock: FixedClock) -> RpFactory:
    def make(policy: OutboundPolicy | None = None, **options: Any) -> Rp:
        config = OidcConnectionConfig.parse(make_config(**options))
        deps = ConnectorDeps(
            http=op.client(),
            clock=clock,
            secrets=BOX,
            replays=MemoryReplays(),
            outbound=policy or OutboundPolicy(allow_http=False),
        )
        connector = config.open(deps, endpoints_for(ISSUER, CONNECTION_ID, "oidc"))
        assert isinstance(connector, OidcConnector)
        return Rp(op=op, clock=clock, connector=connector, config=config)

    return make


@pytest.fixture
def rp(make_rp: RpFactory) -> Rp:
    return make_rp()


@pytest.fixture(scope="session")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture
def world(store: Store, tmp_path: Path, idp_keys: IdpKeys) -> Iterator[OidcWorld]:
    oidc_world = build_oidc_world(store, tmp_path, idp_keys)
    with oidc_world.gatehouse.client, oidc_world.idp:
        yield oidc_world

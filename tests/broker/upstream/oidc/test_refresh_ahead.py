"""The instance's refresh-ahead task (issue 16): an OIDC connection's discovery document
and JWKS are renewed before a login finds them due, so no login waits on those fetches;
a failing IdP is logged and leaves the cached documents serving; connectors nobody uses
drop out of the task (broker/upstream/registry.py `ConnectorCache.refresh_ahead`)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest

from broker.clock import FixedClock
from broker.model.records import Connection
from broker.upstream.base import ConnectorDeps
from broker.upstream.bulkhead import BulkheadLimits, Bulkheads
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.oidc.connector import OidcConnector
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.registry import IDLE_AFTER, REFRESH_AHEAD, ConnectorCache
from tests.support.config import ISSUER
from tests.support.mock_op import MockOp
from tests.support.saml_golden import MemoryReplays

from .conftest import BOX, CONNECTION_ID, Rp, make_config


def fetches(op: MockOp, path: str) -> int:
    return sum(r.url.path.endswith(path) for r in op.requests)


def oidc_connection(**options: Any) -> Connection:
    return Connection(
        id=CONNECTION_ID, organization_id="org", kind="oidc", name="Acme",
        config=make_config(**options), created_at=FixedClock().now(),
    )  # fmt: skip


@pytest.fixture
def cache(op: MockOp, clock: FixedClock) -> ConnectorCache:
    deps = ConnectorDeps(
        http=op.client(), clock=clock, secrets=BOX, replays=MemoryReplays(),
        outbound=OutboundPolicy(allow_http=False),
        bulkheads=Bulkheads(
            BulkheadLimits(failures_to_open=2), clock=lambda: clock.now().timestamp()
        ),
    )  # fmt: skip
    return ConnectorCache({"oidc": OidcConnectionConfig}, deps, issuer=ISSUER)


def rp_from(cache: ConnectorCache, op: MockOp, clock: FixedClock) -> Rp:
    connector = cache.get(oidc_connection())
    assert isinstance(connector, OidcConnector)
    config = OidcConnectionConfig.parse(make_config())
    return Rp(op=op, clock=clock, connector=connector, config=config)


def test_documents_due_soon_are_fetched_by_the_task_not_by_the_next_login(
    cache: ConnectorCache, op: MockOp, clock: FixedClock
) -> None:
    rp = rp_from(cache, op, clock)
    rp.login()
    assert (fetches(op, "openid-configuration"), fetches(op, "jwks.json")) == (1, 1)
    assert cache.refresh_ahead() == "refreshed=1 failed=0 dropped=0"
    assert (fetches(op, "openid-configuration"), fetches(op, "jwks.json")) == (1, 1)  # fresh

    clock.advance(timedelta(hours=1) - REFRESH_AHEAD + timedelta(seconds=1))
    cache.refresh_ahead()
    assert (fetches(op, "openid-configuration"), fetches(op, "jwks.json")) == (2, 2)
    clock.advance(REFRESH_AHEAD)  # past the hour since the login's own fetches
    rp.login()
    assert (fetches(op, "openid-configuration"), fetches(op, "jwks.json")) == (2, 2)


def test_a_connection_opened_but_not_yet_completed_has_its_keys_read_ahead(
    cache: ConnectorCache, op: MockOp, clock: FixedClock
) -> None:
    rp = rp_from(cache, op, clock)
    rp.begin()
    assert fetches(op, "jwks.json") == 0
    cache.refresh_ahead()
    assert fetches(op, "jwks.json") == 1
    rp.login()
    assert fetches(op, "jwks.json") == 1


def test_a_discovery_that_moves_the_jwks_is_followed(
    cache: ConnectorCache, op: MockOp, clock: FixedClock
) -> None:
    rp = rp_from(cache, op, clock)
    rp.login()
    op.discovery_changes = {"jwks_uri": f"{op.issuer}/keys/jwks.json"}
    clock.advance(timedelta(hours=1))
    cache.refresh_ahead()
    assert op.requests[-1].url.path == "/keys/jwks.json"


def test_a_failing_idp_is_logged_and_the_cached_documents_keep_serving(
    cache: ConnectorCache, op: MockOp, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    rp = rp_from(cache, op, clock)
    rp.login()
    clock.advance(timedelta(minutes=55))
    working = op.handle
    op.handle = lambda request: httpx.Response(503)  # type: ignore[method-assign]
    caplog.set_level(logging.WARNING)
    assert cache.refresh_ahead() == "refreshed=0 failed=1 dropped=0"
    assert "discovery refresh failed" in caplog.text  # the last good document serves on
    assert f"connection={CONNECTION_ID} reason=jwks_unavailable" in caplog.text
    op.handle = working  # type: ignore[method-assign]
    assert rp.login().email == "ann@acme.test"


def test_the_task_takes_the_connections_slot_and_stops_at_an_open_circuit(
    cache: ConnectorCache, op: MockOp, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Its failures count toward the connection's circuit like a login's; once open, the
    task is refused at once rather than asking the IdP again every tick."""
    rp = rp_from(cache, op, clock)
    rp.login()
    op.handle = lambda request: httpx.Response(503)  # type: ignore[method-assign]
    clock.advance(timedelta(hours=2))
    for _ in range(2):
        cache.refresh_ahead()
    asked = len(op.requests)
    caplog.set_level(logging.WARNING, logger="broker.upstream.registry")
    assert cache.refresh_ahead() == "refreshed=0 failed=1 dropped=0"
    assert len(op.requests) == asked
    assert "reason=idp_circuit_open" in caplog.text


def test_a_connector_idle_for_a_day_is_dropped_and_no_longer_refreshed(
    cache: ConnectorCache, op: MockOp, clock: FixedClock
) -> None:
    rp = rp_from(cache, op, clock)
    rp.login()
    clock.advance(IDLE_AFTER - timedelta(minutes=1))
    cache.refresh_ahead()
    asked = len(op.requests)
    clock.advance(timedelta(minutes=1))
    assert cache.refresh_ahead() == "refreshed=0 failed=0 dropped=1"
    clock.advance(timedelta(hours=3))
    assert cache.refresh_ahead() == "refreshed=0 failed=0 dropped=0"
    assert len(op.requests) == asked
    assert cache.get(oidc_connection()) is not rp.connector  # reopened at the next login


def test_manual_endpoints_still_have_their_keys_refreshed(
    op: MockOp, clock: FixedClock, cache: ConnectorCache
) -> None:
    manual = {
        "authorization_endpoint": f"{op.issuer}/authorize",
        "token_endpoint": f"{op.issuer}/token",
        "jwks_uri": f"{op.issuer}/jwks.json",
    }
    cache.get(oidc_connection(endpoints=manual))
    cache.refresh_ahead()
    assert (fetches(op, "openid-configuration"), fetches(op, "jwks.json")) == (0, 1)


def test_the_task_stops_when_told(cache: ConnectorCache, op: MockOp, clock: FixedClock) -> None:
    cache.get(oidc_connection())
    assert cache.refresh_ahead(stop=lambda: True) == "refreshed=0 failed=0 dropped=0"
    assert op.requests == []

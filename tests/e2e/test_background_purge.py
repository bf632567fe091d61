"""The purge every instance runs in the background, as `gatehouse serve` runs it: the app's
lifespan under uvicorn on loopback. It deletes what has expired without being asked, and
stops with the server."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from broker.app import create_app
from broker.clock import FixedClock
from broker.settings_retention import RetentionSettings
from broker.store.sql import SqlStore
from tests.support.config import make_settings
from tests.support.expiring import NOW, TICK, flow, row_counts
from tests.support.live_server import free_port, serve, serve_with_lifespan

pytestmark = pytest.mark.e2e

#: How long the test waits for the background purge before it fails (a liveness guard,
#: not a measurement: the interval is 50 ms).
PURGE_DEADLINE_S = 30


def app_purging_every(store: SqlStore, tmp_path: Path, interval: timedelta):
    settings = make_settings(tmp_path, retention=RetentionSettings(purge_interval=interval))
    return create_app(settings, store=store, clock=FixedClock(NOW))


def add_flows(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(flow("dead", expires_at=NOW))
        uow.flows.create(flow("live", expires_at=NOW + TICK))


def test_a_served_app_purges_in_the_background_and_stops_with_the_server(
    store: SqlStore, tmp_path: Path
) -> None:
    add_flows(store)
    app = app_purging_every(store, tmp_path, timedelta(milliseconds=50))
    with serve_with_lifespan(app, free_port()) as served:
        deadline = time.monotonic() + PURGE_DEADLINE_S
        while row_counts(store)["flows"] == 2:
            assert time.monotonic() < deadline, "the background purge never ran"
            time.sleep(0.05)
        assert httpx.get(f"{served.url}/.well-known/openid-configuration").status_code == 200
    assert not served.thread.is_alive(), "the server did not stop"
    with store.unit_of_work() as uow:
        assert uow.flows.get("live", now=NOW).id == "live"


def test_shutdown_does_not_wait_for_the_next_purge(store: SqlStore, tmp_path: Path) -> None:
    """An hour's interval: the loop is asleep when the server stops, and the sleep is
    cancelled (the server's thread would otherwise outlive the join's limit)."""
    app = app_purging_every(store, tmp_path, timedelta(hours=1))
    with serve_with_lifespan(app, free_port()) as served:
        pass
    assert not served.thread.is_alive(), "the server did not stop"


def test_without_the_lifespan_nothing_runs_in_the_background(
    store: SqlStore, tmp_path: Path
) -> None:
    """How every other test serves the app (and `TestClient(app)` without `with`)."""
    add_flows(store)
    app = app_purging_every(store, tmp_path, timedelta(milliseconds=1))
    with serve(app, free_port()) as url:
        for _ in range(5):
            assert httpx.get(f"{url}/.well-known/openid-configuration").status_code == 200
            time.sleep(0.02)
    assert row_counts(store)["flows"] == 2

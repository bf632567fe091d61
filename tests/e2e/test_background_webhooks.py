"""The webhook worker every instance runs, as `gatehouse serve` runs it: the app's lifespan
under uvicorn on loopback delivers a change's event to a receiver without being asked, and
stops with the server."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from broker.app import Broker, create_app
from broker.settings_retention import RetentionSettings
from broker.store.sql import SqlStore
from tests.support.config import make_settings
from tests.support.live_server import free_port, serve_with_lifespan
from tests.support.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.e2e

DELIVERY_DEADLINE_S = 30  # a liveness guard, not a measurement: the interval is 50 ms


def test_a_served_app_delivers_webhooks_in_the_background(store: SqlStore, tmp_path: Path) -> None:
    retention = RetentionSettings(webhook_interval=timedelta(milliseconds=50))
    app = create_app(make_settings(tmp_path, retention=retention), store=store)
    broker: Broker = app.state.broker
    with webhook_receiver() as receiver:
        broker.management.webhooks.create("cli", url=receiver.url, event_types=["*"])
        with serve_with_lifespan(app, free_port()) as served:
            organization = broker.management.organizations.create("cli", name="Acme")
            deadline = time.monotonic() + DELIVERY_DEADLINE_S
            while not receiver.delivered():
                assert time.monotonic() < deadline, "the background worker never delivered"
                time.sleep(0.05)
        assert not served.thread.is_alive(), "the server did not stop"
        [request] = receiver.delivered()
    assert organization.id.encode() in request.body

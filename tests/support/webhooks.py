"""Webhook worlds: a Gatehouse (`build_gatehouse`) on the system's time of day (receivers
refuse stale `webhook-timestamp`s, so a verifier's check must see a current one), a worker
with a short deadline over the real guarded client, and an independent verifier (svix)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from svix.webhooks import Webhook as SvixWebhook

from broker.clock import FixedClock
from broker.management.api.events import event_out
from broker.store import Store
from broker.upstream.outbound import make_client
from broker.webhooks.worker import WebhookWorker, WorkerLimits
from tests.support.gatehouse import Gatehouse, build_gatehouse
from tests.support.webhook_receiver import Received

#: Who the tests' endpoints are registered by.
ACTOR = "management_client:mc_test"


def webhook_gatehouse(store: Store, tmp_path: Any) -> Gatehouse:
    """A Gatehouse whose FixedClock starts at the real current time (whole seconds)."""
    now = datetime.now(UTC).replace(microsecond=0)
    return build_gatehouse(store, tmp_path, clock=FixedClock(now))


@contextmanager
def worker(
    gatehouse: Gatehouse,
    *,
    deadline: float = 1.0,
    min_rate: int = 256,
    lease: timedelta = timedelta(seconds=30),
    threads: int = 8,
    per_endpoint: int = 2,
) -> Iterator[WebhookWorker]:
    """A worker like the app's, with a short deadline (hanging receivers end quickly),
    over its own guarded client; both closed when the block ends."""
    broker = gatehouse.broker
    policy = replace(broker.outbound, deadline_seconds=deadline, min_bytes_per_second=min_rate)
    with make_client(policy) as http:
        built = WebhookWorker(
            store=broker.store,
            clock=broker.clock,
            secret_box=broker.secrets,
            http=http,
            policy=policy,
            render=lambda event: event_out(event).model_dump(mode="json"),
            limits=WorkerLimits(threads=threads, per_endpoint=per_endpoint, lease=lease),
        )
        try:
            yield built
        finally:
            built.close()


def verified(secret: str, request: Received) -> dict[str, Any]:
    """The payload if svix's verifier accepts the request's signature (else it raises)."""
    SvixWebhook(secret).verify(request.body, request.headers)
    payload: dict[str, Any] = json.loads(request.body)
    return payload

"""The SDK's webhooks against the real API (in process) and a real receiver: subscribe,
receive, verify with the secret the SDK was given, read the attempts, rotate, resend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broker.clock import FixedClock
from broker.sdk import Forbidden, Gatehouse, NotFound
from broker.store import Store
from tests.support.config import ISSUER
from tests.support.management_api import ApiWorld, build_api_world
from tests.support.webhook_receiver import webhook_receiver
from tests.support.webhooks import verified, worker


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[ApiWorld]:
    now = datetime.now(UTC).replace(microsecond=0)  # receivers refuse stale timestamps
    api_world = build_api_world(store, tmp_path, clock=FixedClock(now))
    with api_world.http:
        yield api_world


def sdk(world: ApiWorld, *scopes: str) -> Gatehouse:
    caller = world.caller(*scopes)
    return Gatehouse(ISSUER, caller.client_id, caller.client_secret, http=world.http)


def test_subscribe_receive_debug_rotate_and_replay(world: ApiWorld) -> None:
    gatehouse = sdk(world)
    with webhook_receiver() as receiver, worker(world) as run:
        endpoint = gatehouse.webhooks.create(receiver.url, ["organization.*"])
        assert endpoint.secret is not None
        assert gatehouse.webhooks.get(endpoint.id).secret is None
        assert [e.id for e in gatehouse.webhooks.list()] == [endpoint.id]
        receiver.behaviour = "error"
        acme = gatehouse.organizations.create("Acme")
        run.run()
        [delivery] = gatehouse.webhooks.deliveries(endpoint.id)
        detail = gatehouse.webhooks.delivery(endpoint.id, delivery.id)
        assert [(a.status_code, a.error) for a in detail.attempt_log] == [(500, "status")]
        receiver.behaviour = "ok"
        rotated = gatehouse.webhooks.rotate_secret(endpoint.id, overlap_seconds=60)
        assert rotated.secret not in (None, endpoint.secret)
        gatehouse.webhooks.resend(endpoint.id, delivery.event_id)
        run.run()
        [request] = receiver.delivered()
        assert verified(endpoint.secret, request)["data"]["organization_id"] == acme.id
        assert rotated.secret is not None
        assert verified(rotated.secret, request)["type"] == "organization.created"
        changed = gatehouse.webhooks.update(endpoint.id, enabled=False)
        assert not changed.enabled
        gatehouse.webhooks.delete(endpoint.id)
        with pytest.raises(NotFound):
            gatehouse.webhooks.get(endpoint.id)


def test_the_webhook_scopes_are_enforced(world: ApiWorld) -> None:
    reader = sdk(world, "webhooks:read")
    assert list(reader.webhooks.list()) == []
    with pytest.raises(Forbidden):
        reader.webhooks.create("https://hooks.example.com/in", ["*"])

"""Two workers on one PostgreSQL, as two instances run them: 1,000 events, each delivered
exactly once (no attempt made twice); a worker that died holding claims leaves nothing
undelivered once its lease has passed."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from broker.model.records import AuditEvent
from broker.store.sql import SqlStore
from tests.support.webhook_receiver import webhook_receiver
from tests.support.webhooks import ACTOR, webhook_gatehouse, worker

EVENTS = 1000
DEAD_CLAIMS = 50
LEASE = timedelta(seconds=30)


@pytest.mark.postgres
def test_two_workers_deliver_each_event_once_and_a_dead_workers_claims_after_its_lease(
    postgres_engine: Engine, tmp_path: Path
) -> None:
    postgres_store = SqlStore(postgres_engine)
    gatehouse = webhook_gatehouse(postgres_store, tmp_path)
    clock = gatehouse.clock
    with webhook_receiver() as receiver:
        gatehouse.broker.management.webhooks.create(
            ACTOR, url=receiver.url, event_types=["organization.*"]
        )
        with postgres_store.unit_of_work() as uow:
            for n in range(EVENTS):
                uow.audit.record(
                    AuditEvent(at=clock.now(), kind="organization.updated", detail={"n": n})
                )
        with (
            worker(gatehouse, lease=LEASE, per_endpoint=4, threads=4) as first,
            worker(gatehouse, lease=LEASE, per_endpoint=4, threads=4) as second,
        ):
            first.fan_out()  # one batch fanned out, then a worker dies holding claims
            now = clock.now()
            with postgres_store.unit_of_work() as uow:
                dead = uow.webhook_deliveries.claim(
                    now=now, lease_until=now + LEASE, token="dead", limit=DEAD_CLAIMS
                )
            assert len(dead.deliveries) == DEAD_CLAIMS
            runs = [threading.Thread(target=w.run) for w in (first, second)]
            for run in runs:
                run.start()
            for run in runs:
                run.join(60)
            assert len(receiver.delivered()) == EVENTS - DEAD_CLAIMS
            clock.advance(LEASE + timedelta(seconds=1))
            first.run()
        ids = Counter(receiver.delivered_ids())
    assert len(ids) == EVENTS
    assert set(ids.values()) == {1}
    assert len(receiver.received) == EVENTS

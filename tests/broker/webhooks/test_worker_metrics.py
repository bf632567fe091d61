"""Webhook requests are counted as webhook attempts, never as requests to an IdP: an
operator's IdP dashboards show customers' IdPs only (review of issue 16, finding 3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from broker.metrics.recording import WEBHOOK_SLOT
from broker.store import Store
from broker.upstream.bulkhead import BulkheadLimits, Bulkheads
from broker.upstream.errors import UpstreamUnavailable
from tests.support.metrics_scrape import Scrape, change, scrape, scraper
from tests.support.webhook_receiver import webhook_receiver
from tests.support.webhooks import ACTOR, webhook_gatehouse, worker

IDP = "gatehouse_idp_requests_total"
ATTEMPTS = "gatehouse_webhook_attempts_total"


@pytest.fixture
def metrics(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "metrics").mkdir()
    with scraper(store, tmp_path / "metrics") as client:
        yield client


def _idp_total(result: Scrape) -> float:
    return sum(sample.value for sample in result.samples if sample.name == IDP)


def test_webhook_attempts_are_counted_apart_from_idp_requests(
    store: Store, tmp_path: Path, metrics: TestClient
) -> None:
    gatehouse = webhook_gatehouse(store, tmp_path)
    before = scrape(metrics)
    with webhook_receiver() as receiver, worker(gatehouse) as run:
        gatehouse.broker.management.webhooks.create(ACTOR, url=receiver.url, event_types=["*"])
        gatehouse.organization("Delivered")
        run.run()
        receiver.behaviour = "error"
        gatehouse.organization("Refused by the receiver")
        run.run()
    after = scrape(metrics)
    assert change(before, after, ATTEMPTS, outcome="delivered") == 1
    assert change(before, after, ATTEMPTS, outcome="status") == 1
    assert _idp_total(after) == _idp_total(before)
    assert not [v for v in after.label_values() if v == "webhook"]


def test_a_webhook_endpoints_full_slots_are_not_an_idps(metrics: TestClient) -> None:
    bulkheads = Bulkheads(BulkheadLimits(max_in_flight=1, max_waiting=0))
    key = WEBHOOK_SLOT + "whe_busy"
    before = scrape(metrics)
    with (
        bulkheads.slot(key, breaker=False),
        pytest.raises(UpstreamUnavailable),
        bulkheads.slot(key, breaker=False),
    ):
        pytest.fail("admitted past the limit")
    assert _idp_total(scrape(metrics)) == _idp_total(before)

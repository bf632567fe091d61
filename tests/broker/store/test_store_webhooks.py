"""The webhook store's contracts on every backend: the outbox commits with its event or not
at all; fan-out takes each event once; a claim leases each due delivery to one worker;
settling needs the lease; ended deliveries are purged with their attempts."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from broker.model.records import AuditEvent
from broker.model.webhooks import DELIVERED, PENDING, WebhookAttempt, WebhookDelivery
from broker.store import NotFound
from broker.store.sql import SqlStore
from tests.support.expiring import delivered, endpoint

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _pending(delivery_id: str, event_id: str, *, due: datetime = NOW) -> WebhookDelivery:
    return replace(
        delivered(delivery_id, finished_at=NOW), event_id=event_id, status=PENDING,
        attempts=0, next_attempt_at=due, finished_at=None,
    )  # fmt: skip


def _event(event_id: str, kind: str = "organization.created") -> AuditEvent:
    return AuditEvent(id=event_id, at=NOW, kind=kind)


def test_an_event_is_queued_with_its_transaction_and_only_then(store: SqlStore) -> None:
    class Boom(Exception):
        pass

    def rolled_back() -> None:
        with store.unit_of_work() as uow:
            uow.audit.record(_event("evt-rolled-back"))
            raise Boom

    with pytest.raises(Boom):
        rolled_back()
    with store.unit_of_work() as uow:
        uow.audit.record(_event("evt-kept"))
        uow.audit.record(_event("evt-not-deliverable", kind="idp.circuit_opened"))
    with store.unit_of_work() as uow:
        taken = uow.webhook_deliveries.take_outbox(limit=10)
    assert [e.id for e in taken] == ["evt-kept"]
    with store.unit_of_work() as uow:
        assert uow.webhook_deliveries.take_outbox(limit=10) == []


def test_a_rolled_back_fan_out_leaves_the_events_in_the_outbox(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.audit.record(_event("evt-1"))

    def taken_then_rolled_back() -> None:
        with store.unit_of_work() as uow:
            assert len(uow.webhook_deliveries.take_outbox(limit=10)) == 1
            raise RuntimeError

    with pytest.raises(RuntimeError):
        taken_then_rolled_back()
    with store.unit_of_work() as uow:
        assert len(uow.webhook_deliveries.take_outbox(limit=10)) == 1


def test_a_claim_leases_due_deliveries_and_settling_needs_the_lease(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.add(endpoint("whe_p"))
        uow.audit.record(_event("evt-1"))
        uow.webhook_deliveries.add(
            [_pending("whd-due", "evt-1"), _pending("whd-later", "evt-1", due=NOW + timedelta(1))]
        )
    lease = NOW + timedelta(seconds=30)
    with store.unit_of_work() as uow:
        first = uow.webhook_deliveries.claim(now=NOW, lease_until=lease, token="a", limit=10)
        second = uow.webhook_deliveries.claim(now=NOW, lease_until=lease, token="b", limit=10)
        skipped = uow.webhook_deliveries.claim(
            now=lease, lease_until=lease, token="c", limit=10, skip_endpoints=["whe_p"]
        )
    assert [d.id for d in first.deliveries] == ["whd-due"]
    assert second.deliveries == ()
    assert skipped.deliveries == ()
    with store.unit_of_work() as uow:
        assert not uow.webhook_deliveries.settle(
            "whd-due", token="b", status=DELIVERED, attempts=1, next_attempt_at=NOW,
            finished_at=NOW,
        )  # fmt: skip
        assert uow.webhook_deliveries.settle(
            "whd-due", token="a", status=DELIVERED, attempts=1, next_attempt_at=NOW,
            finished_at=NOW,
        )  # fmt: skip
        assert uow.webhook_deliveries.get("whd-due").status == DELIVERED


def test_concurrent_claims_take_disjoint_deliveries(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.add(endpoint("whe_p"))
        uow.audit.record(_event("evt-1"))
        uow.webhook_deliveries.add([_pending(f"whd-{i:03d}", "evt-1") for i in range(200)])
    taken: list[str] = []
    lock = threading.Lock()

    def claimer(token: str) -> None:
        while True:
            with store.unit_of_work() as uow:
                claim = uow.webhook_deliveries.claim(
                    now=NOW, lease_until=NOW + timedelta(seconds=30), token=token, limit=7
                )
            if not claim.deliveries:
                return
            with lock:
                taken.extend(d.id for d in claim.deliveries)

    threads = [threading.Thread(target=claimer, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(taken) == [f"whd-{i:03d}" for i in range(200)]


def test_ended_deliveries_are_purged_with_their_attempts_and_pending_ones_kept(
    store: SqlStore,
) -> None:
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.add(endpoint("whe_p"))
        uow.audit.record(_event("evt-1"))
        uow.webhook_deliveries.add(
            [
                replace(
                    delivered("whd-old", finished_at=NOW - timedelta(days=31)), event_id="evt-1"
                ),
                _pending("whd-open", "evt-1"),
            ]
        )
        uow.webhook_deliveries.record_attempt(
            WebhookAttempt(
                id="wha-1", delivery_id="whd-old", endpoint_id="whe_p", event_id="evt-1",
                at=NOW, status_code=204, latency_ms=3, response_excerpt="", error=None,
            )
        )  # fmt: skip
    with store.unit_of_work() as uow:
        assert uow.webhook_deliveries.purge_finished_before(NOW - timedelta(days=30), limit=10) == 1
        assert uow.webhook_deliveries.attempts("whd-old") == []
        with pytest.raises(NotFound):
            uow.webhook_deliveries.get("whd-old")
        assert uow.webhook_deliveries.get("whd-open").status == PENDING


def test_disabling_a_failing_endpoint_is_guarded_by_what_was_seen(store: SqlStore) -> None:
    """Only the first of two disablers with the same view changes the row; a view older
    than an edit, or than the end of the failing run, changes nothing."""
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.add(endpoint("whe_h"))
        assert uow.webhook_endpoints.mark_failing("whe_h", since=NOW)
        assert not uow.webhook_endpoints.mark_failing("whe_h", since=NOW + timedelta(hours=1))
        seen = uow.webhook_endpoints.get("whe_h")
    later = NOW + timedelta(days=3)
    with store.unit_of_work() as uow:
        edited = replace(seen, url="https://hooks.example/fixed", updated_at=later)
        uow.webhook_endpoints.save(edited)
        assert not uow.webhook_endpoints.disable_failing(seen, reason="failing", now=later)
        seen = uow.webhook_endpoints.get("whe_h")
        assert uow.webhook_endpoints.disable_failing(seen, reason="failing", now=later)
        assert not uow.webhook_endpoints.disable_failing(seen, reason="failing", now=later)
        disabled = uow.webhook_endpoints.get("whe_h")
        assert (disabled.enabled, disabled.disabled_reason) == (False, "failing")
        uow.webhook_endpoints.save(replace(disabled, enabled=True, failing_since=None))
        assert not uow.webhook_endpoints.disable_failing(seen, reason="failing", now=later)
        assert uow.webhook_endpoints.get("whe_h").enabled
        assert not uow.webhook_endpoints.clear_failing("whe_h", now=later)


def test_concurrent_disablers_of_one_endpoint_disable_it_once(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.add(endpoint("whe_c"))
        uow.webhook_endpoints.mark_failing("whe_c", since=NOW)
        seen = uow.webhook_endpoints.get("whe_c")
    results: list[bool] = []
    start = threading.Barrier(4, timeout=10)

    def disable() -> None:
        start.wait()
        with store.unit_of_work() as uow:
            did = uow.webhook_endpoints.disable_failing(
                seen, reason="failing", now=NOW + timedelta(days=3)
            )
        results.append(did)

    threads = [threading.Thread(target=disable) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False, False, False, True]


def _queued_after(store: SqlStore, event: AuditEvent) -> bool:
    with store.unit_of_work() as uow:
        uow.audit.record(event)
    with store.unit_of_work() as uow:
        return [e.id for e in uow.webhook_deliveries.take_outbox(limit=10)] == [event.id]


def test_a_login_event_is_queued_only_while_an_enabled_endpoint_wants_it(
    store: SqlStore,
) -> None:
    """A sign-in costs no outbox row while nobody listens to `login.*` (a `*` endpoint
    does not receive them, nor one filtered to another organization, nor a disabled one);
    once an enabled endpoint names them, each is queued (review of issue 16, finding 2)."""

    def login(number: int, organization_id: str = "org_a") -> AuditEvent:
        return AuditEvent(
            id=f"evt-login-{number}", at=NOW, kind="login.succeeded",
            organization_id=organization_id,
        )  # fmt: skip

    assert not _queued_after(store, login(1))
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.add(endpoint("whe_all"))  # "*"
        other = replace(endpoint("whe_other"), event_types=("login.*",), organization_id="org_b")
        uow.webhook_endpoints.add(other)
        off = replace(endpoint("whe_off"), event_types=("login.succeeded",), enabled=False)
        uow.webhook_endpoints.add(off)
    assert not _queued_after(store, login(2))
    assert _queued_after(store, login(3, "org_b"))
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.save(replace(off, enabled=True))
    assert _queued_after(store, login(4))
    assert _queued_after(store, AuditEvent(id="evt-org", at=NOW, kind="organization.created"))


def test_deliveries_held_for_a_disabled_endpoint_are_purged_after_the_retention(
    store: SqlStore,
) -> None:
    """A disabled endpoint's pending deliveries are not attempted, so they never end: once
    created a retention ago they go like ended ones; an enabled endpoint's pending ones
    (still being retried) stay (review of issue 16, finding 4)."""
    old = NOW - timedelta(days=31)
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.add(endpoint("whe_p"))
        uow.webhook_endpoints.add(replace(endpoint("whe_off"), enabled=False))
        uow.audit.record(_event("evt-1"))
        held = replace(_pending("whd-held", "evt-1", due=old), endpoint_id="whe_off")
        uow.webhook_deliveries.add(
            [
                replace(held, created_at=old),
                replace(held, id="whd-held-new", created_at=NOW - timedelta(days=2)),
                replace(_pending("whd-retried", "evt-1", due=old), created_at=old),
            ]
        )
    with store.unit_of_work() as uow:
        assert uow.webhook_deliveries.purge_finished_before(NOW - timedelta(days=30), limit=10) == 1
        with pytest.raises(NotFound):
            uow.webhook_deliveries.get("whd-held")
        assert uow.webhook_deliveries.get("whd-held-new").status == PENDING
        assert uow.webhook_deliveries.get("whd-retried").status == PENDING


def test_resuming_an_endpoint_makes_its_held_deliveries_due_now(store: SqlStore) -> None:
    later = NOW + timedelta(hours=5)
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.add(endpoint("whe_p"))
        uow.audit.record(_event("evt-1"))
        uow.webhook_deliveries.add(
            [
                _pending("whd-backing-off", "evt-1", due=later),
                replace(delivered("whd-done", finished_at=NOW), event_id="evt-1"),
            ]
        )
    with store.unit_of_work() as uow:
        assert uow.webhook_deliveries.resume("whe_p", now=NOW) == 1
        assert uow.webhook_deliveries.get("whd-backing-off").next_attempt_at == NOW
        assert uow.webhook_deliveries.get("whd-done").status == DELIVERED

"""Delivery end to end: a change through the management use cases, its event through the
outbox, the worker's signed POST to a real receiver on loopback, checked by an independent
verifier (svix); retries on schedule through every way a receiver can fail; the three-day
limit; a slow receiver's bulkhead; a dead worker's lease. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from svix.webhooks import WebhookVerificationError

from broker.management.webhooks import EndpointChange
from broker.model.records import AuditEvent
from broker.model.webhooks import DELIVERED, FAILED, PENDING, RETRY_WINDOW, WebhookDelivery
from broker.store import Store
from broker.webhooks import schedule
from broker.webhooks.worker import WebhookWorker
from tests.support.gatehouse import Gatehouse
from tests.support.webhook_receiver import Behaviour, Receiver, webhook_receiver
from tests.support.webhooks import ACTOR, verified, webhook_gatehouse, worker


@pytest.fixture
def gatehouse(store: Store, tmp_path: Path) -> Gatehouse:
    return webhook_gatehouse(store, tmp_path)


Start = Callable[..., WebhookWorker]


@pytest.fixture
def start(gatehouse: Gatehouse) -> Iterator[Start]:
    """Workers for the test (`tests.support.webhooks.worker` options), closed at its end."""
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(worker(gatehouse, **options))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as served:
        yield served


def _subscribe(
    gatehouse: Gatehouse, url: str, *patterns: str, org: str | None = None
) -> tuple[str, str]:
    """The endpoint's id and its secret."""
    issued = gatehouse.broker.management.webhooks.create(
        ACTOR, url=url, event_types=list(patterns or ("*",)), organization_id=org
    )
    assert issued.secret.startswith("whsec_")
    return issued.endpoint.id, issued.secret


def _deliveries(gatehouse: Gatehouse, endpoint_id: str) -> list[WebhookDelivery]:
    return list(
        gatehouse.broker.management.webhooks.deliveries(endpoint_id, before=None, limit=100)
    )


def test_a_change_arrives_signed_with_the_event_as_the_api_answers_it(
    gatehouse: Gatehouse, start: Start, receiver: Receiver
) -> None:
    _endpoint_id, secret = _subscribe(gatehouse, receiver.url)
    organization = gatehouse.organization("Acme")
    start().run()
    [request] = receiver.delivered()
    payload = verified(secret, request)
    assert payload["type"] == "organization.created"
    assert payload["data"]["organization_id"] == organization.id
    assert payload["data"]["type"] == "organization.created"
    assert request.headers["webhook-id"] == payload["data"]["id"]
    assert len(request.headers["webhook-signature"].split(" ")) == 1


def test_a_tampered_body_fails_the_independent_verifier(
    gatehouse: Gatehouse, start: Start, receiver: Receiver
) -> None:
    """The verifier is not a rubber stamp: the same request with one byte changed fails."""
    _endpoint_id, secret = _subscribe(gatehouse, receiver.url)
    gatehouse.organization("Acme")
    start().run()
    [request] = receiver.delivered()
    forged = type(request)(request.headers, request.body.replace(b"Acme", b"Acne"), "ok")
    with pytest.raises(WebhookVerificationError):
        verified(secret, forged)


def test_during_a_rotation_both_secrets_verify_and_after_revoking_only_the_new(
    gatehouse: Gatehouse, start: Start, receiver: Receiver
) -> None:
    webhooks = gatehouse.broker.management.webhooks
    endpoint_id, old = _subscribe(gatehouse, receiver.url)
    new = webhooks.rotate_secret(ACTOR, endpoint_id).secret
    assert new != old
    gatehouse.organization("During the overlap")
    run = start()
    run.run()
    during = receiver.delivered()[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verified(old, during)["type"] == verified(new, during)["type"]
    webhooks.revoke_previous_secret(ACTOR, endpoint_id)
    gatehouse.organization("After the overlap")
    run.run()
    after = receiver.delivered()[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verified(new, after)["data"]["detail"]["name"] == "After the overlap"
    with pytest.raises(WebhookVerificationError):
        verified(old, after)


def test_the_overlap_ends_by_itself(gatehouse: Gatehouse, start: Start, receiver: Receiver) -> None:
    webhooks = gatehouse.broker.management.webhooks
    endpoint_id, old = _subscribe(gatehouse, receiver.url)
    new = webhooks.rotate_secret(ACTOR, endpoint_id, overlap=timedelta(seconds=1)).secret
    gatehouse.clock.advance(timedelta(seconds=2))
    gatehouse.organization("Later")
    start().run()
    [request] = [r for r in receiver.delivered() if b"Later" in r.body]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        verified(old, request)
    assert verified(new, request)["type"] == "organization.created"


def test_login_events_go_only_to_endpoints_that_name_them(
    gatehouse: Gatehouse, start: Start, store: Store
) -> None:
    with webhook_receiver() as everything, webhook_receiver() as logins:
        _subscribe(gatehouse, everything.url, "*")
        _subscribe(gatehouse, logins.url, "login.*")
        with store.unit_of_work() as uow:
            uow.audit.record(AuditEvent(at=gatehouse.clock.now(), kind="login.succeeded"))
            uow.audit.record(AuditEvent(at=gatehouse.clock.now(), kind="idp.circuit_opened"))
        gatehouse.organization("Acme")
        start().run()
        kinds_everything = sorted(r.headers["webhook-id"] for r in everything.delivered())
        assert len(kinds_everything) == 1  # organization.created, not the login
        assert [r.body.count(b"login.succeeded") for r in logins.delivered()] == [2]


def test_an_organization_filter_keeps_other_organizations_events_out(
    gatehouse: Gatehouse, start: Start, receiver: Receiver
) -> None:
    acme = gatehouse.organization("Acme")
    _subscribe(gatehouse, receiver.url, "domain.*", org=acme.id)
    other = gatehouse.organization("Other")
    gatehouse.broker.management.domains.add(ACTOR, other.id, "other.example")
    gatehouse.broker.management.domains.add(ACTOR, acme.id, "acme.example")
    start().run()
    [request] = receiver.delivered()
    assert b"acme.example" in request.body


def test_retries_follow_the_schedule_through_every_failure_and_nothing_is_lost(
    gatehouse: Gatehouse, start: Start, receiver: Receiver
) -> None:
    """500, a hang past the deadline, a drip below the minimum rate, a connection closed
    without an answer: each is one recorded attempt, the next due within the backoff's
    bound; once the receiver recovers, each of the three events arrives."""
    endpoint_id, _secret = _subscribe(gatehouse, receiver.url)
    for name in ("One", "Two", "Three"):
        gatehouse.organization(name)
    run = start(deadline=0.6, min_rate=50)
    receiver.drip_seconds = 0.3
    behaviours: tuple[Behaviour, ...] = ("error", "hang", "drip", "close")
    for retry, behaviour in enumerate(behaviours, start=1):
        receiver.behaviour = behaviour
        before = gatehouse.clock.now()
        run.run()
        for delivery in _deliveries(gatehouse, endpoint_id):
            assert delivery.status == PENDING
            assert delivery.attempts == retry
            wait = delivery.next_attempt_at - before
            assert timedelta(seconds=1) <= wait <= schedule.ceiling(retry)
        run.run()  # nothing is due before its time
        assert all(d.attempts == retry for d in _deliveries(gatehouse, endpoint_id))
        gatehouse.clock.advance(schedule.ceiling(retry))
    receiver.behaviour = "ok"
    run.run()
    assert len(set(receiver.delivered_ids())) == 3
    deliveries = _deliveries(gatehouse, endpoint_id)
    assert {d.status for d in deliveries} == {DELIVERED}
    _delivery, attempts = gatehouse.broker.management.webhooks.delivery(
        endpoint_id, deliveries[0].id
    )
    assert [a.error for a in attempts] == ["status", "timeout", "timeout", "connection", None]
    assert attempts[0].status_code == 500
    assert attempts[0].response_excerpt.startswith("receiver exploded")
    assert len(attempts[0].response_excerpt.encode()) <= 1024
    assert attempts[-1].status_code == 204


def test_after_three_days_of_failures_the_delivery_fails_and_the_endpoint_is_disabled(
    gatehouse: Gatehouse, start: Start, receiver: Receiver, store: Store
) -> None:
    endpoint_id, _secret = _subscribe(gatehouse, receiver.url)
    gatehouse.organization("Acme")
    receiver.behaviour = "error"
    run = start()
    run.run()
    gatehouse.clock.advance(RETRY_WINDOW)
    run.run()
    [delivery] = _deliveries(gatehouse, endpoint_id)
    assert delivery.status == FAILED
    endpoint = gatehouse.broker.management.webhooks.get(endpoint_id)
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "failing"
    with store.unit_of_work() as uow:
        [event] = uow.audit.list(kind="webhook_endpoint.disabled")
    assert event.detail["endpoint_id"] == endpoint_id
    receiver.behaviour = "ok"
    gatehouse.organization("While disabled")
    run.run()
    assert receiver.delivered() == []


def test_a_success_ends_a_failing_run(
    gatehouse: Gatehouse, start: Start, receiver: Receiver
) -> None:
    """Failures with a success between them never add up to three days."""
    endpoint_id, _secret = _subscribe(gatehouse, receiver.url)
    run = start()
    receiver.behaviour = "error"
    gatehouse.organization("A")
    run.run()
    gatehouse.clock.advance(timedelta(days=2))
    receiver.behaviour = "ok"
    run.run()
    assert gatehouse.broker.management.webhooks.get(endpoint_id).failing_since is None
    receiver.behaviour = "error"
    gatehouse.organization("B")
    run.run()
    gatehouse.clock.advance(timedelta(days=2))
    run.run()
    assert gatehouse.broker.management.webhooks.get(endpoint_id).enabled


def test_a_hanging_receiver_holds_only_its_own_slots(gatehouse: Gatehouse, start: Start) -> None:
    """While one endpoint's receiver hangs every request to its deadline, another's events
    arrive at once: the hanging one holds its endpoint's two slots, not the worker."""
    with webhook_receiver() as slow, webhook_receiver() as healthy:
        slow.behaviour = "hang"
        _subscribe(gatehouse, slow.url)
        _subscribe(gatehouse, healthy.url)
        for index in range(10):
            gatehouse.organization(f"Org {index}")
        run = start(deadline=5.0, threads=4, per_endpoint=2)
        started = time.monotonic()
        thread = threading.Thread(target=run.run)
        thread.start()
        try:
            while len(healthy.delivered()) < 10 and time.monotonic() - started < 4:
                time.sleep(0.02)
            took = time.monotonic() - started
            held = len(slow.received)
        finally:
            slow.stopping.set()
            thread.join(10)
        assert len(healthy.delivered()) == 10
        assert took < 3.0
        assert held == 2  # its two slots, never more, while they hang


def test_a_dead_workers_claim_is_retried_once_its_lease_ends(
    gatehouse: Gatehouse, start: Start, receiver: Receiver, store: Store
) -> None:
    endpoint_id, _secret = _subscribe(gatehouse, receiver.url)
    gatehouse.organization("Acme")
    run = start(lease=timedelta(seconds=30))
    run.fan_out()
    now = gatehouse.clock.now()
    with store.unit_of_work() as uow:  # a worker claims, then dies before sending
        claim = uow.webhook_deliveries.claim(
            now=now, lease_until=now + timedelta(seconds=30), token="dead", limit=10
        )
    assert len(claim.deliveries) == 1
    run.run()
    assert receiver.delivered() == []
    gatehouse.clock.advance(timedelta(seconds=31))
    run.run()
    assert len(receiver.delivered()) == 1
    with store.unit_of_work() as uow:  # the dead worker, back, changes nothing
        assert not uow.webhook_deliveries.settle(
            claim.deliveries[0].id, token="dead", status=PENDING, attempts=9,
            next_attempt_at=now, finished_at=None,
        )  # fmt: skip
    [delivery] = _deliveries(gatehouse, endpoint_id)
    assert (delivery.status, delivery.attempts) == (DELIVERED, 1)


def test_a_resend_delivers_the_same_event_id_again(
    gatehouse: Gatehouse, start: Start, receiver: Receiver
) -> None:
    endpoint_id, secret = _subscribe(gatehouse, receiver.url)
    gatehouse.organization("Acme")
    run = start()
    run.run()
    [first] = receiver.delivered()
    event_id = first.headers["webhook-id"]
    resent = gatehouse.broker.management.webhooks.resend(ACTOR, endpoint_id, event_id)
    assert resent.manual
    run.run()
    again = [r for r in receiver.delivered() if r.headers["webhook-id"] == event_id]
    assert len(again) == 2
    assert verified(secret, again[1])["data"]["id"] == event_id


def test_the_guard_refuses_at_delivery_an_address_the_url_was_not_allowed(
    gatehouse: Gatehouse, start: Start, store: Store
) -> None:
    """An endpoint whose URL names a private address (written before a policy change, or
    by hand) is refused at every delivery by the outbound guard: no request leaves."""
    endpoint_id, _secret = _subscribe(gatehouse, "https://hooks.example.com/in")
    with store.unit_of_work() as uow:
        endpoint = uow.webhook_endpoints.get(endpoint_id)
        uow.webhook_endpoints.save(replace(endpoint, url="https://10.0.0.7/in"))
    gatehouse.organization("Acme")
    start().run()
    [delivery] = _deliveries(gatehouse, endpoint_id)
    _found, [attempt] = gatehouse.broker.management.webhooks.delivery(endpoint_id, delivery.id)
    assert (attempt.error, attempt.status_code) == ("refused", None)
    assert delivery.status == PENDING


def test_a_secret_that_cannot_be_decrypted_is_a_failed_attempt_not_a_stuck_claim(
    gatehouse: Gatehouse, start: Start, store: Store
) -> None:
    endpoint_id, _secret = _subscribe(gatehouse, "https://hooks.example.com/in")
    with store.unit_of_work() as uow:
        endpoint = uow.webhook_endpoints.get(endpoint_id)
        uow.webhook_endpoints.save(replace(endpoint, secret_encrypted=b"\x02garbage-garbage"))
    gatehouse.organization("Acme")
    start().run()
    [delivery] = _deliveries(gatehouse, endpoint_id)
    _found, [attempt] = gatehouse.broker.management.webhooks.delivery(endpoint_id, delivery.id)
    assert attempt.error == "secret"
    assert (delivery.status, delivery.attempts) == (PENDING, 1)


def test_an_endpoint_edited_while_its_failing_attempt_was_in_flight_is_not_disabled(
    gatehouse: Gatehouse, start: Start, receiver: Receiver, store: Store
) -> None:
    """Three days of failures, but the admin fixes the URL while the last failing request
    is in flight: the worker's decision was made on the endpoint before the edit, so it
    disables nothing and records no event (review of issue 16, finding 1)."""
    webhooks = gatehouse.broker.management.webhooks
    endpoint_id, _secret = _subscribe(gatehouse, receiver.url)
    gatehouse.organization("Acme")
    receiver.behaviour = "error"
    run = start()
    run.run()
    gatehouse.clock.advance(RETRY_WINDOW)
    fixed = EndpointChange(url=receiver.url + "?fixed=1")
    receiver.before_answer = lambda: webhooks.update(ACTOR, endpoint_id, fixed)
    run.run()
    endpoint = webhooks.get(endpoint_id)
    assert endpoint.enabled
    assert endpoint.url.endswith("?fixed=1")
    with store.unit_of_work() as uow:
        assert uow.audit.list(kind="webhook_endpoint.disabled") == []


def test_an_endpoint_re_enabled_while_its_failing_attempt_was_in_flight_stays_enabled(
    gatehouse: Gatehouse, start: Start, receiver: Receiver, store: Store
) -> None:
    """Disabled and re-enabled by the admin during the request: the failing run the
    worker saw is over, so nothing is disabled."""
    webhooks = gatehouse.broker.management.webhooks
    endpoint_id, _secret = _subscribe(gatehouse, receiver.url)
    gatehouse.organization("Acme")
    receiver.behaviour = "error"
    run = start()
    run.run()
    gatehouse.clock.advance(RETRY_WINDOW)

    def off_and_on() -> None:
        webhooks.update(ACTOR, endpoint_id, EndpointChange(enabled=False))
        webhooks.update(ACTOR, endpoint_id, EndpointChange(enabled=True))

    receiver.before_answer = off_and_on
    run.run()
    assert webhooks.get(endpoint_id).enabled
    with store.unit_of_work() as uow:
        assert uow.audit.list(kind="webhook_endpoint.disabled") == []


def test_two_failing_attempts_settled_together_disable_once_with_one_event(
    gatehouse: Gatehouse, start: Start, receiver: Receiver, store: Store
) -> None:
    """Both of the endpoint's slots fail at once after three days: one disables it, the
    other finds it changed, and one event says so."""
    endpoint_id, _secret = _subscribe(gatehouse, receiver.url)
    gatehouse.organization("One")
    gatehouse.organization("Two")
    receiver.behaviour = "error"
    run = start(per_endpoint=2)
    run.run()
    gatehouse.clock.advance(RETRY_WINDOW)
    both_in = threading.Barrier(2, timeout=5)
    receiver.before_answer = both_in.wait
    run.run()
    assert not gatehouse.broker.management.webhooks.get(endpoint_id).enabled
    with store.unit_of_work() as uow:
        assert len(uow.audit.list(kind="webhook_endpoint.disabled")) == 1


def test_a_disabled_endpoint_holds_its_deliveries_and_re_enabling_resumes_them(
    gatehouse: Gatehouse, start: Start, receiver: Receiver, store: Store
) -> None:
    """Disabled by hand while its deliveries back off: nothing is attempted, nothing fails,
    however long it stays off; enabled again, what it held goes out at once (not at its
    old backoff), with its original event ids (review of issue 16, finding 4)."""
    webhooks = gatehouse.broker.management.webhooks
    endpoint_id, _secret = _subscribe(gatehouse, receiver.url)
    gatehouse.organization("Before")
    receiver.behaviour = "error"
    run = start()
    run.run()
    webhooks.update(ACTOR, endpoint_id, EndpointChange(enabled=False))
    receiver.behaviour = "ok"
    gatehouse.organization("While disabled")  # not queued for it: resend by hand
    for _ in range(5):
        gatehouse.clock.advance(timedelta(days=1))
        run.run()
    assert receiver.delivered() == []
    [held] = _deliveries(gatehouse, endpoint_id)
    assert (held.status, held.attempts) == (PENDING, 1)
    webhooks.update(ACTOR, endpoint_id, EndpointChange(enabled=True))
    with store.unit_of_work() as uow:
        [updated] = uow.audit.list(kind="webhook_endpoint.updated", limit=1)
    assert updated.detail["resumed_deliveries"] == "1"
    run.run()
    assert receiver.delivered_ids() == [held.event_id]
    [resumed] = _deliveries(gatehouse, endpoint_id)
    assert (resumed.status, resumed.attempts) == (DELIVERED, 2)

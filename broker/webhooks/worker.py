"""The webhook worker: every instance runs it (the app's background lifespan, every
`GATEHOUSE_WEBHOOK_INTERVAL_MS`), and `gatehouse worker` runs it without serving HTTP.

One run, until there is nothing left to do or it is told to stop:

    fan out   take a batch of events from the outbox; for each enabled endpoint that
              wants one (event types, organization filter), a pending delivery; one
              transaction, so an event is fanned out once or not at all
    claim     lease as many due deliveries as there are free sender threads (a short
              transaction of its own: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so N
              instances claim disjoint deliveries; on SQLite one claimer at a time)
    send      each in a thread, in its endpoint's bulkhead: an endpoint has at most
              `per_endpoint` requests in flight in this instance, so a hanging receiver
              holds its own slots for a deadline each and the others keep flowing; a
              delivery claimed over its endpoint's limit is handed back unsent, still
              due, and the next claims skip endpoints whose slots are all taken
    settle    record the attempt and the delivery's new state, only if this worker's lease
              still holds (a worker that outlived its lease changes nothing)

At least once: a worker killed between sending and settling leaves its deliveries leased;
when the lease ends another worker sends them again, with the same `webhook-id`.
"""

from __future__ import annotations

import logging
import secrets as _secrets
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from broker.clock import Clock
from broker.keys.crypto import KeyDecryptionError, SecretBox
from broker.metrics import recording as metrics
from broker.model.opaque import new_id
from broker.model.records import AuditEvent
from broker.model.webhook_catalogue import wants
from broker.model.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    RETRY_WINDOW,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from broker.store import Store, UnitOfWork
from broker.upstream.bulkhead import BulkheadLimits, Bulkheads
from broker.upstream.errors import UpstreamUnavailable
from broker.upstream.outbound import OutboundPolicy
from broker.webhooks import schedule, sender, signing

log = logging.getLogger(__name__)

DISABLED_KIND = "webhook_endpoint.disabled"
_BUSY_RETRY = timedelta(seconds=1)
_UNSIGNABLE = sender.Outcome(
    status_code=None, latency_ms=0, error="secret",
    excerpt="not sent: the signing secret cannot be decrypted with GATEHOUSE_SECRET_KEY "
    "or GATEHOUSE_SECRET_KEYS_OLD",
)  # fmt: skip
_POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerLimits:
    #: Requests in flight at once in this instance, all endpoints together.
    threads: int = 8
    #: Requests in flight at once to one endpoint in this instance.
    per_endpoint: int = 2
    #: Events fanned out per transaction.
    fan_out_batch: int = 200
    #: How long a claim holds: longer than a request's deadline and its settling.
    lease: timedelta = timedelta(seconds=60)


@dataclass(slots=True)
class RunCounts:
    """What one run did; sender threads add to it under its lock."""

    fanned_out: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    handed_back: int = 0
    lost_leases: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + count)


@dataclass(frozen=True, slots=True)
class _Job:
    delivery: WebhookDelivery
    token: str


class WebhookWorker:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        secret_box: SecretBox,
        http: httpx.Client,
        policy: OutboundPolicy,
        render: sender.Render,
        limits: WorkerLimits | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._box = secret_box
        self._http = http
        self._policy = policy
        self._render = render
        self._limits = limits or WorkerLimits()
        if self._limits.lease.total_seconds() <= policy.deadline_seconds:
            raise ValueError("the lease must outlast a request's deadline")
        per_endpoint = BulkheadLimits(
            max_in_flight=self._limits.per_endpoint, max_waiting=0, wait_seconds=0.0
        )
        self._bulkheads = Bulkheads(per_endpoint)
        #: Deliveries in flight per endpoint in this instance (what the claims skip).
        self._busy: dict[str, int] = {}
        self._busy_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self._limits.threads, thread_name_prefix="webhook")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def run(self, stop: Callable[[], bool] = lambda: False) -> RunCounts:
        """Fan out, claim, send and settle until nothing is due and nothing is in flight
        (or `stop` turns true: then the requests in flight finish and are settled)."""
        counts = RunCounts()
        in_flight: set[Future[None]] = set()
        try:
            while True:
                fanned = 0 if stop() else self.fan_out()
                counts.add("fanned_out", fanned)
                free = self._limits.threads - len(in_flight)
                claimed = [] if stop() or free <= 0 else self._claim(free)
                started = [job for job in claimed if self._take_slot(job)]
                waiting = [job for job in claimed if job not in started]
                if waiting:
                    self._hand_back(waiting, due=None)
                    counts.add("handed_back", len(waiting))
                for job in started:
                    in_flight.add(self._pool.submit(self._deliver, job, counts))
                if not in_flight:
                    if fanned or started:
                        continue
                    return counts
                done, in_flight = wait(
                    in_flight, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED
                )
                for future in done:
                    future.result()
        finally:
            for future in in_flight:
                future.result()

    def _take_slot(self, job: _Job) -> bool:
        """Count the job against its endpoint's slots in this instance, or say no when they
        are all taken: the caller hands it back, still due, and the next claims skip that
        endpoint until a slot frees, so a hanging receiver's backlog is neither sent nor
        spun on."""
        endpoint_id = job.delivery.endpoint_id
        with self._busy_lock:
            taken = self._busy.get(endpoint_id, 0)
            if taken < self._limits.per_endpoint:
                self._busy[endpoint_id] = taken + 1
                return True
        return False

    def _free_slot(self, endpoint_id: str) -> None:
        with self._busy_lock:
            left = self._busy.get(endpoint_id, 1) - 1
            if left > 0:
                self._busy[endpoint_id] = left
            else:
                self._busy.pop(endpoint_id, None)

    def fan_out(self) -> int:
        """One batch of the outbox into deliveries; the number of events taken."""
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            events = uow.webhook_deliveries.take_outbox(limit=self._limits.fan_out_batch)
            if not events:
                return 0
            endpoints = uow.webhook_endpoints.enabled()
            deliveries = [
                _delivery(endpoint, event, now)
                for event in events
                for endpoint in endpoints
                if _wants(endpoint, event)
            ]
            uow.webhook_deliveries.add(deliveries)
        return len(events)

    def _claim(self, limit: int) -> list[_Job]:
        now = self._clock.now()
        token = _secrets.token_urlsafe(16)
        with self._busy_lock:
            full = [e for e, n in self._busy.items() if n >= self._limits.per_endpoint]
        with self._store.unit_of_work() as uow:
            claim = uow.webhook_deliveries.claim(
                now=now, lease_until=now + self._limits.lease, token=token, limit=limit,
                skip_endpoints=full,
            )  # fmt: skip
        return [_Job(delivery, claim.token) for delivery in claim.deliveries]

    def _deliver(self, job: _Job, counts: RunCounts) -> None:
        try:
            self._attempt(job, counts)
        except Exception:  # one delivery's bug must not end the others' run
            log.exception("webhook delivery %s failed unexpectedly", job.delivery.id)
        finally:
            self._free_slot(job.delivery.endpoint_id)

    def _attempt(self, job: _Job, counts: RunCounts) -> None:
        delivery = job.delivery
        with self._store.unit_of_work() as uow:
            endpoint = uow.webhook_endpoints.get(delivery.endpoint_id)
            event = uow.webhook_deliveries.event(delivery.event_id)
        try:
            secrets = self._secrets(endpoint, self._clock.now())
        except KeyDecryptionError:  # a master key removed too early: an attempt that failed
            log.error("webhook endpoint %s: its signing secret cannot be decrypted", endpoint.id)
            self._settle(job, endpoint, _UNSIGNABLE)
            counts.add("failed_attempts")
            return
        try:
            with self._bulkheads.slot(metrics.WEBHOOK_SLOT + endpoint.id, breaker=False):
                now = self._clock.now()
                outcome = sender.send(
                    self._http, self._policy, url=endpoint.url, event=event, secrets=secrets,
                    now=now, render=self._render,
                )  # fmt: skip
        except UpstreamUnavailable:  # its endpoint's slots are taken: back in the queue
            self._hand_back([job], due=self._clock.now() + _BUSY_RETRY)
            counts.add("handed_back")
            return
        if not self._settle(job, endpoint, outcome):
            counts.add("lost_leases")
        else:
            counts.add("delivered" if outcome.delivered else "failed_attempts")

    def _secrets(self, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
        current = signing.unseal(self._box, endpoint.id, endpoint.secret_encrypted)
        if endpoint.previous_live(now) and endpoint.previous_secret_encrypted is not None:
            previous = signing.unseal(
                self._box, endpoint.id, endpoint.previous_secret_encrypted, "previous"
            )
            return [current, previous]
        return [current]

    def _hand_back(self, jobs: list[_Job], *, due: datetime | None) -> None:
        """Release claims unsent (not attempts), in one transaction: due again at `due`,
        or when they were due already (None)."""
        with self._store.unit_of_work() as uow:
            for job in jobs:
                d = job.delivery
                uow.webhook_deliveries.settle(
                    d.id, token=job.token, status=PENDING, attempts=d.attempts,
                    next_attempt_at=due or d.next_attempt_at, finished_at=None,
                )  # fmt: skip

    def _settle(self, job: _Job, endpoint: WebhookEndpoint, outcome: sender.Outcome) -> bool:
        d, now = job.delivery, self._clock.now()
        attempts = d.attempts + 1
        if outcome.delivered:
            status, due, finished = DELIVERED, now, now
        elif schedule.given_up(d.created_at, now):
            status, due, finished = FAILED, now, now
        else:
            status, due, finished = PENDING, schedule.next_attempt(now, attempts), None
        with self._store.unit_of_work() as uow:
            settled = uow.webhook_deliveries.settle(
                d.id, token=job.token, status=status, attempts=attempts,
                next_attempt_at=due, finished_at=finished,
            )  # fmt: skip
            if not settled:
                log.warning("webhook delivery %s: lease lost before settling", d.id)
                return False
            uow.webhook_deliveries.record_attempt(
                WebhookAttempt(
                    id=new_id("wha"), delivery_id=d.id, endpoint_id=d.endpoint_id,
                    event_id=d.event_id, at=now, status_code=outcome.status_code,
                    latency_ms=outcome.latency_ms, response_excerpt=outcome.excerpt,
                    error=outcome.error,
                )
            )  # fmt: skip
            if not (outcome.delivered and endpoint.failing_since is None):
                _track_health(uow, endpoint, delivered=outcome.delivered, now=now)
        metrics.webhook_attempt(outcome.error)  # once committed: an attempt on record
        return True


def _track_health(
    uow: UnitOfWork, seen: WebhookEndpoint, *, delivered: bool, now: datetime
) -> None:
    """An endpoint that has failed every attempt for `RETRY_WINDOW` is disabled, with an
    event saying so; one success ends the failing run.

    `seen` is the endpoint as read before the request. Each change is a guarded UPDATE,
    not a save of that copy: disabling happens only if the endpoint is still as seen
    (enabled, the same failing run, not edited since), so two workers failing at once
    disable it once, with one event, and an endpoint an admin re-enabled or changed while
    the request was in flight stays enabled."""
    endpoints = uow.webhook_endpoints
    if delivered:
        endpoints.clear_failing(seen.id, now=now)
        return
    if seen.failing_since is None:
        endpoints.mark_failing(seen.id, since=now)
        return
    if now - seen.failing_since < RETRY_WINDOW:
        return
    if not endpoints.disable_failing(seen, reason="failing", now=now):
        return
    uow.audit.record(
        AuditEvent(
            at=now,
            kind=DISABLED_KIND,
            actor="gatehouse",
            organization_id=seen.organization_id,
            detail={"endpoint_id": seen.id, "failing_since": seen.failing_since.isoformat()},
        )
    )


def _wants(endpoint: WebhookEndpoint, event: AuditEvent) -> bool:
    return wants(endpoint.event_types, endpoint.organization_id, event.kind, event.organization_id)


def _delivery(endpoint: WebhookEndpoint, event: AuditEvent, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        id=new_id("whd"),
        endpoint_id=endpoint.id,
        event_id=event.id,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        finished_at=None,
        manual=False,
    )

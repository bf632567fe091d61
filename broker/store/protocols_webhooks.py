"""The webhook repositories: endpoints, and the deliveries of the outbox.

The outbox itself has no repository of its own to write to: `AuditRepo.record` queues a
deliverable event (`broker.model.webhook_catalogue.queued`) in the same transaction as the
event, so no call site can record a change and forget its webhook.

Claims are the concurrency contract, proven on both backends by the conformance tests:
of any number of workers claiming at once (threads or processes), each due delivery goes
to exactly one of them until its lease ends; a worker that dies keeps it only until then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from broker.model.records import AuditEvent
from broker.model.webhooks import Claim, WebhookAttempt, WebhookDelivery, WebhookEndpoint

PageKey = tuple[datetime, str]


class WebhookEndpointRepo(Protocol):
    def add(self, endpoint: WebhookEndpoint) -> None: ...

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        """NotFound if absent."""
        ...

    def page(self, *, after: PageKey | None, limit: int) -> Sequence[WebhookEndpoint]:
        """Oldest first, by (created_at, id)."""
        ...

    def enabled(self) -> Sequence[WebhookEndpoint]:
        """Every enabled endpoint (the fan-out matches each event against them)."""
        ...

    def save(self, endpoint: WebhookEndpoint) -> None:
        """Store every field but id and created_*; NotFound if absent."""
        ...

    def delete(self, endpoint_id: str) -> None:
        """Remove it with its deliveries and attempts; NotFound if absent."""
        ...

    # The worker's health bookkeeping: targeted, guarded updates, never a whole-row `save`
    # of what it read before a request (an admin's change made meanwhile would be lost).

    def mark_failing(self, endpoint_id: str, *, since: datetime) -> bool:
        """Start a failing run at `since`, unless one is running; True if this call did."""
        ...

    def clear_failing(self, endpoint_id: str, *, now: datetime) -> bool:
        """End a failing run (a success); True if one was running."""
        ...

    def disable_failing(self, seen: WebhookEndpoint, *, reason: str, now: datetime) -> bool:
        """Disable the endpoint only if it is still as `seen`: enabled, in the same failing
        run, unchanged since (`updated_at`). True if this call disabled it: of two workers
        (or a worker and an admin's update) racing, at most one disables, and only the one
        that did records the event; an endpoint re-enabled or edited meanwhile stays."""
        ...


class WebhookDeliveryRepo(Protocol):
    def take_outbox(self, *, limit: int) -> Sequence[AuditEvent]:
        """Remove at most `limit` events from the outbox, oldest first, and return them.
        Concurrent takers get disjoint events (rows another holds are skipped); if the
        unit of work rolls back, the events are back in the outbox."""
        ...

    def add(self, deliveries: Sequence[WebhookDelivery]) -> None: ...

    def claim(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        token: str,
        limit: int,
        skip_endpoints: Sequence[str] = (),
    ) -> Claim:
        """Lease at most `limit` due deliveries (pending, `next_attempt_at` <= now, no live
        lease, endpoint enabled and not in `skip_endpoints`), oldest due first, to `token`
        until `lease_until`."""
        ...

    def settle(
        self,
        delivery_id: str,
        *,
        token: str,
        status: str,
        attempts: int,
        next_attempt_at: datetime,
        finished_at: datetime | None,
    ) -> bool:
        """Record the outcome of a claimed delivery and end the lease, only if `token`
        still holds it; False if the lease was lost (it expired and another worker took
        the delivery): the caller then changes nothing else."""
        ...

    def record_attempt(self, attempt: WebhookAttempt) -> None: ...

    def get(self, delivery_id: str) -> WebhookDelivery:
        """NotFound if absent."""
        ...

    def event(self, event_id: str) -> AuditEvent:
        """The event a delivery carries; NotFound if absent (purged)."""
        ...

    def page(
        self, endpoint_id: str, *, before: PageKey | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        """One endpoint's deliveries, newest first by (created_at, id)."""
        ...

    def attempts(self, delivery_id: str) -> Sequence[WebhookAttempt]:
        """Oldest first."""
        ...

    def resume(self, endpoint_id: str, *, now: datetime) -> int:
        """Make every pending delivery of the endpoint due at `now` (it was re-enabled:
        what it held while disabled goes out at once, not at its old backoff); how many."""
        ...

    def purge_finished_before(self, before: datetime, *, limit: int) -> int:
        """Delete at most `limit` deliveries that ended (delivered or failed) at or before
        `before`, and pending ones created at or before `before` of an endpoint that is
        disabled (held, never attempted: they would otherwise never end), with their
        attempts."""
        ...

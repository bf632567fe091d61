"""Webhook endpoints, their deliveries and every attempt at one.

A *delivery* is one event owed to one endpoint; it is `pending` until an attempt gets a
2xx answer (`delivered`) or it has been retried for `RETRY_WINDOW` (`failed`). A resend by
hand is a new delivery of the same event (same `webhook-id`, so the receiver can
de-duplicate). An *attempt* is one HTTP request, recorded whatever happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: How long a delivery is retried, and how long an endpoint may fail before it is disabled.
RETRY_WINDOW = timedelta(days=3)
#: How much of a receiver's answer an attempt keeps (for debugging, not for storage).
EXCERPT_BYTES = 1024

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEndpoint:
    id: str
    url: str
    #: Patterns (`broker.model.webhook_catalogue`): exact kinds, `family.*` or `*`.
    event_types: tuple[str, ...]
    #: Only this organization's events; None for every organization's.
    organization_id: str | None
    enabled: bool
    #: The signing secret (`whsec_...`), encrypted at rest by `SecretBox`.
    secret_encrypted: bytes
    #: The secret before the last rotation, still signing until it is revoked or expires.
    previous_secret_encrypted: bytes | None
    previous_secret_expires_at: datetime | None
    #: When the current run of failed attempts began; None while it delivers.
    failing_since: datetime | None
    #: Why the endpoint was disabled by Gatehouse (`failing`), None if enabled or by hand.
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str

    def previous_live(self, now: datetime) -> bool:
        """Whether the previous secret still signs (the rotation overlap)."""
        return (
            self.previous_secret_encrypted is not None
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookDelivery:
    id: str
    endpoint_id: str
    event_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    finished_at: datetime | None
    #: Made by hand (a resend), not by the outbox.
    manual: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookAttempt:
    id: str
    delivery_id: str
    endpoint_id: str
    event_id: str
    at: datetime
    #: The HTTP status; None when no answer came (`error` says why).
    status_code: int | None
    latency_ms: int
    #: The first `EXCERPT_BYTES` of the answer, decoded leniently.
    response_excerpt: str
    #: `timeout`, `connection`, `refused`, `status` (a non-2xx answer), or None on success.
    error: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """Deliveries one worker took, under one lease token, until `lease_until`."""

    token: str
    lease_until: datetime
    deliveries: tuple[WebhookDelivery, ...]

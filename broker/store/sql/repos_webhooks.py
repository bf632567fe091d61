"""Webhook endpoints, the outbox's fan-out, and claimed deliveries (see
`broker.store.protocols_webhooks` for the contracts).

Claiming and taking from the outbox are one statement each, in the shape of the purge's
batched deletes (`batches`): on PostgreSQL a MATERIALIZED CTE picks the rows
`FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint rows without waiting on each
other, and a row another worker has just leased is re-checked when locked and dropped; on
SQLite a plain subquery, since it runs one writer at a time (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, delete, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from broker.model.records import AuditEvent
from broker.model.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    Claim,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from broker.store.protocols import NotFound
from broker.store.sql.batches import LIMIT, batched_delete, checked_limit
from broker.store.sql.repos_audit import event_from_row
from broker.store.sql.statements import (
    PerDialect,
    affected,
    all_rows,
    first,
    insert_or_raise,
    keyset,
)
from broker.store.sql.tables import audit_events
from broker.store.sql.tables_background import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_outbox,
)

_E = webhook_endpoints
_D = webhook_deliveries
_AT = _D.c.next_attempt_at.type
_ENDPOINT_PAGES = keyset(select(_E), _E.c.created_at, _E.c.id)
_ENABLED = select(_E).where(_E.c.enabled.is_(True)).order_by(_E.c.created_at, _E.c.id)
_GET_ENDPOINT = select(_E).where(_E.c.id == bindparam("p_id"))
_SAVE_ENDPOINT = (
    update(_E)
    .where(_E.c.id == bindparam("p_id"))
    .values(
        url=bindparam("url"),
        event_types=bindparam("event_types"),
        organization_id=bindparam("organization_id"),
        enabled=bindparam("enabled"),
        secret_encrypted=bindparam("secret_encrypted"),
        previous_secret_encrypted=bindparam("previous_secret_encrypted"),
        previous_secret_expires_at=bindparam("previous_secret_expires_at"),
        failing_since=bindparam("failing_since"),
        disabled_reason=bindparam("disabled_reason"),
        updated_at=bindparam("updated_at"),
    )
)
_DELETE_ENDPOINT = delete(_E).where(_E.c.id == bindparam("p_id"))
_ENDPOINT_AT = _E.c.updated_at.type
_MARK_FAILING = (
    update(_E)
    .where(_E.c.id == bindparam("p_id"), _E.c.failing_since.is_(None))
    .values(
        failing_since=bindparam("p_since", type_=_ENDPOINT_AT),
        updated_at=bindparam("p_since", type_=_ENDPOINT_AT),
    )
)
_CLEAR_FAILING = (
    update(_E)
    .where(_E.c.id == bindparam("p_id"), _E.c.failing_since.is_not(None))
    .values(failing_since=None, updated_at=bindparam("p_now", type_=_ENDPOINT_AT))
)
_DISABLE_FAILING = (
    update(_E)
    .where(
        _E.c.id == bindparam("p_id"),
        _E.c.enabled.is_(True),
        _E.c.failing_since == bindparam("p_failing_since", type_=_ENDPOINT_AT),
        _E.c.updated_at == bindparam("p_updated_at", type_=_ENDPOINT_AT),
    )
    .values(
        enabled=False,
        disabled_reason=bindparam("p_reason"),
        updated_at=bindparam("p_now", type_=_ENDPOINT_AT),
    )
)


def _take(locking: bool) -> Any:
    chosen = (
        select(webhook_outbox.c.event_id)
        .order_by(webhook_outbox.c.at, webhook_outbox.c.event_id)
        .limit(bindparam(LIMIT, type_=Integer()))
    )
    if locking:
        cte = chosen.with_for_update(skip_locked=True).cte("taken").prefix_with("MATERIALIZED")
        picked = select(cte.c.event_id)
    else:
        picked = chosen
    return (
        delete(webhook_outbox)
        .where(webhook_outbox.c.event_id.in_(picked))
        .returning(webhook_outbox.c.event_id)
    )


_TAKE = PerDialect(sqlite=_take(False), postgresql=_take(True))
_EVENTS = (
    select(audit_events)
    .where(audit_events.c.id.in_(bindparam("p_ids", expanding=True)))
    .order_by(audit_events.c.at, audit_events.c.id)
)
_NOW = bindparam("p_now", type_=_AT)


def _claim(locking: bool) -> Any:
    due = (
        select(_D.c.id)
        .join(_E, _E.c.id == _D.c.endpoint_id)
        .where(
            _D.c.status == PENDING,
            _D.c.next_attempt_at <= _NOW,
            or_(_D.c.lease_until.is_(None), _D.c.lease_until <= _NOW),
            _E.c.enabled.is_(True),
            _D.c.endpoint_id.not_in(bindparam("p_skip", expanding=True)),
        )
        .order_by(_D.c.next_attempt_at, _D.c.id)
        .limit(bindparam(LIMIT, type_=Integer()))
    )
    if locking:
        cte = due.with_for_update(skip_locked=True, of=_D).cte("due").prefix_with("MATERIALIZED")
        picked = select(cte.c.id)
    else:
        picked = due
    return (
        update(_D)
        .where(_D.c.id.in_(picked))
        .values(
            claim_token=bindparam("p_token"),
            lease_until=bindparam("p_lease_until", type_=_AT),
        )
        .returning(*_D.c)
    )


_CLAIM = PerDialect(sqlite=_claim(False), postgresql=_claim(True))
_SETTLE = (
    update(_D)
    .where(_D.c.id == bindparam("p_id"), _D.c.claim_token == bindparam("p_token"))
    .values(
        status=bindparam("status"),
        attempts=bindparam("attempts"),
        next_attempt_at=bindparam("next_attempt_at", type_=_AT),
        finished_at=bindparam("finished_at", type_=_AT),
        claim_token=None,
        lease_until=None,
    )
)
_GET_DELIVERY = select(_D).where(_D.c.id == bindparam("p_id"))
_GET_EVENT = select(audit_events).where(audit_events.c.id == bindparam("p_id"))
_DELIVERY_PAGES = keyset(
    select(_D).where(_D.c.endpoint_id == bindparam("p_endpoint_id")),
    _D.c.created_at,
    _D.c.id,
    descending=True,
)
_ATTEMPTS = (
    select(webhook_attempts)
    .where(webhook_attempts.c.delivery_id == bindparam("p_id"))
    .order_by(webhook_attempts.c.at, webhook_attempts.c.id)
)
_BEFORE = bindparam("p_before", type_=_AT)
_PURGE_DELIVERIES = batched_delete(
    _D,
    or_(
        and_(
            _D.c.status.in_((DELIVERED, FAILED)),
            _D.c.finished_at.is_not(None),
            _D.c.finished_at <= _BEFORE,
        ),
        # Held for a disabled endpoint (never attempted, so never ending) a retention long.
        and_(
            _D.c.status == PENDING,
            _D.c.created_at <= _BEFORE,
            _D.c.endpoint_id.in_(select(_E.c.id).where(_E.c.enabled.is_(False))),
        ),
    ),
)
_RESUME = (
    update(_D)
    .where(_D.c.endpoint_id == bindparam("p_endpoint_id"), _D.c.status == PENDING)
    .values(next_attempt_at=bindparam("p_now", type_=_AT))
)


class SqlWebhookEndpointRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, endpoint: WebhookEndpoint) -> None:
        params = _endpoint_params(endpoint) | {
            "id": endpoint.id,
            "created_at": endpoint.created_at,
            "created_by": endpoint.created_by,
        }
        insert_or_raise(self._connection, _E.insert(), params, f"endpoint {endpoint.id!r}")

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        row = first(self._connection, _GET_ENDPOINT, {"p_id": endpoint_id})
        if row is None:
            raise NotFound(f"webhook endpoint {endpoint_id!r}")
        return _endpoint(row)

    def page(self, *, after: tuple[datetime, str] | None, limit: int) -> Sequence[WebhookEndpoint]:
        rows = _ENDPOINT_PAGES.page(self._connection, {}, after=after, limit=limit)
        return [_endpoint(row) for row in rows]

    def enabled(self) -> Sequence[WebhookEndpoint]:
        return [_endpoint(row) for row in all_rows(self._connection, _ENABLED, {})]

    def save(self, endpoint: WebhookEndpoint) -> None:
        params = _endpoint_params(endpoint) | {"p_id": endpoint.id}
        if affected(self._connection, _SAVE_ENDPOINT, params) != 1:
            raise NotFound(f"webhook endpoint {endpoint.id!r}")

    def delete(self, endpoint_id: str) -> None:
        if affected(self._connection, _DELETE_ENDPOINT, {"p_id": endpoint_id}) != 1:
            raise NotFound(f"webhook endpoint {endpoint_id!r}")

    def mark_failing(self, endpoint_id: str, *, since: datetime) -> bool:
        params = {"p_id": endpoint_id, "p_since": since}
        return affected(self._connection, _MARK_FAILING, params) == 1

    def clear_failing(self, endpoint_id: str, *, now: datetime) -> bool:
        params = {"p_id": endpoint_id, "p_now": now}
        return affected(self._connection, _CLEAR_FAILING, params) == 1

    def disable_failing(self, seen: WebhookEndpoint, *, reason: str, now: datetime) -> bool:
        """One UPDATE whose WHERE is the state the decision was made on: on PostgreSQL a
        concurrent writer's UPDATE waits for the row lock, then re-checks the WHERE against
        the committed row, so the second of two disablers changes nothing."""
        if seen.failing_since is None:
            return False
        params = {
            "p_id": seen.id, "p_failing_since": seen.failing_since,
            "p_updated_at": seen.updated_at, "p_reason": reason, "p_now": now,
        }  # fmt: skip
        return affected(self._connection, _DISABLE_FAILING, params) == 1


class SqlWebhookDeliveryRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def take_outbox(self, *, limit: int) -> Sequence[AuditEvent]:
        statement = _TAKE.on(self._connection)
        taken = [row.event_id for row in all_rows(self._connection, statement, {LIMIT: limit})]
        if not taken:
            return []
        rows = all_rows(self._connection, _EVENTS, {"p_ids": taken})
        return [event_from_row(row) for row in rows]

    def add(self, deliveries: Sequence[WebhookDelivery]) -> None:
        if not deliveries:
            return
        rows = [
            {
                "id": d.id,
                "endpoint_id": d.endpoint_id,
                "event_id": d.event_id,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at,
                "created_at": d.created_at,
                "finished_at": d.finished_at,
                "manual": d.manual,
                "claim_token": None,
                "lease_until": None,
            }
            for d in deliveries
        ]
        try:
            self._connection.execute(_D.insert(), rows)
        except IntegrityError as exc:  # the endpoint (or event) was deleted meanwhile
            raise NotFound("a delivery's endpoint or event is gone") from exc

    def claim(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        token: str,
        limit: int,
        skip_endpoints: Sequence[str] = (),
    ) -> Claim:
        params = {
            "p_skip": list(skip_endpoints),
            "p_now": now,
            "p_lease_until": lease_until,
            "p_token": token,
            LIMIT: checked_limit(limit),
        }
        rows = all_rows(self._connection, _CLAIM.on(self._connection), params)
        deliveries = sorted((_delivery(row) for row in rows), key=lambda d: d.next_attempt_at)
        return Claim(token=token, lease_until=lease_until, deliveries=tuple(deliveries))

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
        params = {
            "p_id": delivery_id,
            "p_token": token,
            "status": status,
            "attempts": attempts,
            "next_attempt_at": next_attempt_at,
            "finished_at": finished_at,
        }
        return affected(self._connection, _SETTLE, params) == 1

    def record_attempt(self, attempt: WebhookAttempt) -> None:
        params = {
            "id": attempt.id,
            "delivery_id": attempt.delivery_id,
            "endpoint_id": attempt.endpoint_id,
            "event_id": attempt.event_id,
            "at": attempt.at,
            "status_code": attempt.status_code,
            "latency_ms": attempt.latency_ms,
            "response_excerpt": attempt.response_excerpt,
            "error": attempt.error,
        }
        insert_or_raise(self._connection, webhook_attempts.insert(), params, "attempt")

    def get(self, delivery_id: str) -> WebhookDelivery:
        row = first(self._connection, _GET_DELIVERY, {"p_id": delivery_id})
        if row is None:
            raise NotFound(f"webhook delivery {delivery_id!r}")
        return _delivery(row)

    def event(self, event_id: str) -> AuditEvent:
        row = first(self._connection, _GET_EVENT, {"p_id": event_id})
        if row is None:
            raise NotFound(f"event {event_id!r}")
        return event_from_row(row)

    def page(
        self, endpoint_id: str, *, before: tuple[datetime, str] | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        params = {"p_endpoint_id": endpoint_id}
        rows = _DELIVERY_PAGES.page(self._connection, params, after=before, limit=limit)
        return [_delivery(row) for row in rows]

    def attempts(self, delivery_id: str) -> Sequence[WebhookAttempt]:
        rows = all_rows(self._connection, _ATTEMPTS, {"p_id": delivery_id})
        return [_attempt(row) for row in rows]

    def resume(self, endpoint_id: str, *, now: datetime) -> int:
        return affected(self._connection, _RESUME, {"p_endpoint_id": endpoint_id, "p_now": now})

    def purge_finished_before(self, before: datetime, *, limit: int) -> int:
        params = {"p_before": before, LIMIT: checked_limit(limit)}
        return affected(self._connection, _PURGE_DELIVERIES.on(self._connection), params)


def _endpoint_params(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "organization_id": endpoint.organization_id,
        "enabled": endpoint.enabled,
        "secret_encrypted": endpoint.secret_encrypted,
        "previous_secret_encrypted": endpoint.previous_secret_encrypted,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "failing_since": endpoint.failing_since,
        "disabled_reason": endpoint.disabled_reason,
        "updated_at": endpoint.updated_at,
    }


def _endpoint(row: Row[Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        url=row.url,
        event_types=tuple(row.event_types),
        organization_id=row.organization_id,
        enabled=row.enabled,
        secret_encrypted=row.secret_encrypted,
        previous_secret_encrypted=row.previous_secret_encrypted,
        previous_secret_expires_at=row.previous_secret_expires_at,
        failing_since=row.failing_since,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
    )


def _delivery(row: Row[Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
        manual=row.manual,
    )


def _attempt(row: Row[Any]) -> WebhookAttempt:
    return WebhookAttempt(
        id=row.id,
        delivery_id=row.delivery_id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        at=row.at,
        status_code=row.status_code,
        latency_ms=row.latency_ms,
        response_excerpt=row.response_excerpt,
        error=row.error,
    )

"""The audit log and the replay cache: append-mostly records that every broker process
shares through the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Executable, Integer, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from broker.model.records import AuditEvent
from broker.model.webhook_catalogue import opt_in, queued, wants
from broker.store.protocols import EventQuery
from broker.store.sql.batches import LIMIT, batched_delete, checked_limit
from broker.store.sql.statements import (
    Keyset,
    PerDialect,
    affected,
    all_rows,
    counted,
    insert_ignoring_duplicates,
    insert_unless_duplicate,
    keyset,
)
from broker.store.sql.tables import audit_events, replay_cache
from broker.store.sql.tables_background import webhook_endpoints, webhook_outbox

_INSERT_EVENT = insert_ignoring_duplicates(audit_events)
_QUEUE_EVENT = webhook_outbox.insert()
#: What the outbox asks of the enabled endpoints before queueing an opt-in kind: their
#: patterns and organization filter, nothing secret.
_SUBSCRIPTIONS = select(webhook_endpoints.c.event_types, webhook_endpoints.c.organization_id).where(
    webhook_endpoints.c.enabled.is_(True)
)
_LIMIT = bindparam("p_limit", type_=Integer())
_ORGANIZATION_ID = bindparam("p_organization_id", type_=audit_events.c.organization_id.type)
_KIND = bindparam("p_kind", type_=audit_events.c.kind.type)
_CONNECTION_ID = bindparam("p_connection_id", type_=audit_events.c.connection_id.type)


def _events(*, by_organization: bool, by_kind: bool) -> Executable:
    query = select(audit_events)
    if by_organization:
        query = query.where(audit_events.c.organization_id == _ORGANIZATION_ID)
    if by_kind:
        query = query.where(audit_events.c.kind == _KIND)
    return query.order_by(audit_events.c.at.desc(), audit_events.c.id.desc()).limit(_LIMIT)


_LIST_EVENTS = {
    (by_organization, by_kind): _events(by_organization=by_organization, by_kind=by_kind)
    for by_organization in (False, True)
    for by_kind in (False, True)
}
_AT = audit_events.c.at.type


@cache
def _event_pages(
    *,
    by_organization: bool,
    by_connection: bool,
    by_kind: bool,
    by_prefix: bool,
    by_request: bool,
    since: bool,
    until: bool,
    oldest_first: bool,
) -> Keyset:
    """The pages of one combination of filters and an order, built on its first use and
    kept (at most 256 statements). The prefix is compared with `substr`, not LIKE: SQLite's
    LIKE ignores ASCII case, PostgreSQL's does not, and `_` or `%` in a prefix would need
    escaping;
    `substr(kind, 1, n) = prefix` is exact and case-sensitive on both."""
    query = select(audit_events)
    if by_organization:
        query = query.where(audit_events.c.organization_id == _ORGANIZATION_ID)
    if by_connection:
        query = query.where(audit_events.c.connection_id == _CONNECTION_ID)
    if by_kind:
        query = query.where(audit_events.c.kind == _KIND)
    if by_prefix:
        prefix_length = bindparam("p_kind_prefix_length", type_=Integer())
        prefix = bindparam("p_kind_prefix", type_=audit_events.c.kind.type)
        query = query.where(func.substr(audit_events.c.kind, 1, prefix_length) == prefix)
    if by_request:
        request_id = bindparam("p_request_id", type_=audit_events.c.request_id.type)
        query = query.where(audit_events.c.request_id == request_id)
    if since:
        query = query.where(audit_events.c.at >= bindparam("p_since", type_=_AT))
    if until:
        query = query.where(audit_events.c.at < bindparam("p_until", type_=_AT))
    return keyset(query, audit_events.c.at, audit_events.c.id, descending=not oldest_first)


_PURGE_EVENTS = batched_delete(audit_events, audit_events.c.at <= bindparam("p_before", type_=_AT))


class SqlAuditRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record(self, event: AuditEvent) -> None:
        """ON CONFLICT DO NOTHING: a duplicate id is AlreadyExists without a savepoint, and
        leaves the unit of work usable. An event an app may receive as a webhook
        (`webhook_catalogue.queued`) is also put in the outbox here, in the same
        transaction (an opt-in kind, `login.*`, only while an enabled endpoint wants
        it): every call site that records a change queues its webhook, and a
        rolled-back change queues nothing."""
        params = {
            "id": event.id,
            "at": event.at,
            "kind": event.kind,
            "reason": event.reason,
            "organization_id": event.organization_id,
            "connection_id": event.connection_id,
            "flow_id": event.flow_id,
            "request_id": event.request_id,
            "detail": dict(event.detail),
            "actor": event.actor,
        }
        statement = _INSERT_EVENT.on(self._connection)
        insert_unless_duplicate(self._connection, statement, params, f"audit event {event.id!r}")
        if queued(event.kind) and (not opt_in(event.kind) or self._wanted(event)):
            self._connection.execute(_QUEUE_EVENT, {"event_id": event.id, "at": event.at})

    def _wanted(self, event: AuditEvent) -> bool:
        """Whether an enabled endpoint would receive this opt-in event (a sign-in's
        `login.*`): read in the event's own transaction, so an endpoint enabled before it
        commits is seen. One small read (the enabled endpoints' patterns) in place of an
        outbox row and a fan-out per sign-in that nobody listens to; not a per-process
        cache, which another instance's new endpoint would leave stale and so lose
        events. An endpoint enabled after the event committed is not owed it (as the
        fan-out never owed a disabled endpoint the events recorded meanwhile)."""
        rows = all_rows(self._connection, _SUBSCRIPTIONS, {})
        return any(
            wants(row.event_types, row.organization_id, event.kind, event.organization_id)
            for row in rows
        )

    def list(
        self, *, limit: int = 100, organization_id: str | None = None, kind: str | None = None
    ) -> Sequence[AuditEvent]:
        """Newest first; events of one instant in a fixed (id) order, so pages are stable."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query = _LIST_EVENTS[(organization_id is not None, kind is not None)]
        params = {"p_limit": limit, "p_organization_id": organization_id, "p_kind": kind}
        return [event_from_row(row) for row in all_rows(self._connection, query, params)]

    def page(self, query: EventQuery) -> Sequence[AuditEvent]:
        """Newest first by (at, id), or oldest first (an export): events of one instant come
        in a fixed order, so a page boundary can fall between them without losing or
        repeating one. `since` is
        inclusive and `until` exclusive, so consecutive windows never overlap."""
        pages = _event_pages(
            by_organization=query.organization_id is not None,
            by_connection=query.connection_id is not None,
            by_kind=query.kind is not None,
            by_prefix=query.kind_prefix is not None,
            by_request=query.request_id is not None,
            since=query.since is not None,
            until=query.until is not None,
            oldest_first=query.oldest_first,
        )
        params = {
            "p_organization_id": query.organization_id,
            "p_connection_id": query.connection_id,
            "p_kind": query.kind,
            "p_kind_prefix": query.kind_prefix,
            "p_kind_prefix_length": len(query.kind_prefix or ""),
            "p_request_id": query.request_id,
            "p_since": query.since,
            "p_until": query.until,
        }
        rows = pages.page(self._connection, params, after=query.before, limit=query.limit)
        return [event_from_row(row) for row in rows]

    def purge_before(self, before: datetime, *, limit: int) -> int:
        params = {"p_before": before, LIMIT: checked_limit(limit)}
        return affected(self._connection, _PURGE_EVENTS.on(self._connection), params)


def _remember(statement: sqlite.Insert | postgresql.Insert) -> Executable:
    """INSERT, or replace an entry that has expired; nothing while it is live."""
    return counted(
        statement.on_conflict_do_update(
            index_elements=[replay_cache.c.scope, replay_cache.c.message_id],
            set_={replay_cache.c.expires_at: statement.excluded.expires_at},
            where=replay_cache.c.expires_at
            <= bindparam("now", type_=replay_cache.c.expires_at.type),
        )
    )


_REMEMBER = PerDialect(
    sqlite=_remember(sqlite.insert(replay_cache)),
    postgresql=_remember(postgresql.insert(replay_cache)),
)
_PURGE_REPLAYS = batched_delete(
    replay_cache,
    replay_cache.c.expires_at <= bindparam("now", type_=replay_cache.c.expires_at.type),
)


class SqlReplayRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def remember(self, scope: str, message_id: str, *, expires_at: datetime, now: datetime) -> bool:
        """One INSERT .. ON CONFLICT DO UPDATE .. WHERE the stored entry has expired: the
        row count says whether this caller inserted (or replaced an expired entry) or met a
        live one. Not read-then-insert: two processes could both read "absent". A live
        duplicate is not an error, so the caller's unit of work goes on without a
        savepoint. Concurrent callers: on PostgreSQL the second waits for the first
        transaction, then takes the conflict branch and re-checks the WHERE clause against
        the committed row (so of two replacing one expired entry, one wins); if the first
        rolled back, the second inserts. SQLite runs one writer at a time (BEGIN IMMEDIATE).

        An entry that expires at or before `now` is born expired and stops nothing: such a
        message must be refused by the caller's own validity check, not by this cache.
        """
        params = {"scope": scope, "message_id": message_id, "expires_at": expires_at, "now": now}
        return affected(self._connection, _REMEMBER.on(self._connection), params) == 1

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        params = {"now": now, LIMIT: checked_limit(limit)}
        return affected(self._connection, _PURGE_REPLAYS.on(self._connection), params)


def event_from_row(row: Row[Any]) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        at=row.at,
        kind=row.kind,
        reason=row.reason,
        organization_id=row.organization_id,
        connection_id=row.connection_id,
        flow_id=row.flow_id,
        request_id=row.request_id,
        detail=row.detail,
        actor=row.actor,
    )

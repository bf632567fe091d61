"""The audit log and the replay cache: append-mostly records that every broker process
shares through the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from broker.domain.model import AuditEvent
from broker.store.protocols import AlreadyExists
from broker.store.sql.statements import affected, fresh, insert_or_raise
from broker.store.sql.tables import AuditEventRow, ReplayRow


class SqlAuditRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, event: AuditEvent) -> None:
        statement = insert(AuditEventRow).values(
            id=event.id,
            at=event.at,
            kind=event.kind,
            reason=event.reason,
            organization_id=event.organization_id,
            connection_id=event.connection_id,
            flow_id=event.flow_id,
            request_id=event.request_id,
            detail=dict(event.detail),
        )
        insert_or_raise(self._session, statement, f"audit event {event.id!r}")

    def list(
        self, *, limit: int = 100, organization_id: str | None = None, kind: str | None = None
    ) -> Sequence[AuditEvent]:
        """Newest first; events of one instant in a fixed (id) order, so pages are stable."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query = select(AuditEventRow)
        if organization_id is not None:
            query = query.filter_by(organization_id=organization_id)
        if kind is not None:
            query = query.filter_by(kind=kind)
        query = query.order_by(AuditEventRow.at.desc(), AuditEventRow.id.desc()).limit(limit)
        return [_event(row) for row in self._session.scalars(fresh(query))]


class SqlReplayRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def remember(self, scope: str, message_id: str, *, expires_at: datetime, now: datetime) -> bool:
        """DELETE the key's expired entry, then INSERT and let the primary key decide.

        Not read-then-insert: two processes could both read "absent". The INSERT runs in a
        SAVEPOINT (`insert_or_raise`), so on PostgreSQL a duplicate fails that statement
        only and the caller's unit of work goes on. Concurrent callers: on PostgreSQL the
        second INSERT of a key waits for the first transaction and then fails (or, if that
        rolled back, succeeds), and a second DELETE of an expired entry waits on its row
        lock and then finds it gone; SQLite runs one writer at a time (BEGIN IMMEDIATE).

        An entry that expires at or before `now` is born expired and stops nothing: such a
        message must be refused by the caller's own validity check, not by this cache.
        """
        key = {"scope": scope, "message_id": message_id}
        affected(
            self._session,
            delete(ReplayRow).filter_by(**key).where(ReplayRow.expires_at <= now),
        )
        statement = insert(ReplayRow).values(**key, expires_at=expires_at)
        try:
            insert_or_raise(self._session, statement, f"message {message_id!r} in {scope!r}")
        except AlreadyExists:
            return False
        return True

    def purge_expired(self, *, now: datetime) -> int:
        return affected(self._session, delete(ReplayRow).where(ReplayRow.expires_at <= now))


def _event(row: AuditEventRow) -> AuditEvent:
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
    )

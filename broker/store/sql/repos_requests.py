"""The management API's request bookkeeping, shared by every broker process through the
database: idempotency keys (a retried POST gets the first answer, not a second resource) and
rate-limit counters.

Both are single upserts, INSERT .. ON CONFLICT, so concurrent requests in separate
processes need no lock and no read-then-write: PostgreSQL makes the second of two inserts of
one key wait for the first transaction and then take the conflict branch against the
committed row; SQLite runs one writer at a time (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, bindparam, delete, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from broker.model.management import StoredResponse
from broker.store.protocols_management import MAX_WINDOW
from broker.store.sql.batches import LIMIT, batched_delete, checked_limit
from broker.store.sql.statements import PerDialect, affected, counted, first
from broker.store.sql.tables import idempotency_keys, rate_limits

_KEYS = idempotency_keys
_NOW = bindparam("p_now", type_=_KEYS.c.expires_at.type)
_RESERVED = (
    _KEYS.c.client_id == bindparam("p_client_id", type_=_KEYS.c.client_id.type),
    _KEYS.c.key == bindparam("p_key", type_=_KEYS.c.key.type),
)


def _reserve(statement: sqlite.Insert | postgresql.Insert) -> Executable:
    """INSERT a reservation, or replace one that has expired; nothing while it is live (in
    progress or finished). The row count says which: 1, the caller holds the key."""
    return counted(
        statement.on_conflict_do_update(
            index_elements=[_KEYS.c.client_id, _KEYS.c.key],
            set_={
                _KEYS.c.request_hash: statement.excluded.request_hash,
                _KEYS.c.status: null(),
                _KEYS.c.response: null(),
                _KEYS.c.created_at: statement.excluded.created_at,
                _KEYS.c.expires_at: statement.excluded.expires_at,
            },
            where=_KEYS.c.expires_at <= _NOW,
        )
    )


_RESERVE = PerDialect(
    sqlite=_reserve(sqlite.insert(_KEYS)), postgresql=_reserve(postgresql.insert(_KEYS))
)
_GET_RESERVATION = select(_KEYS).where(*_RESERVED)
_FINISH = (
    update(_KEYS)
    .where(
        *_RESERVED,
        _KEYS.c.request_hash == bindparam("p_request_hash", type_=_KEYS.c.request_hash.type),
        _KEYS.c.status.is_(None),
    )
    .values(
        status=bindparam("p_status", type_=_KEYS.c.status.type),
        response=bindparam("p_response", type_=_KEYS.c.response.type),
    )
)
_RELEASE = delete(_KEYS).where(*_RESERVED, _KEYS.c.status.is_(None))
_PURGE_KEYS = batched_delete(_KEYS, _KEYS.c.expires_at <= _NOW)

#: How many times `begin` retries when the row it met vanished before it could read it (a
#: concurrent release or purge); each retry either reserves or reads a row.
_BEGIN_ATTEMPTS = 3


class SqlIdempotencyRepo:
    """A reservation row per (client, key): `status` NULL while the first request runs,
    then the response as JSON `{"status", "body", "location"}` (with `status` also in its
    own column, which is what "in progress" is tested on)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def begin(
        self, client_id: str, key: str, *, request_hash: str, now: datetime, expires_at: datetime
    ) -> StoredResponse | None:
        """One upsert reserves the key, or replaces a reservation that has expired at
        `now` (it is then new again); of concurrent requests with one key, exactly one gets
        None. Otherwise the stored row is read: a finished response, or `status` 0 while
        the first request is still in progress (the caller answers 409). The caller
        compares `request_hash` to refuse a key reused for another request."""
        reservation = {
            "client_id": client_id,
            "key": key,
            "request_hash": request_hash,
            "status": None,
            "response": None,
            "created_at": now,
            "expires_at": expires_at,
            "p_now": now,
        }
        statement = _RESERVE.on(self._connection)
        for _ in range(_BEGIN_ATTEMPTS):
            if affected(self._connection, statement, reservation) == 1:
                return None
            row = first(self._connection, _GET_RESERVATION, _reserved(client_id, key))
            if row is not None:
                return _stored(row)
        return StoredResponse(request_hash=request_hash, status=0, body={})

    def finish(self, client_id: str, key: str, response: StoredResponse) -> None:
        """Store the response of the reservation made for `response.request_hash`. Silent
        if there is none in progress (released, purged after expiry, or replaced by
        another request once expired): the caller's answer is right all the same, it just
        cannot be replayed, and failing here would fail a request that succeeded."""
        params = {
            **_reserved(client_id, key),
            "p_request_hash": response.request_hash,
            "p_status": response.status,
            "p_response": {
                "status": response.status,
                "body": dict(response.body),
                "location": response.location,
            },
        }
        affected(self._connection, _FINISH, params)

    def release(self, client_id: str, key: str) -> None:
        """Only a reservation in progress: a finished response stays until it expires."""
        affected(self._connection, _RELEASE, _reserved(client_id, key))

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        return affected(
            self._connection,
            _PURGE_KEYS.on(self._connection),
            {"p_now": now, LIMIT: checked_limit(limit)},
        )


def _reserved(client_id: str, key: str) -> dict[str, Any]:
    return {"p_client_id": client_id, "p_key": key}


def _stored(row: Row[Any]) -> StoredResponse:
    if row.status is None or row.response is None:
        return StoredResponse(request_hash=row.request_hash, status=0, body={})
    response: Mapping[str, Any] = row.response
    return StoredResponse(
        request_hash=row.request_hash,
        status=row.status,
        body=response.get("body") or {},
        location=response.get("location"),
    )


def _hit(statement: sqlite.Insert | postgresql.Insert) -> Executable:
    """INSERT the window's first hit, or add its weight to the count; RETURNING the count.
    The increment is evaluated on the stored row, so no concurrent hit is lost."""
    return statement.on_conflict_do_update(
        index_elements=[rate_limits.c.bucket, rate_limits.c.window_start],
        set_={rate_limits.c.count: rate_limits.c.count + statement.excluded.count},
    ).returning(rate_limits.c.count)


_HIT = PerDialect(
    sqlite=_hit(sqlite.insert(rate_limits)), postgresql=_hit(postgresql.insert(rate_limits))
)
_PURGE_WINDOWS = batched_delete(
    rate_limits,
    rate_limits.c.window_start <= bindparam("p_before", type_=rate_limits.c.window_start.type),
)


class SqlRateLimitRepo:
    """Fixed windows: the caller picks `window_start` (its clock, truncated to the window)
    and compares the count with its limit."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def hit(self, bucket: str, *, window_start: datetime, weight: int = 1) -> int:
        params = {"bucket": bucket, "window_start": window_start, "count": weight}
        row = first(self._connection, _HIT.on(self._connection), params)
        assert row is not None  # an upsert always returns its row
        count: int = row[0]  # not `row.count`: that is the tuple method
        return count

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        params = {"p_before": now - MAX_WINDOW, LIMIT: checked_limit(limit)}
        return affected(self._connection, _PURGE_WINDOWS.on(self._connection), params)

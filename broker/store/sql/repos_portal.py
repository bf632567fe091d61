"""Repositories of the admin portal: its sessions and the results of its test logins.

A session is looked up by the hash of its cookie value and is live only while every
condition holds at the caller's `now`, checked in the one query that reads it: before its
absolute end, used within the idle limit, and its portal link not revoked (revoking a link
ends its sessions at once, docs/security.md T-06). An organization's deletion removes its
sessions with it (the foreign keys cascade), as does the deletion of the link or, through
the link, of the connection an edit link was for.

Tests are scoped by organization like every portal read: another organization's test is
NotFound, and `passed` never counts another organization's (the composite foreign key also
keeps a test's connection in its organization).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    bindparam,
    delete,
    exists,
    false,
    insert,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, Row

from broker.model.portal import ConnectionTest, PortalSession
from broker.store.protocols import NotFound
from broker.store.sql.batches import LIMIT, batched_delete, checked_limit
from broker.store.sql.statements import (
    affected,
    first,
    insert_in_savepoint,
    keyset,
)
from broker.store.sql.tables import connection_tests, portal_links, portal_sessions

# Parameters are named apart from the columns: an INSERT or UPDATE reserves column names for
# its own VALUES/SET parameters.
_SESSIONS = portal_sessions
_ID_HASH = bindparam("p_id_hash", type_=_SESSIONS.c.id_hash.type)
_NOW = bindparam("p_now", type_=_SESSIONS.c.expires_at.type)
_INSERT_SESSION = insert(_SESSIONS)
# The join is the revocation check: a session of a revoked link (or of a link that is not
# its organization's, which `add` cannot prevent on its own) has no row to join.
_GET_LIVE_SESSION = (
    select(_SESSIONS)
    .join(
        portal_links,
        (portal_links.c.id == _SESSIONS.c.link_id)
        & (portal_links.c.organization_id == _SESSIONS.c.organization_id),
    )
    .where(
        _SESSIONS.c.id_hash == _ID_HASH,
        _SESSIONS.c.expires_at > _NOW,
        _SESSIONS.c.last_seen_at > bindparam("p_idle_since", type_=_SESSIONS.c.last_seen_at.type),
        portal_links.c.revoked_at.is_(None),
    )
)
# Only forward, and never past the absolute end: a late request (an older `now`) does not
# shorten the idle window, and touching an ended session does not revive it.
_TOUCH_SESSION = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.id_hash == _ID_HASH,
        _SESSIONS.c.last_seen_at < _NOW,
        _SESSIONS.c.expires_at > _NOW,
    )
    .values(last_seen_at=_NOW)
)
_DELETE_SESSION = delete(_SESSIONS).where(_SESSIONS.c.id_hash == _ID_HASH)
_PURGE_SESSIONS = batched_delete(
    _SESSIONS,
    or_(
        _SESSIONS.c.expires_at <= _NOW,
        _SESSIONS.c.last_seen_at <= bindparam("p_idle_since", type_=_SESSIONS.c.last_seen_at.type),
    ),
)


class SqlPortalSessionRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, session: PortalSession) -> None:
        """In a savepoint: AlreadyExists for a taken hash, NotFound for a missing
        organization or link, and the unit of work stays usable."""
        params = {
            "id_hash": session.id_hash,
            "organization_id": session.organization_id,
            "link_id": session.link_id,
            "features": list(session.features),
            "connection_id": session.connection_id,
            "profile_id": session.profile_id,
            "csrf_token": session.csrf_token,
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "expires_at": session.expires_at,
        }
        insert_in_savepoint(self._connection, _INSERT_SESSION, params, "portal session")

    def get_live(self, id_hash: str, *, now: datetime, idle: timedelta) -> PortalSession:
        """Ended exactly at `expires_at`, and exactly `idle` after `last_seen_at`, like
        every other expiry of the store. The idle cut-off is computed here from the
        caller's `now`, never by the database's clock or interval arithmetic."""
        params = {"p_id_hash": id_hash, "p_now": now, "p_idle_since": now - idle}
        row = first(self._connection, _GET_LIVE_SESSION, params)
        if row is None:
            raise NotFound("portal session")
        return _session(row)

    def touch(self, id_hash: str, *, now: datetime) -> None:
        """Moves `last_seen_at` to `now`; `expires_at` never changes. Silent for an
        absent or ended session (the caller checked it with `get_live`)."""
        affected(self._connection, _TOUCH_SESSION, {"p_id_hash": id_hash, "p_now": now})

    def delete(self, id_hash: str) -> None:
        affected(self._connection, _DELETE_SESSION, {"p_id_hash": id_hash})

    def purge_ended(self, *, now: datetime, idle: timedelta, limit: int) -> int:
        """The same cut-offs as `get_live`, so a session is purged exactly when it stops
        being live for a reason of its own (a revoked link's sessions go with the link)."""
        params = {"p_now": now, "p_idle_since": now - idle, LIMIT: checked_limit(limit)}
        return affected(self._connection, _PURGE_SESSIONS.on(self._connection), params)


_TESTS = connection_tests
_TEST_ORGANIZATION_ID = bindparam("p_organization_id", type_=_TESTS.c.organization_id.type)
_TEST_CONNECTION_ID = bindparam("p_connection_id", type_=_TESTS.c.connection_id.type)
_INSERT_TEST = insert(_TESTS)
_GET_TEST = select(_TESTS).where(
    _TESTS.c.id == bindparam("p_test_id", type_=_TESTS.c.id.type),
    _TESTS.c.organization_id == _TEST_ORGANIZATION_ID,
)
_LATEST_TESTS = keyset(
    select(_TESTS).where(
        _TESTS.c.organization_id == _TEST_ORGANIZATION_ID,
        _TESTS.c.connection_id == _TEST_CONNECTION_ID,
    ),
    _TESTS.c.created_at,
    _TESTS.c.id,
    descending=True,
)
_LATEST_PASSED = keyset(
    select(_TESTS).where(
        _TESTS.c.organization_id == _TEST_ORGANIZATION_ID,
        _TESTS.c.connection_id == _TEST_CONNECTION_ID,
        _TESTS.c.passed == true(),
    ),
    _TESTS.c.created_at,
    _TESTS.c.id,
    descending=True,
)
_PASSED = select(
    exists().where(
        _TESTS.c.organization_id == _TEST_ORGANIZATION_ID,
        _TESTS.c.connection_id == _TEST_CONNECTION_ID,
        _TESTS.c.config_digest == bindparam("p_config_digest", type_=_TESTS.c.config_digest.type),
        _TESTS.c.passed == true(),
    )
)

_NEWER = _TESTS.alias("newer")


def _newer_test(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """A test of the same connection after this one (by created_at, then id, the order of
    `latest`), meeting `conditions`."""
    return exists().where(
        _NEWER.c.organization_id == _TESTS.c.organization_id,
        _NEWER.c.connection_id == _TESTS.c.connection_id,
        tuple_(_NEWER.c.created_at, _NEWER.c.id) > tuple_(_TESTS.c.created_at, _TESTS.c.id),
        *conditions,
    )


_PURGE_TESTS = batched_delete(
    _TESTS,
    _TESTS.c.created_at <= bindparam("p_before", type_=_TESTS.c.created_at.type),
    _newer_test(),
    or_(_TESTS.c.passed == false(), _newer_test(_NEWER.c.passed == true())),
)


class SqlConnectionTestRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, test: ConnectionTest) -> None:
        """In a savepoint: AlreadyExists for a taken id; NotFound if the connection is
        not the organization's (the composite foreign key)."""
        params = {
            "id": test.id,
            "organization_id": test.organization_id,
            "connection_id": test.connection_id,
            "config_digest": test.config_digest,
            "passed": test.passed,
            "reason": test.reason,
            "report": dict(test.report),
            "created_at": test.created_at,
        }
        insert_in_savepoint(self._connection, _INSERT_TEST, params, f"connection test {test.id!r}")

    def get(self, organization_id: str, test_id: str) -> ConnectionTest:
        params = {"p_organization_id": organization_id, "p_test_id": test_id}
        row = first(self._connection, _GET_TEST, params)
        if row is None:
            raise NotFound(f"connection test {test_id!r} of organization {organization_id!r}")
        return _test(row)

    def latest(
        self, organization_id: str, connection_id: str, *, limit: int
    ) -> Sequence[ConnectionTest]:
        """Newest first by (created_at, id): tests recorded in the same instant still come
        in one stable order. ValueError for a limit below 1."""
        params = {"p_organization_id": organization_id, "p_connection_id": connection_id}
        rows = _LATEST_TESTS.page(self._connection, params, after=None, limit=limit)
        return [_test(row) for row in rows]

    def newest_passed(self, organization_id: str, connection_id: str) -> ConnectionTest | None:
        """In the order of `latest`."""
        params = {"p_organization_id": organization_id, "p_connection_id": connection_id}
        rows = _LATEST_PASSED.page(self._connection, params, after=None, limit=1)
        return _test(rows[0]) if rows else None

    def passed(self, organization_id: str, connection_id: str, config_digest: str) -> bool:
        params = {
            "p_organization_id": organization_id,
            "p_connection_id": connection_id,
            "p_config_digest": config_digest,
        }
        return bool(self._connection.execute(_PASSED, params).scalar_one())

    def purge_before(self, before: datetime, *, limit: int) -> int:
        params = {"p_before": before, LIMIT: checked_limit(limit)}
        return affected(self._connection, _PURGE_TESTS.on(self._connection), params)


def _session(row: Row[Any]) -> PortalSession:
    return PortalSession(
        id_hash=row.id_hash,
        organization_id=row.organization_id,
        link_id=row.link_id,
        features=tuple(row.features),
        connection_id=row.connection_id,
        profile_id=row.profile_id,
        csrf_token=row.csrf_token,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


def _test(row: Row[Any]) -> ConnectionTest:
    return ConnectionTest(
        id=row.id,
        organization_id=row.organization_id,
        connection_id=row.connection_id,
        config_digest=row.config_digest,
        passed=row.passed,
        reason=row.reason,
        report=row.report,
        created_at=row.created_at,
    )

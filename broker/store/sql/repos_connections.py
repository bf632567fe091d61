"""Repositories of an organization's connections and the identities that log in through
them.

A write never moves a row to another organization: updates and deletes match on the
organization as well as the key, so a caller holding a stale or forged value gets NotFound
or Conflict instead of touching another organization's connection or identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from broker.model.records import Connection as ConnectionModel, Identity
from broker.store.protocols import Conflict, NotFound, PageKey
from broker.store.sql.statements import (
    PerDialect,
    affected,
    all_rows,
    first,
    insert_in_savepoint,
    keyset,
    returning_or_raise,
)
from broker.store.sql.tables import connections, identities

# Parameters are named apart from the columns: an INSERT or UPDATE reserves column names for
# its own VALUES/SET parameters.
_ORGANIZATION_ID = bindparam("p_organization_id", type_=connections.c.organization_id.type)
_CONNECTION_ID = bindparam("p_connection_id", type_=connections.c.id.type)
_INSERT_CONNECTION = insert(connections)
_GET_CONNECTION = select(connections).where(connections.c.id == _CONNECTION_ID)
_CONNECTIONS_OF_ORGANIZATION = select(connections).where(
    connections.c.organization_id == _ORGANIZATION_ID
)
_CONNECTIONS_OF = _CONNECTIONS_OF_ORGANIZATION.order_by(connections.c.created_at, connections.c.id)
_CONNECTION_PAGES = keyset(_CONNECTIONS_OF_ORGANIZATION, connections.c.created_at, connections.c.id)
_OWNED_CONNECTION = (
    connections.c.id == _CONNECTION_ID,
    connections.c.organization_id == _ORGANIZATION_ID,
)
_SAVE_CONNECTION = (
    update(connections)
    .where(*_OWNED_CONNECTION, connections.c.version == bindparam("p_expected_version"))
    .values(
        {
            column: bindparam(f"p_{column}", type_=connections.c[column].type)
            for column in ("kind", "name", "config", "domains", "active", "version", "draft")
        }
    )
    .returning(*connections.c)
)
_GET_OWNED_CONNECTION = select(connections.c.id).where(*_OWNED_CONNECTION)
_DELETE_CONNECTION = delete(connections).where(*_OWNED_CONNECTION)


class SqlConnectionRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, connection: ConnectionModel) -> None:
        """In a savepoint, so that NotFound (no such organization) leaves the unit of work
        usable."""
        params = {
            "id": connection.id,
            "organization_id": connection.organization_id,
            "kind": connection.kind,
            "name": connection.name,
            "config": dict(connection.config),
            "domains": list(connection.domains),
            "active": connection.active,
            "version": connection.version,
            "created_at": connection.created_at,
            "draft": _draft(connection),
        }
        what = f"connection {connection.id!r}"
        insert_in_savepoint(self._connection, _INSERT_CONNECTION, params, what)

    def get(self, connection_id: str) -> ConnectionModel:
        row = first(self._connection, _GET_CONNECTION, {"p_connection_id": connection_id})
        if row is None:
            raise NotFound(f"connection {connection_id!r}")
        return _connection(row)

    def for_organization(self, organization_id: str) -> Sequence[ConnectionModel]:
        params = {"p_organization_id": organization_id}
        return [_connection(row) for row in all_rows(self._connection, _CONNECTIONS_OF, params)]

    def page(
        self, organization_id: str, *, after: PageKey | None, limit: int
    ) -> Sequence[ConnectionModel]:
        params = {"p_organization_id": organization_id}
        rows = _CONNECTION_PAGES.page(self._connection, params, after=after, limit=limit)
        return [_connection(row) for row in rows]

    def save(self, connection: ConnectionModel, *, expected_version: int) -> ConnectionModel:
        """Compare-and-swap on `version` (dex's UpdateConnector): of two admins editing from
        the same version, the second gets Conflict instead of silently overwriting. A
        connection never changes organization. The draft is stored as given: setting one,
        replacing `config` by it and clearing it are each one save, hence one version."""
        owned = {"p_connection_id": connection.id, "p_organization_id": connection.organization_id}
        params = {
            **owned,
            "p_expected_version": expected_version,
            "p_kind": connection.kind,
            "p_name": connection.name,
            "p_config": dict(connection.config),
            "p_domains": list(connection.domains),
            "p_active": connection.active,
            "p_version": expected_version + 1,
            "p_draft": _draft(connection),
        }
        row = first(self._connection, _SAVE_CONNECTION, params)
        if row is not None:
            return _connection(row)
        if first(self._connection, _GET_OWNED_CONNECTION, owned) is None:
            raise NotFound(f"connection {connection.id!r}")
        raise Conflict(f"connection {connection.id!r} is not at version {expected_version}")

    def delete(self, organization_id: str, connection_id: str) -> None:
        """Its identities and the portal links that edit it go with it (the composite
        foreign keys cascade): an identity never outlives the connection its `sub` is
        stable for, and an edit link never turns into a new-connection link."""
        params = {"p_connection_id": connection_id, "p_organization_id": organization_id}
        if affected(self._connection, _DELETE_CONNECTION, params) != 1:
            raise NotFound(f"connection {connection_id!r} of organization {organization_id!r}")


def _record_login(statement: sqlite.Insert | postgresql.Insert) -> Executable:
    """INSERT .. ON CONFLICT (connection_id, idp_subject) DO UPDATE .. RETURNING: one
    statement that creates the identity or refreshes it, and returns the stored row."""
    return statement.on_conflict_do_update(
        index_elements=[identities.c.connection_id, identities.c.idp_subject],
        set_={
            identities.c.email: statement.excluded.email,
            identities.c.last_login_at: statement.excluded.last_login_at,
        },
        # Never an identity of another organization: no row comes back, hence NotFound.
        where=identities.c.organization_id == statement.excluded.organization_id,
    ).returning(*identities.c)


_RECORD_LOGIN = PerDialect(
    sqlite=_record_login(sqlite.insert(identities)),
    postgresql=_record_login(postgresql.insert(identities)),
)
_IDENTITY_ORGANIZATION_ID = bindparam("p_organization_id", type_=identities.c.organization_id.type)
_OWNED_IDENTITY = (
    identities.c.id == bindparam("p_identity_id", type_=identities.c.id.type),
    identities.c.organization_id == _IDENTITY_ORGANIZATION_ID,
)
_GET_IDENTITY = select(identities).where(*_OWNED_IDENTITY)
_IDENTITY_PAGES = keyset(
    select(identities).where(identities.c.organization_id == _IDENTITY_ORGANIZATION_ID),
    identities.c.created_at,
    identities.c.id,
)
_DELETE_IDENTITY = delete(identities).where(*_OWNED_IDENTITY)


class SqlIdentityRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record_login(
        self,
        *,
        organization_id: str,
        connection_id: str,
        idp_subject: str,
        email: str | None,
        new_id: str,
        now: datetime,
    ) -> Identity:
        """One INSERT .. ON CONFLICT DO UPDATE .. RETURNING: two first logins racing both
        insert, the database keeps one row (on PostgreSQL the second waits for the first
        and then takes the update branch), and both callers return that row's id (the `sub`
        must be stable). NotFound if the connection is not the organization's: the
        composite foreign key refuses a new row, the WHERE clause an existing one."""
        params = {
            "id": new_id,
            "organization_id": organization_id,
            "connection_id": connection_id,
            "idp_subject": idp_subject,
            "email": email,
            "created_at": now,
            "last_login_at": now,
        }
        statement = _RECORD_LOGIN.on(self._connection)
        row = returning_or_raise(self._connection, statement, params, f"identity {new_id!r}")
        if row is None:
            raise NotFound(f"connection {connection_id!r} of organization {organization_id!r}")
        return _identity(row)

    def get(self, organization_id: str, identity_id: str) -> Identity:
        row = first(self._connection, _GET_IDENTITY, _owned(organization_id, identity_id))
        if row is None:
            raise NotFound(f"identity {identity_id!r} of organization {organization_id!r}")
        return _identity(row)

    def page(
        self, organization_id: str, *, after: PageKey | None, limit: int
    ) -> Sequence[Identity]:
        params = {"p_organization_id": organization_id}
        rows = _IDENTITY_PAGES.page(self._connection, params, after=after, limit=limit)
        return [_identity(row) for row in rows]

    def delete(self, organization_id: str, identity_id: str) -> None:
        """The person's next login through the connection creates a new identity, with a
        new `sub`: deleting is forgetting them, not blocking them."""
        params = _owned(organization_id, identity_id)
        if affected(self._connection, _DELETE_IDENTITY, params) != 1:
            raise NotFound(f"identity {identity_id!r} of organization {organization_id!r}")


def _owned(organization_id: str, identity_id: str) -> dict[str, Any]:
    return {"p_organization_id": organization_id, "p_identity_id": identity_id}


def _connection(row: Row[Any]) -> ConnectionModel:
    return ConnectionModel(
        id=row.id,
        organization_id=row.organization_id,
        kind=row.kind,
        name=row.name,
        config=row.config,
        domains=tuple(row.domains),
        active=row.active,
        version=row.version,
        created_at=row.created_at,
        draft=row.draft,
    )


def _draft(connection: ConnectionModel) -> dict[str, Any] | None:
    return None if connection.draft is None else dict(connection.draft)


def _identity(row: Row[Any]) -> Identity:
    return Identity(
        id=row.id,
        organization_id=row.organization_id,
        connection_id=row.connection_id,
        idp_subject=row.idp_subject,
        email=row.email,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )

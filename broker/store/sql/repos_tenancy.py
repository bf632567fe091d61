"""Repositories of the tenancy side: organizations, their domains and connections, and the
identities that log in through those connections.

A write never moves a row to another organization: updates match on the organization as
well as the key, so a caller holding a stale or forged value gets NotFound or Conflict
instead of re-parenting a domain, connection or identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from broker.domain.model import Connection as ConnectionModel, Domain, Identity, Organization
from broker.store.protocols import Conflict, NotFound
from broker.store.sql.statements import (
    PerDialect,
    affected,
    all_rows,
    first,
    insert_ignoring_duplicates,
    insert_in_savepoint,
    insert_unless_duplicate,
    returning_or_raise,
)
from broker.store.sql.tables import connections, domains, identities, organizations

# Parameters are named apart from the columns: an INSERT or UPDATE reserves column names for
# its own VALUES/SET parameters.
_ORGANIZATION_ID = bindparam("p_organization_id", type_=organizations.c.id.type)

_INSERT_ORGANIZATION = insert_ignoring_duplicates(organizations)
_GET_ORGANIZATION = select(organizations).where(organizations.c.id == _ORGANIZATION_ID)
_GET_ORGANIZATION_BY_EXTERNAL_ID = select(organizations).where(
    organizations.c.external_id == bindparam("p_external_id")
)
_LIST_ORGANIZATIONS = select(organizations).order_by(organizations.c.created_at, organizations.c.id)


class SqlOrganizationRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, organization: Organization) -> None:
        """AlreadyExists for a taken id or external_id (a unique index), even when two
        adds race."""
        params = {
            "id": organization.id,
            "name": organization.name,
            "external_id": organization.external_id,
            "created_at": organization.created_at,
        }
        what = f"organization {organization.id!r}"
        if organization.external_id is not None:
            what += f" (external_id {organization.external_id!r})"
        statement = _INSERT_ORGANIZATION.on(self._connection)
        insert_unless_duplicate(self._connection, statement, params, what)

    def get(self, organization_id: str) -> Organization:
        row = first(self._connection, _GET_ORGANIZATION, {"p_organization_id": organization_id})
        if row is None:
            raise NotFound(f"organization {organization_id!r}")
        return _organization(row)

    def get_by_external_id(self, external_id: str) -> Organization:
        params = {"p_external_id": external_id}
        row = first(self._connection, _GET_ORGANIZATION_BY_EXTERNAL_ID, params)
        if row is None:
            raise NotFound(f"organization with external_id {external_id!r}")
        return _organization(row)

    def list(self) -> Sequence[Organization]:
        return [_organization(row) for row in all_rows(self._connection, _LIST_ORGANIZATIONS, {})]


_INSERT_DOMAIN = insert(domains)
_GET_DOMAIN = select(domains).where(domains.c.name == bindparam("p_name"))
_SAVE_DOMAIN = (
    update(domains)
    .where(domains.c.name == bindparam("p_name"), domains.c.organization_id == _ORGANIZATION_ID)
    .values(verified_at=bindparam("p_verified_at", type_=domains.c.verified_at.type))
)
_LIST_DOMAINS = select(domains).order_by(domains.c.name)
_DOMAINS_OF = _LIST_DOMAINS.where(domains.c.organization_id == _ORGANIZATION_ID)


class SqlDomainRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, domain: Domain) -> None:
        """The name is the primary key, so a claim by a second organization is a key
        violation (AlreadyExists) even when both claims race. In a savepoint: a caller may
        go on to read who holds the name, and a missing organization (NotFound) may be
        recovered from too."""
        params = {
            "name": domain.name,
            "organization_id": domain.organization_id,
            "verified_at": domain.verified_at,
        }
        insert_in_savepoint(self._connection, _INSERT_DOMAIN, params, f"domain {domain.name!r}")

    def get(self, name: str) -> Domain:
        row = first(self._connection, _GET_DOMAIN, {"p_name": name})
        if row is None:
            raise NotFound(f"domain {name!r}")
        return _domain(row)

    def save(self, domain: Domain) -> None:
        params = {
            "p_name": domain.name,
            "p_organization_id": domain.organization_id,
            "p_verified_at": domain.verified_at,
        }
        if affected(self._connection, _SAVE_DOMAIN, params) != 1:
            raise NotFound(f"domain {domain.name!r} of organization {domain.organization_id!r}")

    def for_organization(self, organization_id: str) -> Sequence[Domain]:
        params = {"p_organization_id": organization_id}
        return [_domain(row) for row in all_rows(self._connection, _DOMAINS_OF, params)]

    def list(self, *, organization_id: str | None = None) -> Sequence[Domain]:
        if organization_id is not None:
            return self.for_organization(organization_id)
        return [_domain(row) for row in all_rows(self._connection, _LIST_DOMAINS, {})]


_CONNECTION_ID = bindparam("p_connection_id", type_=connections.c.id.type)
_INSERT_CONNECTION = insert(connections)
_GET_CONNECTION = select(connections).where(connections.c.id == _CONNECTION_ID)
_CONNECTIONS_OF = (
    select(connections)
    .where(connections.c.organization_id == _ORGANIZATION_ID)
    .order_by(connections.c.created_at, connections.c.id)
)
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
            for column in ("kind", "name", "config", "domains", "active", "version")
        }
    )
    .returning(*connections.c)
)
_GET_OWNED_CONNECTION = select(connections.c.id).where(*_OWNED_CONNECTION)


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

    def save(self, connection: ConnectionModel, *, expected_version: int) -> ConnectionModel:
        """Compare-and-swap on `version` (dex's UpdateConnector): of two admins editing from
        the same version, the second gets Conflict instead of silently overwriting. A
        connection never changes organization."""
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
        }
        row = first(self._connection, _SAVE_CONNECTION, params)
        if row is not None:
            return _connection(row)
        if first(self._connection, _GET_OWNED_CONNECTION, owned) is None:
            raise NotFound(f"connection {connection.id!r}")
        raise Conflict(f"connection {connection.id!r} is not at version {expected_version}")


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


def _organization(row: Row[Any]) -> Organization:
    return Organization(
        id=row.id, name=row.name, external_id=row.external_id, created_at=row.created_at
    )


def _domain(row: Row[Any]) -> Domain:
    return Domain(organization_id=row.organization_id, name=row.name, verified_at=row.verified_at)


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
    )


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

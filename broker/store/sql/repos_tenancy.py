"""Repositories of the tenancy side: organizations, their domains and connections, and the
identities that log in through those connections.

A write never moves a row to another organization: updates match on the organization as
well as the key, so a caller holding a stale or forged value gets NotFound or Conflict
instead of re-parenting a domain, connection or identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Insert, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broker.domain.model import Connection, Domain, Identity, Organization
from broker.store.protocols import Conflict, NotFound
from broker.store.sql.statements import affected, fresh, insert_or_raise
from broker.store.sql.tables import ConnectionRow, DomainRow, IdentityRow, OrganizationRow


class SqlOrganizationRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, organization: Organization) -> None:
        """AlreadyExists for a taken id or external_id (a unique index), even when two
        adds race."""
        statement = insert(OrganizationRow).values(
            id=organization.id,
            name=organization.name,
            external_id=organization.external_id,
            created_at=organization.created_at,
        )
        what = f"organization {organization.id!r}"
        if organization.external_id is not None:
            what += f" (external_id {organization.external_id!r})"
        insert_or_raise(self._session, statement, what)

    def get(self, organization_id: str) -> Organization:
        query = select(OrganizationRow).filter_by(id=organization_id)
        row = self._session.scalar(fresh(query))
        if row is None:
            raise NotFound(f"organization {organization_id!r}")
        return _organization(row)

    def get_by_external_id(self, external_id: str) -> Organization:
        query = select(OrganizationRow).filter_by(external_id=external_id)
        row = self._session.scalar(fresh(query))
        if row is None:
            raise NotFound(f"organization with external_id {external_id!r}")
        return _organization(row)

    def list(self) -> Sequence[Organization]:
        query = select(OrganizationRow).order_by(OrganizationRow.created_at, OrganizationRow.id)
        return [_organization(row) for row in self._session.scalars(fresh(query))]


class SqlDomainRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, domain: Domain) -> None:
        """The name is the primary key, so a claim by a second organization is a key
        violation (AlreadyExists) even when both claims race."""
        statement = insert(DomainRow).values(
            name=domain.name,
            organization_id=domain.organization_id,
            verified_at=domain.verified_at,
        )
        insert_or_raise(self._session, statement, f"domain {domain.name!r}")

    def get(self, name: str) -> Domain:
        row = self._session.scalar(fresh(select(DomainRow).filter_by(name=name)))
        if row is None:
            raise NotFound(f"domain {name!r}")
        return _domain(row)

    def save(self, domain: Domain) -> None:
        changed_rows = affected(
            self._session,
            update(DomainRow)
            .filter_by(name=domain.name, organization_id=domain.organization_id)
            .values(verified_at=domain.verified_at),
        )
        if changed_rows != 1:
            raise NotFound(f"domain {domain.name!r} of organization {domain.organization_id!r}")

    def for_organization(self, organization_id: str) -> Sequence[Domain]:
        query = (
            select(DomainRow).filter_by(organization_id=organization_id).order_by(DomainRow.name)
        )
        return [_domain(row) for row in self._session.scalars(fresh(query))]

    def list(self, *, organization_id: str | None = None) -> Sequence[Domain]:
        query = select(DomainRow).order_by(DomainRow.name)
        if organization_id is not None:
            query = query.filter_by(organization_id=organization_id)
        return [_domain(row) for row in self._session.scalars(fresh(query))]


class SqlConnectionRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, connection: Connection) -> None:
        statement = insert(ConnectionRow).values(
            id=connection.id,
            organization_id=connection.organization_id,
            kind=connection.kind,
            name=connection.name,
            config=dict(connection.config),
            domains=list(connection.domains),
            active=connection.active,
            version=connection.version,
            created_at=connection.created_at,
        )
        insert_or_raise(self._session, statement, f"connection {connection.id!r}")

    def get(self, connection_id: str) -> Connection:
        query = select(ConnectionRow).filter_by(id=connection_id)
        row = self._session.scalar(fresh(query))
        if row is None:
            raise NotFound(f"connection {connection_id!r}")
        return _connection(row)

    def for_organization(self, organization_id: str) -> Sequence[Connection]:
        query = (
            select(ConnectionRow)
            .filter_by(organization_id=organization_id)
            .order_by(ConnectionRow.created_at, ConnectionRow.id)
        )
        return [_connection(row) for row in self._session.scalars(fresh(query))]

    def save(self, connection: Connection, *, expected_version: int) -> Connection:
        """Compare-and-swap on `version` (dex's UpdateConnector): of two admins editing from
        the same version, the second gets Conflict instead of silently overwriting. A
        connection never changes organization."""
        owned = {"id": connection.id, "organization_id": connection.organization_id}
        changed_rows = affected(
            self._session,
            update(ConnectionRow)
            .filter_by(**owned, version=expected_version)
            .values(
                kind=connection.kind,
                name=connection.name,
                config=dict(connection.config),
                domains=list(connection.domains),
                active=connection.active,
                version=expected_version + 1,
            ),
        )
        row = self._session.scalar(fresh(select(ConnectionRow).filter_by(**owned)))
        if row is None:
            raise NotFound(f"connection {connection.id!r}")
        if changed_rows != 1:
            raise Conflict(f"connection {connection.id!r} is not at version {expected_version}")
        return _connection(row)


class SqlIdentityRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

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
        """INSERT .. ON CONFLICT DO NOTHING, then UPDATE: two first logins racing both
        insert, the database keeps one row, and both callers return that row's id (the
        `sub` must be stable). NotFound if the connection is not the organization's."""
        key = {"connection_id": connection_id, "idp_subject": idp_subject}
        statement = self._insert_ignoring_duplicates().values(
            id=new_id,
            organization_id=organization_id,
            **key,
            email=email,
            created_at=now,
            last_login_at=now,
        )
        insert_or_raise(self._session, statement, f"identity {new_id!r}")
        affected(
            self._session,
            update(IdentityRow)
            .filter_by(**key, organization_id=organization_id)
            .values(email=email, last_login_at=now),
        )
        query = select(IdentityRow).filter_by(**key, organization_id=organization_id)
        row = self._session.scalar(fresh(query))
        if row is None:
            raise NotFound(f"connection {connection_id!r} of organization {organization_id!r}")
        return _identity(row)

    def _insert_ignoring_duplicates(self) -> Insert:
        index = ["connection_id", "idp_subject"]
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql":
            return postgresql.insert(IdentityRow).on_conflict_do_nothing(index_elements=index)
        if dialect == "sqlite":
            return sqlite.insert(IdentityRow).on_conflict_do_nothing(index_elements=index)
        raise NotImplementedError(dialect)


def _organization(row: OrganizationRow) -> Organization:
    return Organization(
        id=row.id, name=row.name, external_id=row.external_id, created_at=row.created_at
    )


def _domain(row: DomainRow) -> Domain:
    return Domain(organization_id=row.organization_id, name=row.name, verified_at=row.verified_at)


def _connection(row: ConnectionRow) -> Connection:
    return Connection(
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


def _identity(row: IdentityRow) -> Identity:
    return Identity(
        id=row.id,
        organization_id=row.organization_id,
        connection_id=row.connection_id,
        idp_subject=row.idp_subject,
        email=row.email,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )

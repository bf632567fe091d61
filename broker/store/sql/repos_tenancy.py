"""Repositories of the tenancy side: organizations and the email domains they claim
(connections and identities are in `repos_connections`).

A write never moves a row to another organization: updates match on the organization as
well as the key, so a caller holding a stale or forged value gets NotFound instead of
re-parenting a domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, Row

from broker.model.records import Domain, Organization
from broker.store.protocols import NotFound, PageKey
from broker.store.sql.statements import (
    affected,
    affected_in_savepoint,
    all_rows,
    first,
    insert_ignoring_duplicates,
    insert_in_savepoint,
    insert_unless_duplicate,
    keyset,
)
from broker.store.sql.tables import domains, organizations

# Parameters are named apart from the columns: an INSERT or UPDATE reserves column names for
# its own VALUES/SET parameters.
_ORGANIZATION_ID = bindparam("p_organization_id", type_=organizations.c.id.type)

_INSERT_ORGANIZATION = insert_ignoring_duplicates(organizations)
_GET_ORGANIZATION = select(organizations).where(organizations.c.id == _ORGANIZATION_ID)
_GET_ORGANIZATION_BY_EXTERNAL_ID = select(organizations).where(
    organizations.c.external_id == bindparam("p_external_id")
)
_LIST_ORGANIZATIONS = select(organizations).order_by(organizations.c.created_at, organizations.c.id)
_ORGANIZATION_PAGES = keyset(select(organizations), organizations.c.created_at, organizations.c.id)
_SAVE_ORGANIZATION = (
    update(organizations)
    .where(organizations.c.id == _ORGANIZATION_ID)
    .values(
        name=bindparam("p_name", type_=organizations.c.name.type),
        external_id=bindparam("p_external_id", type_=organizations.c.external_id.type),
    )
)
_DELETE_ORGANIZATION = delete(organizations).where(organizations.c.id == _ORGANIZATION_ID)


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

    def page(self, *, after: PageKey | None, limit: int) -> Sequence[Organization]:
        rows = _ORGANIZATION_PAGES.page(self._connection, {}, after=after, limit=limit)
        return [_organization(row) for row in rows]

    def save(self, organization: Organization) -> None:
        """In a savepoint: a taken external id (the unique index) is AlreadyExists and
        leaves the unit of work usable, like `add`. The id and creation time never
        change."""
        params = {
            "p_organization_id": organization.id,
            "p_name": organization.name,
            "p_external_id": organization.external_id,
        }
        what = f"organization {organization.id!r} (external_id {organization.external_id!r})"
        if affected_in_savepoint(self._connection, _SAVE_ORGANIZATION, params, what) != 1:
            raise NotFound(f"organization {organization.id!r}")

    def delete(self, organization_id: str) -> None:
        """One DELETE; the foreign keys (ON DELETE CASCADE) take its domains, connections,
        their identities, and its portal links in the same statement, so no half-deleted
        organization is ever visible. Audit events have no foreign key and stay: the
        record of what happened outlives what it mentions."""
        params = {"p_organization_id": organization_id}
        if affected(self._connection, _DELETE_ORGANIZATION, params) != 1:
            raise NotFound(f"organization {organization_id!r}")


_NAME = bindparam("p_name", type_=domains.c.name.type)
_CLAIM = (domains.c.organization_id == _ORGANIZATION_ID, domains.c.name == _NAME)
_INSERT_DOMAIN = insert(domains)
_GET_DOMAIN = select(domains).where(*_CLAIM)
_FIND_VERIFIED = select(domains).where(domains.c.name == _NAME, domains.c.verified_at.is_not(None))
_SAVE_DOMAIN = (
    update(domains)
    .where(*_CLAIM)
    .values(
        verified_at=bindparam("p_verified_at", type_=domains.c.verified_at.type),
        verification_token=bindparam(
            "p_verification_token", type_=domains.c.verification_token.type
        ),
        verified_by=bindparam("p_verified_by", type_=domains.c.verified_by.type),
    )
)
_DELETE_DOMAIN = delete(domains).where(*_CLAIM)
_LIST_DOMAINS = select(domains).order_by(domains.c.name, domains.c.organization_id)
_DOMAINS_OF = select(domains).where(domains.c.organization_id == _ORGANIZATION_ID)
_LIST_DOMAINS_OF = _DOMAINS_OF.order_by(domains.c.name)
_DOMAIN_PAGES = keyset(_DOMAINS_OF, domains.c.name)


class SqlDomainRepo:
    """Claims keyed by (organization, name). The partial unique index
    `uq_domains_verified_name` is the one guarantee that a name routes to at most one
    organization: two organizations verifying at once cannot both win, whatever the
    caller checked before."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, domain: Domain) -> None:
        """AlreadyExists if this organization claims the name already (the primary key)
        or if the claim is added verified while another organization holds the name
        verified (the unique index), even when two adds race. In a savepoint: a caller may
        go on to look the name up, and a missing organization (NotFound) may be recovered
        from too."""
        params = {
            "organization_id": domain.organization_id,
            "name": domain.name,
            "verified_at": domain.verified_at,
            "verification_token": domain.verification_token,
            "created_at": domain.created_at,
            "verified_by": domain.verified_by,
        }
        what = f"domain {domain.name!r}"
        insert_in_savepoint(self._connection, _INSERT_DOMAIN, params, what)

    def get(self, organization_id: str, name: str) -> Domain:
        row = first(self._connection, _GET_DOMAIN, _claim(organization_id, name))
        if row is None:
            raise NotFound(f"domain {name!r} of organization {organization_id!r}")
        return _domain(row)

    def find_verified(self, name: str) -> Domain:
        """At most one row matches: the unique index allows one verified claim per name."""
        row = first(self._connection, _FIND_VERIFIED, {"p_name": name})
        if row is None:
            raise NotFound(f"verified domain {name!r}")
        return _domain(row)

    def save(self, domain: Domain) -> None:
        """Only the verification state, its method and the token change. A verification
        refused by the unique index (another organization verified the name first, or
        concurrently) is AlreadyExists; the UPDATE runs in a savepoint, so the caller's unit
        of work stays usable (to record the refusal, say)."""
        params = {
            **_claim(domain.organization_id, domain.name),
            "p_verified_at": domain.verified_at,
            "p_verification_token": domain.verification_token,
            "p_verified_by": domain.verified_by,
        }
        what = f"domain {domain.name!r}: verified by another organization"
        if affected_in_savepoint(self._connection, _SAVE_DOMAIN, params, what) != 1:
            raise NotFound(f"domain {domain.name!r} of organization {domain.organization_id!r}")

    def delete(self, organization_id: str, name: str) -> None:
        params = _claim(organization_id, name)
        if affected(self._connection, _DELETE_DOMAIN, params) != 1:
            raise NotFound(f"domain {name!r} of organization {organization_id!r}")

    def for_organization(self, organization_id: str) -> Sequence[Domain]:
        params = {"p_organization_id": organization_id}
        return [_domain(row) for row in all_rows(self._connection, _LIST_DOMAINS_OF, params)]

    def list(self, *, organization_id: str | None = None) -> Sequence[Domain]:
        """By name, then organization (several may claim one name)."""
        if organization_id is not None:
            return self.for_organization(organization_id)
        return [_domain(row) for row in all_rows(self._connection, _LIST_DOMAINS, {})]

    def page(self, organization_id: str, *, after: str | None, limit: int) -> Sequence[Domain]:
        params = {"p_organization_id": organization_id}
        key = None if after is None else (after,)
        rows = _DOMAIN_PAGES.page(self._connection, params, after=key, limit=limit)
        return [_domain(row) for row in rows]


def _claim(organization_id: str, name: str) -> dict[str, Any]:
    return {"p_organization_id": organization_id, "p_name": name}


def _organization(row: Row[Any]) -> Organization:
    return Organization(
        id=row.id, name=row.name, external_id=row.external_id, created_at=row.created_at
    )


def _domain(row: Row[Any]) -> Domain:
    return Domain(
        organization_id=row.organization_id,
        name=row.name,
        verified_at=row.verified_at,
        verification_token=row.verification_token,
        created_at=row.created_at,
        verified_by=row.verified_by,
    )

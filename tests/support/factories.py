"""Dumb builders for domain values tests need in the store."""

from __future__ import annotations

from datetime import datetime

from broker.model.records import Connection, Domain, Organization
from broker.store import UnitOfWork


def add_organization(
    uow: UnitOfWork,
    *,
    org_id: str,
    name: str,
    domain: str,
    now: datetime,
    connection_id: str,
    kind: str = "test",
    idp_url: str = "https://idp.test",
) -> tuple[Organization, Connection]:
    """An organization with one verified domain and one active connection."""
    organization = Organization(id=org_id, name=name, created_at=now)
    connection = Connection(
        id=connection_id,
        organization_id=org_id,
        kind=kind,
        name=f"{name} IdP",
        config={"idp_url": idp_url},
        created_at=now,
    )
    uow.organizations.add(organization)
    uow.domains.add(Domain(organization_id=org_id, name=domain, verified_at=now))
    uow.connections.add(connection)
    return organization, connection

"""Dumb builders for domain values tests need in the store."""

from __future__ import annotations

from datetime import datetime

from broker.model.records import Connection, Domain, JsonObject, Organization
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
    config: JsonObject | None = None,
    connection_name: str | None = None,
) -> tuple[Organization, Connection]:
    """An organization with one verified domain and one active connection; by default of
    the fake connector's kind, to its pretend IdP."""
    organization = Organization(id=org_id, name=name, created_at=now)
    connection = Connection(
        id=connection_id,
        organization_id=org_id,
        kind=kind,
        name=connection_name or f"{name} IdP",
        config=config or {"idp_url": "https://idp.test"},
        created_at=now,
    )
    uow.organizations.add(organization)
    uow.domains.add(Domain(organization_id=org_id, name=domain, verified_at=now))
    uow.connections.add(connection)
    return organization, connection

"""Reads scoped to one organization: the one place a use case turns an id from a request
into a row, so a resource of another organization is "not found", exactly as an absent one
is (docs/security.md M-01, M-10)."""

from __future__ import annotations

from broker.management.errors import ResourceNotFound
from broker.model.names import InvalidDomain, normalize_domain
from broker.model.records import Connection, Domain, Identity, Organization
from broker.store import NotFound, UnitOfWork


def organization(uow: UnitOfWork, organization_id: str) -> Organization:
    try:
        return uow.organizations.get(organization_id)
    except NotFound as exc:
        raise ResourceNotFound(f"organization {organization_id}") from exc


def domain(uow: UnitOfWork, organization_id: str, name: str) -> Domain:
    organization(uow, organization_id)
    try:
        return uow.domains.get(organization_id, normalize_domain(name))
    except (NotFound, InvalidDomain) as exc:
        raise ResourceNotFound(f"domain {name}") from exc


def connection(uow: UnitOfWork, organization_id: str, connection_id: str) -> Connection:
    organization(uow, organization_id)
    try:
        found = uow.connections.get(connection_id)
    except NotFound as exc:
        raise ResourceNotFound(f"connection {connection_id}") from exc
    if found.organization_id != organization_id:
        raise ResourceNotFound(f"connection {connection_id}")
    return found


def user(uow: UnitOfWork, organization_id: str, user_id: str) -> Identity:
    organization(uow, organization_id)
    try:
        return uow.identities.get(organization_id, user_id)
    except NotFound as exc:
        raise ResourceNotFound(f"user {user_id}") from exc

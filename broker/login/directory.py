"""Routing's `Directory` (broker/model/routing.py) over one unit of work."""

from __future__ import annotations

from collections.abc import Sequence

from broker.login.answers import lookup
from broker.model.records import Connection, Domain
from broker.store import NotFound, UnitOfWork


class StoreDirectory:
    """Routing's `Directory` over one unit of work: ids from a request that cannot be ours
    name nothing, without a lookup."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        #: Organizations this unit of work has seen own a domain: they exist (a domain's
        #: foreign key), so their connections are read without looking them up again.
        self._owners: set[str] = set()

    def connection(self, connection_id: str) -> Connection | None:
        try:
            return self._uow.connections.get(lookup(connection_id))
        except NotFound:
            return None

    def connections_of(self, organization_id: str) -> Sequence[Connection] | None:
        if organization_id in self._owners:
            return self._uow.connections.for_organization(organization_id)
        try:
            organization = self._uow.organizations.get(lookup(organization_id))
        except NotFound:
            return None
        return self._uow.connections.for_organization(organization.id)

    def verified_domain(self, name: str) -> Domain | None:
        try:
            domain = self._uow.domains.find_verified(name)
        except NotFound:
            return None
        self._owners.add(domain.organization_id)
        return domain

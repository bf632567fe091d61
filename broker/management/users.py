"""Users: the identities that logged in to an organization, as Gatehouse asserts them to the
app (`id` is the `sub`). Read to reconcile with the app's own users; deleted to forget a
person (their next login creates a new identity with a new `sub`: deleting is forgetting,
not blocking; blocking is the IdP's job).
"""

from __future__ import annotations

from broker.management import scoped
from broker.management.deps import ManagementDeps, record
from broker.management.errors import ResourceNotFound
from broker.model.records import Identity
from broker.store import NotFound
from broker.store.protocols import PageKey


class Users:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def page(self, organization_id: str, *, after: PageKey | None, limit: int) -> list[Identity]:
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)
            return list(uow.identities.page(organization_id, after=after, limit=limit))

    def get(self, organization_id: str, user_id: str) -> Identity:
        with self._deps.store.unit_of_work() as uow:
            return scoped.user(uow, organization_id, user_id)

    def delete(self, actor: str, organization_id: str, user_id: str) -> None:
        """The event names the user by id only: an erasure must not copy the email it
        erases into the append-only log."""
        with self._deps.store.unit_of_work() as uow:
            user = scoped.user(uow, organization_id, user_id)
            try:
                uow.identities.delete(organization_id, user_id)
            except NotFound as exc:  # deleted meanwhile
                raise ResourceNotFound(f"user {user_id}") from exc
            record(uow, self._deps, "user.deleted", actor=actor,
                   organization_id=organization_id, connection_id=user.connection_id,
                   user_id=user_id)  # fmt: skip

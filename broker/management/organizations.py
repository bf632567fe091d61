"""Organizations: the app team's customers. Every rule about them lives here, whether the
request came from the management API, the CLI or (later) the portal."""

from __future__ import annotations

from dataclasses import replace

from broker.management import scoped, text_rules
from broker.management.deps import ManagementDeps, record
from broker.management.errors import InvalidInput, ResourceConflict, ResourceNotFound
from broker.model.opaque import new_id
from broker.model.records import Organization
from broker.store import AlreadyExists, NotFound
from broker.store.protocols import PageKey

MAX_NAME = 200


class Organizations:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def create(self, actor: str, *, name: str, external_id: str | None = None) -> Organization:
        organization = Organization(
            id=new_id("org"),
            name=_name(name),
            external_id=_external_id(external_id),
            created_at=self._deps.clock.now(),
        )
        with self._deps.store.unit_of_work() as uow:
            try:
                uow.organizations.add(organization)
            except AlreadyExists as exc:
                raise ResourceConflict(
                    f"external id {organization.external_id!r} is already used by another "
                    "organization"
                ) from exc
            record(uow, self._deps, "organization.created", actor=actor,
                   organization_id=organization.id, name=organization.name)  # fmt: skip
        return organization

    def get(self, organization_id: str) -> Organization:
        with self._deps.store.unit_of_work() as uow:
            return scoped.organization(uow, organization_id)

    def get_by_external_id(self, external_id: str) -> Organization:
        with self._deps.store.unit_of_work() as uow:
            try:
                return uow.organizations.get_by_external_id(external_id)
            except NotFound as exc:
                raise ResourceNotFound(f"organization with external_id {external_id}") from exc

    def page(self, *, after: PageKey | None, limit: int) -> list[Organization]:
        with self._deps.store.unit_of_work() as uow:
            return list(uow.organizations.page(after=after, limit=limit))

    def update(
        self,
        actor: str,
        organization_id: str,
        *,
        name: str | None = None,
        external_id: str | None = None,
        clear_external_id: bool = False,
    ) -> Organization:
        with self._deps.store.unit_of_work() as uow:
            current = scoped.organization(uow, organization_id)
            changed = replace(
                current,
                name=_name(name) if name is not None else current.name,
                external_id=None
                if clear_external_id
                else _external_id(external_id)
                if external_id is not None
                else current.external_id,
            )
            if changed == current:
                return current
            try:
                uow.organizations.save(changed)
            except AlreadyExists as exc:
                raise ResourceConflict(
                    f"external id {changed.external_id!r} is already used by another organization"
                ) from exc
            record(uow, self._deps, "organization.updated", actor=actor,
                   organization_id=organization_id,
                   changed=[f for f in ("name", "external_id")
                            if getattr(changed, f) != getattr(current, f)])  # fmt: skip
        return changed

    def delete(self, actor: str, organization_id: str) -> None:
        """Its domains, connections, identities and portal links go with it (the database
        cascades), so from this commit on no login routes to it."""
        with self._deps.store.unit_of_work() as uow:
            organization = scoped.organization(uow, organization_id)
            uow.organizations.delete(organization_id)
            record(uow, self._deps, "organization.deleted", actor=actor,
                   organization_id=organization_id, name=organization.name)  # fmt: skip


def _name(name: str) -> str:
    if not text_rules.is_name(name) or len(name) > MAX_NAME:
        raise InvalidInput.at(
            "/name", f"1 to {MAX_NAME} characters, not blank, no control characters"
        )
    return text_rules.tidy_name(name)


def _external_id(external_id: str | None) -> str | None:
    if external_id is None:
        return None
    if not text_rules.is_key(external_id) or len(external_id) > MAX_NAME:
        raise InvalidInput.at(
            "/external_id",
            f"1 to {MAX_NAME} characters, no control characters or surrounding spaces",
        )
    return external_id

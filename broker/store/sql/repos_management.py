"""Repositories of the management side: API clients, self-service profiles and portal
links (the request bookkeeping, idempotency keys and rate limits, is in `repos_requests`).

Secrets are stored and looked up only by their SHA-256 hash (`secret_hash`, `token_hash`);
the caller hashes. A portal link's use is counted by the database in one conditional
UPDATE, like a code's redemption, so a link's last use goes to exactly one caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from broker.model.management import (
    Branding,
    ManagementClient,
    PortalLink,
    SelfServiceProfile,
    UserAttribute,
)
from broker.store.protocols import NotFound, PageKey
from broker.store.sql.batches import LIMIT, batched_delete, checked_limit
from broker.store.sql.statements import (
    affected,
    all_rows,
    first,
    insert_ignoring_duplicates,
    insert_in_savepoint,
    insert_unless_duplicate,
    keyset,
)
from broker.store.sql.tables import management_clients, portal_links, profiles

# Parameters are named apart from the columns: an INSERT or UPDATE reserves column names for
# its own VALUES/SET parameters.
_CLIENT_ID = bindparam("p_client_id", type_=management_clients.c.client_id.type)
_CLIENT_NOW = bindparam("p_now", type_=management_clients.c.revoked_at.type)
_INSERT_CLIENT = insert_ignoring_duplicates(management_clients)
_GET_CLIENT = select(management_clients).where(management_clients.c.client_id == _CLIENT_ID)
_LIST_CLIENTS = select(management_clients).order_by(
    management_clients.c.created_at, management_clients.c.client_id
)
# COALESCE keeps the first revocation time: revoking twice is not an error, nor a change.
_REVOKE_CLIENT = (
    update(management_clients)
    .where(management_clients.c.client_id == _CLIENT_ID)
    .values(revoked_at=func.coalesce(management_clients.c.revoked_at, _CLIENT_NOW))
)

_SAVE_CLIENT = (
    update(management_clients)
    .where(management_clients.c.client_id == _CLIENT_ID)
    .values(
        {
            column: bindparam(f"p_{column}", type_=management_clients.c[column].type)
            for column in ("secret_hash", "previous_secret_hash", "disabled_at")
        }
    )
)


class SqlManagementClientRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, client: ManagementClient) -> None:
        """ON CONFLICT DO NOTHING: a taken client_id is AlreadyExists and the unit of work
        stays usable."""
        params = {
            "client_id": client.client_id,
            "name": client.name,
            "secret_hash": client.secret_hash,
            "scopes": list(client.scopes),
            "created_at": client.created_at,
            "revoked_at": client.revoked_at,
            "previous_secret_hash": client.previous_secret_hash,
            "disabled_at": client.disabled_at,
        }
        statement = _INSERT_CLIENT.on(self._connection)
        what = f"management client {client.client_id!r}"
        insert_unless_duplicate(self._connection, statement, params, what)

    def get(self, client_id: str) -> ManagementClient:
        row = first(self._connection, _GET_CLIENT, {"p_client_id": client_id})
        if row is None:
            raise NotFound(f"management client {client_id!r}")
        return _client(row)

    def list(self) -> Sequence[ManagementClient]:
        return [_client(row) for row in all_rows(self._connection, _LIST_CLIENTS, {})]

    def revoke(self, client_id: str, *, now: datetime) -> None:
        """Idempotent (the first revocation time stays); NotFound if absent, so a typo in
        an operator's command is not mistaken for a revocation."""
        params = {"p_client_id": client_id, "p_now": now}
        if affected(self._connection, _REVOKE_CLIENT, params) != 1:
            raise NotFound(f"management client {client_id!r}")

    def save(self, client: ManagementClient) -> None:
        """The secrets and the disabled time; the revocation time has its own path."""
        params = {
            "p_client_id": client.client_id,
            "p_secret_hash": client.secret_hash,
            "p_previous_secret_hash": client.previous_secret_hash,
            "p_disabled_at": client.disabled_at,
        }
        if affected(self._connection, _SAVE_CLIENT, params) != 1:
            raise NotFound(f"management client {client.client_id!r}")


_PROFILE_ID = bindparam("p_profile_id", type_=profiles.c.id.type)
_INSERT_PROFILE = insert_ignoring_duplicates(profiles)
_GET_PROFILE = select(profiles).where(profiles.c.id == _PROFILE_ID)
_PROFILE_PAGES = keyset(select(profiles), profiles.c.created_at, profiles.c.id)
_SAVE_PROFILE = (
    update(profiles)
    .where(profiles.c.id == _PROFILE_ID)
    .values(
        {
            column: bindparam(f"p_{column}", type_=profiles.c[column].type)
            for column in (
                "name",
                "description",
                "allowed_strategies",
                "user_attributes",
                "branding",
                "introduction",
                "updated_at",
            )
        }
    )
)
_DELETE_PROFILE = delete(profiles).where(profiles.c.id == _PROFILE_ID)


class SqlProfileRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, profile: SelfServiceProfile) -> None:
        """AlreadyExists if the id is taken; the unit of work stays usable."""
        params = {"id": profile.id, **_profile_values(profile), "created_at": profile.created_at}
        statement = _INSERT_PROFILE.on(self._connection)
        what = f"self-service profile {profile.id!r}"
        insert_unless_duplicate(self._connection, statement, params, what)

    def get(self, profile_id: str) -> SelfServiceProfile:
        row = first(self._connection, _GET_PROFILE, {"p_profile_id": profile_id})
        if row is None:
            raise NotFound(f"self-service profile {profile_id!r}")
        return _profile(row)

    def page(self, *, after: PageKey | None, limit: int) -> Sequence[SelfServiceProfile]:
        rows = _PROFILE_PAGES.page(self._connection, {}, after=after, limit=limit)
        return [_profile(row) for row in rows]

    def save(self, profile: SelfServiceProfile) -> None:
        """Everything but the id and the creation time."""
        values = _profile_values(profile)
        params = {"p_profile_id": profile.id, **{f"p_{k}": v for k, v in values.items()}}
        if affected(self._connection, _SAVE_PROFILE, params) != 1:
            raise NotFound(f"self-service profile {profile.id!r}")

    def delete(self, profile_id: str) -> None:
        """The foreign key sets `profile_id` NULL on the links that used it (ON DELETE SET
        NULL), so a link already sent to a customer keeps working with the portal's
        defaults. NotFound if absent."""
        if affected(self._connection, _DELETE_PROFILE, {"p_profile_id": profile_id}) != 1:
            raise NotFound(f"self-service profile {profile_id!r}")


_LINK_ORGANIZATION_ID = bindparam("p_organization_id", type_=portal_links.c.organization_id.type)
_LINK_NOW = bindparam("p_now", type_=portal_links.c.expires_at.type)
_OWNED_LINK = (
    portal_links.c.id == bindparam("p_link_id", type_=portal_links.c.id.type),
    portal_links.c.organization_id == _LINK_ORGANIZATION_ID,
)
_INSERT_LINK = insert(portal_links)
_GET_LINK = select(portal_links).where(*_OWNED_LINK)
_FIND_LINK = select(portal_links).where(
    portal_links.c.token_hash == bindparam("p_token_hash", type_=portal_links.c.token_hash.type)
)
_LINK_PAGES = keyset(
    select(portal_links).where(portal_links.c.organization_id == _LINK_ORGANIZATION_ID),
    portal_links.c.created_at,
    portal_links.c.id,
)
_REVOKE_LINK = (
    update(portal_links)
    .where(*_OWNED_LINK)
    .values(revoked_at=func.coalesce(portal_links.c.revoked_at, _LINK_NOW))
    .returning(*portal_links.c)
)
# The single-use check: the WHERE clause is "still usable", evaluated by the database
# against the latest committed row (PostgreSQL re-checks it after waiting on a concurrent
# use's row lock; SQLite runs one writer at a time), so of N callers racing for the last
# use, exactly one gets a row back.
_USE_LINK = (
    update(portal_links)
    .where(
        portal_links.c.token_hash
        == bindparam("p_token_hash", type_=portal_links.c.token_hash.type),
        portal_links.c.revoked_at.is_(None),
        portal_links.c.uses < portal_links.c.max_uses,
        portal_links.c.expires_at > _LINK_NOW,
    )
    .values(uses=portal_links.c.uses + 1)
    .returning(*portal_links.c)
)

_LINK_BEFORE = bindparam("p_before", type_=portal_links.c.expires_at.type)
_PURGE_LINKS = batched_delete(
    portal_links,
    or_(portal_links.c.expires_at <= _LINK_BEFORE, portal_links.c.revoked_at <= _LINK_BEFORE),
)


class SqlPortalLinkRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, link: PortalLink) -> None:
        """In a savepoint: AlreadyExists for a taken id or token hash, NotFound for a
        missing organization, profile, or connection of that organization (the composite
        foreign key: a link can only edit its own organization's connection)."""
        params = {
            "id": link.id,
            "organization_id": link.organization_id,
            "token_hash": link.token_hash,
            "profile_id": link.profile_id,
            "connection_id": link.connection_id,
            "enabled_features": list(link.enabled_features),
            "max_uses": link.max_uses,
            "uses": link.uses,
            "expires_at": link.expires_at,
            "revoked_at": link.revoked_at,
            "created_at": link.created_at,
            "created_by": link.created_by,
        }
        insert_in_savepoint(self._connection, _INSERT_LINK, params, f"portal link {link.id!r}")

    def get(self, organization_id: str, link_id: str) -> PortalLink:
        row = first(self._connection, _GET_LINK, _owned(organization_id, link_id))
        if row is None:
            raise NotFound(f"portal link {link_id!r} of organization {organization_id!r}")
        return _link(row)

    def page(
        self, organization_id: str, *, after: PageKey | None, limit: int
    ) -> Sequence[PortalLink]:
        params = {"p_organization_id": organization_id}
        rows = _LINK_PAGES.page(self._connection, params, after=after, limit=limit)
        return [_link(row) for row in rows]

    def revoke(self, organization_id: str, link_id: str, *, now: datetime) -> PortalLink:
        """Idempotent: a second revocation keeps the first time and returns the link."""
        params = {**_owned(organization_id, link_id), "p_now": now}
        row = first(self._connection, _REVOKE_LINK, params)
        if row is None:
            raise NotFound(f"portal link {link_id!r} of organization {organization_id!r}")
        return _link(row)

    def use(self, token_hash: str, *, now: datetime) -> PortalLink:
        """One conditional UPDATE .. RETURNING (see `_USE_LINK`), never read-then-write.
        NotFound alike for an unknown, revoked, expired (at `now` exactly, as flows) or
        used-up link: the portal must not tell a guessed token from a spent one."""
        row = first(self._connection, _USE_LINK, {"p_token_hash": token_hash, "p_now": now})
        if row is None:
            raise NotFound("portal link")
        return _link(row)

    def find(self, token_hash: str) -> PortalLink:
        """The link with this token hash, whatever its state (the unique index's lookup).
        NotFound if no link has it."""
        row = first(self._connection, _FIND_LINK, {"p_token_hash": token_hash})
        if row is None:
            raise NotFound("portal link")
        return _link(row)

    def purge_ended(self, before: datetime, *, limit: int) -> int:
        """The links' sessions go with them (ON DELETE CASCADE): a session never outlives
        its link's expiry by more than its own lifetime, nor its revocation at all."""
        params = {"p_before": before, LIMIT: checked_limit(limit)}
        return affected(self._connection, _PURGE_LINKS.on(self._connection), params)


def _owned(organization_id: str, link_id: str) -> dict[str, Any]:
    return {"p_organization_id": organization_id, "p_link_id": link_id}


def _client(row: Row[Any]) -> ManagementClient:
    return ManagementClient(
        client_id=row.client_id,
        name=row.name,
        secret_hash=row.secret_hash,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        previous_secret_hash=row.previous_secret_hash,
        disabled_at=row.disabled_at,
    )


def _profile_values(profile: SelfServiceProfile) -> dict[str, Any]:
    """The JSON columns hold plain lists and objects with every field present, so a row
    reads back the same whatever defaults the dataclasses have by then."""
    return {
        "name": profile.name,
        "description": profile.description,
        "allowed_strategies": list(profile.allowed_strategies),
        "user_attributes": [
            {"name": a.name, "description": a.description, "required": a.required}
            for a in profile.user_attributes
        ],
        "branding": {
            "logo_url": profile.branding.logo_url,
            "primary_color": profile.branding.primary_color,
        },
        "introduction": profile.introduction,
        "updated_at": profile.updated_at,
    }


def _user_attribute(data: Mapping[str, Any]) -> UserAttribute:
    return UserAttribute(
        name=data["name"],
        description=data.get("description", ""),
        required=data.get("required", True),
    )


def _profile(row: Row[Any]) -> SelfServiceProfile:
    branding: Mapping[str, Any] = row.branding
    return SelfServiceProfile(
        id=row.id,
        name=row.name,
        description=row.description,
        allowed_strategies=tuple(row.allowed_strategies),
        user_attributes=tuple(_user_attribute(a) for a in row.user_attributes),
        branding=Branding(
            logo_url=branding.get("logo_url"), primary_color=branding.get("primary_color")
        ),
        introduction=row.introduction,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _link(row: Row[Any]) -> PortalLink:
    return PortalLink(
        id=row.id,
        organization_id=row.organization_id,
        token_hash=row.token_hash,
        profile_id=row.profile_id,
        connection_id=row.connection_id,
        enabled_features=tuple(row.enabled_features),
        max_uses=row.max_uses,
        uses=row.uses,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        created_at=row.created_at,
        created_by=row.created_by,
    )

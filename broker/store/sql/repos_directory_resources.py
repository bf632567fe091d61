"""A directory's SCIM users and groups over SQL (`broker.store.protocols_directories`).

Every statement names the directory, so an id of another directory reads as absent.
Writes are compare-and-swap on `version` when the caller expects one; a userName taken
by another user is the unique constraint's verdict (AlreadyExists), in a savepoint for an
update so the unit of work can still answer the client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, delete, func, select, update
from sqlalchemy.engine import Connection, Row

from broker.model.directories import (
    DirectoryGroup,
    DirectoryUser,
    Filter,
    Found,
    LinkKey,
    Page,
)
from broker.store.protocols import Conflict, NotFound
from broker.store.sql.directory_filters import group_condition, user_condition
from broker.store.sql.statements import (
    affected,
    affected_in_savepoint,
    all_rows,
    first,
    insert_ignoring_duplicates,
    insert_unless_duplicate,
)
from broker.store.sql.tables_directories import (
    directories,
    directory_groups,
    directory_memberships,
    directory_users,
)

#: Ids per IN list: well under every backend's bound-parameter limit.
_CHUNK = 500

_U = directory_users.c
_G = directory_groups.c
_M = directory_memberships.c

_USER_KEY = and_(_U.directory_id == bindparam("p_dir"), _U.id == bindparam("p_id"))
_GET_USER = select(directory_users).where(_USER_KEY)
_ADD_USER = insert_ignoring_duplicates(directory_users)
_USER_EXISTS = select(_U.version).where(_USER_KEY)
_DELETE_USER = delete(directory_users).where(_USER_KEY)
_COUNT_USERS = select(func.count()).where(_U.directory_id == bindparam("p_dir"))

_GROUP_KEY = and_(_G.directory_id == bindparam("p_dir"), _G.id == bindparam("p_id"))
_GET_GROUP = select(directory_groups).where(_GROUP_KEY)
_ADD_GROUP = insert_ignoring_duplicates(directory_groups)
_GROUP_EXISTS = select(_G.version).where(_GROUP_KEY)
_DELETE_GROUP = delete(directory_groups).where(_GROUP_KEY)
_COUNT_GROUPS = select(func.count()).where(_G.directory_id == bindparam("p_dir"))
_MEMBERS = (
    select(_M.user_id, _M.display).where(_M.group_id == bindparam("p_group")).order_by(_M.user_id)
)
#: Longest member `display` kept (it is informational: Okta sends the user's login).
_MAX_DISPLAY = 256
_ADD_MEMBER = insert_ignoring_duplicates(directory_memberships)
_OF_USER = (
    select(directory_groups)
    .join(directory_memberships, _M.group_id == _G.id)
    .where(_G.directory_id == bindparam("p_dir"), _M.user_id == bindparam("p_user"))
    .order_by(_G.display_name_norm, _G.id)
)


def _user_values(user: DirectoryUser) -> dict[str, Any]:
    return {
        "user_name": user.user_name,
        "user_name_norm": user.user_name.lower(),
        "external_id": user.external_id,
        "active": user.active,
        "display_name": user.display_name,
        "display_name_norm": user.display_name.lower() if user.display_name else None,
        "emails": list(user.emails),
        "primary_email": user.primary_email.lower() if user.primary_email else None,
        "email_values": "".join(f"\n{e.lower()}" for e in user.emails)
        + ("\n" if user.emails else ""),
        "resource": dict(user.resource),
        "version": user.version,
        "updated_at": user.updated_at,
    }


def _group_values(group: DirectoryGroup) -> dict[str, Any]:
    return {
        "display_name": group.display_name,
        "display_name_norm": group.display_name.lower(),
        "external_id": group.external_id,
        "resource": dict(group.resource),
        "version": group.version,
        "updated_at": group.updated_at,
    }


def _paged(
    connection: Connection, query: Select[Any], order: Sequence[Any], page: Page
) -> tuple[int, list[Row[Any]]]:
    total = connection.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    if page.count == 0 or page.start >= total:
        return total, []
    ordered = query.order_by(*order).offset(page.start)
    if page.count is not None:
        ordered = ordered.limit(page.count)
    return total, list(connection.execute(ordered))


class SqlDirectoryUserRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, user: DirectoryUser) -> None:
        row = {
            "id": user.id,
            "directory_id": user.directory_id,
            "created_at": user.created_at,
            **_user_values(user),
        }
        statement = _ADD_USER.on(self._connection)
        insert_unless_duplicate(self._connection, statement, row, f"user {user.user_name!r}")

    def get(self, directory_id: str, user_id: str, *, lock: bool = False) -> DirectoryUser:
        statement = _GET_USER.with_for_update() if lock else _GET_USER
        row = first(self._connection, statement, {"p_dir": directory_id, "p_id": user_id})
        if row is None:
            raise NotFound(f"user {user_id}")
        return _user(row)

    def save(self, user: DirectoryUser, *, expected_version: int | None) -> None:
        where = [_USER_KEY]
        if expected_version is not None:
            where.append(_U.version == expected_version)
        statement = update(directory_users).where(*where).values(**_user_values(user))
        params = {"p_dir": user.directory_id, "p_id": user.id}
        what = f"user {user.user_name!r}"
        if not affected_in_savepoint(self._connection, statement, params, what):
            self._missed(user.directory_id, user.id)

    def delete(self, directory_id: str, user_id: str, *, expected_version: int | None) -> None:
        statement = _DELETE_USER
        if expected_version is not None:
            statement = statement.where(_U.version == expected_version)
        if not affected(self._connection, statement, {"p_dir": directory_id, "p_id": user_id}):
            self._missed(directory_id, user_id)

    def _missed(self, directory_id: str, user_id: str) -> None:
        if first(self._connection, _USER_EXISTS, {"p_dir": directory_id, "p_id": user_id}) is None:
            raise NotFound(f"user {user_id}")
        raise Conflict(f"user {user_id}: version changed")

    def search(self, directory_id: str, where: Filter | None, page: Page) -> Found[DirectoryUser]:
        query = select(directory_users).where(_U.directory_id == directory_id)
        if where is not None:
            query = query.where(user_condition(where, self._connection.dialect.name))
        total, rows = _paged(self._connection, query, [_U.created_at, _U.id], page)
        return Found(total=total, items=tuple(_user(r) for r in rows))

    def by_ids(self, directory_id: str, user_ids: Sequence[str]) -> Sequence[DirectoryUser]:
        found: list[DirectoryUser] = []
        unique = list(dict.fromkeys(user_ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            query = select(directory_users).where(_U.directory_id == directory_id, _U.id.in_(chunk))
            found.extend(_user(r) for r in self._connection.execute(query))
        return found

    def linked(self, organization_id: str, key: LinkKey, value: str) -> DirectoryUser | None:
        column, wanted = {
            LinkKey.EMAIL: (_U.primary_email, value.lower()),
            LinkKey.EXTERNAL_ID: (_U.external_id, value),
            LinkKey.SUBJECT: (_U.user_name_norm, value.lower()),
        }[key]
        query = (
            select(directory_users)
            .join(directories, directories.c.id == _U.directory_id)
            .where(directories.c.organization_id == organization_id, column == wanted)
            .order_by(case((_U.active.is_(False), 0), else_=1), _U.created_at, _U.id)
            .limit(1)
        )
        row = self._connection.execute(query).first()
        return None if row is None else _user(row)

    def count(self, directory_id: str) -> int:
        return int(self._connection.execute(_COUNT_USERS, {"p_dir": directory_id}).scalar_one())


class SqlDirectoryGroupRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, group: DirectoryGroup) -> None:
        row = {
            "id": group.id,
            "directory_id": group.directory_id,
            "created_at": group.created_at,
            **_group_values(group),
        }
        statement = _ADD_GROUP.on(self._connection)
        insert_unless_duplicate(self._connection, statement, row, f"group {group.id}")

    def get(self, directory_id: str, group_id: str, *, lock: bool = False) -> DirectoryGroup:
        statement = _GET_GROUP.with_for_update() if lock else _GET_GROUP
        row = first(self._connection, statement, {"p_dir": directory_id, "p_id": group_id})
        if row is None:
            raise NotFound(f"group {group_id}")
        return _group(row)

    def save(self, group: DirectoryGroup, *, expected_version: int | None) -> None:
        where = [_GROUP_KEY]
        if expected_version is not None:
            where.append(_G.version == expected_version)
        statement = update(directory_groups).where(*where).values(**_group_values(group))
        if not affected(
            self._connection, statement, {"p_dir": group.directory_id, "p_id": group.id}
        ):
            self._missed(group.directory_id, group.id)

    def delete(self, directory_id: str, group_id: str, *, expected_version: int | None) -> None:
        statement = _DELETE_GROUP
        if expected_version is not None:
            statement = statement.where(_G.version == expected_version)
        if not affected(self._connection, statement, {"p_dir": directory_id, "p_id": group_id}):
            self._missed(directory_id, group_id)

    def _missed(self, directory_id: str, group_id: str) -> None:
        if (
            first(self._connection, _GROUP_EXISTS, {"p_dir": directory_id, "p_id": group_id})
            is None
        ):
            raise NotFound(f"group {group_id}")
        raise Conflict(f"group {group_id}: version changed")

    def search(self, directory_id: str, where: Filter | None, page: Page) -> Found[DirectoryGroup]:
        query = select(directory_groups).where(_G.directory_id == directory_id)
        if where is not None:
            query = query.where(group_condition(where, self._connection.dialect.name))
        total, rows = _paged(self._connection, query, [_G.created_at, _G.id], page)
        return Found(total=total, items=tuple(_group(r) for r in rows))

    def members(self, group_id: str) -> Sequence[str]:
        return [r.user_id for r in all_rows(self._connection, _MEMBERS, {"p_group": group_id})]

    def member_list(self, group_id: str) -> Sequence[tuple[str, str | None]]:
        rows = all_rows(self._connection, _MEMBERS, {"p_group": group_id})
        return [(r.user_id, r.display) for r in rows]

    def add_members(
        self,
        group_id: str,
        user_ids: Sequence[str],
        displays: Mapping[str, str | None] | None = None,
    ) -> Sequence[str]:
        added: list[str] = []
        statement = _ADD_MEMBER.on(self._connection)
        for user_id in dict.fromkeys(user_ids):
            display = (displays or {}).get(user_id)
            row = {
                "group_id": group_id,
                "user_id": user_id,
                "display": None if display is None else display[:_MAX_DISPLAY],
            }
            if affected(self._connection, statement, row):
                added.append(user_id)
        return added

    def remove_members(self, group_id: str, user_ids: Sequence[str]) -> Sequence[str]:
        removed: list[str] = []
        unique = list(dict.fromkeys(user_ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            statement = (
                delete(directory_memberships)
                .where(_M.group_id == group_id, _M.user_id.in_(chunk))
                .returning(_M.user_id)
            )
            removed.extend(r.user_id for r in self._connection.execute(statement))
        return removed

    def of_user(self, directory_id: str, user_id: str) -> Sequence[DirectoryGroup]:
        rows = all_rows(self._connection, _OF_USER, {"p_dir": directory_id, "p_user": user_id})
        return [_group(r) for r in rows]

    def count(self, directory_id: str) -> int:
        return int(self._connection.execute(_COUNT_GROUPS, {"p_dir": directory_id}).scalar_one())


def _user(row: Row[Any]) -> DirectoryUser:
    return DirectoryUser(
        id=row.id,
        directory_id=row.directory_id,
        user_name=row.user_name,
        external_id=row.external_id,
        active=row.active,
        display_name=row.display_name,
        emails=tuple(row.emails),
        primary_email=row.primary_email,
        resource=row.resource,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _group(row: Row[Any]) -> DirectoryGroup:
    return DirectoryGroup(
        id=row.id,
        directory_id=row.directory_id,
        display_name=row.display_name,
        external_id=row.external_id,
        resource=row.resource,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )

"""Directories, their tokens and their request log over SQL
(`broker.store.protocols_directories.DirectoryRepo`). Users and groups:
`repos_directory_resources`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from broker.model.directories import (
    Directory,
    DirectoryRequest,
    DirectoryState,
    DirectoryToken,
    LinkKey,
)
from broker.store.protocols import NotFound
from broker.store.protocols_directories import DirectoryPageKey
from broker.store.sql.batches import LIMIT, batched_delete, checked_limit
from broker.store.sql.statements import (
    affected,
    all_rows,
    counted,
    first,
    insert_or_raise,
    keyset,
)
from broker.store.sql.tables import organizations
from broker.store.sql.tables_directories import (
    directories,
    directory_requests,
    directory_tokens,
)

_AT = directories.c.created_at.type
_BY_ID = directories.c.id == bindparam("p_id")
_GET = select(directories).where(_BY_ID)
_OF_ORG = (
    select(directories)
    .where(directories.c.organization_id == bindparam("p_org"))
    .order_by(directories.c.created_at, directories.c.id)
)
_PAGE_ALL = keyset(select(directories), directories.c.created_at, directories.c.id)
_PAGE_ORG = keyset(
    select(directories).where(directories.c.organization_id == bindparam("p_org")),
    directories.c.created_at,
    directories.c.id,
)
_SET_STATE = update(directories).where(_BY_ID).values(state=bindparam("p_state"))
_DELETE = delete(directories).where(_BY_ID)
_ORG_EXISTS = select(organizations.c.id).where(organizations.c.id == bindparam("p_org"))

_TOKEN_BY_HASH = select(directory_tokens).where(
    directory_tokens.c.token_hash == bindparam("p_hash")
)
_TOKEN_WITH_DIRECTORY = (
    select(
        directories,
        *(column.label(f"t_{column.name}") for column in directory_tokens.c),
    )
    .select_from(
        directory_tokens.join(directories, directories.c.id == directory_tokens.c.directory_id)
    )
    .where(directory_tokens.c.token_hash == bindparam("p_hash"))
)
_TOKENS = (
    select(directory_tokens)
    .where(directory_tokens.c.directory_id == bindparam("p_id"))
    .order_by(directory_tokens.c.created_at, directory_tokens.c.id)
)
_LIVE = and_(
    directory_tokens.c.directory_id == bindparam("p_id"),
    directory_tokens.c.revoked_at.is_(None),
)
_EXPIRE = (
    update(directory_tokens)
    .where(
        _LIVE,
        directory_tokens.c.id != bindparam("p_keep"),
        or_(
            directory_tokens.c.expires_at.is_(None),
            directory_tokens.c.expires_at > bindparam("p_at", type_=_AT),
        ),
    )
    .values(expires_at=bindparam("p_at", type_=_AT))
)
_REVOKE = (
    update(directory_tokens)
    .where(
        _LIVE,
        or_(
            directory_tokens.c.expires_at.is_(None),
            directory_tokens.c.expires_at > bindparam("p_at", type_=_AT),
        ),
    )
    .values(revoked_at=bindparam("p_at", type_=_AT))
)

_R = directory_requests.c
# The entry, unless its directory is gone (deleted while the request ran): one statement.
_LOG = counted(
    insert(directory_requests).from_select(
        [_R.id, _R.directory_id, _R.at, _R.method, _R.path, _R.status, _R.scim_type, _R.detail],
        select(
            bindparam("p_id", type_=_R.id.type),
            bindparam("p_dir", type_=_R.directory_id.type),
            bindparam("p_at", type_=_R.at.type),
            bindparam("p_method", type_=_R.method.type),
            bindparam("p_path", type_=_R.path.type),
            bindparam("p_status", type_=_R.status.type),
            bindparam("p_scim_type", type_=_R.scim_type.type),
            bindparam("p_detail", type_=_R.detail.type),
        ).where(select(directories.c.id).where(directories.c.id == bindparam("p_dir")).exists()),
    )
)
_LOG_NEWEST = (
    select(directory_requests)
    .where(directory_requests.c.directory_id == bindparam("p_id"))
    .order_by(directory_requests.c.at.desc(), directory_requests.c.id.desc())
    .limit(bindparam("p_limit"))
)
# The entries beyond the newest REQUEST_LOG_SIZE: the oldest, found by skipping the newest.
# The trim runs in the request's own transaction, and concurrent requests of a directory
# trim the same oldest rows: on PostgreSQL each skips the rows another is deleting (SKIP
# LOCKED; SQLite has one writer and no FOR UPDATE) instead of waiting for them in an
# order that can deadlock. A row one skipped is trimmed by the next request.
_LOG_TRIM = delete(directory_requests).where(
    directory_requests.c.id.in_(
        select(directory_requests.c.id)
        .where(directory_requests.c.directory_id == bindparam("p_id"))
        .order_by(directory_requests.c.at.desc(), directory_requests.c.id.desc())
        .offset(bindparam("p_keep"))
        .with_for_update(skip_locked=True)
    )
)
_PURGE_LOG = batched_delete(
    directory_requests, directory_requests.c.at <= bindparam("p_before", type_=_AT)
)


class SqlDirectoryRepo:
    REQUEST_LOG_SIZE = 200

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, directory: Directory) -> None:
        if first(self._connection, _ORG_EXISTS, {"p_org": directory.organization_id}) is None:
            raise NotFound(f"organization {directory.organization_id}")
        row = {
            "id": directory.id,
            "organization_id": directory.organization_id,
            "name": directory.name,
            "link_key": directory.link_key.value,
            "state": directory.state.value,
            "created_at": directory.created_at,
        }
        insert_or_raise(self._connection, insert(directories), row, f"directory {directory.id}")

    def get(self, directory_id: str) -> Directory:
        row = first(self._connection, _GET, {"p_id": directory_id})
        if row is None:
            raise NotFound(f"directory {directory_id}")
        return _directory(row)

    def of_organization(self, organization_id: str) -> Sequence[Directory]:
        return [
            _directory(r) for r in all_rows(self._connection, _OF_ORG, {"p_org": organization_id})
        ]

    def page(
        self, *, organization_id: str | None, after: DirectoryPageKey | None, limit: int
    ) -> Sequence[Directory]:
        if organization_id is None:
            rows = _PAGE_ALL.page(self._connection, {}, after=after, limit=limit)
        else:
            rows = _PAGE_ORG.page(
                self._connection, {"p_org": organization_id}, after=after, limit=limit
            )
        return [_directory(r) for r in rows]

    def set_state(self, directory_id: str, state: DirectoryState) -> None:
        if not affected(
            self._connection, _SET_STATE, {"p_id": directory_id, "p_state": state.value}
        ):
            raise NotFound(f"directory {directory_id}")

    def delete(self, directory_id: str) -> None:
        if not affected(self._connection, _DELETE, {"p_id": directory_id}):
            raise NotFound(f"directory {directory_id}")

    # -- tokens ---------------------------------------------------------------------------

    def add_token(self, token: DirectoryToken) -> None:
        row = {
            "id": token.id,
            "directory_id": token.directory_id,
            "token_hash": token.token_hash,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "revoked_at": token.revoked_at,
        }
        insert_or_raise(self._connection, insert(directory_tokens), row, "directory token")

    def token_by_hash(self, token_hash: str) -> DirectoryToken | None:
        row = first(self._connection, _TOKEN_BY_HASH, {"p_hash": token_hash})
        return None if row is None else _token(row)

    def token_with_directory(self, token_hash: str) -> tuple[DirectoryToken, Directory] | None:
        row = first(self._connection, _TOKEN_WITH_DIRECTORY, {"p_hash": token_hash})
        if row is None:
            return None
        token = DirectoryToken(
            id=row.t_id,
            directory_id=row.t_directory_id,
            token_hash=row.t_token_hash,
            created_at=row.t_created_at,
            expires_at=row.t_expires_at,
            revoked_at=row.t_revoked_at,
        )
        return token, _directory(row)

    def tokens(self, directory_id: str) -> Sequence[DirectoryToken]:
        return [_token(r) for r in all_rows(self._connection, _TOKENS, {"p_id": directory_id})]

    def expire_tokens(self, directory_id: str, *, at: datetime, keep: str) -> int:
        return affected(
            self._connection, _EXPIRE, {"p_id": directory_id, "p_at": at, "p_keep": keep}
        )

    def revoke_tokens(self, directory_id: str, *, at: datetime) -> int:
        return affected(self._connection, _REVOKE, {"p_id": directory_id, "p_at": at})

    # -- the request log ------------------------------------------------------------------

    def log_request(self, request: DirectoryRequest) -> None:
        """Two statements, every request: an INSERT .. SELECT that adds nothing when the
        directory is gone, and a DELETE of what lies beyond the newest REQUEST_LOG_SIZE
        (a bounded index scan; no COUNT first)."""
        row = {
            "p_id": request.id,
            "p_dir": request.directory_id,
            "p_at": request.at,
            "p_method": request.method[:16],
            "p_path": request.path[:500],
            "p_status": request.status,
            "p_scim_type": None if request.scim_type is None else request.scim_type[:64],
            "p_detail": None if request.detail is None else request.detail[:500],
        }
        if not affected(self._connection, _LOG, row):
            return
        affected(
            self._connection,
            _LOG_TRIM,
            {"p_id": request.directory_id, "p_keep": self.REQUEST_LOG_SIZE},
        )

    def requests(self, directory_id: str, *, limit: int) -> Sequence[DirectoryRequest]:
        rows = all_rows(self._connection, _LOG_NEWEST, {"p_id": directory_id, "p_limit": limit})
        return [_request(r) for r in rows]

    def purge_requests_before(self, before: datetime, *, limit: int) -> int:
        params = {"p_before": before, LIMIT: checked_limit(limit)}
        return affected(self._connection, _PURGE_LOG.on(self._connection), params)


def _directory(row: Row[Any]) -> Directory:
    return Directory(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        link_key=LinkKey(row.link_key),
        state=DirectoryState(row.state),
        created_at=row.created_at,
    )


def _token(row: Row[Any]) -> DirectoryToken:
    return DirectoryToken(
        id=row.id,
        directory_id=row.directory_id,
        token_hash=row.token_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _request(row: Row[Any]) -> DirectoryRequest:
    return DirectoryRequest(
        id=row.id,
        directory_id=row.directory_id,
        at=row.at,
        method=row.method,
        path=row.path,
        status=row.status,
        scim_type=row.scim_type,
        detail=row.detail,
    )

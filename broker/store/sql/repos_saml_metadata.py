"""The SAML metadata refresh's state over SQL (`broker.store.protocols_saml_metadata`).

Both writes are an UPDATE first and an INSERT when it touched nothing: the rows are
written by one job runner at a time (the scheduler's lease) or, for certificate use, by
logins whose writes all say the same thing ("verified now"), so the rare insert race is
harmless and the INSERT ignores a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.engine import Connection

from broker.store.protocols import NotFound
from broker.store.protocols_saml_metadata import MetadataRefresh
from broker.store.sql.statements import affected, all_rows, first, insert_ignoring_duplicates
from broker.store.sql.tables import connections
from broker.store.sql.tables_background import saml_certificate_use, saml_metadata_refreshes

_AT = saml_certificate_use.c.last_verified_at.type
_USE = and_(
    saml_certificate_use.c.connection_id == bindparam("p_connection_id"),
    saml_certificate_use.c.fingerprint == bindparam("p_fingerprint"),
)
_TOUCH_USE = (
    update(saml_certificate_use).where(_USE).values(last_verified_at=bindparam("p_at", type_=_AT))
)
_ADD_USE = insert_ignoring_duplicates(saml_certificate_use)
_LIST_USE = select(saml_certificate_use).where(
    saml_certificate_use.c.connection_id == bindparam("p_connection_id")
)
_FORGET_USE = delete(saml_certificate_use).where(_USE)
_CONNECTION_EXISTS = select(connections.c.id).where(connections.c.id == bindparam("p_id"))

_REFRESH = saml_metadata_refreshes.c.connection_id == bindparam("p_connection_id")
_GET_REFRESH = select(saml_metadata_refreshes).where(_REFRESH)
_UPDATE_REFRESH = (
    update(saml_metadata_refreshes)
    .where(_REFRESH)
    .values(
        next_fetch_at=bindparam("p_next", type_=_AT),
        failing_since=bindparam("p_failing", type_=_AT),
        reported_change=bindparam("p_change"),
    )
)
_ADD_REFRESH = insert_ignoring_duplicates(saml_metadata_refreshes)


class SqlSamlCertificateUseRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def verified(self, connection_id: str, fingerprint: str, *, at: datetime) -> None:
        key = {"p_connection_id": connection_id, "p_fingerprint": fingerprint}
        if affected(self._connection, _TOUCH_USE, {**key, "p_at": at}):
            return
        _require_connection(self._connection, connection_id)
        row = {"connection_id": connection_id, "fingerprint": fingerprint, "last_verified_at": at}
        self._connection.execute(_ADD_USE.on(self._connection), row)

    def last_verified(self, connection_id: str) -> Mapping[str, datetime]:
        rows = all_rows(self._connection, _LIST_USE, {"p_connection_id": connection_id})
        return {row.fingerprint: row.last_verified_at for row in rows}

    def forget(self, connection_id: str, fingerprint: str) -> None:
        key = {"p_connection_id": connection_id, "p_fingerprint": fingerprint}
        affected(self._connection, _FORGET_USE, key)


class SqlSamlMetadataRefreshRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, connection_id: str) -> MetadataRefresh | None:
        row = first(self._connection, _GET_REFRESH, {"p_connection_id": connection_id})
        if row is None:
            return None
        return MetadataRefresh(
            connection_id=row.connection_id,
            next_fetch_at=row.next_fetch_at,
            failing_since=row.failing_since,
            reported_change=row.reported_change,
        )

    def put(self, state: MetadataRefresh) -> None:
        params = {
            "p_connection_id": state.connection_id,
            "p_next": state.next_fetch_at,
            "p_failing": state.failing_since,
            "p_change": state.reported_change,
        }
        if affected(self._connection, _UPDATE_REFRESH, params):
            return
        _require_connection(self._connection, state.connection_id)
        row = {
            "connection_id": state.connection_id,
            "next_fetch_at": state.next_fetch_at,
            "failing_since": state.failing_since,
            "reported_change": state.reported_change,
        }
        self._connection.execute(_ADD_REFRESH.on(self._connection), row)


def _require_connection(connection: Connection, connection_id: str) -> None:
    """NotFound rather than a foreign-key error from the INSERT (which would end a
    PostgreSQL transaction): the connection was deleted meanwhile."""
    if first(connection, _CONNECTION_EXISTS, {"p_id": connection_id}) is None:
        raise NotFound(f"connection {connection_id}")

"""Statement helpers shared by the repositories.

The repositories speak SQLAlchemy Core on one `Connection` (the unit of work's transaction):
statements are built once, at import, with `bindparam` placeholders, and executed with a
dict of parameters, so each call costs a compiled-cache lookup rather than building and
compiling SQL. Rows are mapped to the domain's dataclasses by hand; there is no ORM session,
hence no identity map to serve a stale row.

Writes are plain INSERT/UPDATE/DELETE statements: the row count (or the RETURNING row) of a
conditional UPDATE is the verdict of a compare-and-swap or single-use check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Executable, Insert, Integer, Select, bindparam, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Row
from sqlalchemy.exc import IntegrityError

from broker.store.protocols import AlreadyExists, NotFound, StoreError

_S = TypeVar("_S", bound=Executable)

Params = Mapping[str, Any]

_PG_UNIQUE_VIOLATION = "23505"
_PG_FOREIGN_KEY_VIOLATION = "23503"
_SQLITE_UNIQUE_VIOLATIONS = frozenset({"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"})
_SQLITE_FOREIGN_KEY_VIOLATION = "SQLITE_CONSTRAINT_FOREIGNKEY"


@dataclass(frozen=True, slots=True)
class PerDialect(Generic[_S]):
    """One statement in the two dialects' spellings (INSERT .. ON CONFLICT is built by
    dialect-specific constructs)."""

    sqlite: _S
    postgresql: _S

    def on(self, connection: Connection) -> _S:
        return self.postgresql if connection.dialect.name == "postgresql" else self.sqlite


def insert_ignoring_duplicates(table: sa.Table) -> PerDialect[Insert]:
    """INSERT .. ON CONFLICT DO NOTHING, for `insert_unless_duplicate`: with no conflict
    target it covers every unique constraint and index of the table."""
    return PerDialect(
        sqlite=counted(sqlite.insert(table).on_conflict_do_nothing()),
        postgresql=counted(postgresql.insert(table).on_conflict_do_nothing()),
    )


def counted(statement: _S) -> _S:
    """`statement` with its row count kept: SQLAlchemy keeps it only for UPDATE and DELETE
    unless told (for an INSERT the count says whether ON CONFLICT skipped it)."""
    return statement.execution_options(preserve_rowcount=True)


def first(connection: Connection, statement: Executable, params: Params) -> Row[Any] | None:
    """The first row of a query (or of an UPDATE .. RETURNING), or None."""
    return connection.execute(statement, params).first()


def all_rows(connection: Connection, statement: Executable, params: Params) -> list[Row[Any]]:
    return list(connection.execute(statement, params))


def affected(connection: Connection, statement: Executable, params: Params) -> int:
    """Run an INSERT, UPDATE or DELETE and return its row count, the verdict of every
    compare-and-swap and single-use check."""
    result = connection.execute(statement, params)
    assert isinstance(result, CursorResult)
    return result.rowcount


def insert_or_raise(
    connection: Connection, statement: Executable, params: Params, what: str
) -> None:
    """Run an INSERT and translate constraint violations, without a savepoint.

    For callers that let AlreadyExists or NotFound end the unit of work: on PostgreSQL the
    failed statement aborts the whole transaction. Callers that recover and go on in the same
    unit of work use `insert_in_savepoint`, or an INSERT .. ON CONFLICT DO NOTHING that
    cannot fail on a duplicate (`insert_unless_duplicate`).
    """
    try:
        connection.execute(statement, params)
    except IntegrityError as exc:
        raise _translate(exc, what) from exc


def returning_or_raise(
    connection: Connection, statement: Executable, params: Params, what: str
) -> Row[Any] | None:
    """`insert_or_raise` for an INSERT .. RETURNING (an upsert): the row it returns."""
    try:
        return connection.execute(statement, params).first()
    except IntegrityError as exc:
        raise _translate(exc, what) from exc


def insert_in_savepoint(
    connection: Connection, statement: Executable, params: Params, what: str
) -> None:
    """`insert_or_raise` inside a SAVEPOINT, which keeps the caller's unit of work usable
    after AlreadyExists or NotFound (PostgreSQL otherwise aborts the whole transaction)."""
    try:
        with connection.begin_nested():
            connection.execute(statement, params)
    except IntegrityError as exc:
        raise _translate(exc, what) from exc


def affected_in_savepoint(
    connection: Connection, statement: Executable, params: Params, what: str
) -> int:
    """`affected` inside a SAVEPOINT, with constraint violations translated: for an UPDATE
    that a unique index may refuse (a second verified claim on a domain, a taken external
    id), after which the caller's unit of work must stay usable."""
    try:
        with connection.begin_nested():
            return affected(connection, statement, params)
    except IntegrityError as exc:
        raise _translate(exc, what) from exc


def insert_unless_duplicate(
    connection: Connection, statement: Executable, params: Params, what: str
) -> None:
    """Run an INSERT .. ON CONFLICT DO NOTHING; AlreadyExists if it inserted nothing.

    A duplicate is then not an error in the database, so the unit of work stays usable
    without a savepoint. Concurrent inserts of one key behave as with a plain INSERT: on
    PostgreSQL the second waits for the first transaction and inserts nothing if it
    committed. Other violations (a missing referenced row) still abort the transaction.
    """
    try:
        inserted = affected(connection, statement, params)
    except IntegrityError as exc:
        raise _translate(exc, what) from exc
    if inserted != 1:
        raise AlreadyExists(what)


@dataclass(frozen=True, slots=True)
class Keyset:
    """One list read in pages by a unique sort key (keyset pagination): `first` is the
    first page, `next` the page strictly after a key (before it, for a descending list).

    Not OFFSET: a page after a key holds the same rows however many rows were added or
    removed before it meanwhile, and the database seeks to the key instead of counting
    rows. The key is compared as a row value, `(created_at, id) > (:at, :id)`, which both
    backends support and PostgreSQL can answer from a composite index.
    """

    first: Select[Any]
    next: Select[Any]

    def page(
        self,
        connection: Connection,
        params: Params,
        *,
        after: Sequence[Any] | None,
        limit: int,
    ) -> list[Row[Any]]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if after is None:
            return all_rows(connection, self.first, {**params, "p_limit": limit})
        keyed = {f"p_after_{index}": value for index, value in enumerate(after)}
        return all_rows(connection, self.next, {**params, **keyed, "p_limit": limit})


def keyset(query: Select[Any], *columns: ColumnElement[Any], descending: bool = False) -> Keyset:
    """Pages of `query` ordered by `columns` (which must identify a row: the last one is
    a unique id), ascending or descending; the key's parameters are `p_after_<i>`."""
    ordering = [column.desc() for column in columns] if descending else list(columns)
    ordered = query.order_by(*ordering).limit(bindparam("p_limit", type_=Integer()))
    keys = [
        bindparam(f"p_after_{index}", type_=column.type) for index, column in enumerate(columns)
    ]
    if len(columns) == 1:
        [column], [key] = columns, keys
        beyond = column < key if descending else column > key
    else:
        row, at = tuple_(*columns), tuple_(*keys)
        beyond = row < at if descending else row > at
    return Keyset(first=ordered, next=ordered.where(beyond))


def _translate(exc: IntegrityError, what: str) -> StoreError | IntegrityError:
    """AlreadyExists for a primary key or unique violation, NotFound for a reference to a
    missing row; anything else (NOT NULL, CHECK) is a bug and stays an IntegrityError."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    sqlite_error = getattr(exc.orig, "sqlite_errorname", None)
    if sqlstate == _PG_UNIQUE_VIOLATION or sqlite_error in _SQLITE_UNIQUE_VIOLATIONS:
        return AlreadyExists(what)
    if sqlstate == _PG_FOREIGN_KEY_VIOLATION or sqlite_error == _SQLITE_FOREIGN_KEY_VIOLATION:
        return NotFound(f"{what}: refers to a missing row")
    return exc

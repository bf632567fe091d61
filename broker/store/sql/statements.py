"""Statement helpers shared by the repositories.

Writes are plain INSERT/UPDATE/DELETE statements, never ORM object changes: the row count
of a conditional UPDATE is the verdict of a compare-and-swap or single-use check. Reads
therefore use `populate_existing`, so a row loaded earlier in the same unit of work is not
served stale from the session's identity map.
"""

from __future__ import annotations

from typing import TypeVarTuple

from sqlalchemy import Delete, Insert, Select, Update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broker.store.protocols import AlreadyExists, NotFound, StoreError

_Ts = TypeVarTuple("_Ts")

_PG_UNIQUE_VIOLATION = "23505"
_PG_FOREIGN_KEY_VIOLATION = "23503"
_SQLITE_UNIQUE_VIOLATIONS = frozenset({"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"})
_SQLITE_FOREIGN_KEY_VIOLATION = "SQLITE_CONSTRAINT_FOREIGNKEY"


def fresh(statement: Select[*_Ts]) -> Select[*_Ts]:
    return statement.execution_options(populate_existing=True)


def affected(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE and return its row count, the verdict of every
    compare-and-swap and single-use check."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)
    return result.rowcount


def insert_or_raise(session: Session, statement: Insert, what: str) -> None:
    """Run an INSERT inside a SAVEPOINT and translate constraint violations.

    The savepoint is what keeps the caller's unit of work usable after AlreadyExists: on
    PostgreSQL a failed statement otherwise aborts the whole transaction.
    """
    try:
        with session.begin_nested():
            session.execute(statement)
    except IntegrityError as exc:
        raise _translate(exc, what) from exc


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

"""Is the database one this code can use? Reachable, and at the schema revision the code's
migrations end at (their head).

The head is read from the `alembic/` scripts once per process (`revisions`): what a probe
repeats is two trivial reads (does `alembic_version` exist, which revision it holds), on
PostgreSQL under a statement timeout. Every failure becomes one line for an operator
(`DatabaseUnreachable`, `SchemaNotCurrent`) naming the database with its password masked,
never a driver traceback: `gatehouse` commands print it and exit, the server refuses to
start with it, and `/readyz` names the failing check.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from broker.store.protocols import DatabaseUnreachable, SchemaNotCurrent
from broker.store.sql.migrate import alembic_config

#: How long PostgreSQL may take over the check's reads (a lock held by a migration, an
#: overloaded server) before the check says so instead of waiting.
STATEMENT_TIMEOUT_MS = 2_000


@dataclass(frozen=True, slots=True)
class Revisions:
    head: str
    known: frozenset[str]


@functools.cache
def revisions() -> Revisions:
    """The migrations' head and every revision they know, read from the scripts once."""
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    assert head is not None, "alembic/ holds no migration"
    return Revisions(head=head, known=frozenset(r.revision for r in scripts.walk_revisions()))


def describe(engine: Engine) -> str:
    """The database's URL as the operator wrote it, the password masked (and SQLite's
    driver not the internal one `broker.store.sql.engine` registers)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        url = url.set(drivername="sqlite")
    return url.render_as_string(hide_password=True)


def database_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions `alembic_version` holds (empty: no Gatehouse schema); raises
    `DatabaseUnreachable` when the database cannot be reached or read."""
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise DatabaseUnreachable(
            f"cannot connect to the database at {describe(engine)}: {reason(exc)}"
        ) from None
    try:
        with connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
            return tuple(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.DBAPIError as exc:
        raise DatabaseUnreachable(
            f"cannot read the database at {describe(engine)}: {reason(exc)}"
        ) from None


def require_head(engine: Engine) -> None:
    """Raise unless the database is reachable and exactly at the migrations' head."""
    at = require_known(engine)
    if at != (revisions().head,):
        raise SchemaNotCurrent(describe(engine), revisions=at, head=revisions().head, known=True)


def require_known(engine: Engine) -> tuple[str, ...]:
    """The database's revisions, refused when it cannot be reached or when it is at a
    revision these migrations do not know (a newer Gatehouse migrated it: upgrading is
    impossible and downgrading is that release's job). What `gatehouse migrate` needs."""
    at = database_revisions(engine)
    known = revisions()
    if not all(revision in known.known for revision in at):
        raise SchemaNotCurrent(describe(engine), revisions=at, head=known.head, known=False)
    return at


def reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's own first line, which names what failed ('connection refused',
    'database "x" does not exist', 'password authentication failed for user "y"',
    'connection timeout expired', 'unable to open database file'), whitespace collapsed.
    libpq and SQLite never put the password in it."""
    lines = str(exc.orig).strip().splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    return first.removeprefix("connection failed: ") or type(exc.orig).__name__

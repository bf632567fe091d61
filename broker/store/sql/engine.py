"""Engines for the two supported databases, configured for the store's concurrency contract.

SQLite: every transaction starts with `BEGIN IMMEDIATE`, so it takes the write lock up
front. With pysqlite's default deferred BEGIN, two processes that both read and then write
each hold a read lock and wait for the other to drop it; SQLite breaks that deadlock by
failing one of them with "database is locked", whatever the busy timeout. Taking the lock
first turns the race into a queue that `busy_timeout` waits on. The price is that SQLite
runs one transaction at a time, readers included: right for development and tests, which
is what SQLite is for here. `foreign_keys` must be switched on per connection (the
access-token cascade depends on it). `synchronous = NORMAL`: in WAL mode a commit is then an
append to the WAL without an fsync (the WAL is synced at checkpoints). The database stays
consistent through a crash of the process; only a power loss (or OS crash) can roll back
the last transactions committed before it, e.g. undo a code redemption or a replay-cache
entry of the last moments. SQLite is for development and tests, where that is acceptable;
production runs on PostgreSQL.

PostgreSQL: READ COMMITTED (the default) is enough, because every atomic operation of the
store is one conditional UPDATE or an INSERT .. ON CONFLICT, which PostgreSQL re-checks
against the latest committed row. Pooled connections are recycled after
`_PG_POOL_RECYCLE_S` instead of pinged before every checkout (`pool_pre_ping` costs a round
trip per unit of work); if the server drops connections anyway, the first statement on one
fails, SQLAlchemy sees the disconnect and invalidates the pool, and later checkouts
reconnect: one failed request instead of a round trip on every request. A connection
attempt gives up after `connect_timeout` seconds (libpq's parameter, `_PG_CONNECT_TIMEOUT_S`
unless the URL sets its own): without it, a database host that drops packets holds a
request, or a start-up, for the kernel's TCP timeout of about two minutes.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_PG_POOL_RECYCLE_S = 1800
_PG_CONNECT_TIMEOUT_S = 10
#: Connections kept open, and how many more may open under load (closed again when checked
#: in): 15 at most per process, as before, but 10 kept rather than SQLAlchemy's 5. Eight
#: logins in flight kept opening and closing overflow connections (a PostgreSQL backend
#: started and ended per unit of work; SQLite's pragmas run again), issue 18.
_POOL_SIZE = 10
_POOL_OVERFLOW = 5
#: What a database URL looks like, for a URL that is not one.
URL_FORMS = "sqlite:///<file> or postgresql+psycopg://<user>:<password>@<host>:<port>/<database>"


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for `url` (`sqlite:///<file>` or `postgresql+psycopg://...`).

    `schema` (PostgreSQL only) becomes every connection's search_path, which is how tests
    give each session a throwaway schema without touching the code under test. A URL that
    cannot work raises ValueError saying what is expected; its text never quotes the URL,
    which may hold a password.
    """
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except (sa.exc.ArgumentError, ValueError):
        raise ValueError(f"not a database URL; expected {URL_FORMS}") from None
    if backend == "sqlite":
        if schema is not None:
            raise ValueError("schema is only supported on PostgreSQL")
        return _sqlite_engine(url)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise ValueError("use the psycopg 3 driver: postgresql+psycopg://")
        connect_args: dict[str, object] = {}
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = _PG_CONNECT_TIMEOUT_S
        if schema:
            connect_args["options"] = f"-csearch_path={schema}"
        return sa.create_engine(
            url,
            pool_size=_POOL_SIZE,
            max_overflow=_POOL_OVERFLOW,
            pool_recycle=_PG_POOL_RECYCLE_S,
            connect_args=connect_args,
        )
    raise ValueError(f"unsupported database backend {backend!r}; expected {URL_FORMS}")


class SQLiteImmediateDialect(SQLiteDialect_pysqlite):
    """pysqlite whose every transaction begins with `BEGIN IMMEDIATE`.

    A dialect hook rather than the usual `begin` event listener: any engine-level execution
    listener makes SQLAlchemy dispatch (empty) execution events around every statement,
    about a fifth of the cost of a simple query.
    """

    supports_statement_cache = True

    def do_begin(self, dbapi_connection: DBAPIConnection) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        finally:
            cursor.close()


_SQLITE_DRIVER = "gatehouse_pysqlite"
registry.register(f"sqlite.{_SQLITE_DRIVER}", __name__, SQLiteImmediateDialect.__name__)


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or "mode=memory" in url:
        # Each pooled connection would get its own empty in-memory database.
        raise ValueError("SQLite needs a database file, not :memory:")
    if parsed.get_driver_name() not in ("pysqlite", _SQLITE_DRIVER):
        raise ValueError("use the default pysqlite driver: sqlite:///<file>")
    engine = sa.create_engine(
        parsed.set(drivername=f"sqlite+{_SQLITE_DRIVER}"),
        pool_size=_POOL_SIZE,
        max_overflow=_POOL_OVERFLOW,
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    # pysqlite must not emit its own deferred BEGIN; the dialect's `do_begin` does it instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL may itself have to wait for a lock.
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # Durable enough with WAL (see the module docstring) and no fsync per commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()

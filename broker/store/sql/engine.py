"""Engines for the two supported databases, configured for the store's concurrency contract.

SQLite: every transaction starts with `BEGIN IMMEDIATE`, so it takes the write lock up
front. With pysqlite's default deferred BEGIN, two processes that both read and then write
each hold a read lock and wait for the other to drop it; SQLite breaks that deadlock by
failing one of them with "database is locked", whatever the busy timeout. Taking the lock
first turns the race into a queue that `busy_timeout` waits on. The price is that SQLite
runs one transaction at a time, readers included: right for development and tests, which
is what SQLite is for here. `foreign_keys` must be switched on per connection (the
access-token cascade depends on it).

PostgreSQL: READ COMMITTED (the default) is enough, because every atomic operation of the
store is one conditional UPDATE or an INSERT .. ON CONFLICT, which PostgreSQL re-checks
against the latest committed row.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry

_SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for `url` (`sqlite:///<file>` or `postgresql+psycopg://...`).

    `schema` (PostgreSQL only) becomes every connection's search_path, which is how tests
    give each session a throwaway schema without touching the code under test.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise ValueError("schema is only supported on PostgreSQL")
        return _sqlite_engine(url)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise ValueError("use the psycopg 3 driver: postgresql+psycopg://")
        connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    raise ValueError(f"unsupported database backend: {backend!r}")


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if not database or database == ":memory:" or "mode=memory" in url:
        # Each pooled connection would get its own empty in-memory database.
        raise ValueError("SQLite needs a database file, not :memory:")
    engine = sa.create_engine(url)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    # pysqlite must not emit its own deferred BEGIN; `_begin_immediate` does it instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL may itself have to wait for a lock.
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")

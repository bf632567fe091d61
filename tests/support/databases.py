"""Databases for tests: real files and a real server, built by the real migrations.

SQLite: the migrations run once per session into a template file, and each test gets a copy
(a file copy is far cheaper than migrating, and each test still has its own database).

PostgreSQL: the session migrates a throwaway schema `gh_test_<hex>` (every connection of the
test engines has it as search_path) and drops it at the end; each test's rows are deleted
afterwards. Separate schemas let parallel sessions share one server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from broker.store.sql import make_engine, migrate
from broker.store.sql.migrate import upgrade_to_head
from broker.store.sql.tables import metadata

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_CONNECT_TIMEOUT_S = 3
_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True, slots=True)
class Database:
    """An engine plus what another process needs to open the same database."""

    url: str
    schema: str | None
    engine: Engine


def postgres_url() -> str:
    raw = os.environ.get("GATEHOUSE_TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL
    url = make_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL at `url` cannot be used, or None if it can."""
    engine = sa.create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": _CONNECT_TIMEOUT_S}
    )
    try:
        with engine.connect():
            return None
    except sa.exc.OperationalError as exc:
        where = make_url(url).render_as_string(hide_password=True)
        return f"PostgreSQL not reachable at {where}: {' '.join(str(exc.orig).split())}"
    finally:
        engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def migrated_sqlite_template(directory: Path) -> Path:
    path = directory / "template.sqlite3"
    engine = make_engine(sqlite_url(path))
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    # Closing the last connection checkpoints the WAL into the main file; a leftover WAL
    # would mean the copy below misses committed pages.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@contextmanager
def sqlite_copy(template: Path, directory: Path) -> Iterator[Database]:
    path = directory / "gatehouse.sqlite3"
    shutil.copyfile(template, path)
    database = Database(url=sqlite_url(path), schema=None, engine=make_engine(sqlite_url(path)))
    try:
        yield database
    finally:
        database.engine.dispose()


@contextmanager
def throwaway_schema(url: str, *, migrated: bool) -> Iterator[str]:
    """A new, uniquely named schema `gh_test_<hex>`, dropped with everything in it on exit."""
    with migrate.throwaway_schema(url, prefix="gh_test", migrated=migrated) as name:
        yield name


@contextmanager
def emptied_after(url: str, schema: str) -> Iterator[Database]:
    """The shared schema, emptied when the test ends.

    DELETE rather than TRUNCATE: a test leaves a handful of rows, and TRUNCATE's file
    rewrites cost ~15 times more per test. The lock timeout turns a test that left a
    transaction open into an error instead of a hang.
    """
    database = Database(url=url, schema=schema, engine=make_engine(url, schema=schema))
    try:
        yield database
    finally:
        with database.engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
        database.engine.dispose()

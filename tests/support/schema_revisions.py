"""Databases at a chosen schema revision, for what start-up and readiness say about them:
empty (no Gatehouse schema), one revision behind the head, at the head, or at a revision
this code does not know. Each is its own (a fresh SQLite file, or a throwaway PostgreSQL
schema), never the session's shared one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from broker.store.sql import make_engine
from broker.store.sql.migrate import alembic_config
from broker.store.sql.schema import revisions
from tests.support import databases
from tests.support.databases import Database
from tests.support.processes import with_search_path

#: A revision no migration has (a newer Gatehouse's, as far as this code can tell).
UNKNOWN_REVISION = "9999"


@contextmanager
def blank_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Database]:
    """An empty database; its `url` alone opens it (PostgreSQL's names its schema)."""
    if backend == "sqlite":
        url = databases.sqlite_url(tmp_path / "blank.sqlite3")
        engine = make_engine(url)
        try:
            yield Database(url=url, schema=None, engine=engine)
        finally:
            engine.dispose()
        return
    server: str = request.getfixturevalue("postgres_url")
    with databases.throwaway_schema(server, migrated=False) as schema:
        engine = make_engine(server, schema=schema)
        try:
            yield Database(url=with_search_path(server, schema), schema=schema, engine=engine)
        finally:
            engine.dispose()


def migrate_to(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def one_behind_head() -> str:
    """The revision the head migrates from."""
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_revision(revisions().head)
    assert head is not None
    assert isinstance(head.down_revision, str)
    return head.down_revision


def stamp(engine: Engine, revision: str) -> None:
    """Record `revision` as the database's, whatever it holds: a database a newer
    Gatehouse migrated, as far as `alembic_version` tells."""
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})

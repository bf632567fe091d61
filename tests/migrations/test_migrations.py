"""The migrations build exactly the schema `tables.metadata` describes, on both backends,
and can be undone. Each test starts from an empty database of its own (a fresh SQLite file
or a fresh PostgreSQL schema), not the session's shared one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from broker.store.sql import make_engine
from broker.store.sql.migrate import downgrade_to_base, upgrade_to_head
from broker.store.sql.tables import metadata
from tests.conftest import BACKENDS
from tests.support import databases

VERSION_TABLE = "alembic_version"


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(databases.sqlite_url(tmp_path / "empty.sqlite3"))
        try:
            yield engine
        finally:
            engine.dispose()
        return
    url: str = request.getfixturevalue("postgres_url")
    with databases.throwaway_schema(url, migrated=False) as schema:
        engine = make_engine(url, schema=schema)
        try:
            yield engine
        finally:
            engine.dispose()


def table_names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def schema_drift(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_upgrade_creates_every_table(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    assert table_names(empty_engine) == set(metadata.tables) | {VERSION_TABLE}


def test_migrated_schema_matches_the_metadata(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    assert schema_drift(empty_engine) == []


def test_downgrade_to_base_then_upgrade_again(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    downgrade_to_base(empty_engine)
    assert table_names(empty_engine) == {VERSION_TABLE}
    upgrade_to_head(empty_engine)
    assert table_names(empty_engine) == set(metadata.tables) | {VERSION_TABLE}
    assert schema_drift(empty_engine) == []


def test_migrations_run_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine(databases.sqlite_url(tmp_path / "elsewhere.sqlite3"))
    try:
        upgrade_to_head(engine)
        assert VERSION_TABLE in table_names(engine)
    finally:
        engine.dispose()

"""The migrations build exactly the schema `tables.metadata` describes, on both backends,
and can be undone. Each test starts from an empty database of its own (a fresh SQLite file
or a fresh PostgreSQL schema), not the session's shared one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from broker.store.sql import make_engine
from broker.store.sql.migrate import alembic_config, downgrade_to_base, upgrade_to_head
from broker.store.sql.tables import metadata
from tests.conftest import BACKENDS
from tests.support import databases

VERSION_TABLE = "alembic_version"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


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


def migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        step = command.downgrade if down else command.upgrade
        step(alembic_config(connection), revision)


def seed_0001_rows(engine: Engine) -> None:
    """Rows as a 0001 database holds them (only 0001's columns are named)."""
    tables = metadata.tables
    with engine.begin() as connection:
        connection.execute(
            tables["organizations"].insert(),
            [
                {"id": "org_a", "name": "A", "external_id": "ext-a", "created_at": NOW},
                {"id": "org_b", "name": "B", "external_id": None, "created_at": NOW},
                {"id": "org_c", "name": "C", "external_id": None, "created_at": NOW},
            ],
        )
        connection.execute(
            tables["domains"].insert().values(name="a.test", organization_id="org_a")
        )
        connection.execute(
            tables["flows"]
            .insert()
            .values(id="flow-1", request={}, connector_state=b"s", created_at=NOW, expires_at=NOW)
        )


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(name))
            ).scalar_one()
            for name in ("organizations", "domains", "flows")
        }


def test_0002_keeps_existing_rows_both_ways(empty_engine: Engine) -> None:
    """0002 must not recreate `organizations` on SQLite: with foreign keys on, dropping the
    old table would cascade into domains and connections."""
    migrate_to(empty_engine, "0001")
    seed_0001_rows(empty_engine)
    expected = {"organizations": 3, "domains": 1, "flows": 1}
    migrate_to(empty_engine, "0002")
    assert row_counts(empty_engine) == expected
    with empty_engine.connect() as connection:
        binding = connection.execute(sa.text("SELECT browser_binding FROM flows")).scalar_one()
    assert binding is None
    migrate_to(empty_engine, "0001", down=True)
    assert row_counts(empty_engine) == expected


def test_0002_fails_whole_on_duplicate_external_ids(empty_engine: Engine) -> None:
    migrate_to(empty_engine, "0001")
    seed_0001_rows(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(sa.text("UPDATE organizations SET external_id = 'ext-a'"))
    with pytest.raises(sa.exc.IntegrityError):
        migrate_to(empty_engine, "0002")
    assert "replay_cache" not in table_names(empty_engine)  # transactional: nothing half-done


def test_0003_lets_several_organizations_claim_a_name_but_one_verify_it(
    empty_engine: Engine,
) -> None:
    migrate_to(empty_engine, "0002")
    seed_0001_rows(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(sa.text("UPDATE domains SET verified_at = :at"), {"at": NOW})
    migrate_to(empty_engine, "0003")
    domains = metadata.tables["domains"]
    with empty_engine.begin() as connection:
        [kept] = connection.execute(sa.select(domains)).mappings()
        assert (kept["organization_id"], kept["name"]) == ("org_a", "a.test")
        assert kept["created_at"] == kept["verified_at"]
        assert kept["verification_token"] is None
        connection.execute(domains.insert().values(organization_id="org_b", name="a.test"))
    with pytest.raises(sa.exc.IntegrityError), empty_engine.begin() as connection:
        connection.execute(
            domains.update().where(domains.c.organization_id == "org_b").values(verified_at=NOW)
        )
    migrate_to(empty_engine, "0002", down=True)
    with empty_engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT organization_id, name FROM domains")).all()
    assert [tuple(row) for row in rows] == [("org_a", "a.test")]  # the unverified twin goes

"""Whether a database can serve this code (broker/store/sql/schema.py, engine.py): each way
it cannot is one line naming the database, with its password masked, and saying what to do.
Real databases at real revisions, built by the real migrations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from broker.store import DatabaseUnreachable, SchemaNotCurrent
from broker.store.sql import SqlStore, engine as engine_module, make_engine
from broker.store.sql.schema import require_head, revisions
from tests.conftest import BACKENDS
from tests.support.databases import Database
from tests.support.schema_revisions import (
    UNKNOWN_REVISION,
    blank_database,
    migrate_to,
    one_behind_head,
    stamp,
)
from tests.support.unreachable import (
    PASSWORD,
    masked,
    postgres_url,
    refusing_port,
    silent_port,
)


@pytest.fixture(params=BACKENDS)
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with blank_database(request.param, tmp_path, request) as database:
        yield database


def where(database: Database) -> str:
    """How the messages name a test database: as configured, the password masked (the
    engine's URL has no search_path option: a test engine sets that on its own)."""
    return make_url(database.url).set(query={}).render_as_string(hide_password=True)


def refusal(database: Database) -> str:
    with pytest.raises(SchemaNotCurrent) as refused:
        SqlStore(database.engine).check()
    return str(refused.value)


def test_the_head_is_the_newest_migration() -> None:
    head = revisions().head
    assert head in revisions().known
    assert one_behind_head() in revisions().known
    assert head == max(revisions().known)


def test_a_database_at_the_head_passes(blank: Database) -> None:
    migrate_to(blank.engine, "head")
    SqlStore(blank.engine).check()


def test_an_empty_database_has_no_schema(blank: Database) -> None:
    assert refusal(blank) == (
        f"the database at {where(blank)} has no Gatehouse schema: run gatehouse migrate"
    )


def test_a_database_a_revision_behind_is_told_to_migrate(blank: Database) -> None:
    behind = one_behind_head()
    migrate_to(blank.engine, behind)
    assert refusal(blank) == (
        f"the database at {where(blank)} is at revision {behind}, head is "
        f"{revisions().head}: run gatehouse migrate"
    )
    migrate_to(blank.engine, "head")
    SqlStore(blank.engine).check()


def test_a_database_a_newer_gatehouse_migrated_is_refused(blank: Database) -> None:
    migrate_to(blank.engine, "head")
    stamp(blank.engine, UNKNOWN_REVISION)
    assert refusal(blank) == (
        f"the database at {where(blank)} is at revision {UNKNOWN_REVISION}, unknown to this "
        f"version of Gatehouse (head is {revisions().head}): run the version that migrated it"
    )


def test_sqlite_is_named_as_configured(tmp_path: Path) -> None:
    """Not by the internal driver name the engine registers."""
    path = tmp_path / "gatehouse.sqlite3"
    with pytest.raises(SchemaNotCurrent) as refused:
        require_head(make_engine(f"sqlite:///{path}"))
    assert str(refused.value).startswith(f"the database at sqlite:///{path} has no")


def test_a_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    path = tmp_path / "no-such-directory" / "gatehouse.sqlite3"
    with pytest.raises(DatabaseUnreachable) as refused:
        require_head(make_engine(f"sqlite:///{path}"))
    assert str(refused.value) == (
        f"cannot connect to the database at sqlite:///{path}: unable to open database file"
    )


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "gatehouse.sqlite3"
    path.write_text("GATEHOUSE_DATABASE_URL pointed at the wrong file\n" * 100)
    with pytest.raises(DatabaseUnreachable) as refused:
        require_head(make_engine(f"sqlite:///{path}"))
    assert str(refused.value) == (
        f"cannot connect to the database at sqlite:///{path}: file is not a database"
    )


@pytest.mark.postgres
def test_a_read_that_waits_on_a_lock_gives_up(postgres_database: Database) -> None:
    """A migration holding the version table (or an overloaded server): the check says so
    after its statement timeout instead of holding a probe's thread."""
    holder = make_engine(postgres_database.url, schema=postgres_database.schema)
    try:
        with holder.begin() as connection:
            connection.exec_driver_sql("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(DatabaseUnreachable) as refused:
                SqlStore(postgres_database.engine).check()
            assert time.monotonic() - started < 10
    finally:
        holder.dispose()
    assert str(refused.value) == (
        f"cannot read the database at {where(postgres_database)}: canceling statement due to "
        "statement timeout"
    )


def test_a_refused_connection_is_named_with_the_password_masked() -> None:
    with refusing_port() as port, pytest.raises(DatabaseUnreachable) as refused:
        require_head(make_engine(postgres_url(port)))
    assert str(refused.value) == (
        f"cannot connect to the database at {masked(port)}: connection to server at "
        f'"127.0.0.1", port {port} failed: Connection refused'
    )
    assert PASSWORD not in str(refused.value)


def test_a_silent_server_times_out_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a connect timeout, libpq waits for the kernel's (about two minutes). The
    default is lowered here so the test is quick; that it applies is what is tested."""
    monkeypatch.setattr(engine_module, "_PG_CONNECT_TIMEOUT_S", 2)
    started = time.monotonic()
    with silent_port() as port, pytest.raises(DatabaseUnreachable) as refused:
        require_head(make_engine(postgres_url(port)))
    assert time.monotonic() - started < 10
    assert str(refused.value) == (
        f"cannot connect to the database at {masked(port)}: connection timeout expired"
    )


def test_the_url_may_set_its_own_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "_PG_CONNECT_TIMEOUT_S", 600)
    started = time.monotonic()
    with silent_port() as port, pytest.raises(DatabaseUnreachable) as refused:
        require_head(make_engine(postgres_url(port, query="?connect_timeout=2")))
    assert time.monotonic() - started < 10
    assert str(refused.value).endswith(": connection timeout expired")


@pytest.mark.postgres
def test_an_unknown_postgresql_database_is_named(postgres_url: str) -> None:
    url = make_url(postgres_url).set(database="gatehouse_no_such_database", password=PASSWORD)
    with pytest.raises(DatabaseUnreachable) as refused:
        require_head(make_engine(url.render_as_string(hide_password=False)))
    message = str(refused.value)
    assert message.startswith(
        f"cannot connect to the database at {url.render_as_string(hide_password=True)}: "
    )
    assert message.endswith('FATAL: database "gatehouse_no_such_database" does not exist')
    assert PASSWORD not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a database URL"),
        (f"postgresql+psycopg://gatehouse:{PASSWORD}@db:port/gatehouse", "not a database URL"),
        (f"http://gatehouse:{PASSWORD}@db/gatehouse", "unsupported database backend 'http'"),
        (f"mysql://gatehouse:{PASSWORD}@db/gatehouse", "unsupported database backend 'mysql'"),
    ],
)
def test_a_url_that_cannot_work_says_what_is_expected(url: str, expected: str) -> None:
    with pytest.raises(ValueError, match="; expected sqlite:///") as refused:
        make_engine(url)
    assert str(refused.value) == (
        f"{expected}; expected sqlite:///<file> or "
        "postgresql+psycopg://<user>:<password>@<host>:<port>/<database>"
    )

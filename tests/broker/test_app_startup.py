"""Start-up refusals (broker/app.py): the app is not built over a database that cannot
serve it, and the ASGI factory ends the process with one line rather than a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.app import build_broker, create_app, create_app_from_env
from broker.errors import ConfigError
from broker.settings import DatabaseSettings, ManagementSettings
from broker.store import SchemaNotCurrent
from broker.store.sql import SqlStore, make_engine
from broker.store.sql.schema import revisions
from tests.support.config import make_settings
from tests.support.schema_revisions import migrate_to, one_behind_head


def test_the_app_is_not_built_over_a_schema_behind_the_head(tmp_path: Path) -> None:
    """Refused before anything writes: no signing key is made in the old schema."""
    path = tmp_path / "gatehouse.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate_to(engine, one_behind_head())
    store = SqlStore(engine)
    with pytest.raises(SchemaNotCurrent) as refused:
        create_app(make_settings(tmp_path), store=store)
    assert str(refused.value) == (
        f"the database at sqlite:///{path} is at revision {one_behind_head()}, head is "
        f"{revisions().head}: run gatehouse migrate"
    )
    with store.unit_of_work() as uow:
        assert uow.keys.list() == []
    engine.dispose()


def factory_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> None:
    for name, value in {"GATEHOUSE_VAR_DIR": str(tmp_path), **env}.items():
        monkeypatch.setenv(name, value)


def test_the_factory_names_an_unmigrated_database_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    factory_environment(monkeypatch, tmp_path, GATEHOUSE_DATABASE_URL=f"sqlite:///{path}")
    with pytest.raises(SystemExit) as exited:
        create_app_from_env()
    assert exited.value.code == 1
    assert capsys.readouterr().err == (
        f"Error: the database at sqlite:///{path} has no Gatehouse schema: run gatehouse migrate\n"
    )


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "GATEHOUSE_UPSTREAM_DEADLINE_SECONDS",
            "abc",
            "GATEHOUSE_UPSTREAM_DEADLINE_SECONDS: must be a number from 1 to 30",
        ),
        (
            "GATEHOUSE_DATABASE_URL",
            "postgres//gatehouse@db",
            "GATEHOUSE_DATABASE_URL: not a database URL; expected sqlite:///<file> or "
            "postgresql+psycopg://<user>:<password>@<host>:<port>/<database>",
        ),
    ],
)
def test_the_factory_names_a_setting_that_cannot_work_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    line: str,
) -> None:
    factory_environment(monkeypatch, tmp_path, **{variable: value})
    with pytest.raises(SystemExit) as exited:
        create_app_from_env()
    assert exited.value.code == 1
    assert capsys.readouterr().err == f"Error: configuration: {line}\n"


def test_a_resolver_address_that_cannot_work_is_refused_at_start_up(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'gatehouse.sqlite3'}"),
        management=ManagementSettings(dns_resolver="10.0.0.53:domain"),
    )
    with pytest.raises(ConfigError) as refused:
        build_broker(settings)
    assert str(refused.value) == (
        "GATEHOUSE_DNS_RESOLVER: not a resolver address: '10.0.0.53:domain' (host or host:port)"
    )

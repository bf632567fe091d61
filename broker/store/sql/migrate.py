"""Run the Alembic migrations on a given engine, from any working directory.

Tests and `gatehouse migrate` call these instead of shelling out to `alembic`, so the schema
they build is the one the migrations build (never `metadata.create_all`), and the test
suite exercises the migrations on every run.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from broker.store.sql.engine import make_engine

_REPO_ROOT = Path(__file__).resolve().parents[3]


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(_REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_REPO_ROOT / "alembic"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_to_head(engine: Engine) -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def downgrade_to_base(engine: Engine) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")


@contextmanager
def throwaway_schema(url: str, *, prefix: str, migrated: bool) -> Iterator[str]:
    """A new PostgreSQL schema `<prefix>_<hex>` (migrated to head when `migrated`), dropped
    with everything in it on exit: how the tests and the benchmarks share one server
    without touching each other's rows (`make_engine(url, schema=...)` opens it)."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = make_engine(url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        try:
            if migrated:
                engine = make_engine(url, schema=name)
                try:
                    upgrade_to_head(engine)
                finally:
                    engine.dispose()
            yield name
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        admin.dispose()

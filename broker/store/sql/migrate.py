"""Run the Alembic migrations on a given engine, from any working directory.

Tests and `gatehouse migrate` call these instead of shelling out to `alembic`, so the schema
they build is the one the migrations build (never `metadata.create_all`), and the test
suite exercises the migrations on every run.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

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

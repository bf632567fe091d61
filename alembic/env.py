"""Alembic environment: the schema is `broker.store.sql.tables.metadata`, nothing else.

The connection comes from `config.attributes["connection"]` when a caller hands one in
(`broker.store.sql.migrate`, the Alembic cookbook's "sharing a connection" recipe), so tests
and `gatehouse migrate` migrate exactly the engine they hold. Run from the alembic CLI, the
URL comes from the environment through `Settings.from_env()`, like the server's.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from broker.store.sql.tables import metadata

config = context.config


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        # True on SQLite too, because make_engine issues the BEGIN itself: a failed
        # migration then leaves no half-built schema behind on either backend.
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    shared = config.attributes.get("connection")
    if shared is not None:
        run_with(shared)
        return
    from broker.settings import Settings
    from broker.store.sql.engine import make_engine

    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = make_engine(Settings.from_env().database.url)
    try:
        with engine.connect() as connection:
            run_with(connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    from broker.settings import Settings

    context.configure(
        url=Settings.from_env().database.url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

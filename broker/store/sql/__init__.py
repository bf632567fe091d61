"""The SQL store: `make_engine(url)` for SQLite or PostgreSQL, then `SqlStore(engine)`.
Schema changes go through Alembic (`broker.store.sql.migrate`)."""

from broker.store.sql.engine import make_engine
from broker.store.sql.repos import SqlStore

__all__ = ["SqlStore", "make_engine"]

"""Persistence: the only package that knows about SQL.

Repositories are narrow protocols (`protocols.py`) implemented once, by `SqlStore`, over
SQLite (development, tests) and PostgreSQL (production). There is no in-memory store: SQLite
is fast enough for every test, and one implementation means one set of semantics.
"""

from broker.store.protocols import (
    AlreadyExists,
    Conflict,
    DatabaseUnreachable,
    NotFound,
    SchemaNotCurrent,
    Store,
    StoreError,
    StoreUnavailable,
    UnitOfWork,
)
from broker.store.protocols_oauth import CodeReplayed

__all__ = [
    "AlreadyExists",
    "CodeReplayed",
    "Conflict",
    "DatabaseUnreachable",
    "NotFound",
    "SchemaNotCurrent",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UnitOfWork",
]

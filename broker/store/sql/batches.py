"""Batched deletes, safe when every broker instance purges the same table at once.

One batch is one statement:

    WITH chosen AS MATERIALIZED (
        SELECT <pk> FROM t WHERE <expired> LIMIT :p_limit FOR UPDATE SKIP LOCKED)
    DELETE FROM t WHERE <pk> IN (SELECT <pk> FROM chosen)

MATERIALIZED, not a plain `IN (SELECT .. LIMIT ..)`: PostgreSQL may plan the subquery on
the inner side of a nested loop and run it again for each outer row, and each run locks
and returns rows the earlier runs of this very statement have not yet deleted, so one
"batch" could delete far more than its limit (seen once in the test suite; reproduced with
hash joins, hash aggregation, sorts and materialization disabled). A CTE runs once;
rescanning it reads what it stored. PostgreSQL never inlines a CTE that locks rows, so
MATERIALIZED only says explicitly what the CTE's FOR UPDATE already implies.

SQLite gets the plain form, `DELETE FROM t WHERE <pk> IN (SELECT <pk> ... LIMIT n)`: it
evaluates a subquery that refers to nothing outside it once, it has no row locks to take,
and Python's sqlite3 reports no row count for a statement that starts with WITH.

On PostgreSQL the subselect locks the rows it picks and skips rows another purger has
locked, so concurrent purgers take disjoint batches: none waits on another (no lock queue,
no deadlock between two purgers deleting overlapping sets in different orders), and each
row is deleted, and counted, by exactly one of them. A row another transaction deleted
and committed after this statement's snapshot is re-checked when locked and dropped, so
it is not counted twice either. SQLite has no row locks and renders no FOR UPDATE: it runs
one writer at a time (BEGIN IMMEDIATE, see `engine`), so batches simply queue.

The batch size is a parameter (`p_limit`), so the caller decides how long one transaction
holds its locks; the caller commits between batches and stops at a short batch. A
composite primary key is matched as a row value, `(a, b) IN (SELECT a, b ...)`, which both
backends support.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Delete, Integer, bindparam, delete, select, tuple_

from broker.store.sql.statements import PerDialect

#: The parameter every batched delete takes: at most this many rows per statement.
LIMIT = "p_limit"


def batched_delete(table: sa.Table, *expired: ColumnElement[bool]) -> PerDialect[Delete]:
    """A DELETE of at most `:p_limit` rows of `table` matching every condition of
    `expired`, skipping rows locked by a concurrent purger (PostgreSQL)."""
    key = list(table.primary_key.columns)
    chosen = select(*key).where(*expired).limit(bindparam(LIMIT, type_=Integer()))
    target: ColumnElement[Any] = key[0] if len(key) == 1 else tuple_(*key)
    locked = (
        chosen.with_for_update(skip_locked=True, of=table)
        .cte(f"chosen_{table.name}")
        .prefix_with("MATERIALIZED")
    )
    return PerDialect(
        sqlite=delete(table).where(target.in_(chosen)),
        postgresql=delete(table).where(target.in_(select(*(locked.c[c.name] for c in key)))),
    )


def checked_limit(limit: int) -> int:
    """A batch of nothing would make the caller's loop stop at once, having purged nothing."""
    if limit < 1:
        raise ValueError("a purge batch must allow at least 1 row")
    return limit

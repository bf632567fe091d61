"""Bounded state (docs/architecture.md, "Rules every component follows"): whatever traffic
left behind, once it is dead the purge brings the database back to where it was. A thousand
dead rows of every kind the purge knows (flows, codes, tokens, SAML replay entries,
idempotency keys, rate-limit windows, portal sessions and links, test results, audit
events), a purge: the row counts are the baseline's again, and the space is the baseline's,
or reused.

How the space is measured is each backend's own (no timings anywhere):

- SQLite: pages in use (`page_count - freelist_count`) are back to the baseline, and a
  second flood reuses the freed pages instead of growing the file.
- PostgreSQL keeps deleted rows' space until VACUUM marks it free (autovacuum, in
  production). The test runs VACUUM itself, once no other transaction on the server can
  still see the deleted rows (other test sessions share it), and checks that a further
  flood and purge does not grow any table: the space is reused. The first rounds may grow
  the indexes a little: a B-tree page emptied by one VACUUM is recycled by the next.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from broker.clock import FixedClock
from broker.store.purge import PurgeCounts, Purger
from broker.store.sql import SqlStore
from tests.support.databases import Database
from tests.support.expiring import IDLE, NOW, RETENTION, add_dead_rows, add_tenant, row_counts

FLOOD = 1000
TABLES = list(PurgeCounts().as_dict())
PAGE = 8192
#: Waiting for other sessions' transactions to end is a precondition, not a measurement:
#: past this, the test fails rather than measure space VACUUM could not yet free.
SETTLE_TIMEOUT_S = 120


def flood_and_purge(store: SqlStore, round_: int) -> PurgeCounts:
    add_dead_rows(store, FLOOD, prefix=f"flood{round_}")
    return Purger(store=store, clock=FixedClock(NOW), retention=RETENTION, portal_idle=IDLE).purge()


def test_sqlite_returns_to_its_baseline_after_a_flood(sqlite_database: Database) -> None:
    store = SqlStore(sqlite_database.engine)
    add_tenant(store)
    rows, used = row_counts(store), sqlite_pages(store.engine)[1]
    sizes = []
    for round_ in range(2):
        assert flood_and_purge(store, round_).total == FLOOD * len(TABLES)
        assert row_counts(store) == rows
        total, in_use = sqlite_pages(store.engine)
        assert in_use == used
        sizes.append(total)
    assert sizes[1] == sizes[0], "the second flood grew the file instead of reusing pages"


def sqlite_pages(engine: Engine) -> tuple[int, int]:
    """(pages in the file, pages in use)."""
    with engine.connect() as connection:
        total = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        free = connection.exec_driver_sql("PRAGMA freelist_count").scalar_one()
    return total, total - free


@pytest.mark.postgres
def test_postgres_reuses_its_space_after_floods(postgres_database: Database) -> None:
    store = SqlStore(postgres_database.engine)
    add_tenant(store)
    rows = row_counts(store)
    sizes = []
    for round_ in range(3):
        assert flood_and_purge(store, round_).total == FLOOD * len(TABLES)
        assert row_counts(store) == rows
        vacuum_when_settled(store.engine)
        sizes.append(relation_sizes(store.engine))
    grown = {t: sizes[2][t] - sizes[1][t] for t in TABLES if sizes[2][t] > sizes[1][t] + PAGE}
    assert grown == {}, f"bytes a third flood added (pages not reused): {grown}"


def relation_sizes(engine: Engine) -> dict[str, int]:
    """Each table's bytes, its indexes and TOAST included."""
    with engine.connect() as connection:
        return {
            table: connection.execute(
                sa.text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table}
            ).scalar_one()
            for table in TABLES
        }


def vacuum_when_settled(engine: Engine) -> None:
    """VACUUM every purged table, as autovacuum would, once no other session's snapshot or
    transaction predates the purge (until then, VACUUM must keep the deleted rows)."""
    with engine.connect() as connection:
        mark = connection.exec_driver_sql("SELECT pg_current_xact_id()::text").scalar_one()
        connection.commit()
    older = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND (age(backend_xmin) >= age(xid(CAST(:mark AS xid8)))"
        " OR age(backend_xid) >= age(xid(CAST(:mark AS xid8))))"
    )
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    with engine.connect() as connection:
        while connection.execute(older, {"mark": mark}).scalar_one():
            connection.commit()
            assert time.monotonic() < deadline, "another session held an old snapshot"
            time.sleep(0.05)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TABLES:
            connection.exec_driver_sql(f"VACUUM {table}")

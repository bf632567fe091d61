"""Every broker instance purges, so purges run at once on one database: several purgers,
each in its own thread with its own engine (its own connections), started together on the
same large set of dead rows. None fails, none deadlocks, and each row is deleted by exactly
one of them: the counts they report add up, per table, to the rows there were.

PostgreSQL is the case that matters (row locks, SKIP LOCKED); SQLite runs too, where the
purgers' batches queue on the database's one write lock.
"""

from __future__ import annotations

import threading
from dataclasses import fields

import sqlalchemy as sa

from broker.clock import FixedClock
from broker.store.purge import PurgeCounts, Purger
from broker.store.sql import SqlStore, make_engine
from tests.support.databases import Database
from tests.support.expiring import (
    IDLE,
    NOW,
    RETENTION,
    add_dead_rows,
    add_tenant,
    flow,
    row_counts,
)

PURGERS = 4
ROWS = 1000
#: Small batches, so the purgers' batches interleave hundreds of times.
BATCH = 25
#: Generous: a deadlock PostgreSQL did not break would still end the test, as a failure.
JOIN_TIMEOUT_S = 300


def test_parallel_purgers_delete_every_row_exactly_once(database: Database) -> None:
    store = SqlStore(database.engine)
    add_tenant(store)
    baseline = row_counts(store)
    add_dead_rows(store, ROWS)
    start = threading.Barrier(PURGERS)
    reports: list[PurgeCounts] = []
    errors: list[BaseException] = []

    def run() -> None:
        engine = make_engine(database.url, schema=database.schema)
        purger = Purger(
            store=SqlStore(engine),
            clock=FixedClock(NOW),
            retention=RETENTION,
            portal_idle=IDLE,
            batch_size=BATCH,
        )
        try:
            start.wait()
            reports.append(purger.purge())
        except BaseException as exc:  # reported below, with the others' outcomes
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(PURGERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a purger never finished"
    assert errors == []
    assert len(reports) == PURGERS
    for table in (f.name for f in fields(PurgeCounts)):
        assert sum(getattr(report, table) for report in reports) == ROWS, table
    assert row_counts(store) == baseline


def test_a_purger_skips_rows_another_holds_instead_of_waiting(
    postgres_database: Database,
) -> None:
    """SKIP LOCKED: rows another purger's batch holds are left to it. The purger's session
    may not wait for a lock at all (lock_timeout), so waiting would be an error here, not
    a slow pass."""
    store = SqlStore(postgres_database.engine)
    with store.unit_of_work() as uow:
        for n in range(10):
            uow.flows.create(flow(f"f{n}", expires_at=NOW))
    impatient = sa.create_engine(
        postgres_database.url,
        connect_args={"options": f"-csearch_path={postgres_database.schema} -clock_timeout=1ms"},
    )
    purger = Purger(
        store=SqlStore(impatient),
        clock=FixedClock(NOW),
        retention=RETENTION,
        portal_idle=IDLE,
        batch_size=3,
    )
    held = [f"f{n}" for n in range(4)]
    try:
        with postgres_database.engine.connect() as other:
            other.execute(
                sa.text("SELECT id FROM flows WHERE id = ANY(:ids) FOR UPDATE"), {"ids": held}
            )
            assert purger.purge() == PurgeCounts(flows=6)
            other.commit()
        assert purger.purge() == PurgeCounts(flows=4)
    finally:
        impatient.dispose()

"""The database pool's use, for the metrics (`broker.metrics.exposition`).

Read at scrape time in a single process (`pool_use`). A worker among several publishes it
instead on every checkout and checkin (`watch_pool`), since a scrape is served by one
process and cannot read the others' pools.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from broker.metrics.exposition import PoolUse


def pool_use(engine: Engine) -> PoolUse | None:
    """The engine's pool now; None for a pool without a size (SQLAlchemy's NullPool...)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return None
    return PoolUse(
        checked_out=pool.checkedout(), size=pool.size(), overflow=max(pool.overflow(), 0)
    )


def watch_pool(engine: Engine, publish: Callable[[PoolUse | None], None]) -> None:
    """Call `publish` with the pool's use after every checkout and checkin. Listened on the
    engine, so a pool the engine recreates (`dispose`) is watched too."""

    def checked_out(*_: Any) -> None:
        publish(pool_use(engine))

    def checking_in(*_: Any) -> None:
        # SQLAlchemy tells before it takes the connection back: it still counts as checked
        # out, and is closed rather than kept when the pool already holds `size` idle ones
        # (an overflow connection). Published as it will be once taken back.
        pool = engine.pool
        if not isinstance(pool, QueuePool):
            return
        discarded = 1 if pool.checkedin() >= pool.size() else 0
        publish(
            PoolUse(
                checked_out=max(pool.checkedout() - 1, 0),
                size=pool.size(),
                overflow=max(pool.overflow() - discarded, 0),
            )
        )

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checking_in)

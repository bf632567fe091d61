"""The connectors' replay guard, backed by the database so it holds across processes."""

from __future__ import annotations

from datetime import datetime

from broker.clock import Clock
from broker.store import Store


class StoreReplayGuard:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def first_use(self, scope: str, message_id: str, *, expires_at: datetime) -> bool:
        with self._store.unit_of_work() as uow:
            first = uow.replays.remember(
                scope, message_id, expires_at=expires_at, now=self._clock.now()
            )
        return first

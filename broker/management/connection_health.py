"""Whether Gatehouse can reach a connection's IdP, as the audit log tells it.

Each process's circuit breakers (`broker.upstream.bulkhead`) report their transitions here:
`connection.unreachable` when a connection's circuit opens (its sign-ins are refused at once
for a while), `connection.reachable` when a trial request succeeds again. The events reach
the app team through the events API and the IT admin through the portal's overview, which
asks `unreachable()` which of the two came last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from broker.clock import Clock
from broker.model.records import AuditEvent
from broker.store import NotFound, Store
from broker.store.protocols import EventQuery

UNREACHABLE = "connection.unreachable"
REACHABLE = "connection.reachable"
#: Who the events name as their actor: nobody changed anything; Gatehouse noticed.
ACTOR = "gatehouse"
#: Bulkhead keys that are not connections (an organization's setup fetches).
_NOT_A_CONNECTION = "setup:"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unreachable:
    since: datetime
    problem: str
    failures: int


class ConnectionHealth:
    """A `BreakerListener` that writes audit events, and the portal's reader of them."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def opened(self, key: str, *, failures: int, problem: str, retry_in_seconds: float) -> None:
        self._record(
            key,
            UNREACHABLE,
            reason="circuit_open",
            detail={
                "failures": failures,
                "problem": problem[:300],
                "retry_in_seconds": round(retry_in_seconds),
            },
        )

    def closed(self, key: str) -> None:
        self._record(key, REACHABLE, reason=None, detail={})

    def unreachable(self, organization_id: str, connection_id: str) -> Unreachable | None:
        """The latest `connection.unreachable`, unless a `connection.reachable` came after."""
        with self._store.unit_of_work() as uow:
            latest = {
                kind: next(iter(uow.audit.page(_one(organization_id, connection_id, kind))), None)
                for kind in (UNREACHABLE, REACHABLE)
            }
        down, up = latest[UNREACHABLE], latest[REACHABLE]
        if down is None or (up is not None and (up.at, up.id) > (down.at, down.id)):
            return None
        failures = down.detail.get("failures")
        return Unreachable(
            since=down.at,
            problem=str(down.detail.get("problem", "")),
            failures=failures if isinstance(failures, int) else 0,
        )

    def _record(
        self, key: str, kind: str, *, reason: str | None, detail: dict[str, object]
    ) -> None:
        if key.startswith(_NOT_A_CONNECTION):
            return
        with self._store.unit_of_work() as uow:
            try:
                connection = uow.connections.get(key)
            except NotFound:
                return  # deleted meanwhile: nobody to tell
            uow.audit.record(
                AuditEvent(
                    at=self._clock.now(),
                    kind=kind,
                    actor=ACTOR,
                    reason=reason,
                    organization_id=connection.organization_id,
                    connection_id=connection.id,
                    detail=detail,
                )
            )


def _one(organization_id: str, connection_id: str, kind: str) -> EventQuery:
    return EventQuery(
        limit=1, organization_id=organization_id, connection_id=connection_id, kind=kind
    )

"""What an unauthenticated request can make the audit log store is small and inert, on
every backend: an event built from a 30 KB connection id (a path segment of a SAML ACS URL)
and a 30 KB refusal detail with CR, LF, NUL and a lone surrogate is stored capped, with the
control characters as text, and reads back as it was stored."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from broker.model.audit_bounds import MAX_ID, MAX_TEXT
from broker.model.records import AuditEvent
from broker.store.sql import SqlStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HUGE = 30_000


def test_a_hostile_event_is_stored_capped_and_escaped(store: SqlStore) -> None:
    event = AuditEvent(
        id="evt_hostile",
        at=NOW,
        kind="login.failed",
        reason="unknown_connection",
        connection_id="x" * HUGE + "\r\nFAKE login.succeeded",
        request_id="\x00" * HUGE,
        detail={"detail": ("no such connection\r\n\x00\ud800" * 2000)[:HUGE], "y" * HUGE: "z"},
    )
    with store.unit_of_work() as uow:
        uow.audit.record(event)
    with store.engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT connection_id, request_id, length(CAST(detail AS TEXT)) AS detail_length"
                " FROM audit_events WHERE id = 'evt_hostile'"
            )
        ).one()
    assert len(row.connection_id) <= MAX_ID
    assert row.connection_id.startswith("xxxx")
    assert row.request_id.startswith("\\x00\\x00")
    assert len(row.request_id) <= MAX_ID
    assert row.detail_length < 2_000
    with store.unit_of_work() as uow:
        [stored] = uow.audit.list(limit=1)
    assert stored == event
    detail = stored.detail["detail"]
    assert detail.startswith("no such connection\\x0d\\x0a\\x00\\ud800no such")
    assert len(detail) <= MAX_TEXT
    assert "\r" not in detail
    assert "\n" not in detail

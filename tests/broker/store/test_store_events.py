"""The store's contract for reading the audit log in pages (`AuditRepo.page`), run on every
backend: newest first by (at, id), filters, and pages that neither lose nor repeat an event
when a boundary falls inside one instant or events arrive between reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broker.model.records import AuditEvent
from broker.store import Store
from broker.store.protocols import EventQuery

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def event(
    event_id: str, *, at: datetime = NOW, kind: str = "login.succeeded", org: str | None = "org_a"
) -> AuditEvent:
    return AuditEvent(id=event_id, at=at, kind=kind, organization_id=org)


def record(store: Store, *events: AuditEvent) -> None:
    with store.unit_of_work() as uow:
        for each in events:
            uow.audit.record(each)


def ids(store: Store, **query: object) -> list[str]:
    with store.unit_of_work() as uow:
        return [e.id for e in uow.audit.page(EventQuery(**query))]  # type: ignore[arg-type]


def test_event_actor_round_trip(store: Store) -> None:
    by_client = AuditEvent(
        id="evt_1", at=NOW, kind="connection.created", actor="management_client:mc_1"
    )
    record(store, by_client, event("evt_2"))
    with store.unit_of_work() as uow:
        assert uow.audit.page(EventQuery(limit=10)) == [event("evt_2"), by_client]
        assert uow.audit.list() == [event("evt_2"), by_client]
        assert uow.audit.list()[1].actor == "management_client:mc_1"


def test_pages_newest_first_break_ties_by_id_and_never_repeat(store: Store) -> None:
    record(
        store,
        event("evt_a", at=NOW),
        event("evt_c", at=NOW),
        event("evt_b", at=NOW),
        event("evt_z", at=NOW - SECOND),
        event("evt_0", at=NOW + SECOND),
    )
    with store.unit_of_work() as uow:
        first = uow.audit.page(EventQuery(limit=2))
    assert [e.id for e in first] == ["evt_0", "evt_c"]
    # Newer events arriving meanwhile sort before every page already read.
    record(store, event("evt_new", at=NOW + 2 * SECOND), event("evt_d", at=NOW))
    key = (first[-1].at, first[-1].id)
    with store.unit_of_work() as uow:
        second = uow.audit.page(EventQuery(limit=2, before=key))
        third = uow.audit.page(EventQuery(limit=2, before=(second[-1].at, second[-1].id)))
        assert uow.audit.page(EventQuery(limit=2, before=(third[-1].at, third[-1].id))) == []
    assert [e.id for e in second] == ["evt_b", "evt_a"]
    assert [e.id for e in third] == ["evt_z"]
    assert ids(store, limit=10) == ["evt_new", "evt_0", "evt_d", "evt_c", "evt_b", "evt_a", "evt_z"]


def test_page_filters_by_request_id(store: Store) -> None:
    """The reference a person was shown (`gatehouse events list --reference`)."""
    record(
        store,
        AuditEvent(id="evt_1", at=NOW, kind="login.failed", request_id="req-1"),
        AuditEvent(id="evt_2", at=NOW, kind="login.failed", request_id="req-2"),
        AuditEvent(id="evt_3", at=NOW + SECOND, kind="login.succeeded", request_id="req-1"),
        event("evt_4"),
    )
    assert ids(store, limit=10, request_id="req-1") == ["evt_3", "evt_1"]
    assert ids(store, limit=10, request_id="req-1", kind="login.failed") == ["evt_1"]
    assert ids(store, limit=1, request_id="req-1", before=(NOW + SECOND, "evt_3")) == ["evt_1"]
    assert ids(store, limit=10, request_id="REQ-1") == []


def test_page_filters_by_organization_kind_and_kind_prefix(store: Store) -> None:
    record(
        store,
        event("evt_1", kind="login.succeeded"),
        event("evt_2", kind="login.failed", org="org_b"),
        event("evt_3", kind="domain.verified"),
        event("evt_4", kind="loginx.other"),
        event("evt_5", kind="LOGIN.shouting"),
        event("evt_6", kind="login.failed", org=None),
    )
    assert ids(store, limit=10, organization_id="org_a") == ["evt_5", "evt_4", "evt_3", "evt_1"]
    assert ids(store, limit=10, kind="login.failed") == ["evt_6", "evt_2"]
    assert ids(store, limit=10, kind_prefix="login.") == ["evt_6", "evt_2", "evt_1"]
    assert ids(store, limit=10, kind_prefix="login.", organization_id="org_b") == ["evt_2"]
    assert ids(store, limit=10, kind_prefix="LOGIN.") == ["evt_5"]  # case-sensitive
    assert ids(store, limit=10, kind_prefix="login", kind="loginx.other") == ["evt_4"]
    assert ids(store, limit=10, kind_prefix="") == ids(store, limit=10)
    assert ids(store, limit=10, organization_id="org_x") == []


def test_kind_prefix_is_literal_not_a_pattern(store: Store) -> None:
    record(
        store,
        event("evt_1", kind="a_b.x"),
        event("evt_2", kind="axb.x"),
        event("evt_3", kind="a%b.x"),
        event("evt_4", kind="a\\b.x"),
    )
    assert ids(store, limit=10, kind_prefix="a_b") == ["evt_1"]
    assert ids(store, limit=10, kind_prefix="a%") == ["evt_3"]
    assert ids(store, limit=10, kind_prefix="a\\") == ["evt_4"]
    assert ids(store, limit=10, kind_prefix="é") == []


def test_page_since_is_inclusive_and_until_exclusive(store: Store) -> None:
    record(store, *(event(f"evt_{n}", at=NOW + n * SECOND) for n in range(5)))
    start, end = NOW + SECOND, NOW + 3 * SECOND
    assert ids(store, limit=10, since=start) == ["evt_4", "evt_3", "evt_2", "evt_1"]
    assert ids(store, limit=10, until=end) == ["evt_2", "evt_1", "evt_0"]
    assert ids(store, limit=10, since=start, until=end) == ["evt_2", "evt_1"]
    # Consecutive windows neither overlap nor leave a gap.
    assert ids(store, limit=10, since=end) + ids(store, limit=10, until=end) == ids(store, limit=10)
    assert ids(store, limit=1, since=start, until=end, before=(NOW + 2 * SECOND, "evt_2")) == [
        "evt_1"
    ]


def test_page_combines_every_filter_with_the_key(store: Store) -> None:
    record(
        store,
        *(event(f"evt_a{n}", at=NOW, kind="login.failed") for n in range(4)),
        event("evt_other_kind", at=NOW, kind="domain.verified"),
        event("evt_other_org", at=NOW, kind="login.failed", org="org_b"),
        event("evt_too_old", at=NOW - SECOND, kind="login.failed"),
    )
    query = {
        "organization_id": "org_a",
        "kind_prefix": "login.",
        "since": NOW,
        "until": NOW + SECOND,
    }
    first = ids(store, limit=3, **query)
    assert first == ["evt_a3", "evt_a2", "evt_a1"]
    assert ids(store, limit=3, before=(NOW, first[-1]), **query) == ["evt_a0"]
    assert ids(store, limit=3, kind="login.failed", before=(NOW, "evt_a2"), **query) == [
        "evt_a1",
        "evt_a0",
    ]


def test_page_refuses_a_silly_limit(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(ValueError, match="limit"):
        uow.audit.page(EventQuery(limit=0))

"""The store's contract for the audit log and the replay cache, run on every backend
(single-use under concurrency is in test_store_concurrency.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broker.model.records import AuditEvent, Organization
from broker.store import AlreadyExists, Store

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
TICK = timedelta(microseconds=1)
TTL = timedelta(minutes=5)
SAML = "saml:con_a"


def event(
    event_id: str, *, at: datetime = NOW, kind: str = "login.failed", org: str | None = "org_a"
) -> AuditEvent:
    return AuditEvent(
        id=event_id,
        at=at,
        kind=kind,
        reason="email_outside_verified_domains" if kind == "login.failed" else None,
        organization_id=org,
        connection_id="con_a",
        flow_id="flow-1",
        request_id="req-1",
        detail={"email_domain": "orgb.test", "attempt": 1, "nested": {"a": [1, None]}},
    )


# --- audit ---------------------------------------------------------------------------------


def test_audit_event_round_trip() -> None:
    generated = AuditEvent(at=NOW, kind="login.succeeded")
    assert generated.id.startswith("evt_")
    assert generated.id != AuditEvent(at=NOW, kind="login.succeeded").id
    assert (generated.reason, generated.organization_id, dict(generated.detail)) == (None, None, {})


def test_audit_record_and_list_newest_first(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.audit.record(event("evt_1", at=NOW))
        uow.audit.record(event("evt_3", at=NOW + timedelta(seconds=2), kind="login.succeeded"))
        uow.audit.record(event("evt_2", at=NOW + timedelta(seconds=1), org="org_b"))
        uow.audit.record(AuditEvent(id="evt_0", at=NOW - timedelta(days=1), kind="domain.verified"))
    with store.unit_of_work() as uow:
        assert uow.audit.list() == [
            event("evt_3", at=NOW + timedelta(seconds=2), kind="login.succeeded"),
            event("evt_2", at=NOW + timedelta(seconds=1), org="org_b"),
            event("evt_1", at=NOW),
            AuditEvent(id="evt_0", at=NOW - timedelta(days=1), kind="domain.verified"),
        ]
        assert [e.id for e in uow.audit.list(limit=2)] == ["evt_3", "evt_2"]
        assert [e.id for e in uow.audit.list(organization_id="org_a")] == ["evt_3", "evt_1"]
        assert [e.id for e in uow.audit.list(kind="login.failed")] == ["evt_2", "evt_1"]
        assert [e.id for e in uow.audit.list(organization_id="org_a", kind="login.failed")] == [
            "evt_1"
        ]
        assert uow.audit.list(organization_id="org_x") == []
        assert uow.audit.list()[0].at.tzinfo == UTC


def test_audit_events_of_one_instant_have_a_stable_order(store: Store) -> None:
    with store.unit_of_work() as uow:
        for event_id in ("evt_b", "evt_c", "evt_a"):
            uow.audit.record(event(event_id))
    with store.unit_of_work() as uow:
        assert [e.id for e in uow.audit.list()] == ["evt_c", "evt_b", "evt_a"]


def test_audit_events_outlive_what_they_mention(store: Store) -> None:
    """No foreign keys: an event about an unknown (or deleted) organization is recorded."""
    with store.unit_of_work() as uow:
        uow.audit.record(event("evt_1", org="org_never_existed"))
    with store.unit_of_work() as uow:
        assert [e.organization_id for e in uow.audit.list()] == ["org_never_existed"]


def test_audit_refuses_a_duplicate_id_and_a_silly_limit(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.audit.record(event("evt_1"))
        with pytest.raises(AlreadyExists):
            uow.audit.record(event("evt_1"))
        with pytest.raises(ValueError, match="limit"):
            uow.audit.list(limit=0)
    with store.unit_of_work() as uow:
        assert len(uow.audit.list()) == 1


# --- replay cache --------------------------------------------------------------------------


def test_replay_first_use_then_replay(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW) is True
    with store.unit_of_work() as uow:
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW) is False
        later = NOW + TTL - TICK
        assert uow.replays.remember(SAML, "_id-1", expires_at=later + TTL, now=later) is False


def test_replay_scopes_and_ids_are_independent(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW)
        assert uow.replays.remember("saml:con_b", "_id-1", expires_at=NOW + TTL, now=NOW)
        assert uow.replays.remember(SAML, "_id-2", expires_at=NOW + TTL, now=NOW)
        assert uow.replays.remember(SAML, "_ID-1", expires_at=NOW + TTL, now=NOW)  # exact match
        assert not uow.replays.remember("saml:con_b", "_id-1", expires_at=NOW + TTL, now=NOW)


def test_replay_entry_expires_exactly_at_its_expiry_and_is_replaced(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW)
    expiry = NOW + TTL
    with store.unit_of_work() as uow:
        assert not uow.replays.remember(SAML, "_id-1", expires_at=expiry + TTL, now=expiry - TICK)
        assert uow.replays.remember(SAML, "_id-1", expires_at=expiry + TTL, now=expiry)
    with store.unit_of_work() as uow:
        # The replacement carries the new expiry.
        assert not uow.replays.remember(
            SAML, "_id-1", expires_at=expiry + 2 * TTL, now=expiry + TTL - TICK
        )


def test_replay_entry_born_expired_stops_nothing(store: Store) -> None:
    """Callers check the message's own validity; an already invalid one is refused there."""
    with store.unit_of_work() as uow:
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW, now=NOW)
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW, now=NOW)
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW)
        assert not uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW)


def test_replay_duplicate_does_not_poison_the_unit_of_work(store: Store) -> None:
    """On PostgreSQL a failed INSERT aborts the transaction unless it ran in a savepoint:
    the ACS handler records the replay check and consumes the flow in one unit of work."""
    with store.unit_of_work() as uow:
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW)
        assert not uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW)
        uow.organizations.add(Organization(id="org_a", name="A", created_at=NOW))
        uow.audit.record(event("evt_1", kind="login.failed"))
    with store.unit_of_work() as uow:
        assert [o.id for o in uow.organizations.list()] == ["org_a"]
        assert [e.id for e in uow.audit.list()] == ["evt_1"]
        assert not uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW)


def remember_then_fail(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW)
        raise RuntimeError("the rest of the login failed")


def test_replay_entry_rolls_back_with_its_unit_of_work(store: Store) -> None:
    """A login that fails after the check leaves no entry: the IdP's retry is not a replay
    of an assertion that was never accepted."""
    with pytest.raises(RuntimeError):
        remember_then_fail(store)
    with store.unit_of_work() as uow:
        assert uow.replays.remember(SAML, "_id-1", expires_at=NOW + TTL, now=NOW)


def test_replay_purge_expired(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.replays.remember(SAML, "_old", expires_at=NOW + TICK, now=NOW)
        uow.replays.remember(SAML, "_edge", expires_at=NOW + TTL, now=NOW)
        uow.replays.remember(SAML, "_live", expires_at=NOW + 2 * TTL, now=NOW)
    with store.unit_of_work() as uow:
        assert uow.replays.purge_expired(now=NOW + TTL, limit=100) == 2
        assert uow.replays.purge_expired(now=NOW + TTL, limit=100) == 0
        assert not uow.replays.remember(SAML, "_live", expires_at=NOW + 3 * TTL, now=NOW + TTL)

"""The store's contract for the admin portal (broker/store/protocols_portal.py), run on every
backend: a portal session's life (idle limit, absolute end, revoked link, deleted
organization) and the results of test logins (newest first, `passed` for exactly the
settings tested, one organization's only, gone with their connection)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from broker.model.portal import ConnectionTest, PortalSession
from broker.store import AlreadyExists, NotFound, Store
from tests.broker.store.test_store_tenancy import connection, organization, portal_link

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=4)


def session(id_hash: str = "sh_1", org_id: str = "org_a", link_id: str = "pl_a", **changes):
    value = PortalSession(
        id_hash=id_hash,
        organization_id=org_id,
        link_id=link_id,
        features=("sso", "domain_verification"),
        connection_id=None,
        profile_id=None,
        csrf_token=f"csrf-{id_hash}",
        created_at=NOW,
        last_seen_at=NOW,
        expires_at=NOW + LIFETIME,
    )
    return replace(value, **changes)


def connection_test(
    test_id: str,
    con_id: str = "con_a",
    org_id: str = "org_a",
    *,
    digest: str = "d1",
    passed: bool = True,
    at: datetime = NOW,
) -> ConnectionTest:
    return ConnectionTest(
        id=test_id,
        organization_id=org_id,
        connection_id=con_id,
        config_digest=digest,
        passed=passed,
        reason=None if passed else "wrong_audience",
        report={
            "claims": {"email": "ann@a.test", "groups": ["x"]},
            "diagnosis": [] if passed else [{"expected": "a", "actual": "b"}],
        },
        created_at=at,
    )


def seed_tenants(store: Store) -> None:
    """org_a with con_a, con_keep, a new-connection link pl_a and an edit link pl_edit;
    org_b with con_b and its link pl_b."""
    with store.unit_of_work() as uow:
        for org_id in ("org_a", "org_b"):
            uow.organizations.add(organization(org_id))
        uow.connections.add(connection("con_a"))
        uow.connections.add(connection("con_keep"))
        uow.connections.add(connection("con_b", "org_b"))
        uow.portal_links.add(portal_link("pl_a"))
        uow.portal_links.add(portal_link("pl_edit", connection_id="con_a"))
        uow.portal_links.add(portal_link("pl_b", "org_b"))


def is_live(store: Store, id_hash: str, now: datetime) -> bool:
    with store.unit_of_work() as uow:
        try:
            uow.portal_sessions.get_live(id_hash, now=now, idle=IDLE)
        except NotFound:
            return False
        return True


# --- portal sessions -----------------------------------------------------------------------


def test_portal_session_round_trip(store: Store) -> None:
    seed_tenants(store)
    edit = session("sh_edit", link_id="pl_edit", connection_id="con_a", features=("sso",))
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session())
        uow.portal_sessions.add(edit)
    with store.unit_of_work() as uow:
        assert uow.portal_sessions.get_live("sh_1", now=NOW, idle=IDLE) == session()
        assert uow.portal_sessions.get_live("sh_edit", now=NOW, idle=IDLE) == edit
        with pytest.raises(NotFound):
            uow.portal_sessions.get_live("sh_unknown", now=NOW, idle=IDLE)


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"id_hash": "sh_1"}, AlreadyExists),
        ({"organization_id": "org_x"}, NotFound),
        ({"link_id": "pl_x"}, NotFound),
    ],
    ids=["hash", "organization", "link"],
)
def test_portal_session_add_refusals_leave_the_unit_of_work_usable(
    store: Store, changes: dict[str, str], outcome: type[Exception]
) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session())
    with store.unit_of_work() as uow:
        with pytest.raises(outcome):
            uow.portal_sessions.add(replace(session("sh_2"), **changes))
        uow.portal_sessions.add(session("sh_3"))
    assert is_live(store, "sh_3", NOW)
    assert not is_live(store, "sh_2", NOW)


def test_portal_session_ends_exactly_when_idle_for_the_limit(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session())
    assert is_live(store, "sh_1", NOW + IDLE - TICK)
    assert not is_live(store, "sh_1", NOW + IDLE)
    # Idle is the caller's to choose, counted from the caller's `now`.
    with store.unit_of_work() as uow:
        shorter = uow.portal_sessions.get_live("sh_1", now=NOW + MINUTE - TICK, idle=MINUTE)
        assert shorter == session()
        with pytest.raises(NotFound):
            uow.portal_sessions.get_live("sh_1", now=NOW + MINUTE, idle=MINUTE)


def test_touch_extends_the_idle_limit_and_never_moves_back(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session())
    later = NOW + 20 * MINUTE
    with store.unit_of_work() as uow:
        uow.portal_sessions.touch("sh_1", now=later)
        uow.portal_sessions.touch("sh_1", now=NOW + MINUTE)  # a late request: no effect
        uow.portal_sessions.touch("sh_unknown", now=later)  # silent
    assert is_live(store, "sh_1", later + IDLE - TICK)
    assert not is_live(store, "sh_1", later + IDLE)
    with store.unit_of_work() as uow:
        touched = uow.portal_sessions.get_live("sh_1", now=later, idle=IDLE)
    assert touched == session(last_seen_at=later)


def test_touch_never_extends_the_absolute_end(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session())
    end = NOW + LIFETIME
    at = NOW
    while at < end - TICK:  # active all along: never idle for the limit
        at = min(at + 20 * MINUTE, end - TICK)
        with store.unit_of_work() as uow:
            uow.portal_sessions.touch("sh_1", now=at)
    with store.unit_of_work() as uow:
        assert uow.portal_sessions.get_live("sh_1", now=end - TICK, idle=IDLE).expires_at == end
    assert not is_live(store, "sh_1", end)
    # Touching an ended session does not revive it, nor move its end.
    with store.unit_of_work() as uow:
        uow.portal_sessions.touch("sh_1", now=end)
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.portal_sessions.get_live("sh_1", now=end, idle=IDLE)
        ended = uow.portal_sessions.get_live("sh_1", now=end - TICK, idle=timedelta(days=1))
    assert (ended.last_seen_at, ended.expires_at) == (end - TICK, end)


def test_revoking_the_link_ends_its_sessions_only(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session("sh_1"))
        uow.portal_sessions.add(session("sh_2"))
        uow.portal_sessions.add(session("sh_edit", link_id="pl_edit", connection_id="con_a"))
    with store.unit_of_work() as uow:
        uow.portal_links.revoke("org_a", "pl_a", now=NOW + SECOND)
    assert not is_live(store, "sh_1", NOW + SECOND)
    assert not is_live(store, "sh_2", NOW + SECOND)
    assert is_live(store, "sh_edit", NOW + SECOND)


def test_a_session_of_another_organizations_link_is_never_live(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session("sh_mixed", "org_b", link_id="pl_a"))
    assert not is_live(store, "sh_mixed", NOW)


def test_deleting_the_organization_removes_its_sessions(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session("sh_a"))
        uow.portal_sessions.add(session("sh_b", "org_b", link_id="pl_b"))
    with store.unit_of_work() as uow:
        uow.organizations.delete("org_a")
    assert not is_live(store, "sh_a", NOW)
    assert is_live(store, "sh_b", NOW)
    with store.unit_of_work() as uow:
        # Removed, not merely hidden: the hash is free again.
        uow.portal_sessions.add(session("sh_a", "org_b", link_id="pl_b"))
    assert is_live(store, "sh_a", NOW)


def test_deleting_the_connection_of_an_edit_link_removes_its_sessions(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session("sh_edit", link_id="pl_edit", connection_id="con_a"))
        uow.portal_sessions.add(session("sh_new"))
    with store.unit_of_work() as uow:
        uow.connections.delete("org_a", "con_a")
    assert not is_live(store, "sh_edit", NOW)
    assert is_live(store, "sh_new", NOW)


def test_portal_session_delete_signs_out_and_is_idempotent(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.portal_sessions.add(session("sh_1"))
        uow.portal_sessions.add(session("sh_2"))
    with store.unit_of_work() as uow:
        uow.portal_sessions.delete("sh_1")
        uow.portal_sessions.delete("sh_1")
        uow.portal_sessions.delete("sh_unknown")
    assert not is_live(store, "sh_1", NOW)
    assert is_live(store, "sh_2", NOW)


# --- connection tests ----------------------------------------------------------------------


def test_connection_test_round_trip_within_one_organization(store: Store) -> None:
    seed_tenants(store)
    failed = connection_test("ct_1", passed=False)
    with store.unit_of_work() as uow:
        uow.connection_tests.add(failed)
        with pytest.raises(AlreadyExists):
            uow.connection_tests.add(connection_test("ct_1", digest="d2"))
        # Another organization's connection: the composite foreign key refuses it.
        with pytest.raises(NotFound):
            uow.connection_tests.add(connection_test("ct_2", "con_b"))
        with pytest.raises(NotFound):
            uow.connection_tests.add(connection_test("ct_3", "con_x"))
        uow.connection_tests.add(connection_test("ct_4"))  # still usable
    with store.unit_of_work() as uow:
        assert uow.connection_tests.get("org_a", "ct_1") == failed
        assert uow.connection_tests.get("org_a", "ct_4") == connection_test("ct_4")
        with pytest.raises(NotFound):
            uow.connection_tests.get("org_b", "ct_1")
        for absent in ("ct_2", "ct_3"):
            with pytest.raises(NotFound):
                uow.connection_tests.get("org_a", absent)


def test_latest_tests_newest_first_with_ties_broken_by_id(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        for test_id, at in [
            ("ct_b", NOW),
            ("ct_old", NOW - SECOND),
            ("ct_c", NOW),
            ("ct_new", NOW + SECOND),
            ("ct_a", NOW),
        ]:
            uow.connection_tests.add(connection_test(test_id, at=at))
        uow.connection_tests.add(connection_test("ct_keep", "con_keep", at=NOW + MINUTE))
        uow.connection_tests.add(connection_test("ct_other", "con_b", "org_b", at=NOW + MINUTE))
    with store.unit_of_work() as uow:
        latest = uow.connection_tests.latest("org_a", "con_a", limit=10)
        assert [t.id for t in latest] == ["ct_new", "ct_c", "ct_b", "ct_a", "ct_old"]
        assert latest[0] == connection_test("ct_new", at=NOW + SECOND)
        assert [t.id for t in uow.connection_tests.latest("org_a", "con_a", limit=2)] == [
            "ct_new",
            "ct_c",
        ]
        assert uow.connection_tests.latest("org_b", "con_a", limit=10) == []
        assert [t.id for t in uow.connection_tests.latest("org_b", "con_b", limit=10)] == [
            "ct_other"
        ]
        with pytest.raises(ValueError, match="limit"):
            uow.connection_tests.latest("org_a", "con_a", limit=0)


def test_passed_is_for_exactly_the_settings_tested(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.connection_tests.add(connection_test("ct_1", digest="d1", passed=False))
        uow.connection_tests.add(connection_test("ct_2", digest="d2"))
        uow.connection_tests.add(connection_test("ct_3", "con_keep", digest="d3"))
        uow.connection_tests.add(connection_test("ct_4", "con_b", "org_b", digest="d4"))
    with store.unit_of_work() as uow:
        tests = uow.connection_tests
        assert tests.passed("org_a", "con_a", "d2")
        assert not tests.passed("org_a", "con_a", "d1")  # tested, failed
        assert not tests.passed("org_a", "con_a", "d")  # no prefix match
        assert not tests.passed("org_a", "con_a", "D2")
        assert not tests.passed("org_a", "con_a", "d3")  # another connection's
        assert not tests.passed("org_a", "con_b", "d4")  # another organization's
        assert not tests.passed("org_b", "con_a", "d2")
        assert tests.passed("org_b", "con_b", "d4")
        tests.add(connection_test("ct_5", digest="d1", at=NOW + SECOND))
        assert tests.passed("org_a", "con_a", "d1")


def test_newest_passed_is_the_connections_own_of_any_settings(store: Store) -> None:
    """What a connection's `last_passed_at` reads: newest first in `latest`'s order, a
    failure after it changes nothing, and none for a connection no test passed."""
    seed_tenants(store)
    with store.unit_of_work() as uow:
        tests = uow.connection_tests
        assert tests.newest_passed("org_a", "con_a") is None
        tests.add(connection_test("ct_1", digest="d1", passed=False))
        assert tests.newest_passed("org_a", "con_a") is None  # tested, never passed
        tests.add(connection_test("ct_3", digest="d1", at=NOW + SECOND))
        tests.add(connection_test("ct_2", digest="d2", at=NOW + SECOND))  # same instant
        tests.add(connection_test("ct_4", digest="d3", passed=False, at=NOW + 2 * SECOND))
        tests.add(connection_test("ct_5", "con_b", "org_b", at=NOW + 3 * SECOND))
        newest = tests.newest_passed("org_a", "con_a")
        assert newest == connection_test("ct_3", digest="d1", at=NOW + SECOND)
        assert [t.id for t in tests.latest("org_a", "con_a", limit=1)] == ["ct_4"]
        assert tests.newest_passed("org_a", "con_keep") is None
        assert tests.newest_passed("org_b", "con_a") is None  # another organization's
        assert tests.newest_passed("org_b", "con_b") == connection_test(
            "ct_5", "con_b", "org_b", at=NOW + 3 * SECOND
        )


def test_deleting_a_connection_removes_its_tests(store: Store) -> None:
    """A connection deleted and created again under the same id (the management API takes
    ids from its callers) must not inherit a passed test of the old one."""
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.connection_tests.add(connection_test("ct_1"))
        uow.connection_tests.add(connection_test("ct_keep", "con_keep"))
    with store.unit_of_work() as uow:
        uow.connections.delete("org_a", "con_a")
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.connection_tests.get("org_a", "ct_1")
        assert uow.connection_tests.latest("org_a", "con_a", limit=5) == []
        assert uow.connection_tests.get("org_a", "ct_keep") == connection_test(
            "ct_keep", "con_keep"
        )
        uow.connections.add(connection("con_a"))
        assert not uow.connection_tests.passed("org_a", "con_a", "d1")
        uow.connection_tests.add(connection_test("ct_1"))  # the id is free again


def test_deleting_the_organization_removes_its_tests(store: Store) -> None:
    seed_tenants(store)
    with store.unit_of_work() as uow:
        uow.connection_tests.add(connection_test("ct_a"))
        uow.connection_tests.add(connection_test("ct_b", "con_b", "org_b"))
    with store.unit_of_work() as uow:
        uow.organizations.delete("org_a")
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.connection_tests.get("org_a", "ct_a")
        assert uow.connection_tests.get("org_b", "ct_b") == connection_test(
            "ct_b", "con_b", "org_b"
        )

"""The purge's rules (the `purge_*` methods of broker/store/protocols*.py, run by
broker/store/purge.py), on every backend: per table, a row dead exactly at the boundary goes
and one alive a tick later stays, with a fixed `now`; the exceptions (a code with a live
token, a connection's newest and newest passed test) stay; batches are bounded and repeated.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from broker.clock import FixedClock
from broker.model.records import AuthorizationCode, Connection
from broker.settings_retention import RetentionSettings
from broker.store import CodeReplayed, NotFound, Store, UnitOfWork
from broker.store.purge import PurgeCounts, Purger
from broker.store.sql import SqlStore
from tests.support.databases import Database
from tests.support.expiring import (
    CON,
    IDLE,
    LIVE_LINK,
    NOW,
    ORG,
    RETENTION,
    TICK,
    add_dead_rows,
    add_tenant,
    code,
    event,
    flow,
    link,
    result,
    session,
    token,
)

HOUR = timedelta(hours=1)


def purge(store: Store, *, now: datetime = NOW, retention: RetentionSettings = RETENTION):
    return Purger(store=store, clock=FixedClock(now), retention=retention, portal_idle=IDLE).purge()


def keys(store: SqlStore, table: str, column: str) -> set[str]:
    with store.engine.connect() as connection:
        query = sa.text(f"SELECT {column} FROM {table}")  # noqa: S608 - our names
        return set(connection.execute(query).scalars())


# --- flows, codes, tokens ----------------------------------------------------------------


def test_flows_go_when_expired_consumed_or_not(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        for name, expires_at in (("dead", NOW), ("live", NOW + TICK)):
            uow.flows.create(flow(name, expires_at=expires_at))
            uow.flows.create(flow(f"consumed-{name}", expires_at=expires_at))
            uow.flows.consume(f"consumed-{name}", now=NOW - TICK)
    assert purge(store) == PurgeCounts(flows=2)
    assert keys(store, "flows", "id") == {"live", "consumed-live"}


def test_access_tokens_go_when_expired(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.codes.add(code("code", expires_at=NOW + HOUR))
        uow.access_tokens.add(token("dead", "code", expires_at=NOW))
        uow.access_tokens.add(token("live", "code", expires_at=NOW + TICK))
    assert purge(store) == PurgeCounts(access_tokens=1)
    assert keys(store, "access_tokens", "token_hash") == {"live"}


def test_codes_go_when_expired_unless_a_token_from_them_is_live(store: SqlStore) -> None:
    """RFC 6749 §4.1.2: while a token issued from a code lives, a replay of the code must
    still be recognized as one (and revoke the token), so the code is kept until then."""
    with store.unit_of_work() as uow:
        for name in ("dead", "token-dead", "token-live"):
            uow.codes.add(code(name, expires_at=NOW))
        uow.codes.add(code("live", expires_at=NOW + TICK))
        assert isinstance(uow.codes.consume("token-live", now=NOW - HOUR), AuthorizationCode)
        uow.access_tokens.add(token("t-dead", "token-dead", expires_at=NOW))
        uow.access_tokens.add(token("t-live", "token-live", expires_at=NOW + TICK))
    assert purge(store) == PurgeCounts(access_tokens=1, authorization_codes=2)
    assert keys(store, "authorization_codes", "code_hash") == {"token-live", "live"}
    with store.unit_of_work() as uow:
        assert uow.codes.consume("token-live", now=NOW) == CodeReplayed(client_id="rp")
    # A tick later the token has expired: it goes, and its code with it, in one run.
    assert purge(store, now=NOW + TICK) == PurgeCounts(access_tokens=1, authorization_codes=2)
    assert keys(store, "authorization_codes", "code_hash") == set()


# --- request bookkeeping -----------------------------------------------------------------


def test_replay_entries_go_when_expired(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.replays.remember("saml:a", "_dead", expires_at=NOW, now=NOW - HOUR)
        assert uow.replays.remember("saml:a", "_live", expires_at=NOW + TICK, now=NOW - HOUR)
    assert purge(store) == PurgeCounts(replay_cache=1)
    assert keys(store, "replay_cache", "message_id") == {"_live"}


def test_idempotency_keys_go_when_expired(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        for name, expires_at in (("dead", NOW), ("live", NOW + TICK)):
            assert (
                uow.idempotency.begin(
                    "mc_1", name, request_hash="rh", now=NOW - HOUR, expires_at=expires_at
                )
                is None
            )
    assert purge(store) == PurgeCounts(idempotency_keys=1)
    assert keys(store, "idempotency_keys", "key") == {"live"}


def test_rate_limit_windows_go_an_hour_after_they_started(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.rate_limits.hit("dead", window_start=NOW - HOUR)
        uow.rate_limits.hit("live", window_start=NOW - HOUR + TICK)
    assert purge(store) == PurgeCounts(rate_limits=1)
    assert keys(store, "rate_limits", "bucket") == {"live"}


# --- the portal --------------------------------------------------------------------------


def test_portal_sessions_go_when_ended_or_idle(store: SqlStore) -> None:
    add_tenant(store)
    sessions = {
        "ended": session("ended", expires_at=NOW, last_seen_at=NOW - TICK),
        "idle": session("idle", expires_at=NOW + HOUR, last_seen_at=NOW - IDLE),
        "live": session("live", expires_at=NOW + TICK, last_seen_at=NOW - IDLE + TICK),
    }
    with store.unit_of_work() as uow:
        for value in sessions.values():
            uow.portal_sessions.add(value)
    assert purge(store) == PurgeCounts(portal_sessions=2)
    assert keys(store, "portal_sessions", "id_hash") == {"live"}
    with store.unit_of_work() as uow:  # the purge's cut-offs are get_live's
        assert uow.portal_sessions.get_live("live", now=NOW, idle=IDLE) == sessions["live"]


def test_portal_links_go_a_retention_after_they_expired_or_were_revoked(
    store: SqlStore,
) -> None:
    add_tenant(store)
    gone = NOW - RETENTION.portal_link_retention
    later = NOW + HOUR
    with store.unit_of_work() as uow:
        uow.portal_links.add(link("expired", expires_at=gone))
        uow.portal_links.add(link("expired-since", expires_at=gone + TICK))
        uow.portal_links.add(link("revoked", expires_at=later, revoked_at=gone))
        uow.portal_links.add(link("revoked-since", expires_at=later, revoked_at=gone + TICK))
        # Live by its own times, but its link's revocation ended it: it goes with the link.
        uow.portal_sessions.add(
            session("of-revoked", link_id="revoked", expires_at=later, last_seen_at=NOW)
        )
    assert purge(store) == PurgeCounts(portal_links=2)
    assert keys(store, "portal_links", "id") == {LIVE_LINK, "expired-since", "revoked-since"}
    assert keys(store, "portal_sessions", "id_hash") == set()


def test_connection_tests_go_a_retention_old_but_never_the_newest_nor_newest_passed(
    store: SqlStore,
) -> None:
    """Activation and a draft's switch-over look for a passed test of the current settings;
    the portal shows the newest result."""
    add_tenant(store)  # con_p has one test, "tst-newest" (passed, d1)
    old = NOW - RETENTION.connection_test_retention
    with store.unit_of_work() as uow:
        for con in ("con_q", "con_r"):
            uow.connections.add(
                Connection(id=con, organization_id=ORG, kind="oidc", name=con, config={},
                           created_at=old - HOUR)
            )  # fmt: skip
        uow.connection_tests.add(result("q1", con="con_q", at=old - 3 * TICK, passed=True))
        uow.connection_tests.add(result("q2", con="con_q", at=old - 2 * TICK, passed=True,
                                        digest="d2"))  # fmt: skip
        uow.connection_tests.add(result("q3", con="con_q", at=old - TICK))
        uow.connection_tests.add(result("q4", con="con_q", at=old))
        uow.connection_tests.add(result("q5", con="con_q", at=old + TICK))
        uow.connection_tests.add(result("q6", con="con_q", at=NOW))
        # Two of one instant: the later id is the newer, as `latest` orders them.
        uow.connection_tests.add(result("r1", con="con_r", at=old - HOUR))
        uow.connection_tests.add(result("r2", con="con_r", at=old - HOUR))
    assert purge(store) == PurgeCounts(connection_tests=4)
    assert keys(store, "connection_tests", "id") == {"tst-newest", "q2", "q5", "q6", "r2"}
    with store.unit_of_work() as uow:
        assert uow.connection_tests.passed(ORG, "con_q", "d2")
        assert uow.connection_tests.passed(ORG, CON, "d1")
        latest = uow.connection_tests.latest(ORG, "con_q", limit=5)
        assert [t.id for t in latest] == ["q6", "q5", "q2"]


# --- audit ---------------------------------------------------------------------------------


def test_audit_events_go_after_the_retention(store: SqlStore) -> None:
    old = NOW - RETENTION.audit_retention
    assert RETENTION.audit_retention == timedelta(days=400)
    with store.unit_of_work() as uow:
        uow.audit.record(event("evt-old", at=old))
        uow.audit.record(event("evt-kept", at=old + TICK))
        uow.audit.record(event("evt-week", at=NOW - timedelta(days=7)))
    assert purge(store) == PurgeCounts(audit_events=1)
    assert keys(store, "audit_events", "id") == {"evt-kept", "evt-week"}
    week = RetentionSettings(audit_retention=timedelta(days=7))
    assert purge(store, retention=week) == PurgeCounts(audit_events=2)
    assert keys(store, "audit_events", "id") == set()


# --- batches -------------------------------------------------------------------------------


class CountingStore:
    """A store that counts the units of work (transactions) opened through it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.opened = 0

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        self.opened += 1
        return self.inner.unit_of_work()

    def check(self) -> None:
        self.inner.check()


def test_each_batch_is_bounded_and_its_own_unit_of_work(store: SqlStore) -> None:
    """Five dead rows of every kind, batches of two: every table takes three units of
    work (2, 2, then a short 1). A table whose statement ignored its limit would take two
    (5, then 0); a purge that stopped after one batch, one."""
    add_tenant(store)
    add_dead_rows(store, 5)
    counting = CountingStore(store)
    purger = Purger(
        store=counting, clock=FixedClock(NOW), retention=RETENTION, portal_idle=IDLE, batch_size=2
    )
    assert purger.purge() == PurgeCounts(**{f.name: 5 for f in fields(PurgeCounts)})
    assert counting.opened == 3 * len(fields(PurgeCounts))


#: Planner settings under which PostgreSQL runs `IN (SELECT .. LIMIT n FOR UPDATE SKIP
#: LOCKED)` once per outer row (a nested loop over a non-materialized subquery): each run
#: takes rows the earlier runs had not yet deleted, and a batch of 2 deleted all 5.
CONTRARY_PLANNER = " ".join(
    f"-c{setting}=off"
    for setting in ("enable_hashjoin", "enable_hashagg", "enable_sort", "enable_material")
)


@pytest.mark.postgres
def test_a_batch_is_bounded_whatever_plan_postgresql_picks(postgres_database: Database) -> None:
    store = SqlStore(postgres_database.engine)
    add_tenant(store)
    add_dead_rows(store, 5)
    contrary = sa.create_engine(
        postgres_database.url,
        connect_args={"options": f"-csearch_path={postgres_database.schema} {CONTRARY_PLANNER}"},
    )
    counting = CountingStore(SqlStore(contrary))
    purger = Purger(
        store=counting, clock=FixedClock(NOW), retention=RETENTION, portal_idle=IDLE, batch_size=2
    )
    try:
        assert purger.purge() == PurgeCounts(**{f.name: 5 for f in fields(PurgeCounts)})
    finally:
        contrary.dispose()
    assert counting.opened == 3 * len(fields(PurgeCounts))


@pytest.mark.parametrize("limit", [1, 7])
def test_a_batch_deletes_at_most_its_limit(store: SqlStore, limit: int) -> None:
    with store.unit_of_work() as uow:
        for n in range(5):
            uow.flows.create(flow(f"f{n}", expires_at=NOW))
    with store.unit_of_work() as uow:
        assert uow.flows.purge_expired(now=NOW, limit=limit) == min(limit, 5)
        with pytest.raises(ValueError, match="at least 1"):
            uow.flows.purge_expired(now=NOW, limit=0)


def test_a_stopped_purge_leaves_after_the_batch_in_hand(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        for n in range(5):
            uow.flows.create(flow(f"f{n}", expires_at=NOW))
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1  # after the first batch

    purger = Purger(
        store=store, clock=FixedClock(NOW), retention=RETENTION, portal_idle=IDLE, batch_size=2
    )
    assert purger.purge(stop=stop) == PurgeCounts(flows=2)
    assert len(keys(store, "flows", "id")) == 3


def test_nothing_live_is_purged(store: SqlStore) -> None:
    """Every kind of row, dead at NOW: a purge a tick earlier deletes none of them."""
    add_tenant(store)
    add_dead_rows(store, 3)
    assert purge(store, now=NOW - TICK) == PurgeCounts()


def test_purge_counts_are_per_table(store: SqlStore) -> None:
    add_tenant(store)
    add_dead_rows(store, 2)
    counts = purge(store)
    assert counts.as_dict() == {f.name: 2 for f in fields(PurgeCounts)}
    assert counts.total == 2 * len(fields(PurgeCounts))
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.flows.get("flow-x-000000", now=NOW - TICK)

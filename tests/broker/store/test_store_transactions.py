"""How the SQL store runs its transactions, beyond what the repositories' contract states:
which failed writes leave the unit of work usable (no savepoints on the hot path, so this
is done with INSERT .. ON CONFLICT where a caller goes on), and the SQLite engine settings
the concurrency contract and the commit cost depend on."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from broker.model.records import AuditEvent, DownstreamClient, Organization
from broker.store import AlreadyExists, NotFound, Store
from broker.store.sql import SqlStore
from tests.broker.store.test_store import connection

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def client(client_id: str) -> DownstreamClient:
    return DownstreamClient(
        client_id=client_id, name="RP", secret_hash=None, redirect_uris=(), created_at=NOW
    )


def audit_event(event_id: str) -> AuditEvent:
    return AuditEvent(id=event_id, at=NOW, kind="login.succeeded", detail={"n": 1})


def test_duplicate_client_or_audit_event_leaves_the_unit_of_work_usable(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.clients.add(client("rp"))
        uow.audit.record(audit_event("evt_1"))
        with pytest.raises(AlreadyExists):
            uow.clients.add(client("rp"))
        with pytest.raises(AlreadyExists):
            uow.audit.record(audit_event("evt_1"))
        uow.clients.add(client("rp2"))
        uow.audit.record(audit_event("evt_2"))
    with store.unit_of_work() as uow:
        assert [c.client_id for c in uow.clients.list()] == ["rp", "rp2"]
        assert sorted(e.id for e in uow.audit.list()) == ["evt_1", "evt_2"]


def test_record_login_for_an_identity_of_another_organization_is_not_found(store: Store) -> None:
    """The upsert's WHERE clause refuses to touch an existing identity through another
    organization, and leaves it as it was."""
    with store.unit_of_work() as uow:
        for org_id in ("org_a", "org_b"):
            uow.organizations.add(Organization(id=org_id, name=org_id, created_at=NOW))
    with store.unit_of_work() as uow:
        uow.connections.add(connection("con_a", "org_a"))
        first = uow.identities.record_login(
            organization_id="org_a",
            connection_id="con_a",
            idp_subject="ann",
            email="ann@a.test",
            new_id="usr_1",
            now=NOW,
        )
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.identities.record_login(
            organization_id="org_b",
            connection_id="con_a",
            idp_subject="ann",
            email="eve@b.test",
            new_id="usr_2",
            now=NOW + timedelta(minutes=1),
        )
    with store.unit_of_work() as uow:
        again = uow.identities.record_login(
            organization_id="org_a",
            connection_id="con_a",
            idp_subject="ann",
            email="ann@a.test",
            new_id="usr_3",
            now=NOW,
        )
    assert again == first


def test_sqlite_transactions_take_the_write_lock_up_front(sqlite_engine: Engine) -> None:
    """BEGIN IMMEDIATE (the dialect's do_begin): a unit of work that has only read already
    holds the lock, so another writer waits instead of deadlocking later."""
    store = SqlStore(sqlite_engine)
    database = sqlite_engine.url.database
    assert database is not None
    with store.unit_of_work() as uow:
        uow.clients.list()
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_sqlite_connections_use_wal_with_normal_sync(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

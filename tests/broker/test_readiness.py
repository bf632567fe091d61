"""Readiness (broker/readiness.py) over real databases at real revisions, with real signing
keys: each check's words, nothing in them an outsider should read, one log line per change
of outcome, and a bounded cost however often it is asked."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

import pytest

from broker.clock import SystemClock
from broker.keys import KeyManager, SecretBox
from broker.readiness import NOT_CHECKED_YET, Readiness
from broker.store import Store, UnitOfWork
from broker.store.sql import SqlStore, make_engine
from broker.store.sql.schema import revisions
from tests.conftest import BACKENDS
from tests.support.config import TEST_SECRET_KEY
from tests.support.databases import Database
from tests.support.schema_revisions import (
    UNKNOWN_REVISION,
    blank_database,
    migrate_to,
    one_behind_head,
    stamp,
)
from tests.support.unreachable import PASSWORD, postgres_url, refusing_port

READY = {"database": "ok", "schema": "ok", "signing_key": "ok"}
OTHER_SECRET_KEY = b"another-master-key-not-the-same!"
#: A liveness guard for a test that waits on a thread, not a measurement.
GUARD_S = 30


@pytest.fixture(params=BACKENDS)
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with blank_database(request.param, tmp_path, request) as database:
        yield database


def keys_for(store: Store, secret_key: bytes = TEST_SECRET_KEY) -> KeyManager:
    return KeyManager(
        store, SecretBox(secret_key), SystemClock(), retire_after=timedelta(minutes=15)
    )


def readiness(store: Store, secret_key: bytes = TEST_SECRET_KEY) -> Readiness:
    """Checks on every call (nothing reused), as the tests of each outcome need."""
    return Readiness(store=store, keys=keys_for(store, secret_key), fresh_for=0)


def checks(store: Store, secret_key: bytes = TEST_SECRET_KEY) -> dict[str, str]:
    return readiness(store, secret_key).outcome().checks


def test_ready_at_the_head_with_a_signing_key(blank: Database) -> None:
    migrate_to(blank.engine, "head")
    store = SqlStore(blank.engine)
    keys_for(store).ensure_keys()
    outcome = readiness(store).outcome()
    assert outcome.ready
    assert outcome.checks == READY
    assert outcome.details == {}


def test_an_empty_database_is_not_ready(blank: Database) -> None:
    outcome = readiness(SqlStore(blank.engine)).outcome()
    assert not outcome.ready
    assert outcome.checks == {
        "database": "ok",
        "schema": "no Gatehouse schema: run gatehouse migrate",
        "signing_key": "not checked: the schema is not current",
    }
    assert outcome.details["schema"].endswith(" has no Gatehouse schema: run gatehouse migrate")


def test_a_database_one_revision_behind_is_not_ready(blank: Database) -> None:
    behind = one_behind_head()
    migrate_to(blank.engine, behind)
    assert checks(SqlStore(blank.engine))["schema"] == (
        f"at revision {behind}, head is {revisions().head}: run gatehouse migrate"
    )


def test_a_database_a_newer_gatehouse_migrated_is_not_ready(blank: Database) -> None:
    migrate_to(blank.engine, "head")
    stamp(blank.engine, UNKNOWN_REVISION)
    assert checks(SqlStore(blank.engine))["schema"] == (
        f"at revision {UNKNOWN_REVISION}, unknown to this version of Gatehouse (head is "
        f"{revisions().head}): run the version that migrated it"
    )


def test_no_signing_key_is_not_ready(blank: Database) -> None:
    migrate_to(blank.engine, "head")
    assert checks(SqlStore(blank.engine)) == {
        "database": "ok",
        "schema": "ok",
        "signing_key": "no current signing key: run gatehouse migrate",
    }


def test_a_signing_key_under_another_secret_key_is_not_ready(blank: Database) -> None:
    """GATEHOUSE_SECRET_KEY changed since the keys were made: nothing could be signed."""
    migrate_to(blank.engine, "head")
    store = SqlStore(blank.engine)
    keys_for(store).ensure_keys()
    assert checks(store, OTHER_SECRET_KEY)["signing_key"] == (
        "the current signing key cannot be decrypted: check GATEHOUSE_SECRET_KEY"
    )


def test_a_failure_nobody_foresaw_is_named_in_the_log(blank: Database) -> None:
    """The schema's revision says head, but its signing keys' table is gone: the probe
    still answers, in words, and the log says what broke."""
    migrate_to(blank.engine, "head")
    with blank.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE signing_keys")
    outcome = readiness(SqlStore(blank.engine)).outcome()
    assert outcome.checks == {
        "database": "ok",
        "schema": "ok",
        "signing_key": "failed (see the log)",
    }
    assert outcome.details["signing_key"].startswith(("OperationalError: ", "ProgrammingError: "))
    assert "signing_keys" in outcome.details["signing_key"]


def test_an_unreachable_database_is_named_in_words_that_hide_where_it_is() -> None:
    with refusing_port() as port:
        outcome = readiness(SqlStore(make_engine(postgres_url(port)))).outcome()
    assert outcome.checks == {
        "database": "unreachable",
        "schema": "not checked: the database is unreachable",
        "signing_key": "not checked: the database is unreachable",
    }
    # Where, and why, is for the log only.
    assert f"127.0.0.1:{port}" in outcome.details["database"]
    assert "Connection refused" in outcome.details["database"]
    assert PASSWORD not in outcome.details["database"]


def test_each_change_of_outcome_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gatehouse.sqlite3'}")
    store = SqlStore(engine)
    probe = readiness(store)
    with caplog.at_level(logging.INFO, logger="broker.readiness"):
        for _ in range(3):
            assert not probe.outcome().ready
        migrate_to(engine, "head")
        for _ in range(3):
            assert probe.outcome().checks["signing_key"].startswith("no current signing key")
        keys_for(store).ensure_keys()
        for _ in range(3):
            assert probe.outcome().ready
    engine.dispose()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"not ready: schema: the database at sqlite:///{tmp_path / 'gatehouse.sqlite3'} "
            "has no Gatehouse schema: run gatehouse migrate",
        ),
        (
            "WARNING",
            "not ready: signing_key: no CURRENT signing key; run `gatehouse migrate` to "
            "create the keys",
        ),
        ("INFO", "ready again"),
    ]


class CountingStore:
    """The SQL store, with its checks counted and, when `gate` is set, held until it is."""

    def __init__(self, inner: SqlStore) -> None:
        self.inner = inner
        self.checks = 0
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return self.inner.unit_of_work()

    def check(self) -> None:
        self.checks += 1
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(GUARD_S)
        self.inner.check()


@pytest.fixture
def counting(sqlite_database: Database) -> CountingStore:
    store = SqlStore(sqlite_database.engine)
    keys_for(store).ensure_keys()
    return CountingStore(store)


def test_an_outcome_is_reused_while_fresh(counting: CountingStore) -> None:
    now = [100.0]
    probe = Readiness(
        store=counting, keys=keys_for(counting), fresh_for=1.0, monotonic=lambda: now[0]
    )
    for _ in range(50):
        assert probe.outcome().ready
    assert counting.checks == 1
    now[0] += 1.0
    assert probe.outcome().ready
    assert counting.checks == 2


def test_a_probe_during_a_check_does_not_wait_for_it(counting: CountingStore) -> None:
    """A hanging database holds one worker thread, not one per probe: a probe that finds
    a check running answers the last outcome (none yet: not checked) at once."""
    probe = Readiness(store=counting, keys=keys_for(counting), fresh_for=0)
    counting.gate = threading.Event()
    first = threading.Thread(target=probe.outcome)
    first.start()
    assert counting.entered.wait(GUARD_S)
    assert probe.outcome() is NOT_CHECKED_YET
    counting.gate.set()
    first.join(GUARD_S)
    assert counting.checks == 1
    counting.gate = None
    assert probe.outcome().ready

"""Single use under real concurrency: of N simultaneous consumers of one code or flow, or
of N processes checking one SAML assertion ID against the replay cache, exactly one wins,
whether they are threads of one process or separate processes (the broker runs several
workers against one database).

The processes are spawned, not forked, so each opens its own engine and connections as a
real worker would; they connect first, then meet at a barrier so that the consumes race.
Losers of a code race see CodeReplayed (the code exists, redeemed); of a flow race,
NotFound; of a replay race, False (already seen).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broker.model.records import (
    AuthorizationCode,
    AuthorizationRequest,
    Connection,
    Organization,
    PendingAuthorization,
)
from broker.store import CodeReplayed, NotFound, Store
from broker.store.sql import SqlStore, make_engine
from tests.support.databases import Database

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CODE_HASH = "c" * 64
FLOW_ID = "flow-1"
THREADS = 8
PROCESSES = 4
TIMEOUT_S = 60

REPLAY_SCOPE = "saml:con_a"
MESSAGE_ID = "_assertion-1"
REPLAY_TTL = timedelta(minutes=5)

WON, REPLAYED, NOT_FOUND, SEEN = "won", "replayed", "not-found", "seen"


def consume_code(store: Store) -> str:
    with store.unit_of_work() as uow:
        try:
            outcome = uow.codes.consume(CODE_HASH, now=NOW)
        except NotFound:
            return NOT_FOUND
    return REPLAYED if isinstance(outcome, CodeReplayed) else WON


def consume_flow(store: Store) -> str:
    try:
        with store.unit_of_work() as uow:
            uow.flows.consume(FLOW_ID, now=NOW)
    except NotFound:
        return NOT_FOUND
    return WON


def remember_message(store: Store) -> str:
    with store.unit_of_work() as uow:
        first = uow.replays.remember(REPLAY_SCOPE, MESSAGE_ID, expires_at=NOW + REPLAY_TTL, now=NOW)
    return WON if first else SEEN


CONSUMERS: dict[str, Callable[[Store], str]] = {
    "code": consume_code,
    "flow": consume_flow,
    "replay": remember_message,
}
LOSERS = {"code": REPLAYED, "flow": NOT_FOUND, "replay": SEEN}


def race_once(url: str, schema: str | None, what: str, barrier: Any) -> str:
    engine = make_engine(url, schema=schema)
    try:
        engine.connect().close()
        barrier.wait(timeout=TIMEOUT_S)
        return CONSUMERS[what](SqlStore(engine))
    except Exception as exc:
        return f"error: {exc!r}"
    finally:
        engine.dispose()


def racer(tasks: Any, barrier: Any, results: Any) -> None:
    """A spawned worker's loop: module-level so that it is pickled by reference."""
    while (task := tasks.get()) is not None:
        url, schema, what = task
        results.put(race_once(url, schema, what, barrier))


class Racers:
    """Worker processes started once per module (spawning and importing is the slow part),
    each opening its own engine for every race, as separate broker workers would."""

    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        # Held for the pool's lifetime: Process.start() drops its args, and a collected
        # barrier's semaphores vanish before a spawned child has unpickled them.
        self._barrier = context.Barrier(size)
        self._results = context.Queue()
        self._tasks = [context.Queue() for _ in range(size)]
        self._workers = [
            context.Process(target=racer, args=(tasks, self._barrier, self._results), daemon=True)
            for tasks in self._tasks
        ]
        for worker in self._workers:
            worker.start()

    def race(self, database: Database, what: str) -> list[str]:
        for tasks in self._tasks:
            tasks.put((database.url, database.schema, what))
        return [self._results.get(timeout=TIMEOUT_S) for _ in self._tasks]

    def close(self) -> None:
        for tasks in self._tasks:
            tasks.put(None)
        for worker in self._workers:
            worker.join(timeout=TIMEOUT_S)
            if worker.is_alive():
                worker.kill()
                worker.join()
        for queue in [*self._tasks, self._results]:
            queue.close()
            queue.join_thread()
        assert [worker.exitcode for worker in self._workers] == [0] * len(self._workers)


@pytest.fixture(scope="module")
def racers() -> Iterator[Racers]:
    pool = Racers(PROCESSES)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def seeded(store: Store) -> Store:
    with store.unit_of_work() as uow:
        uow.organizations.add(Organization(id="org_a", name="A", created_at=NOW))
        uow.connections.add(
            Connection(
                id="con_a",
                organization_id="org_a",
                kind="oidc",
                name="A",
                config={},
                created_at=NOW,
            )
        )
        uow.codes.add(
            AuthorizationCode(
                code_hash=CODE_HASH,
                client_id="rp",
                redirect_uri="https://rp.test/cb",
                scope=("openid",),
                nonce=None,
                code_challenge=None,
                code_challenge_method=None,
                claims={},
                auth_time=NOW,
                issued_at=NOW,
                expires_at=NOW + timedelta(seconds=60),
            )
        )
        uow.flows.create(
            PendingAuthorization(
                id=FLOW_ID,
                request=AuthorizationRequest(
                    client_id="rp", redirect_uri="https://rp.test/cb", scope=("openid",)
                ),
                created_at=NOW,
                expires_at=NOW + timedelta(minutes=10),
            )
        )
    return store


@pytest.mark.parametrize("what", ["code", "flow", "replay"])
def test_one_winner_among_threads(seeded: Store, what: str) -> None:
    outcomes = run_in_threads(lambda _: CONSUMERS[what](seeded))
    assert sorted(outcomes) == sorted([WON] + [LOSERS[what]] * (THREADS - 1))


@pytest.mark.parametrize("what", ["code", "flow", "replay"])
def test_one_winner_among_processes(
    seeded: Store, database: Database, racers: Racers, what: str
) -> None:
    outcomes = racers.race(database, what)
    assert sorted(outcomes) == sorted([WON] + [LOSERS[what]] * (PROCESSES - 1))


def run_in_threads(work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(THREADS)

    def contender(index: int) -> Any:
        barrier.wait(timeout=TIMEOUT_S)
        return work(index)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(contender, range(THREADS)))


def test_one_winner_replaces_an_expired_replay_entry(seeded: Store) -> None:
    """The expired entry is deleted and re-inserted: racing deleters must not both insert."""
    with seeded.unit_of_work() as uow:
        before = NOW - 2 * REPLAY_TTL
        assert uow.replays.remember(REPLAY_SCOPE, MESSAGE_ID, expires_at=NOW, now=before)
    outcomes = run_in_threads(lambda _: remember_message(seeded))
    assert sorted(outcomes) == sorted([WON] + [SEEN] * (THREADS - 1))


def test_concurrent_first_logins_yield_one_identity(seeded: Store) -> None:
    def first_login(index: int) -> str:
        with seeded.unit_of_work() as uow:
            identity = uow.identities.record_login(
                organization_id="org_a",
                connection_id="con_a",
                idp_subject="alice",
                email="alice@a.test",
                new_id=f"usr_{index}",
                now=NOW,
            )
        return identity.id

    assert len(set(run_in_threads(first_login))) == 1


def test_concurrent_read_then_write_does_not_fail(seeded: Store) -> None:
    """A read followed by a write in each of many transactions: with SQLite's deferred
    BEGIN, all but one would fail with "database is locked" (BEGIN IMMEDIATE queues them)."""

    def record_state(index: int) -> bytes:
        with seeded.unit_of_work() as uow:
            uow.flows.get(FLOW_ID, now=NOW)
            flow = uow.flows.update(
                FLOW_ID, lambda f: replace(f, connector_state=bytes([index])), now=NOW
            )
        return flow.connector_state

    written = run_in_threads(record_state)
    with seeded.unit_of_work() as uow:
        assert uow.flows.get(FLOW_ID, now=NOW).connector_state in written

"""The management side's atomic operations under real concurrency, on every backend: of N
threads (each its own connection and transaction, like concurrent requests) racing for a
portal link's last use, one idempotency key, or one domain's verification, exactly one wins;
concurrent rate-limit hits are all counted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from broker.store import AlreadyExists, NotFound, Store
from tests.broker.store.test_store_concurrency import THREADS, run_in_threads
from tests.broker.store.test_store_tenancy import claim, organization, portal_link

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WON, LOST = "won", "lost"


def test_one_winner_for_a_portal_links_last_use(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a"))
        uow.portal_links.add(portal_link("pl_1", max_uses=3, uses=2))

    def use(_: int) -> str:
        try:
            with store.unit_of_work() as uow:
                uow.portal_links.use("hash-pl_1", now=NOW)
        except NotFound:
            return LOST
        return WON

    assert sorted(run_in_threads(use)) == sorted([WON] + [LOST] * (THREADS - 1))
    with store.unit_of_work() as uow:
        assert uow.portal_links.get("org_a", "pl_1").uses == 3


def test_every_use_of_a_multi_use_link_is_counted_once(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a"))
        uow.portal_links.add(portal_link("pl_1", max_uses=THREADS // 2))

    def use(_: int) -> int | None:
        try:
            with store.unit_of_work() as uow:
                return uow.portal_links.use("hash-pl_1", now=NOW).uses
        except NotFound:
            return None

    outcomes = run_in_threads(use)
    assert sorted(n for n in outcomes if n is not None) == list(range(1, THREADS // 2 + 1))
    assert outcomes.count(None) == THREADS - THREADS // 2


def test_concurrent_rate_limit_hits_are_all_counted(store: Store) -> None:
    hits_each = 5

    def hit(_: int) -> list[int]:
        counts = []
        for _ in range(hits_each):
            with store.unit_of_work() as uow:
                counts.append(uow.rate_limits.hit("mc_1", window_start=NOW))
        return counts

    counts = [count for counts in run_in_threads(hit) for count in counts]
    assert sorted(counts) == list(range(1, THREADS * hits_each + 1))  # no count seen twice


def test_one_request_reserves_an_idempotency_key(store: Store) -> None:
    def begin(index: int) -> str:
        with store.unit_of_work() as uow:
            stored = uow.idempotency.begin(
                "mc_1", "key-1", request_hash="rh", now=NOW, expires_at=NOW + timedelta(hours=1)
            )
        return WON if stored is None else LOST

    assert sorted(run_in_threads(begin)) == sorted([WON] + [LOST] * (THREADS - 1))


def test_one_request_replaces_an_expired_idempotency_key(store: Store) -> None:
    with store.unit_of_work() as uow:
        before = NOW - timedelta(hours=2)
        uow.idempotency.begin("mc_1", "key-1", request_hash="old", now=before, expires_at=NOW)

    def begin(index: int) -> str:
        with store.unit_of_work() as uow:
            stored = uow.idempotency.begin(
                "mc_1", "key-1", request_hash="rh", now=NOW, expires_at=NOW + timedelta(hours=1)
            )
        return WON if stored is None else LOST

    assert sorted(run_in_threads(begin)) == sorted([WON] + [LOST] * (THREADS - 1))


def test_one_organization_verifies_a_contested_domain(store: Store) -> None:
    """Each organization checks nothing first: the partial unique index alone decides."""
    with store.unit_of_work() as uow:
        for index in range(THREADS):
            uow.organizations.add(organization(f"org_{index}"))
            uow.domains.add(claim(f"org_{index}", "contested.test"))

    def verify(index: int) -> str:
        try:
            with store.unit_of_work() as uow:
                uow.domains.save(replace(claim(f"org_{index}", "contested.test"), verified_at=NOW))
        except AlreadyExists:
            return LOST
        return WON

    outcomes = run_in_threads(verify)
    assert sorted(outcomes) == sorted([WON] + [LOST] * (THREADS - 1))
    with store.unit_of_work() as uow:
        winner = uow.domains.find_verified("contested.test").organization_id
        assert winner == f"org_{outcomes.index(WON)}"
        assert sum(d.is_verified for d in uow.domains.list()) == 1

"""A directory being provisioned to one SCIM service: the ids the service gave, the state
the directory believes, and phases whose requests are summarised.

A phase is a stretch of work (the initial sync, one scenario's action) measured on its
own: its requests, their statuses, latency percentiles, and failures. A failure is an
answer the vendor would log as an error (no answer, or a status outside the phase's
expected ones) or a check of the server's state that did not hold; it never stops the
run, as a real directory keeps going and reports.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TypeVar

from idp_simulator.scim.client import Exchange, ScimClient
from idp_simulator.scim.dialect import Dialect
from idp_simulator.scim.directory import Directory, SimGroup, SimUser

__all__ = ["DirectorySync", "Phase", "PhaseSummary", "percentile", "run_parallel"]

T = TypeVar("T")
R = TypeVar("R")


def run_parallel(work: Callable[[T], R], items: Sequence[T], concurrency: int) -> list[R]:
    """`work` over `items`, at most `concurrency` at once, results in order."""
    if concurrency <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(work, items))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseSummary:
    name: str
    requests: int
    statuses: dict[int, int]
    failures: tuple[str, ...]
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(slots=True)
class Phase:
    """Collects a phase's failures; `DirectorySync.phase` measures it."""

    name: str
    expected: frozenset[int]
    failures: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        self.failures.append(text)

    def check(self, condition: bool, text: str) -> None:
        if not condition:
            self.fail(text)


def summarise(phase: Phase, exchanges: Iterable[Exchange], seconds: float) -> PhaseSummary:
    sent = list(exchanges)
    failures = [
        f"{exchange.method} {exchange.path}: "
        + (f"no answer ({exchange.error})" if exchange.status == 0 else f"{exchange.status}")
        for exchange in sent
        if exchange.status not in phase.expected
    ]
    latencies = [exchange.latency_ms for exchange in sent]
    return PhaseSummary(
        name=phase.name,
        requests=len(sent),
        statuses=dict(sorted(Counter(exchange.status for exchange in sent).items())),
        failures=tuple(failures + phase.failures),
        seconds=seconds,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
    )


#: What a conformant server answers to what both vendors send: reads 200, creates 201,
#: updates 200 or 204.
EXPECTED = frozenset({200, 201, 204})


class DirectorySync:
    """One directory, one dialect, one target. `user_ids`/`group_ids` map the directory's
    indexes to the ids the service gave; `users` is the directory's current view."""

    def __init__(
        self, client: ScimClient, dialect: Dialect, directory: Directory, *, concurrency: int = 8
    ) -> None:
        self.client = client
        self.dialect = dialect
        self.directory = directory
        self.concurrency = concurrency
        self.users: dict[int, SimUser] = {user.index: user for user in directory.users}
        self.user_ids: dict[int, str] = {}
        self.group_ids: dict[int, str] = {}
        self.summaries: list[PhaseSummary] = []

    @contextmanager
    def phase(self, name: str, expected: Iterable[int] = EXPECTED) -> Iterator[Phase]:
        """Measure what is sent inside the block as one phase (appended to `summaries`)."""
        current = Phase(name=name, expected=frozenset(expected))
        mark = self.client.mark()
        started = time.perf_counter()
        try:
            yield current
        finally:
            elapsed = time.perf_counter() - started
            self.summaries.append(summarise(current, self.client.since(mark), elapsed))

    def sync(self) -> None:
        """The initial sync: test connection, every user (looked up, created if absent),
        then every group with its members."""
        with self.phase("initial sync") as current:
            self.dialect.probe(self.client)
            self.push_users(self.directory.users, current)
            self.push_groups(self.directory.groups, current)

    def push_users(self, users: Sequence[SimUser], current: Phase) -> None:
        ids = run_parallel(
            lambda user: self.dialect.provision_user(self.client, user), users, self.concurrency
        )
        for user, user_id in zip(users, ids, strict=True):
            if user_id is None:
                current.fail(f"no id for user {user.user_name}")
            else:
                self.user_ids[user.index] = user_id

    def push_groups(self, groups: Sequence[SimGroup], current: Phase) -> None:
        def push(group: SimGroup) -> str | None:
            members = [self.user_ids[i] for i in group.members if i in self.user_ids]
            return self.dialect.provision_group(self.client, group, members)

        for group, group_id in zip(
            groups, run_parallel(push, groups, self.concurrency), strict=True
        ):
            if group_id is None:
                current.fail(f"no id for group {group.display_name}")
            else:
                self.group_ids[group.index] = group_id

    def update(self, after: SimUser) -> int:
        """A profile change of a known user; the status of the final answer."""
        before = self.users[after.index]
        answer = self.dialect.update_user(self.client, self.user_ids[after.index], before, after)
        self.users[after.index] = after
        return answer.status

    def set_active(self, index: int, active: bool) -> int:
        user = self.users[index]
        answer = self.dialect.set_active(self.client, self.user_ids[index], user, active)
        self.users[index] = replace(user, active=active)
        return answer.status

"""The purge: every table whose rows expire, emptied of its dead rows in short batches.

Nothing else deletes what has expired (reads simply ignore it), so without this a table
grows with every login ever started, every token, every SAML assertion id, every
rate-limit window, forever, and an unauthenticated flood of /authorize requests would
become a permanent cost. Every broker instance runs it (the web layer's lifespan, every
`GATEHOUSE_PURGE_INTERVAL_SECONDS`), and operators can run it by hand (`gatehouse purge`).

    table                 a row goes when                          rule lives in
    flows                 expired (consumed or not)                FlowRepo
    access_tokens         expired                                  AccessTokenRepo
    authorization_codes   expired, and no token from it is live    CodeRepo
    replay_cache          expired                                  ReplayRepo
    idempotency_keys      expired                                  IdempotencyRepo
    rate_limits           started an hour (MAX_WINDOW) ago          RateLimitRepo
    portal_sessions       past its end, or idle past the portal's  PortalSessionRepo
    portal_links          ended (expired, revoked) a retention ago PortalLinkRepo
    connection_tests      a retention old; never a connection's     ConnectionTestRepo
                          newest, nor its newest passed
    webhook_deliveries    delivered or failed a retention ago      WebhookDeliveryRepo
                          (their attempts go with them)
    directory_requests    logged a retention ago                   DirectoryRepo
    audit_events          the audit retention old                  AuditRepo

Each batch is a unit of work of its own (a short transaction: a few hundred rows' locks,
then commit), repeated until one comes back short. Concurrent purgers, in other
instances, take disjoint batches (see `broker.store.sql.batches`), so the counts of all of
them add up to the rows deleted (and so do the metrics' counts per table, which each run
adds to). One `now` is read per run: a row that expires during the run waits for the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta

from broker.clock import Clock
from broker.metrics import recording as metrics
from broker.settings_retention import RetentionSettings
from broker.store.protocols import Store, UnitOfWork

log = logging.getLogger(__name__)

#: Rows per batch: each batch is one short transaction. Small enough that a batch's locks
#: and its WAL are negligible, large enough that a backlog of a million rows is a few
#: thousand statements.
BATCH_SIZE = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class PurgeCounts:
    """Rows deleted by one run, per table (cascaded rows not counted: a portal link's
    sessions, a code's tokens)."""

    flows: int = 0
    access_tokens: int = 0
    authorization_codes: int = 0
    replay_cache: int = 0
    idempotency_keys: int = 0
    rate_limits: int = 0
    portal_sessions: int = 0
    portal_links: int = 0
    connection_tests: int = 0
    webhook_deliveries: int = 0
    directory_requests: int = 0
    audit_events: int = 0

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())

    def as_dict(self) -> dict[str, int]:
        counts: dict[str, int] = asdict(self)
        return counts


@dataclass(frozen=True, slots=True, kw_only=True)
class _Cutoffs:
    """One run's instants: what ended at or before them goes."""

    now: datetime
    idle: timedelta
    links: datetime
    tests: datetime
    webhooks: datetime
    directory_requests: datetime
    audit: datetime


#: One batch of each table: (unit of work, cut-offs, limit) -> rows deleted. Tokens before
#: codes, so a code whose last token has just expired goes in the same run.
_BATCHES: dict[str, Callable[[UnitOfWork, _Cutoffs, int], int]] = {
    "flows": lambda uow, at, n: uow.flows.purge_expired(now=at.now, limit=n),
    "access_tokens": lambda uow, at, n: uow.access_tokens.purge_expired(now=at.now, limit=n),
    "authorization_codes": lambda uow, at, n: uow.codes.purge_expired(now=at.now, limit=n),
    "replay_cache": lambda uow, at, n: uow.replays.purge_expired(now=at.now, limit=n),
    "idempotency_keys": lambda uow, at, n: uow.idempotency.purge_expired(now=at.now, limit=n),
    "rate_limits": lambda uow, at, n: uow.rate_limits.purge_expired(now=at.now, limit=n),
    "portal_sessions": lambda uow, at, n: uow.portal_sessions.purge_ended(
        now=at.now, idle=at.idle, limit=n
    ),
    "portal_links": lambda uow, at, n: uow.portal_links.purge_ended(at.links, limit=n),
    "connection_tests": lambda uow, at, n: uow.connection_tests.purge_before(at.tests, limit=n),
    "webhook_deliveries": lambda uow, at, n: uow.webhook_deliveries.purge_finished_before(
        at.webhooks, limit=n
    ),
    "directory_requests": lambda uow, at, n: uow.directories.purge_requests_before(
        at.directory_requests, limit=n
    ),
    "audit_events": lambda uow, at, n: uow.audit.purge_before(at.audit, limit=n),
}
assert list(_BATCHES) == [f.name for f in fields(PurgeCounts)]


class Purger:
    """Runs every purge once per `purge()`. `portal_idle` is the portal's idle limit
    (admin_portal.sessions.IDLE_TTL), passed in by the composition root: the store knows
    no portal policy."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        retention: RetentionSettings,
        portal_idle: timedelta,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._store = store
        self._clock = clock
        self._retention = retention
        self._portal_idle = portal_idle
        self._batch_size = batch_size

    def purge(self, *, stop: Callable[[], bool] = lambda: False) -> PurgeCounts:
        """Purge every table; `stop` is asked between batches, so a shutting-down instance
        leaves after at most one more short transaction (what is left waits for the next
        run, here or in another instance)."""
        now = self._clock.now()
        cutoffs = _Cutoffs(
            now=now,
            idle=self._portal_idle,
            links=now - self._retention.portal_link_retention,
            tests=now - self._retention.connection_test_retention,
            webhooks=now - self._retention.webhook_delivery_retention,
            directory_requests=now - self._retention.directory_request_retention,
            audit=now - self._retention.audit_retention,
        )
        counts = {name: self._purge_table(batch, cutoffs, stop) for name, batch in _BATCHES.items()}
        purged = PurgeCounts(**counts)
        metrics.purged(counts)
        if purged.total:
            log.info("purged %s", " ".join(f"{k}={v}" for k, v in counts.items() if v))
        return purged

    def _purge_table(
        self,
        batch: Callable[[UnitOfWork, _Cutoffs, int], int],
        cutoffs: _Cutoffs,
        stop: Callable[[], bool],
    ) -> int:
        deleted = 0
        while not stop():
            with self._store.unit_of_work() as uow:
                count = batch(uow, cutoffs, self._batch_size)
            deleted += count
            if count < self._batch_size:
                break
        return deleted

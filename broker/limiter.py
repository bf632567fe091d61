"""Rate limits shared by every instance: counters in the database, windows from the clock.

Every limited request in Gatehouse goes through `RateLimiter.check`, whoever applies it
(the web layer per route, the portal per link redemption, the management API per client):

- one upsert per bucket, in one short transaction, before the request's own work, so a
  refused request costs a counter and nothing else;
- buckets are counted in the order given and counting stops at the first one over its
  limit: a request refused for its address is not counted against the client id it
  claimed or against everyone's budget, so one flooder cannot spend a budget others share;
- `charge` adds weight after the fact, when an outcome costs more than a request (a failed
  client authentication at `/token`).
"""

from __future__ import annotations

from dataclasses import dataclass

from broker.clock import Clock
from broker.model.rate_limits import Bucket, Limit, retry_after, window_start
from broker.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class Refused:
    """Over `limit` in `bucket` (its name: the limit and key); the window ends in
    `retry_after` seconds (the `Retry-After` value). `first`: the request that went over,
    so a flood can be logged once per window."""

    limit: Limit
    bucket: str
    retry_after: int
    first: bool = False


class RateLimiter:
    def __init__(self, *, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def check(self, *buckets: Bucket) -> Refused | None:
        """Count one request in each bucket, in order; the first over its limit refuses."""
        if not buckets:
            return None
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            for bucket in buckets:
                window = bucket.limit.window
                count = uow.rate_limits.hit(bucket.name, window_start=window_start(now, window))
                if count > bucket.limit.requests:
                    return Refused(
                        limit=bucket.limit,
                        bucket=bucket.name,
                        retry_after=retry_after(now, window),
                        first=count == bucket.limit.requests + 1,
                    )
        return None

    def charge(self, bucket: Bucket, weight: int) -> None:
        """Add `weight` more requests to the bucket's current window (no refusal: the
        request is already answered; the next one is refused if this went over)."""
        if weight < 1:
            return
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            uow.rate_limits.hit(
                bucket.name, window_start=window_start(now, bucket.limit.window), weight=weight
            )

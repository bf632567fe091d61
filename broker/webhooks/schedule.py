"""When a failed delivery is tried again: exponential backoff with full jitter.

The n-th retry waits a uniformly random time in [1 s, min(cap, base * 2^n)] ("full jitter",
AWS Architecture Blog, "Exponential Backoff and Jitter"): receivers that come back after an
outage are not hit by every pending delivery at the same instant, and a short outage costs
seconds, a long one at most `cap` between tries. A delivery is tried for `RETRY_WINDOW`
(three days) after it was created; then it has failed for good.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from broker.model.webhooks import RETRY_WINDOW

BASE = timedelta(seconds=10)
CAP = timedelta(hours=6)
_FLOOR_MS = 1000
_STEPS_MAX = 30  # 10 s * 2^30 is far past the cap; keeps the integers small


def ceiling(retry: int) -> timedelta:
    """The longest wait before retry number `retry` (1 for the first retry)."""
    steps = min(max(retry - 1, 0), _STEPS_MAX)
    longest: timedelta = BASE * (1 << steps)
    return min(CAP, longest)


def next_attempt(now: datetime, retry: int) -> datetime:
    """`secrets`, not `random`: the project bans `random` (as `broker.web.lifespan`)."""
    top = int(ceiling(retry).total_seconds() * 1000)
    wait_ms = _FLOOR_MS + secrets.randbelow(max(top - _FLOOR_MS, 0) + 1)
    return now + timedelta(milliseconds=wait_ms)


def given_up(created_at: datetime, now: datetime) -> bool:
    return now - created_at >= RETRY_WINDOW

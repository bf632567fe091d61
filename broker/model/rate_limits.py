"""Rate limits as values, and the fixed-window arithmetic every instance agrees on.

A `Limit` allows `requests` per `window` in each of its buckets; a `Bucket` is one limit
applied to one key (an address, a client id). Windows are fixed and aligned to the hour
(12:00:00, 12:01:00, ...): every instance computes the same window from its clock, so all
of them count into the same row of the shared counter table without talking to each other.
A fixed window lets a client send up to twice its budget across a window boundary; that is
the price of one upsert per request, and the budgets below are far from what costs us.

Windows are at most an hour long: the purge deletes counter rows older than an hour, so a
longer window would be forgotten while it still counts.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_WINDOW = timedelta(hours=1)
#: IPv6 is counted per /64: one subscriber (a home, a cloud VM) is routed a whole /64
#: (RFC 6177 §2, RIPE-690), so per-address counting would give it 2**64 budgets.
IPV6_PREFIX = 64
#: Keys from the request (a claimed client_id) are kept as they are up to this length and
#: hashed past it, so a counter row stays small whatever a client sends.
MAX_KEY = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Limit:
    """`requests` per `window` for each key. `name` prefixes the counter's bucket."""

    name: str
    requests: int
    window: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        seconds = self.window.total_seconds()
        if self.requests < 1:
            raise ValueError(f"{self.name}: a limit allows at least one request")
        if not (1 <= seconds <= MAX_WINDOW.total_seconds()) or seconds != int(seconds):
            raise ValueError(f"{self.name}: a window is whole seconds, at most an hour")
        if MAX_WINDOW.total_seconds() % seconds:
            raise ValueError(f"{self.name}: a window must divide an hour (windows align)")

    def bucket(self, key: str) -> Bucket:
        return Bucket(limit=self, key=key)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bucket:
    limit: Limit
    key: str

    @property
    def name(self) -> str:
        return f"{self.limit.name}:{self.key}" if self.key else self.limit.name


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the window `now` falls in (windows align to the hour)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    seconds = int(window.total_seconds())
    into_hour = int((now - hour).total_seconds())
    return hour + timedelta(seconds=into_hour - into_hour % seconds)


def retry_after(now: datetime, window: timedelta) -> int:
    """Whole seconds until the window `now` falls in ends (at least 1): `Retry-After`."""
    remaining = (window_start(now, window) + window - now).total_seconds()
    return max(1, math.ceil(remaining))


def address_key(address: str | None) -> str:
    """An address as a counter key: IPv6 by its /64, anything else as it is."""
    if not address:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return bounded_key(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)


def bounded_key(value: str) -> str:
    """A key taken from the request, short and printable enough to be stored."""
    if len(value) <= MAX_KEY and value.isascii() and value.isprintable():
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]

"""Short-lived, single-use server-side entries under unguessable keys.

The SAML side keeps AuthnRequests here while the person fills in the login form, and the OIDC
side keeps authorization requests, codes and access tokens. The login form carries only the
key, never the ACS URL, redirect URI or request ID: a form field can be edited, and those
decide where a signed login goes.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["MAX_PENDING", "PENDING_TTL_SECONDS", "PendingRequests"]

PENDING_TTL_SECONDS = 600.0
MAX_PENDING = 10_000

T = TypeVar("T")


class PendingRequests(Generic[T]):
    """Entries under 256-bit random keys, expiring after `ttl` seconds and capped at `limit`
    (oldest evicted first) so anonymous requests cannot grow memory without bound.

    `clock` returns seconds; the default is monotonic, and the OIDC side passes its injected
    clock so tests can let a code expire.
    """

    def __init__(
        self,
        *,
        ttl: float = PENDING_TTL_SECONDS,
        limit: int = MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._limit = limit
        self._clock = clock
        self._entries: OrderedDict[str, tuple[T, float]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, value: T) -> str:
        """Keep `value`; returns its key (a form's hidden field, a code, an access token)."""
        key = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._purge(now)
            while len(self._entries) >= self._limit:
                self._entries.popitem(last=False)
            self._entries[key] = (value, now)
        return key

    def peek(self, key: str) -> T | None:
        """The value under `key` if still there, left in place (to re-show a form, or to
        answer userinfo for as long as an access token lives)."""
        now = self._clock()
        with self._lock:
            self._purge(now)
            entry = self._entries.get(key)
        return self._live(entry, now)

    def pop(self, key: str) -> T | None:
        """The value under `key`, removed: one login answers one request, a code is redeemed
        once."""
        now = self._clock()
        with self._lock:
            self._purge(now)
            entry = self._entries.pop(key, None)
        return self._live(entry, now)

    def _live(self, entry: tuple[T, float] | None, now: float) -> T | None:
        # Checked per entry too: `_purge` stops at the first live entry, and an injected clock
        # that steps back can put an older entry behind a newer one.
        if entry is None or now - entry[1] >= self._ttl:
            return None
        return entry[0]

    def _purge(self, now: float) -> None:
        # Entries are in insertion order, so expired ones are at the front.
        while self._entries:
            _, (_, created) = next(iter(self._entries.items()))
            if now - created < self._ttl:
                break
            self._entries.popitem(last=False)

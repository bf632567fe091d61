"""AuthnRequests waiting for the person to press "Log in", kept server side.

The login form carries only an unguessable key, never the ACS URL or the request ID: a form
field can be edited, and the ACS URL decides where a signed assertion goes.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from idp_simulator.authn_request import AuthnRequestInfo

__all__ = ["MAX_PENDING", "PENDING_TTL_SECONDS", "PendingRequests"]

PENDING_TTL_SECONDS = 600.0
MAX_PENDING = 10_000


class PendingRequests:
    """Single-use entries under 256-bit random keys, expiring after `ttl` seconds and capped at
    `limit` (oldest evicted first) so anonymous requests cannot grow memory without bound."""

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
        self._entries: OrderedDict[str, tuple[AuthnRequestInfo, float]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, request: AuthnRequestInfo) -> str:
        """Keep `request`; returns the key for the login form's hidden field."""
        key = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._purge(now)
            while len(self._entries) >= self._limit:
                self._entries.popitem(last=False)
            self._entries[key] = (request, now)
        return key

    def peek(self, key: str) -> AuthnRequestInfo | None:
        """The request under `key` if still pending, left in place (to re-show the form)."""
        with self._lock:
            self._purge(self._clock())
            entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def pop(self, key: str) -> AuthnRequestInfo | None:
        """The request under `key`, removed: one login answers one request."""
        with self._lock:
            self._purge(self._clock())
            entry = self._entries.pop(key, None)
        return None if entry is None else entry[0]

    def _purge(self, now: float) -> None:
        # Entries are in insertion order, so expired ones are at the front.
        while self._entries:
            _, (_, created) = next(iter(self._entries.items()))
            if now - created < self._ttl:
                break
            self._entries.popitem(last=False)

"""Portal links become portal sessions (SECURITY-CATALOGUE T-01..T-07, T-12).

The link's token is spent by a POST from Gatehouse's own interstitial page, never by the GET
that opens it, so a mail scanner's pre-fetch uses nothing (T-03). The session gets a new
256-bit secret (never the link's token, and never a cookie the browser already had: T-12);
only its hash is stored. It ends after `SESSION_TTL` however active (absolute), after
`IDLE_TTL` without a request, or when its link is revoked (T-06).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from broker.clock import Clock
from broker.domain.opaque import hash_secret, new_secret
from broker.domain.portal import PortalSession
from broker.management import Management
from broker.management.errors import ResourceNotFound
from broker.store import NotFound, Store

SESSION_TTL = timedelta(hours=8)
IDLE_TTL = timedelta(minutes=30)
#: Activity is written at most this often: a page view need not be a database write.
TOUCH_EVERY = timedelta(minutes=1)
#: Link redemptions per client address per minute (T-07: guessing is hopeless at 256 bits,
#: but a flood of lookups should still cost the flooder, not us).
REDEEMS_PER_MINUTE = 30


class NoSession(Exception):
    """No live portal session: absent, expired, idle, or its link revoked."""


class LinkRefused(Exception):
    """The link cannot be used (unknown, expired, revoked or used up: one answer for all)."""


class TooManyAttempts(Exception):
    pass


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session: PortalSession
    #: The cookie value; only its hash is stored.
    secret: str


class Sessions:
    def __init__(self, *, store: Store, clock: Clock, management: Management) -> None:
        self._store = store
        self._clock = clock
        self._management = management

    def redeem(self, token: str, *, client: str) -> OpenedSession:
        self._limit(client)
        try:
            link = self._management.portal_links.redeem(token)
        except ResourceNotFound as exc:
            raise LinkRefused from exc
        now = self._clock.now()
        secret = new_secret()
        session = PortalSession(
            id_hash=hash_secret(secret),
            organization_id=link.organization_id,
            link_id=link.id,
            features=link.enabled_features,
            connection_id=link.connection_id,
            profile_id=link.profile_id,
            csrf_token=new_secret(),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_TTL,
        )
        with self._store.unit_of_work() as uow:
            uow.portal_sessions.add(session)
        return OpenedSession(session=session, secret=secret)

    def current(self, secret: str | None) -> PortalSession:
        if not secret:
            raise NoSession
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            try:
                session = uow.portal_sessions.get_live(hash_secret(secret), now=now, idle=IDLE_TTL)
            except NotFound as exc:
                raise NoSession from exc
            if now - session.last_seen_at >= TOUCH_EVERY:
                uow.portal_sessions.touch(session.id_hash, now=now)
        return session

    def end(self, secret: str | None) -> None:
        if secret:
            with self._store.unit_of_work() as uow:
                uow.portal_sessions.delete(hash_secret(secret))

    def _limit(self, client: str) -> None:
        now = self._clock.now()
        window = now.replace(second=0, microsecond=0)
        with self._store.unit_of_work() as uow:
            count = uow.rate_limits.hit(f"portal-redeem:{client}", window_start=window)
        if count > REDEEMS_PER_MINUTE:
            raise TooManyAttempts

"""Portal links become portal sessions (docs/security.md T-01..T-07, T-12).

The link's token is spent by a POST from Gatehouse's own interstitial page, never by the GET
that opens it, so a mail scanner's pre-fetch uses nothing (T-03). The session gets a new
256-bit secret (never the link's token, and never a cookie the browser already had: T-12);
only its hash is stored. It ends after `SESSION_TTL` however active (absolute), after
`IDLE_TTL` without a request, or when its link is revoked (T-06).

Guessing (T-07): redemptions are limited per client address and for all clients together
(`_limit`, in `broker.limiter`'s counters shared by every instance). A link's token and a
session's cookie are both looked up by their SHA-256 in the database's index, never
compared as they are: a lookup's timing can at most tell how much of a guess's *hash*
matches a stored hash, which says nothing about a token the guesser does not have (they
cannot choose a hash's prefix). That is the constant-time property that matters here;
`hmac.compare_digest` would add nothing to an equality the database answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from broker.clock import Clock
from broker.limiter import RateLimiter
from broker.management import Management
from broker.management.errors import ResourceNotFound
from broker.metrics import recording as metrics
from broker.model.management import PortalLink
from broker.model.opaque import hash_secret, new_secret
from broker.model.portal import PortalSession
from broker.model.rate_limits import Limit, address_key
from broker.store import NotFound, Store

SESSION_TTL = timedelta(hours=8)
IDLE_TTL = timedelta(minutes=30)
#: Activity is written at most this often: a page view need not be a database write.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class RedeemLimits:
    """Link redemptions per minute (defaults: `broker.settings_rate_limits.RateLimitSettings`). Per
    client address (T-07: guessing is hopeless at 256 bits, but a flood of lookups should
    still cost the flooder, not us), and for all clients together: a guesser spread over
    many addresses is slowed too. The latter is far above what people opening their links
    do (a link is opened a few times a day), so reaching it is an attack, whose price is
    that links open a minute later."""

    per_address: int
    everyone: int


class NoSession(Exception):
    """No live portal session: absent, expired, idle, or its link revoked."""


class LinkRefused(Exception):
    """The link cannot be used (unknown, expired, revoked or used up: one answer for all)."""


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session: PortalSession
    #: The cookie value; only its hash is stored.
    secret: str


class Sessions:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        management: Management,
        limiter: RateLimiter,
        limits: RedeemLimits,
    ) -> None:
        self._store = store
        self._clock = clock
        self._management = management
        self._limiter = limiter
        self._per_address = Limit(name="portal-redeem", requests=limits.per_address)
        self._everyone = Limit(name="portal-redeem-all", requests=limits.everyone)

    def redeem(self, token: str, *, client: str) -> OpenedSession:
        """The link's use, its event and the session it opens commit together (one unit of
        work in `PortalLinks.redeem`): a failure leaves the use unspent."""
        self._limit(client)
        secret = new_secret()
        opened: list[PortalSession] = []

        def open_session(link: PortalLink) -> PortalSession:
            now = self._clock.now()
            opened.append(
                PortalSession(
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
            )
            return opened[0]

        try:
            self._management.portal_links.redeem(token, client=client, open_session=open_session)
        except ResourceNotFound as exc:
            raise LinkRefused from exc
        return OpenedSession(session=opened[0], secret=secret)

    def current(self, secret: str | None, *, touch: bool = True) -> PortalSession:
        """`touch=False` for what a page's script asks on its own (a test's status): a
        page left open in a tab must not keep its session from going idle."""
        if not secret:
            raise NoSession
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            try:
                session = uow.portal_sessions.get_live(hash_secret(secret), now=now, idle=IDLE_TTL)
            except NotFound as exc:
                raise NoSession from exc
            if touch and now - session.last_seen_at >= TOUCH_EVERY:
                uow.portal_sessions.touch(session.id_hash, now=now)
        return session

    def end(self, secret: str | None) -> None:
        if secret:
            with self._store.unit_of_work() as uow:
                uow.portal_sessions.delete(hash_secret(secret))

    def _limit(self, client: str) -> None:
        """Before the link is looked up, so a refused attempt costs a counter, not a lookup.

        The limiter counts the client's bucket first and stops there when it is over: an
        attempt over its client's own limit is not counted towards everyone's, so one
        flooding address cannot close the portal's door to all."""
        refused = self._limiter.check(
            self._per_address.bucket(address_key(client)), self._everyone.bucket("")
        )
        if refused is not None:
            metrics.rate_limited("portal_link")
            raise TooManyAttempts(refused.retry_after)

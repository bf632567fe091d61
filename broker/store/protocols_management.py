"""The management side's repositories: API clients, self-service profiles, portal links, and
the request bookkeeping (idempotency, rate limits) every broker process must share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from broker.model.management import (
    ManagementClient,
    PortalLink,
    SelfServiceProfile,
    StoredResponse,
)

PageKey = tuple[datetime, str]

#: The longest rate-limit window any limiter may use: a window is purged this long after
#: it started (`RateLimitRepo.purge_expired`), so a longer one would be forgotten, and its
#: count restarted, before it ended.
MAX_WINDOW = timedelta(hours=1)


class ManagementClientRepo(Protocol):
    def add(self, client: ManagementClient) -> None:
        """AlreadyExists if the client_id is taken."""
        ...

    def get(self, client_id: str) -> ManagementClient:
        """NotFound if absent (a revoked client is returned; the caller refuses it)."""
        ...

    def list(self) -> Sequence[ManagementClient]: ...

    def revoke(self, client_id: str, *, now: datetime) -> None: ...

    def save(self, client: ManagementClient) -> None:
        """Store its secrets and disabled time; NotFound if absent."""
        ...


class ProfileRepo(Protocol):
    def add(self, profile: SelfServiceProfile) -> None: ...

    def get(self, profile_id: str) -> SelfServiceProfile: ...

    def page(self, *, after: PageKey | None, limit: int) -> Sequence[SelfServiceProfile]: ...

    def save(self, profile: SelfServiceProfile) -> None:
        """NotFound if absent."""
        ...

    def delete(self, profile_id: str) -> None:
        """Links that used it keep working without a profile (the portal's defaults)."""
        ...


class PortalLinkRepo(Protocol):
    def add(self, link: PortalLink) -> None: ...

    def get(self, organization_id: str, link_id: str) -> PortalLink:
        """NotFound if absent or another organization's."""
        ...

    def page(
        self, organization_id: str, *, after: PageKey | None, limit: int
    ) -> Sequence[PortalLink]: ...

    def revoke(self, organization_id: str, link_id: str, *, now: datetime) -> PortalLink:
        """Idempotent; NotFound if absent or another organization's."""
        ...

    def use(self, token_hash: str, *, now: datetime) -> PortalLink:
        """Atomically count one use of a live link (unrevoked, unexpired, uses left) and
        return it; NotFound otherwise. Of concurrent callers on a link's last use, exactly
        one gets it."""
        ...

    def find(self, token_hash: str) -> PortalLink:
        """The link with this token hash, usable or not; NotFound if none has it. Only to
        say why `use` refused a token (the refusal's audit event, T-03): never a way in."""
        ...

    def purge_ended(self, before: datetime, *, limit: int) -> int:
        """Delete at most `limit` links that expired, or were revoked, at or before
        `before` (the caller's `now` minus a retention: the management API lists spent links
        for a while, so they do not vanish the moment they end), with their sessions.
        Returns how many links it deleted; see `FlowRepo.purge_expired` for batches."""
        ...


class IdempotencyRepo(Protocol):
    def begin(
        self, client_id: str, key: str, *, request_hash: str, now: datetime, expires_at: datetime
    ) -> StoredResponse | None:
        """None when this (client, key) is new (it is now reserved); otherwise what was
        stored: a finished response (status set) or one still in progress (status 0)."""
        ...

    def finish(self, client_id: str, key: str, response: StoredResponse) -> None: ...

    def release(self, client_id: str, key: str) -> None:
        """Forget a reservation whose request failed before answering (a retry may run)."""
        ...

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        """Delete at most `limit` keys that expired at or before `now`, finished or still
        in progress (an expired reservation is replaced by the next `begin` anyway)."""
        ...


class RateLimitRepo(Protocol):
    """Request counters per (bucket, fixed window), for `broker.limiter`. Windows are at
    most `MAX_WINDOW` (one hour) long: the purge deletes windows that started more than an
    hour ago, so a longer window would see its count restart while it still applies."""

    def hit(self, bucket: str, *, window_start: datetime, weight: int = 1) -> int:
        """Count `weight` requests in (bucket, window) and return the window's count so
        far; concurrent hits are all counted."""
        ...

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        """Delete at most `limit` windows that started `MAX_WINDOW` or more before `now`:
        every window has ended by then."""
        ...

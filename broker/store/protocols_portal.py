"""The admin portal's repositories: its sessions and the results of its test logins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from broker.domain.portal import ConnectionTest, PortalSession


class PortalSessionRepo(Protocol):
    def add(self, session: PortalSession) -> None: ...

    def get_live(self, id_hash: str, *, now: datetime, idle: timedelta) -> PortalSession:
        """The session if it is live at `now`: before its absolute end, used within `idle`,
        and its portal link not revoked (revoking a link ends its sessions, T-06), nor its
        organization deleted. NotFound otherwise, whichever it is."""
        ...

    def touch(self, id_hash: str, *, now: datetime) -> None:
        """Record activity (the idle limit counts from the last)."""
        ...

    def delete(self, id_hash: str) -> None:
        """Sign out; no error if absent."""
        ...


class ConnectionTestRepo(Protocol):
    def add(self, test: ConnectionTest) -> None: ...

    def get(self, organization_id: str, test_id: str) -> ConnectionTest:
        """NotFound if absent or another organization's."""
        ...

    def latest(
        self, organization_id: str, connection_id: str, *, limit: int
    ) -> Sequence[ConnectionTest]:
        """The connection's most recent tests, newest first."""
        ...

    def passed(self, organization_id: str, connection_id: str, config_digest: str) -> bool:
        """Whether a test of exactly these settings passed (activation requires one)."""
        ...

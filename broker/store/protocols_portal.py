"""The admin portal's repositories: its sessions and the results of its test logins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from broker.model.portal import ConnectionTest, PortalSession


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

    def purge_ended(self, *, now: datetime, idle: timedelta, limit: int) -> int:
        """Delete at most `limit` sessions that ended at `now`: past their absolute end, or
        unused for `idle` (the cut-offs of `get_live`, to the tick). Sessions of a revoked
        link go when the link is purged."""
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

    def newest_passed(self, organization_id: str, connection_id: str) -> ConnectionTest | None:
        """The connection's newest passed test, of whatever settings; None if none ever
        passed. `purge_before` always keeps it, so "ever passed" stays answerable."""
        ...

    def passed(self, organization_id: str, connection_id: str, config_digest: str) -> bool:
        """Whether a test of exactly these settings passed (activation requires one)."""
        ...

    def purge_before(self, before: datetime, *, limit: int) -> int:
        """Delete at most `limit` tests created at or before `before` (the caller's `now`
        minus a retention), except each connection's newest test and its newest passed
        test, however old.

        Why those two: the portal shows the newest result on the test step, and activation
        and a draft's switch-over look for a passed test of the current settings
        (`passed`). The newest passed test is that test unless a later passed test was of
        other settings (a draft since discarded); then the settings are tested again, which
        after a month is no worse a check than a test that old. Keeping the newest per
        connection, never "every passed test of the current digest", keeps the rule in SQL
        (the digest is computed from the settings in Python) and the count bounded: at most
        two old tests per connection. Neither kept test can stop being kept by a
        concurrent purge, so purgers in parallel agree."""
        ...

"""Which connector code serves which connection kind, and the cache of opened connectors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from broker.errors import ConfigError
from broker.http import Result
from broker.model.records import Connection
from broker.upstream.base import (
    ConnectorConfig,
    ConnectorDeps,
    RefreshesAhead,
    UpstreamConnector,
    UpstreamError,
)
from broker.upstream.urls import endpoints_for

log = logging.getLogger(__name__)

ConnectorTypes = Mapping[str, type[ConnectorConfig]]

#: The refresh-ahead task refetches what a login would refetch within this: longer than
#: the task's period (the jobs tick, a minute by default) so a document is renewed before
#: it is due, even when a tick comes late.
REFRESH_AHEAD = timedelta(minutes=10)
#: A connector no login has used for this long is dropped from the cache, so the task does
#: not keep reading the documents of a deleted connection, or of one nobody uses, forever.
IDLE_AFTER = timedelta(days=1)


@dataclass(slots=True)
class _Opened:
    version: int
    connector: UpstreamConnector
    used_at: datetime


class ConnectorCache:
    """Opened connectors by (connection id, version), as dex's `connectors.Cache`.

    Opening may be expensive (parsing certificates, fetching discovery). A connection edited
    in the portal gets a new version, so the next login reopens it; stale entries for the
    same id are dropped then.
    """

    def __init__(self, types: ConnectorTypes, deps: ConnectorDeps, *, issuer: str) -> None:
        self._types = types
        self._deps = deps
        self._issuer = issuer
        self._lock = threading.Lock()
        self._opened: dict[str, _Opened] = {}

    def get_settings(self, connection: Connection) -> UpstreamConnector:
        """A connector for settings that are not (yet) the connection's version: a portal
        test of a draft. Opened for each use, never cached: a test is rare, and a draft
        changes between tests."""
        if connection.draft is not None and connection.config is connection.draft:
            return open_connection(self._types, connection, self._deps, issuer=self._issuer)
        return self.get(connection)

    def describe(self, connection: Connection) -> Result | None:
        """The document the connection publishes, also while its settings are unfinished."""
        try:
            return self.get(connection).describe()
        except ConfigError:
            config_type = self._types.get(connection.kind)
            if config_type is None:
                return None
            endpoints = endpoints_for(self._issuer, connection.id, connection.kind)
            return config_type.describe_unfinished(connection.config, endpoints)

    def get(self, connection: Connection) -> UpstreamConnector:
        now = self._deps.clock.now()
        with self._lock:
            cached = self._opened.get(connection.id)
            if cached is not None and cached.version == connection.version:
                cached.used_at = now
                return cached.connector
        connector = open_connection(self._types, connection, self._deps, issuer=self._issuer)
        with self._lock:
            self._opened[connection.id] = _Opened(connection.version, connector, now)
        return connector

    def refresh_ahead(self, stop: Callable[[], bool] = lambda: False) -> str:
        """The instance's refresh-ahead task (issue 16): every connector a login used in
        the last day renews its IdP documents before they are due, so logins do not wait on
        discovery or JWKS fetches, and an IdP's outage shows here before a person meets it.
        Per instance, not cluster-wide: each instance's caches are its own. One connection
        at a time, each in its own bulkhead slot under the outbound deadline; a failure is
        logged and the next connection goes on. A summary for the log."""
        now = self._deps.clock.now()
        with self._lock:
            idle = [cid for cid, o in self._opened.items() if now - o.used_at >= IDLE_AFTER]
            for cid in idle:
                del self._opened[cid]
            due = [(cid, o.connector) for cid, o in self._opened.items()]
        refreshed = failed = 0
        for connection_id, connector in due:
            if stop():
                break
            if not isinstance(connector, RefreshesAhead):
                continue
            try:
                connector.refresh_ahead(REFRESH_AHEAD)
                refreshed += 1
            except UpstreamError as exc:
                failed += 1
                log.warning(
                    "refresh ahead failed connection=%s reason=%s: %r",
                    connection_id, exc.recorded_reason, exc.detail[:300],
                )  # fmt: skip
        return f"refreshed={refreshed} failed={failed} dropped={len(idle)}"


def open_connection(
    types: ConnectorTypes, connection: Connection, deps: ConnectorDeps, *, issuer: str
) -> UpstreamConnector:
    config_type = types.get(connection.kind)
    if config_type is None:
        raise ConfigError("kind", f"no connector for kind {connection.kind!r}")
    endpoints = endpoints_for(issuer, connection.id, connection.kind)
    return config_type.parse(connection.config).open(deps, endpoints)

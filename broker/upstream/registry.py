"""Which connector code serves which connection kind, and the cache of opened connectors."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from broker.errors import ConfigError
from broker.http import Result
from broker.model.records import Connection
from broker.upstream.base import ConnectorConfig, ConnectorDeps, UpstreamConnector
from broker.upstream.urls import endpoints_for

ConnectorTypes = Mapping[str, type[ConnectorConfig]]


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
        self._opened: dict[str, tuple[int, UpstreamConnector]] = {}

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
        with self._lock:
            cached = self._opened.get(connection.id)
            if cached is not None and cached[0] == connection.version:
                return cached[1]
        connector = open_connection(self._types, connection, self._deps, issuer=self._issuer)
        with self._lock:
            self._opened[connection.id] = (connection.version, connector)
        return connector


def open_connection(
    types: ConnectorTypes, connection: Connection, deps: ConnectorDeps, *, issuer: str
) -> UpstreamConnector:
    config_type = types.get(connection.kind)
    if config_type is None:
        raise ConfigError("kind", f"no connector for kind {connection.kind!r}")
    endpoints = endpoints_for(issuer, connection.id, connection.kind)
    return config_type.parse(connection.config).open(deps, endpoints)

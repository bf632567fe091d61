"""Reading the results of a connection's test logins, for the portal's pages.

The results are written by the login service when the IdP's answer to a test login comes
back (`broker.login.trial_logins`); nothing here writes. Reads are scoped to the
organization like every other read: another organization's connection is "not found".
"""

from __future__ import annotations

from broker.management import scoped
from broker.management.deps import ManagementDeps
from broker.management.errors import ResourceNotFound
from broker.model.portal import ConnectionTest
from broker.store import NotFound

#: More than a page shows; the test step lists the last few.
MAX_LATEST = 50


class ConnectionTests:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def get(self, organization_id: str, test_id: str) -> ConnectionTest:
        """One test's result; another organization's, or none, is "not found" alike (T-04).
        Its report holds the IdP's decoded answer: only that organization may read it."""
        with self._deps.store.unit_of_work() as uow:
            try:
                return uow.connection_tests.get(organization_id, test_id)
            except NotFound as exc:
                raise ResourceNotFound(f"connection test {test_id}") from exc

    def latest(
        self, organization_id: str, connection_id: str, *, limit: int = 5
    ) -> list[ConnectionTest]:
        """The connection's most recent test logins, newest first."""
        with self._deps.store.unit_of_work() as uow:
            scoped.connection(uow, organization_id, connection_id)
            found = uow.connection_tests.latest(
                organization_id, connection_id, limit=max(1, min(limit, MAX_LATEST))
            )
            return list(found)

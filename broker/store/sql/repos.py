"""`SqlStore`: the `Store` protocol over one SQLAlchemy engine.

A unit of work is one `Connection` in one database transaction; every repository of the
unit of work shares it, so a rotation, or a code redemption and its token issue, commit or
roll back together. No ORM `Session`: the repositories run Core statements (see
`statements`), so there is no identity map or flush to keep consistent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy.engine import Connection, Engine

from broker.store.sql.repos_audit import SqlAuditRepo, SqlReplayRepo
from broker.store.sql.repos_connections import SqlConnectionRepo, SqlIdentityRepo
from broker.store.sql.repos_directories import SqlDirectoryRepo
from broker.store.sql.repos_directory_resources import SqlDirectoryGroupRepo, SqlDirectoryUserRepo
from broker.store.sql.repos_jobs import (
    SqlCertificateNoticeRepo,
    SqlDomainRecheckRepo,
    SqlJobRunRepo,
)
from broker.store.sql.repos_keys import SqlKeyRepo
from broker.store.sql.repos_management import (
    SqlManagementClientRepo,
    SqlPortalLinkRepo,
    SqlProfileRepo,
)
from broker.store.sql.repos_oauth import (
    SqlAccessTokenRepo,
    SqlClientRepo,
    SqlCodeRepo,
    SqlFlowRepo,
)
from broker.store.sql.repos_portal import SqlConnectionTestRepo, SqlPortalSessionRepo
from broker.store.sql.repos_requests import SqlIdempotencyRepo, SqlRateLimitRepo
from broker.store.sql.repos_saml_metadata import (
    SqlSamlCertificateUseRepo,
    SqlSamlMetadataRefreshRepo,
)
from broker.store.sql.repos_tenancy import SqlDomainRepo, SqlOrganizationRepo
from broker.store.sql.repos_webhooks import SqlWebhookDeliveryRepo, SqlWebhookEndpointRepo
from broker.store.sql.schema import require_head


class SqlUnitOfWork:
    """Repositories are built on first use: most units of work touch one or two."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @cached_property
    def clients(self) -> SqlClientRepo:
        return SqlClientRepo(self._connection)

    @cached_property
    def flows(self) -> SqlFlowRepo:
        return SqlFlowRepo(self._connection)

    @cached_property
    def codes(self) -> SqlCodeRepo:
        return SqlCodeRepo(self._connection)

    @cached_property
    def access_tokens(self) -> SqlAccessTokenRepo:
        return SqlAccessTokenRepo(self._connection)

    @cached_property
    def organizations(self) -> SqlOrganizationRepo:
        return SqlOrganizationRepo(self._connection)

    @cached_property
    def domains(self) -> SqlDomainRepo:
        return SqlDomainRepo(self._connection)

    @cached_property
    def connections(self) -> SqlConnectionRepo:
        return SqlConnectionRepo(self._connection)

    @cached_property
    def identities(self) -> SqlIdentityRepo:
        return SqlIdentityRepo(self._connection)

    @cached_property
    def keys(self) -> SqlKeyRepo:
        return SqlKeyRepo(self._connection)

    @cached_property
    def audit(self) -> SqlAuditRepo:
        return SqlAuditRepo(self._connection)

    @cached_property
    def replays(self) -> SqlReplayRepo:
        return SqlReplayRepo(self._connection)

    @cached_property
    def management_clients(self) -> SqlManagementClientRepo:
        return SqlManagementClientRepo(self._connection)

    @cached_property
    def profiles(self) -> SqlProfileRepo:
        return SqlProfileRepo(self._connection)

    @cached_property
    def portal_links(self) -> SqlPortalLinkRepo:
        return SqlPortalLinkRepo(self._connection)

    @cached_property
    def idempotency(self) -> SqlIdempotencyRepo:
        return SqlIdempotencyRepo(self._connection)

    @cached_property
    def rate_limits(self) -> SqlRateLimitRepo:
        return SqlRateLimitRepo(self._connection)

    @cached_property
    def portal_sessions(self) -> SqlPortalSessionRepo:
        return SqlPortalSessionRepo(self._connection)

    @cached_property
    def connection_tests(self) -> SqlConnectionTestRepo:
        return SqlConnectionTestRepo(self._connection)

    @cached_property
    def webhook_endpoints(self) -> SqlWebhookEndpointRepo:
        return SqlWebhookEndpointRepo(self._connection)

    @cached_property
    def webhook_deliveries(self) -> SqlWebhookDeliveryRepo:
        return SqlWebhookDeliveryRepo(self._connection)

    @cached_property
    def job_runs(self) -> SqlJobRunRepo:
        return SqlJobRunRepo(self._connection)

    @cached_property
    def domain_rechecks(self) -> SqlDomainRecheckRepo:
        return SqlDomainRecheckRepo(self._connection)

    @cached_property
    def certificate_notices(self) -> SqlCertificateNoticeRepo:
        return SqlCertificateNoticeRepo(self._connection)

    @cached_property
    def saml_certificate_use(self) -> SqlSamlCertificateUseRepo:
        return SqlSamlCertificateUseRepo(self._connection)

    @cached_property
    def saml_metadata_refreshes(self) -> SqlSamlMetadataRefreshRepo:
        return SqlSamlMetadataRefreshRepo(self._connection)

    @cached_property
    def directories(self) -> SqlDirectoryRepo:
        return SqlDirectoryRepo(self._connection)

    @cached_property
    def directory_users(self) -> SqlDirectoryUserRepo:
        return SqlDirectoryUserRepo(self._connection)

    @cached_property
    def directory_groups(self) -> SqlDirectoryGroupRepo:
        return SqlDirectoryGroupRepo(self._connection)

    def commit(self) -> None:
        """Commit; the next statement begins a new transaction."""
        self._connection.commit()


class SqlStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def check(self) -> None:
        require_head(self._engine)

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        with self._engine.connect() as connection:
            try:
                yield SqlUnitOfWork(connection)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

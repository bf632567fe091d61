"""`SqlStore`: the `Store` protocol over one SQLAlchemy engine.

A unit of work is one `Session`, hence one database transaction; every repository of the
unit of work shares it, so a rotation, or a code redemption and its token issue, commit or
roll back together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from broker.store.sql.repos_audit import SqlAuditRepo, SqlReplayRepo
from broker.store.sql.repos_keys import SqlKeyRepo
from broker.store.sql.repos_oauth import (
    SqlAccessTokenRepo,
    SqlClientRepo,
    SqlCodeRepo,
    SqlFlowRepo,
)
from broker.store.sql.repos_tenancy import (
    SqlConnectionRepo,
    SqlDomainRepo,
    SqlIdentityRepo,
    SqlOrganizationRepo,
)


class SqlUnitOfWork:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.clients = SqlClientRepo(session)
        self.flows = SqlFlowRepo(session)
        self.codes = SqlCodeRepo(session)
        self.access_tokens = SqlAccessTokenRepo(session)
        self.organizations = SqlOrganizationRepo(session)
        self.domains = SqlDomainRepo(session)
        self.connections = SqlConnectionRepo(session)
        self.identities = SqlIdentityRepo(session)
        self.keys = SqlKeyRepo(session)
        self.audit = SqlAuditRepo(session)
        self.replays = SqlReplayRepo(session)

    def commit(self) -> None:
        self._session.commit()


class SqlStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        with Session(self._engine, autoflush=False, expire_on_commit=False) as session:
            try:
                yield SqlUnitOfWork(session)
            except BaseException:
                session.rollback()
                raise
            session.commit()

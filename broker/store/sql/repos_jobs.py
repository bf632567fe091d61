"""The scheduled jobs' state over SQL (`broker.store.protocols_jobs`).

`claim` is one UPDATE whose WHERE holds the whole condition (due, and no live lease):
PostgreSQL re-evaluates it on the row a concurrent claimer just committed, and SQLite runs
one writer at a time, so on both the row count is the verdict and no FOR UPDATE is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select, update
from sqlalchemy.engine import Connection, Row

from broker.store.protocols_jobs import DomainRecheck, JobRun
from broker.store.sql.statements import affected, all_rows, first, insert_ignoring_duplicates
from broker.store.sql.tables_background import certificate_notices, domain_rechecks, job_runs

_AT = job_runs.c.next_run_at.type
_JOB = job_runs.c.name == bindparam("p_name")
_ENSURE_JOB = insert_ignoring_duplicates(job_runs)
_CLAIM = (
    update(job_runs)
    .where(
        _JOB,
        job_runs.c.next_run_at <= bindparam("p_now", type_=_AT),
        or_(
            job_runs.c.leased_until.is_(None),
            job_runs.c.leased_until <= bindparam("p_now", type_=_AT),
        ),
    )
    .values(leased_until=bindparam("p_until", type_=_AT), leased_by=bindparam("p_owner"))
)
_FINISH = (
    update(job_runs)
    .where(_JOB, job_runs.c.leased_by == bindparam("p_owner"))
    .values(
        leased_until=None,
        leased_by=None,
        next_run_at=bindparam("p_next", type_=_AT),
        last_error=bindparam("p_error"),
    )
)
_FINISH_OK = _FINISH.values(last_ok_at=bindparam("p_ok", type_=_AT))
_LIST_JOBS = select(job_runs).order_by(job_runs.c.name)


class SqlJobRunRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def ensure(self, name: str, *, first_run_at: datetime) -> None:
        row = {"name": name, "next_run_at": first_run_at}
        self._connection.execute(_ENSURE_JOB.on(self._connection), row)

    def claim(self, name: str, *, owner: str, now: datetime, lease_until: datetime) -> bool:
        params = {"p_name": name, "p_now": now, "p_until": lease_until, "p_owner": owner}
        return affected(self._connection, _CLAIM, params) == 1

    def finish(
        self, name: str, *, owner: str, next_run_at: datetime, ok_at: datetime | None,
        error: str | None,
    ) -> bool:  # fmt: skip
        params: dict[str, Any] = {
            "p_name": name, "p_owner": owner, "p_next": next_run_at, "p_error": error,
        }  # fmt: skip
        if ok_at is None:
            return affected(self._connection, _FINISH, params) == 1
        return affected(self._connection, _FINISH_OK, {**params, "p_ok": ok_at}) == 1

    def list(self) -> Sequence[JobRun]:
        return [_job_run(row) for row in all_rows(self._connection, _LIST_JOBS, {})]


_RECHECK = and_(
    domain_rechecks.c.organization_id == bindparam("p_organization_id"),
    domain_rechecks.c.name == bindparam("p_name"),
)
_GET_RECHECK = select(domain_rechecks).where(_RECHECK)
_START_RECHECK = insert_ignoring_duplicates(domain_rechecks)
_UPDATE_RECHECK = update(domain_rechecks).where(_RECHECK).values(last_reason=bindparam("p_reason"))
_CLEAR_RECHECK = delete(domain_rechecks).where(_RECHECK)


class SqlDomainRecheckRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, organization_id: str, name: str) -> DomainRecheck | None:
        row = first(self._connection, _GET_RECHECK, _key(organization_id, name))
        if row is None:
            return None
        return DomainRecheck(
            organization_id=row.organization_id,
            name=row.name,
            failing_since=row.failing_since,
            last_reason=row.last_reason,
        )

    def start(self, recheck: DomainRecheck) -> bool:
        row = {
            "organization_id": recheck.organization_id,
            "name": recheck.name,
            "failing_since": recheck.failing_since,
            "last_reason": recheck.last_reason,
        }
        return affected(self._connection, _START_RECHECK.on(self._connection), row) == 1

    def update_reason(self, organization_id: str, name: str, reason: str) -> None:
        affected(
            self._connection, _UPDATE_RECHECK, {**_key(organization_id, name), "p_reason": reason}
        )

    def clear(self, organization_id: str, name: str) -> bool:
        return affected(self._connection, _CLEAR_RECHECK, _key(organization_id, name)) == 1


_NOTE = insert_ignoring_duplicates(certificate_notices)


class SqlCertificateNoticeRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def note(
        self, connection_id: str, fingerprint: str, threshold_days: int, *, now: datetime
    ) -> bool:
        row = {
            "connection_id": connection_id,
            "fingerprint": fingerprint,
            "threshold_days": threshold_days,
            "noted_at": now,
        }
        return affected(self._connection, _NOTE.on(self._connection), row) == 1


def _key(organization_id: str, name: str) -> dict[str, str]:
    return {"p_organization_id": organization_id, "p_name": name}


def _job_run(row: Row[Any]) -> JobRun:
    return JobRun(
        name=row.name,
        next_run_at=row.next_run_at,
        leased_until=row.leased_until,
        leased_by=row.leased_by,
        last_ok_at=row.last_ok_at,
        last_error=row.last_error,
    )

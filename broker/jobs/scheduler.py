"""The cluster-wide schedule: each job runs once per period, whichever instances tick.

    tick       -> for each job: add its row if new (due at once); claim it if due
    claimed    -> run it in this thread; then release it, due again one period later
                  (a failed run: sooner, `RETRY_AFTER`, so a transient fault heals the same day)
    not claimed-> another instance holds it, or it is not due: nothing to do
    crash      -> the lease (`LEASE`) runs out and the next tick anywhere claims the job

A claim and a release are each a short unit of work of their own; the job's own work runs
between them, in its own units of work, so no transaction stays open while a job waits
on DNS or an IdP. A run that outlives its lease may overlap a second runner: the jobs are
written so that this costs a repeated check, never a repeated event (each event is guarded
by the state it changes, in the same unit of work).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from broker.clock import Clock
from broker.store import Store

log = logging.getLogger(__name__)

#: How long a claim holds a job: longer than any run should take (a few hundred domains
#: at the DNS lookup's 3 s deadline), short enough that a crashed runner's job resumes soon.
LEASE = timedelta(minutes=15)
#: After a failed run, the job is due again this soon (or after its period, if shorter).
RETRY_AFTER = timedelta(minutes=15)
_MAX_ERROR = 500

#: A job is told to stop by this callable turning true (shutdown); it returns soon after.
Stop = Callable[[], bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledJob:
    name: str
    interval: timedelta
    #: Does one run; its return value is logged (counts, say). Raises on failure.
    run: Callable[[Stop], object]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobOutcome:
    name: str
    ok: bool
    summary: str


def runner_id() -> str:
    """This process, as a lease holder: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


class Scheduler:
    def __init__(
        self, *, store: Store, clock: Clock, jobs: Sequence[ScheduledJob], owner: str | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._jobs = tuple(jobs)
        self._owner = owner or runner_id()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(job.name for job in self._jobs)

    def run_due(self, stop: Stop = lambda: False) -> list[JobOutcome]:
        """One tick: run each job this instance can claim, in order; the outcomes of
        those it ran."""
        outcomes = []
        for job in self._jobs:
            if stop():
                break
            outcome = self.run_if_due(job, stop)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def run_if_due(self, job: ScheduledJob, stop: Stop = lambda: False) -> JobOutcome | None:
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            uow.job_runs.ensure(job.name, first_run_at=now)
            claimed = uow.job_runs.claim(
                job.name, owner=self._owner, now=now, lease_until=now + LEASE
            )
        if not claimed:
            return None
        try:
            summary = str(job.run(stop))
        except Exception as exc:  # a job's failure is recorded, and the other jobs go on
            log.exception("scheduled job %s failed", job.name)
            error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
            self._release(job, ok=False, error=error)
            return JobOutcome(name=job.name, ok=False, summary=error)
        self._release(job, ok=True, error=None)
        log.info("scheduled job %s ran: %s", job.name, summary)
        return JobOutcome(name=job.name, ok=True, summary=summary)

    def _release(self, job: ScheduledJob, *, ok: bool, error: str | None) -> None:
        done = self._clock.now()
        wait = job.interval if ok else min(job.interval, RETRY_AFTER)
        with self._store.unit_of_work() as uow:
            kept = uow.job_runs.finish(
                job.name, owner=self._owner, next_run_at=done + wait,
                ok_at=done if ok else None, error=error,
            )  # fmt: skip
        if not kept:
            log.warning("scheduled job %s outlived its lease; another runner took it", job.name)

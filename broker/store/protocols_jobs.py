"""What the scheduled jobs (`broker.jobs`) remember between runs, and across instances.

- `JobRunRepo` is the cluster-wide schedule. `claim` is a conditional UPDATE: of any
  number of instances claiming a due job at once, on SQLite or PostgreSQL, exactly one
  gets it. A claim is a lease: a runner that dies leaves the job to whoever claims it
  after `leased_until`.
- `DomainRecheckRepo` holds verified domains whose TXT record went missing, and since
  when: the grace period is measured from that instant, whichever instance ran the check.
- `CertificateNoticeRepo.note` returns True once per (connection, certificate,
  threshold), ever: the expiry notice it guards is never repeated, even by two runners.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRun:
    name: str
    next_run_at: datetime
    leased_until: datetime | None = None
    leased_by: str | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainRecheck:
    organization_id: str
    name: str
    failing_since: datetime
    #: The lookup's machine code: `record_not_found` or `value_mismatch`.
    last_reason: str


class JobRunRepo(Protocol):
    def ensure(self, name: str, *, first_run_at: datetime) -> None:
        """Add the job's row, due at `first_run_at`, unless it exists (no error if so)."""
        ...

    def claim(self, name: str, *, owner: str, now: datetime, lease_until: datetime) -> bool:
        """Lease the job to `owner` if it is due at `now` and not leased (or its lease
        ended); True to exactly one of concurrent callers."""
        ...

    def finish(
        self, name: str, *, owner: str, next_run_at: datetime, ok_at: datetime | None,
        error: str | None,
    ) -> bool:  # fmt: skip
        """End `owner`'s lease: the job is next due at `next_run_at`; `ok_at` records a
        success, `error` a failure. False if the lease was no longer `owner`'s (it
        expired and another runner took the job)."""
        ...

    def list(self) -> Sequence[JobRun]: ...


class DomainRecheckRepo(Protocol):
    def get(self, organization_id: str, name: str) -> DomainRecheck | None: ...

    def start(self, recheck: DomainRecheck) -> bool:
        """Record a failing domain unless already recorded; True if this call did."""
        ...

    def update_reason(self, organization_id: str, name: str, reason: str) -> None: ...

    def clear(self, organization_id: str, name: str) -> bool:
        """Forget it; True if it was recorded."""
        ...


class CertificateNoticeRepo(Protocol):
    def note(
        self, connection_id: str, fingerprint: str, threshold_days: int, *, now: datetime
    ) -> bool:
        """True the first time (connection, fingerprint, threshold) is noted, ever."""
        ...

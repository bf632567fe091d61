"""The daily re-check of verified domains: a TXT record gone for a grace period unverifies.

A domain routes logins because its organization proved, once, that it controls the name.
If the name changes hands (sold, expired, handed to a subsidiary) the proof should not
outlive it, but a record deleted by mistake must not cut an organization's logins the next
morning either. So, for each domain verified by DNS:

    record found                 -> nothing; if it was failing: domain.verification_restored
    record missing or mismatched -> first time: failing from now, domain.verification_failing
                                    again within the grace: domain.verification_failing
                                    (days_left), so the app can remind the customer
                                    grace over: the domain is unverified, domain.unverified
                                    (logins for it stop routing: routing reads verified names)
    no answer (timeout, resolver error, this organization's DNS busy)
                                 -> inconclusive: nothing changes; a DNS outage neither
                                    starts a grace nor ends one

Domains the app team marked verified on their word (`assert-verified`, `verified_by` =
`operator_assertion`) have no record to look for and are never re-checked; nor are those
verified before Gatehouse recorded how (`verified_by` None).

Each change and its event share a unit of work, and each is guarded by the state it
changes (the `domain_rechecks` row, the domain's verified state), so a second runner
(a lease that ran out) repeats a lookup, never an event.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from broker.clock import Clock
from broker.jobs.scheduler import Stop
from broker.management.dns_txt import TxtLookup, TxtLookupError
from broker.management.domains import dns_record, record_found
from broker.model.records import AuditEvent, Domain
from broker.store import NotFound, Store, UnitOfWork
from broker.store.protocols_jobs import DomainRecheck as Failing
from broker.upstream.base import UpstreamUnavailable
from broker.upstream.bulkhead import Bulkheads

log = logging.getLogger(__name__)

NAME = "domain_recheck"
ACTOR = f"job:{NAME}"
#: The lookup's verdicts that mean "the proof is gone", as opposed to "DNS did not answer".
MISSING = frozenset({"record_not_found", "value_mismatch"})


class DomainRecheck:
    def __init__(
        self, *, store: Store, clock: Clock, dns: TxtLookup, bulkheads: Bulkheads,
        grace: timedelta,
    ) -> None:  # fmt: skip
        self._store = store
        self._clock = clock
        self._dns = dns
        self._bulkheads = bulkheads
        self._grace = grace

    def run(self, stop: Stop) -> dict[str, int]:
        """Check every domain verified by DNS; how many ended in each outcome."""
        with self._store.unit_of_work() as uow:
            due = [d for d in uow.domains.list() if _checked_by_dns(d)]
        outcomes: Counter[str] = Counter()
        for domain in due:
            if stop():
                break
            outcomes[self.check(domain)] += 1
        return dict(outcomes)

    def check(self, domain: Domain) -> str:
        """Look the record up and act on the answer: `ok`, `restored`, `failing`,
        `unverified`, `inconclusive` or `gone` (deleted or unverified meanwhile)."""
        verdict = self._look_up(domain)
        if verdict is None:
            return "inconclusive"
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            try:
                current = uow.domains.get(domain.organization_id, domain.name)
            except NotFound:
                return "gone"
            if not _checked_by_dns(current):
                uow.domain_rechecks.clear(current.organization_id, current.name)
                return "gone"
            if verdict == "found":
                return self._found(uow, current, now)
            return self._missing(uow, current, verdict, now)

    def _look_up(self, domain: Domain) -> str | None:
        """`found`, a MISSING reason, or None when DNS gave no verdict."""
        record = dns_record(domain)
        assert record is not None  # _checked_by_dns: it has a token
        try:
            # The customer's DNS: the resolver's deadline, and the organization's bulkhead
            # shared with the portal's checks, so one slow zone holds one slot.
            with self._bulkheads.slot(f"setup:{domain.organization_id}", breaker=False):
                values = self._dns.txt(record.name)
        except TxtLookupError as exc:
            if exc.reason in MISSING:
                return exc.reason
            log.warning("domain re-check of %s inconclusive: %s", domain.name, exc.reason)
            return None
        except UpstreamUnavailable:
            log.warning(
                "domain re-check of %s skipped: its organization's DNS is busy", domain.name
            )
            return None
        return "found" if record_found(values, record) else "value_mismatch"

    def _found(self, uow: UnitOfWork, domain: Domain, now: datetime) -> str:
        failing = uow.domain_rechecks.get(domain.organization_id, domain.name)
        if failing is None or not uow.domain_rechecks.clear(domain.organization_id, domain.name):
            return "ok"
        self._record(uow, "domain.verification_restored", domain, now,
                     failing_since=failing.failing_since.isoformat())  # fmt: skip
        return "restored"

    def _missing(self, uow: UnitOfWork, domain: Domain, reason: str, now: datetime) -> str:
        failing = uow.domain_rechecks.get(domain.organization_id, domain.name)
        if failing is None:
            failing = Failing(organization_id=domain.organization_id, name=domain.name,
                              failing_since=now, last_reason=reason)  # fmt: skip
            if not uow.domain_rechecks.start(failing):
                return "failing"  # another runner started it this very moment
        elif failing.last_reason != reason:
            uow.domain_rechecks.update_reason(domain.organization_id, domain.name, reason)
        ends = failing.failing_since + self._grace
        if now < ends:
            self._record(uow, "domain.verification_failing", domain, now, reason=reason,
                         failing_since=failing.failing_since.isoformat(),
                         unverified_at=ends.isoformat(),
                         days_left=max(0, (ends - now).days))  # fmt: skip
            return "failing"
        uow.domains.save(replace(domain, verified_at=None, verified_by=None))
        uow.domain_rechecks.clear(domain.organization_id, domain.name)
        self._record(uow, "domain.unverified", domain, now, reason=reason,
                     failing_since=failing.failing_since.isoformat())  # fmt: skip
        return "unverified"

    def _record(
        self, uow: UnitOfWork, kind: str, domain: Domain, now: datetime, *,
        reason: str | None = None, **detail: object,
    ) -> None:  # fmt: skip
        uow.audit.record(
            AuditEvent(
                at=now,
                kind=kind,
                actor=ACTOR,
                reason=reason,
                organization_id=domain.organization_id,
                detail={"domain": domain.name, **detail},
            )
        )


def _checked_by_dns(domain: Domain) -> bool:
    return (
        domain.is_verified and domain.verified_by == "dns" and domain.verification_token is not None
    )

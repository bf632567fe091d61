"""The scheduled jobs Gatehouse ships, with their periods from the settings: the one list
both the instances' tick (`broker.app`) and `gatehouse jobs run` use."""

from __future__ import annotations

from broker.clock import Clock
from broker.jobs import certificate_expiry, domain_recheck
from broker.jobs.certificate_expiry import CertificateExpiry
from broker.jobs.domain_recheck import DomainRecheck
from broker.jobs.scheduler import ScheduledJob, Scheduler
from broker.management.dns_txt import TxtLookup
from broker.settings_jobs import JobSettings
from broker.store import Store
from broker.upstream.bulkhead import Bulkheads


def build_scheduler(
    settings: JobSettings, *, store: Store, clock: Clock, dns: TxtLookup, bulkheads: Bulkheads
) -> Scheduler:
    domains = DomainRecheck(
        store=store, clock=clock, dns=dns, bulkheads=bulkheads, grace=settings.domain_grace
    )
    certificates = CertificateExpiry(store=store, clock=clock)
    return Scheduler(
        store=store,
        clock=clock,
        jobs=[
            ScheduledJob(
                name=domain_recheck.NAME,
                interval=settings.domain_recheck_interval,
                run=domains.run,
            ),
            ScheduledJob(
                name=certificate_expiry.NAME,
                interval=settings.certificate_check_interval,
                run=certificates.run,
            ),
        ],
    )

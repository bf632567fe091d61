"""The scheduled jobs Gatehouse ships, with their periods from the settings: the one list
both the instances' tick (`broker.app`) and `gatehouse jobs run` use."""

from __future__ import annotations

import httpx

from broker.clock import Clock
from broker.jobs import certificate_expiry, domain_recheck, saml_metadata_refresh
from broker.jobs.certificate_expiry import CertificateExpiry
from broker.jobs.domain_recheck import DomainRecheck
from broker.jobs.saml_metadata_refresh import SamlMetadataRefresh
from broker.jobs.scheduler import ScheduledJob, Scheduler
from broker.management.dns_txt import TxtLookup
from broker.settings_jobs import JobSettings
from broker.store import Store
from broker.upstream.bulkhead import Bulkheads
from broker.upstream.outbound import OutboundPolicy


def build_scheduler(
    settings: JobSettings, *, store: Store, clock: Clock, dns: TxtLookup, bulkheads: Bulkheads,
    http: httpx.Client, policy: OutboundPolicy,
) -> Scheduler:  # fmt: skip
    domains = DomainRecheck(
        store=store, clock=clock, dns=dns, bulkheads=bulkheads, grace=settings.domain_grace
    )
    certificates = CertificateExpiry(store=store, clock=clock)
    metadata = SamlMetadataRefresh(
        store=store, clock=clock, http=http, policy=policy, bulkheads=bulkheads
    )
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
            ScheduledJob(
                name=saml_metadata_refresh.NAME,
                interval=settings.saml_metadata_interval,
                run=metadata.run,
            ),
        ],
    )

"""Scheduled jobs: what Gatehouse does on its own, on a schedule, once across the cluster.

Every instance ticks (`broker.web.lifespan`, every `GATEHOUSE_JOBS_TICK_SECONDS`) and asks
the scheduler to run whatever is due; the `job_runs` table decides which instance runs
it, so N instances run each job once per period. `gatehouse jobs run` does one tick by
hand or from an external scheduler (cron, a Kubernetes CronJob), under the same rule.

    job                    period (default)   events (kinds)
    domain_recheck         1 day              domain.verification_failing,
                                              domain.verification_restored, domain.unverified
    certificate_expiry     1 hour             connection.certificate_expiring
    saml_metadata_refresh  10 minutes         connection.certificate_added,
                           (each connection:  connection.certificate_removed,
                           its metadata's     connection.metadata_changed,
                           cacheDuration,     connection.metadata_refresh_failed
                           at most a day)

OIDC discovery and JWKS are not among them: they live in each instance's memory, so each
instance renews its own (`broker.upstream.registry.ConnectorCache.refresh_ahead`, at the
same tick).

Each job records its changes and their audit events in one unit of work, so the webhook
outbox sees every change exactly when it is made. Jobs take time from the injected
clock and call what a customer controls (their DNS, their metadata URL) through the
bulkheads.
"""

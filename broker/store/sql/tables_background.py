"""The tables of Gatehouse's background work: webhook endpoints, the outbox, deliveries and
their attempts (`broker.webhooks`), and the scheduled jobs' leases and state
(`broker.jobs`: domain re-checks, certificate notices, SAML metadata refreshes and which
certificate verified a login).

Apart from `tables` only to keep that module small: the classes are mapped on its `Base`,
so the one `metadata` Alembic compares against holds them (imported at the end of
`tables`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from broker.store.sql.tables import Base, _table


class WebhookEndpointRow(Base):
    """An app's receiver. No foreign key to its organization filter: an endpoint that
    listens to one organization still hears that the organization was deleted."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(primary_key=True)
    url: Mapped[str]
    event_types: Mapped[list[str]]
    organization_id: Mapped[str | None]
    enabled: Mapped[bool]
    secret_encrypted: Mapped[bytes]
    previous_secret_encrypted: Mapped[bytes | None]
    previous_secret_expires_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    disabled_reason: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    created_by: Mapped[str]


class WebhookOutboxRow(Base):
    """An event recorded but not yet fanned out to the endpoints that want it. Written by
    the same INSERT batch as the event (`SqlAuditRepo.record`), so a change, its event and
    its place in the outbox commit together. Goes with the event (the audit purge)."""

    __tablename__ = "webhook_outbox"

    event_id: Mapped[str] = mapped_column(
        sa.ForeignKey("audit_events.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(index=True)


class WebhookDeliveryRow(Base):
    """One event owed to one endpoint. `claim_token`/`lease_until` are a worker's claim:
    another worker may take the row only once the lease has passed (a killed worker)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(
        sa.ForeignKey("audit_events.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str]
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    manual: Mapped[bool]
    claim_token: Mapped[str | None]
    lease_until: Mapped[datetime | None]


class WebhookAttemptRow(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[str] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[str]
    event_id: Mapped[str]
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    response_excerpt: Mapped[str]
    error: Mapped[str | None]


class JobRunRow(Base):
    """One scheduled job (broker.jobs): when it is next due, and who holds it until when."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(primary_key=True)
    next_run_at: Mapped[datetime]
    leased_until: Mapped[datetime | None]
    leased_by: Mapped[str | None]
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str | None]


class DomainRecheckRow(Base):
    """A verified domain whose TXT record a daily re-check did not find: since when."""

    __tablename__ = "domain_rechecks"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["organization_id", "name"],
            ["domains.organization_id", "domains.name"],
            ondelete="CASCADE",
        ),
    )

    organization_id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(primary_key=True)
    failing_since: Mapped[datetime]
    last_reason: Mapped[str]


class CertificateNoticeRow(Base):
    """An expiry notice already given: one per (connection, certificate, threshold)."""

    __tablename__ = "certificate_notices"

    connection_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(primary_key=True)
    threshold_days: Mapped[int] = mapped_column(primary_key=True)
    noted_at: Mapped[datetime]


class SamlCertificateUseRow(Base):
    """When a login last verified under a pinned IdP certificate (a rollover's proof that
    the remaining certificates work before a removed one is dropped)."""

    __tablename__ = "saml_certificate_use"

    connection_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(primary_key=True)
    last_verified_at: Mapped[datetime]


class SamlMetadataRefreshRow(Base):
    """A SAML connection's metadata refresh: when next due, and what was already told."""

    __tablename__ = "saml_metadata_refreshes"

    connection_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    next_fetch_at: Mapped[datetime]
    failing_since: Mapped[datetime | None]
    reported_change: Mapped[str | None]


webhook_endpoints = _table(WebhookEndpointRow)
webhook_outbox = _table(WebhookOutboxRow)
webhook_deliveries = _table(WebhookDeliveryRow)
webhook_attempts = _table(WebhookAttemptRow)
job_runs = _table(JobRunRow)
domain_rechecks = _table(DomainRecheckRow)
certificate_notices = _table(CertificateNoticeRow)
saml_certificate_use = _table(SamlCertificateUseRow)
saml_metadata_refreshes = _table(SamlMetadataRefreshRow)

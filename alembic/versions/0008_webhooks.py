"""Webhooks: endpoints, the outbox, deliveries and their attempts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Four new tables, nothing existing changes. `webhook_outbox` holds the events recorded but
not yet fanned out to the endpoints that want them (written in the same transaction as the
event); `webhook_deliveries` one event owed to one endpoint, with a worker's claim (token
and lease); `webhook_attempts` every HTTP request made for one. The outbox and deliveries
go with their audit event (the retention purge), attempts with their delivery.
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        _text("id"),
        _text("url"),
        sa.Column("event_types", sa.JSON(), nullable=False),
        _text("organization_id", nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_encrypted", sa.LargeBinary(), nullable=True),
        _instant("previous_secret_expires_at", nullable=True),
        _instant("failing_since", nullable=True),
        _text("disabled_reason", nullable=True),
        _instant("created_at"),
        _instant("updated_at"),
        _text("created_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(op.f("ix_webhook_endpoints_created_at"), "webhook_endpoints", ["created_at"])
    op.create_table(
        "webhook_outbox",
        _text("event_id"),
        _instant("at"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["audit_events.id"],
            name=op.f("fk_webhook_outbox_event_id_audit_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_webhook_outbox")),
    )
    op.create_index(op.f("ix_webhook_outbox_at"), "webhook_outbox", ["at"])
    op.create_table(
        "webhook_deliveries",
        _text("id"),
        _text("endpoint_id"),
        _text("event_id"),
        _text("status"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("next_attempt_at"),
        _instant("created_at"),
        _instant("finished_at", nullable=True),
        sa.Column("manual", sa.Boolean(), nullable=False),
        _text("claim_token", nullable=True),
        _instant("lease_until", nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["audit_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_audit_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        op.f("ix_webhook_deliveries_endpoint_id"), "webhook_deliveries", ["endpoint_id"]
    )
    op.create_index(op.f("ix_webhook_deliveries_event_id"), "webhook_deliveries", ["event_id"])
    op.create_table(
        "webhook_attempts",
        _text("id"),
        _text("delivery_id"),
        _text("endpoint_id"),
        _text("event_id"),
        _instant("at"),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        _text("response_excerpt"),
        _text("error", nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(op.f("ix_webhook_attempts_delivery_id"), "webhook_attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_outbox")
    op.drop_table("webhook_endpoints")

"""Audit events, replay cache, flow browser binding, unique organization external_id

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-01

- `audit_events`: what happened, for the operator (no foreign keys: events outlive what
  they mention).
- `replay_cache`: SAML assertion IDs already accepted, keyed (scope, message_id), shared by
  every broker process.
- `flows.browser_binding`: hash of the per-browser cookie the IdP callback must carry.
- `organizations.external_id` unique. A unique index, not a constraint: on SQLite a new
  constraint means batch mode, which recreates the table, and dropping the old
  `organizations` with foreign keys on (make_engine switches them on, and the PRAGMA is a
  no-op inside the migration's transaction) cascades into every domain and connection.
  Upgrading fails, changing nothing, if two organizations already share an external_id.
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Text(), nullable=False),
        _instant("at"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("organization_id", sa.Text(), nullable=True),
        sa.Column("connection_id", sa.Text(), nullable=True),
        sa.Column("flow_id", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_organization_id"), "audit_events", ["organization_id"])
    op.create_table(
        "replay_cache",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        _instant("expires_at"),
        sa.PrimaryKeyConstraint("scope", "message_id", name=op.f("pk_replay_cache")),
    )
    op.create_index(op.f("ix_replay_cache_expires_at"), "replay_cache", ["expires_at"])
    # A nullable column: plain ALTER TABLE .. ADD COLUMN on both backends.
    op.add_column("flows", sa.Column("browser_binding", sa.Text(), nullable=True))
    op.create_index("uq_organizations_external_id", "organizations", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_organizations_external_id", table_name="organizations")
    # flows has no referencing foreign keys, so SQLite's batch recreation of it is safe.
    with op.batch_alter_table("flows") as batch:
        batch.drop_column("browser_binding")
    op.drop_index(op.f("ix_replay_cache_expires_at"), table_name="replay_cache")
    op.drop_table("replay_cache")
    op.drop_index(op.f("ix_audit_events_organization_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_table("audit_events")

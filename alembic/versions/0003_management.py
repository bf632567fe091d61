"""Management API: several claims per domain, management clients, self-service profiles,
portal links, idempotency keys, rate limits, audit actor

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

- `domains`: the primary key becomes (organization_id, name), so several organizations may
  claim a name; a partial unique index lets at most one hold it verified (D-01). Each claim
  gets its DNS verification token and a creation time. On SQLite the table is rebuilt
  (batch mode); nothing references `domains`, so the rebuild cascades nowhere. Existing
  claims keep their verification; their token is NULL (an operator verified them).
- `management_clients`, `self_service_profiles`, `portal_links`: the management API's
  resources. Portal links go with their organization and with the connection they edit.
- `idempotency_keys`, `rate_limits`: request bookkeeping every process shares.
- `audit_events.actor`: who made a change.
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERIFIED = sa.text("verified_at IS NOT NULL")


def _instant(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.drop_index(op.f("ix_domains_organization_id"), table_name="domains")
    with op.batch_alter_table("domains", recreate="auto") as batch:
        batch.add_column(sa.Column("verification_token", sa.Text(), nullable=True))
        batch.add_column(_instant("created_at", nullable=True))
        batch.drop_constraint("pk_domains", type_="primary")
        batch.create_primary_key("pk_domains", ["organization_id", "name"])
    op.execute("UPDATE domains SET created_at = verified_at")
    op.create_index(
        "uq_domains_verified_name",
        "domains",
        ["name"],
        unique=True,
        sqlite_where=_VERIFIED,
        postgresql_where=_VERIFIED,
    )
    op.add_column("audit_events", sa.Column("actor", sa.Text(), nullable=True))
    op.create_table(
        "management_clients",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        _instant("created_at"),
        _instant("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_management_clients")),
    )
    op.create_table(
        "self_service_profiles",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("allowed_strategies", sa.JSON(), nullable=False),
        sa.Column("user_attributes", sa.JSON(), nullable=False),
        sa.Column("branding", sa.JSON(), nullable=False),
        sa.Column("introduction", sa.Text(), nullable=False),
        _instant("created_at"),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_service_profiles")),
    )
    op.create_table(
        "portal_links",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("profile_id", sa.Text(), nullable=True),
        sa.Column("connection_id", sa.Text(), nullable=True),
        sa.Column("enabled_features", sa.JSON(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        _instant("expires_at"),
        _instant("revoked_at", nullable=True),
        _instant("created_at"),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id", "organization_id"],
            ["connections.id", "connections.organization_id"],
            name=op.f("fk_portal_links_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_portal_links_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["self_service_profiles.id"],
            name=op.f("fk_portal_links_profile_id_self_service_profiles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_links_token_hash")),
    )
    op.create_index(op.f("ix_portal_links_organization_id"), "portal_links", ["organization_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        _instant("created_at"),
        _instant("expires_at"),
        sa.PrimaryKeyConstraint("client_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"])
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.Text(), nullable=False),
        _instant("window_start"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_portal_links_organization_id"), table_name="portal_links")
    op.drop_table("portal_links")
    op.drop_table("self_service_profiles")
    op.drop_table("management_clients")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("actor")
    op.drop_index("uq_domains_verified_name", table_name="domains")
    # Unverified claims that share a name with another organization's cannot survive the
    # old single-claim key; the verified one (or, failing that, any one) is kept.
    op.execute(
        "DELETE FROM domains WHERE verified_at IS NULL AND name IN "
        "(SELECT name FROM domains GROUP BY name HAVING count(*) > 1)"
    )
    with op.batch_alter_table("domains", recreate="auto") as batch:
        batch.drop_constraint("pk_domains", type_="primary")
        batch.create_primary_key("pk_domains", ["name"])
        batch.drop_column("created_at")
        batch.drop_column("verification_token")
    op.create_index(op.f("ix_domains_organization_id"), "domains", ["organization_id"])

"""Admin portal: portal sessions, test logins and their results, connection drafts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

- `portal_sessions`: what a portal link is exchanged for (the cookie's hash, the
  organization, the link's features). They go with their link and their organization.
- `connection_tests`: each portal test login's outcome and report, by the digest of the
  settings tested; activation requires a passed test of exactly the settings activated.
- `connections.draft`: pending settings of an active connection, tested before they replace
  the active ones.
- `flows.test`: set on a flow that is a portal test login (no code is issued for it).

Nullable columns only: plain ALTER TABLE .. ADD COLUMN on both backends, no rebuild.
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("connections", sa.Column("draft", sa.JSON(), nullable=True))
    op.add_column("flows", sa.Column("test", sa.JSON(), nullable=True))
    op.create_table(
        "portal_sessions",
        sa.Column("id_hash", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("link_id", sa.Text(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=True),
        sa.Column("profile_id", sa.Text(), nullable=True),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        _instant("created_at"),
        _instant("last_seen_at"),
        _instant("expires_at"),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["portal_links.id"],
            name=op.f("fk_portal_sessions_link_id_portal_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_portal_sessions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_portal_sessions")),
    )
    op.create_index(op.f("ix_portal_sessions_link_id"), "portal_sessions", ["link_id"])
    op.create_table(
        "connection_tests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("config_digest", sa.Text(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        _instant("created_at"),
        sa.ForeignKeyConstraint(
            ["connection_id", "organization_id"],
            ["connections.id", "connections.organization_id"],
            name=op.f("fk_connection_tests_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_tests")),
    )
    op.create_index(
        op.f("ix_connection_tests_connection_id"), "connection_tests", ["connection_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_connection_tests_connection_id"), table_name="connection_tests")
    op.drop_table("connection_tests")
    op.drop_index(op.f("ix_portal_sessions_link_id"), table_name="portal_sessions")
    op.drop_table("portal_sessions")
    # A plain ALTER TABLE .. DROP COLUMN (SQLite 3.35+), never a batch rebuild: identities and
    # portal links reference `connections`, and dropping the old table during a rebuild, with
    # foreign keys on, would cascade into them.
    op.drop_column("flows", "test")
    op.drop_column("connections", "draft")

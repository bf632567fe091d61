"""Directories: SCIM 2.0 provisioning (users, groups, memberships, tokens, request log)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

An organization's directory is a SCIM service provider its IdP pushes users and groups to
(`broker.directory`). Only new tables: nothing existing changes, and a downgrade drops
exactly these (memberships before the users and groups they refer to).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def _directory_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["directory_id"],
        ["directories.id"],
        name=op.f(f"fk_{table}_directory_id_directories"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "directories",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("link_key", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_directories_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directories")),
    )
    op.create_index(
        op.f("ix_directories_organization_id"), "directories", ["organization_id"], unique=False
    )
    op.create_table(
        "directory_tokens",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("directory_id", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=True),
        sa.Column("revoked_at", _AT, nullable=True),
        _directory_fk("directory_tokens"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_directory_tokens_token_hash")),
    )
    op.create_index(op.f("ix_directory_tokens_directory_id"), "directory_tokens", ["directory_id"])
    op.create_table(
        "directory_users",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("directory_id", sa.Text(), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("user_name_norm", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("display_name_norm", sa.Text(), nullable=True),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("primary_email", sa.Text(), nullable=True),
        sa.Column("email_values", sa.Text(), nullable=False),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        _directory_fk("directory_users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_users")),
        sa.UniqueConstraint(
            "directory_id",
            "user_name_norm",
            name=op.f("uq_directory_users_directory_id_user_name_norm"),
        ),
    )
    op.create_index(
        "ix_directory_users_external_id", "directory_users", ["directory_id", "external_id"]
    )
    op.create_index(
        "ix_directory_users_primary_email", "directory_users", ["directory_id", "primary_email"]
    )
    op.create_index(
        "ix_directory_users_display_name",
        "directory_users",
        ["directory_id", "display_name_norm"],
    )
    op.create_index(
        "ix_directory_users_order", "directory_users", ["directory_id", "created_at", "id"]
    )
    op.create_table(
        "directory_groups",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("directory_id", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("display_name_norm", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        _directory_fk("directory_groups"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_groups")),
    )
    op.create_index(
        "ix_directory_groups_external_id", "directory_groups", ["directory_id", "external_id"]
    )
    op.create_index(
        "ix_directory_groups_display_name",
        "directory_groups",
        ["directory_id", "display_name_norm"],
    )
    op.create_index(
        "ix_directory_groups_order", "directory_groups", ["directory_id", "created_at", "id"]
    )
    op.create_table(
        "directory_memberships",
        sa.Column("group_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("display", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["directory_groups.id"],
            name=op.f("fk_directory_memberships_group_id_directory_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["directory_users.id"],
            name=op.f("fk_directory_memberships_user_id_directory_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_directory_memberships")),
    )
    op.create_index("ix_directory_memberships_user_id", "directory_memberships", ["user_id"])
    op.create_table(
        "directory_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("directory_id", sa.Text(), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("scim_type", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        _directory_fk("directory_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_requests")),
    )
    op.create_index(op.f("ix_directory_requests_at"), "directory_requests", ["at"])
    op.create_index(
        "ix_directory_requests_directory_at", "directory_requests", ["directory_id", "at", "id"]
    )


def downgrade() -> None:
    op.drop_table("directory_requests")
    op.drop_table("directory_memberships")
    op.drop_table("directory_groups")
    op.drop_table("directory_users")
    op.drop_table("directory_tokens")
    op.drop_table("directories")

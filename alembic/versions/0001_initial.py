"""Initial schema

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Clients, tenancy (organizations, domains, connections, identities), login state (flows,
authorization codes, access tokens) and signing keys.

Types are spelled out here rather than imported from broker.store.sql.tables, so this
revision keeps meaning what it meant when later code changes: `sa.DateTime(timezone=True)`
is what `UtcDateTime` stores (timestamptz on PostgreSQL, UTC text on SQLite).
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        _instant("created_at"),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        _instant("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    op.create_table(
        "domains",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        _instant("verified_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_domains_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_domains")),
    )
    op.create_index(op.f("ix_domains_organization_id"), "domains", ["organization_id"])
    op.create_table(
        "connections",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("domains", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _instant("created_at"),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_connections_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint(
            "id", "organization_id", name=op.f("uq_connections_id_organization_id")
        ),
    )
    op.create_index(op.f("ix_connections_organization_id"), "connections", ["organization_id"])
    op.create_table(
        "identities",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("idp_subject", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        _instant("created_at"),
        _instant("last_login_at"),
        sa.ForeignKeyConstraint(
            ["connection_id", "organization_id"],
            ["connections.id", "connections.organization_id"],
            name=op.f("fk_identities_connection_id_organization_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint(
            "connection_id", "idp_subject", name=op.f("uq_identities_connection_id_idp_subject")
        ),
    )
    op.create_index(op.f("ix_identities_organization_id"), "identities", ["organization_id"])
    op.create_table(
        "flows",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=True),
        sa.Column("connector_state", sa.LargeBinary(), nullable=False),
        _instant("created_at"),
        _instant("expires_at"),
        _instant("consumed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
    )
    op.create_index(op.f("ix_flows_expires_at"), "flows", ["expires_at"])
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=True),
        sa.Column("code_challenge", sa.Text(), nullable=True),
        sa.Column("code_challenge_method", sa.Text(), nullable=True),
        sa.Column("claims", sa.JSON(), nullable=False),
        _instant("auth_time"),
        _instant("issued_at"),
        _instant("expires_at"),
        _instant("consumed_at", nullable=True),
        _instant("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_authorization_codes")),
    )
    op.create_index(
        op.f("ix_authorization_codes_expires_at"), "authorization_codes", ["expires_at"]
    )
    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        _instant("issued_at"),
        _instant("expires_at"),
        sa.ForeignKeyConstraint(
            ["code_hash"],
            ["authorization_codes.code_hash"],
            name=op.f("fk_access_tokens_code_hash_authorization_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_access_tokens")),
    )
    op.create_index(op.f("ix_access_tokens_code_hash"), "access_tokens", ["code_hash"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.Text(), nullable=False),
        sa.Column("alg", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        _instant("created_at"),
        _instant("activated_at", nullable=True),
        _instant("retired_at", nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    live_state = sa.text("state IN ('current', 'next')")
    op.create_index(
        "uq_signing_keys_live_state",
        "signing_keys",
        ["state"],
        unique=True,
        sqlite_where=live_state,
        postgresql_where=live_state,
    )


def downgrade() -> None:
    op.drop_index("uq_signing_keys_live_state", table_name="signing_keys")
    op.drop_table("signing_keys")
    op.drop_index(op.f("ix_access_tokens_code_hash"), table_name="access_tokens")
    op.drop_table("access_tokens")
    op.drop_index(op.f("ix_authorization_codes_expires_at"), table_name="authorization_codes")
    op.drop_table("authorization_codes")
    op.drop_index(op.f("ix_flows_expires_at"), table_name="flows")
    op.drop_table("flows")
    op.drop_index(op.f("ix_identities_organization_id"), table_name="identities")
    op.drop_table("identities")
    op.drop_index(op.f("ix_connections_organization_id"), table_name="connections")
    op.drop_table("connections")
    op.drop_index(op.f("ix_domains_organization_id"), table_name="domains")
    op.drop_table("domains")
    op.drop_table("organizations")
    op.drop_table("clients")

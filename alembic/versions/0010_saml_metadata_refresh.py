"""SAML metadata refresh: certificates seen verifying logins, and each connection's refresh

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

`saml_certificate_use` records when a login last verified under each pinned IdP
certificate: a certificate the IdP's metadata stopped listing is dropped only once another
one has verified a login (`broker.jobs.saml_metadata_refresh`). `saml_metadata_refreshes`
holds, per connection configured from a metadata URL, when its metadata is next due, a
failure streak's start and the last change reported, so no event repeats.

Existing connections need no data change: a config without `metadata_url` (every one
stored before this revision) is simply not refreshed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "saml_certificate_use",
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("last_verified_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_saml_certificate_use_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "connection_id", "fingerprint", name=op.f("pk_saml_certificate_use")
        ),
    )
    op.create_table(
        "saml_metadata_refreshes",
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("next_fetch_at", _AT, nullable=False),
        sa.Column("failing_since", _AT, nullable=True),
        sa.Column("reported_change", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_saml_metadata_refreshes_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_saml_metadata_refreshes")),
    )


def downgrade() -> None:
    op.drop_table("saml_metadata_refreshes")
    op.drop_table("saml_certificate_use")

"""Client secret rotation and disabling: a previous secret and a disabled time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

`clients` and `management_clients` each get `previous_secret_hash` (the secret a rotation
replaced, accepted until revoked, so a relying party is switched over without a failed
login) and `disabled_at` (a client refused until enabled again). Both nullable: existing
clients have one secret and are enabled. Nothing references either table, so SQLite's
table rebuild on downgrade (batch mode) cascades nowhere.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("clients", "management_clients")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("previous_secret_hash", sa.Text(), nullable=True))
        op.add_column(table, sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("disabled_at")
            batch.drop_column("previous_secret_hash")

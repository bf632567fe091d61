"""The directory user a code and its access token were issued for

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

A login admitted by an organization's directory (`broker.login.directory_access`) names the
directory user it was linked to on its code, and the code's access token inherits it, so
`/userinfo` can refuse the token once that person is deactivated or deleted there with one
primary-key lookup. Nullable: tokens issued before, and logins no directory governs, have
none. No foreign key: codes and tokens carry none (they are short-lived and purged), and a
deleted directory user must leave the token readable as "gone", not cascade it away.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("authorization_codes", sa.Column("directory_user_id", sa.Text(), nullable=True))
    op.add_column("access_tokens", sa.Column("directory_user_id", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.drop_column("directory_user_id")
    with op.batch_alter_table("authorization_codes") as batch:
        batch.drop_column("directory_user_id")

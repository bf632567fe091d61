"""How a client hears of a refused login: a page with a button back, or a redirect at once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

`clients.on_refusal` is `page` (Gatehouse's page says what happened, with a button back to
the client carrying the error) or `redirect` (the error goes to the client at once). Every
existing client keeps the page, which is what a person saw before, now with the way back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "clients", sa.Column("on_refusal", sa.Text(), nullable=False, server_default="page")
    )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("on_refusal")

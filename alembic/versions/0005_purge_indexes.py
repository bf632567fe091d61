"""Indexes for the purge: access token expiry, rate-limit window start

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Every broker instance now deletes dead rows every minute (`broker.store.purge`), each
table by its expiry column. The tables that grow with traffic had that column indexed
(flows, codes, replay cache, idempotency keys, audit events) but two:

- `access_tokens.expires_at`: tokens were only ever found by their hash.
- `rate_limits.window_start`: the primary key is (bucket, window_start), which cannot
  serve a search by window start alone; without the index each batch would read the whole
  table, which rate-limited requests write to.

Portal sessions, links and test results grow with what people do in the portal, a few
rows a day: scanning them each minute costs less than an index on every write.

Plain CREATE INDEX, inside the migration's transaction. Both tables hold every row ever
written (nothing purged them before), and the build blocks writes to them while it runs.
On a large PostgreSQL deployment, create the indexes first without blocking (`CREATE
INDEX CONCURRENTLY IF NOT EXISTS ix_access_tokens_expires_at ON access_tokens
(expires_at)`, and `ix_rate_limits_window_start ON rate_limits (window_start)`); the
migration then finds them and skips them (IF NOT EXISTS).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_access_tokens_expires_at"), "access_tokens", ["expires_at"], if_not_exists=True
    )
    op.create_index(
        op.f("ix_rate_limits_window_start"), "rate_limits", ["window_start"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_limits_window_start"), table_name="rate_limits")
    op.drop_index(op.f("ix_access_tokens_expires_at"), table_name="access_tokens")

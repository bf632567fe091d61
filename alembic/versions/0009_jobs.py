"""Scheduled jobs: their runs, domains' re-checks, certificate expiry notices

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

`job_runs` is the cluster-wide schedule (`broker.jobs.scheduler`): one row per job, claimed
by a conditional UPDATE so one instance runs a due job. `domain_rechecks` holds a verified
domain whose TXT record went missing, and since when (the grace period). A
`certificate_notices` row is an expiry notice already given, so none is repeated.

`domains.verified_by` says how a domain was verified: only `dns` domains are re-checked
by DNS; an operator's assertion has no record to look for. Existing verified domains get
the method of their latest `domain.verified` audit event still kept (the retention may
have purged it: then NULL, and the domain is not re-checked, as before this revision).
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("next_run_at", _AT, nullable=False),
        sa.Column("leased_until", _AT, nullable=True),
        sa.Column("leased_by", sa.Text(), nullable=True),
        sa.Column("last_ok_at", _AT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )
    op.create_table(
        "domain_rechecks",
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("failing_since", _AT, nullable=False),
        sa.Column("last_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "name"],
            ["domains.organization_id", "domains.name"],
            name=op.f("fk_domain_rechecks_organization_id_name_domains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "name", name=op.f("pk_domain_rechecks")),
    )
    op.create_table(
        "certificate_notices",
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("threshold_days", sa.Integer(), nullable=False),
        sa.Column("noted_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_certificate_notices_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "connection_id", "fingerprint", "threshold_days", name=op.f("pk_certificate_notices")
        ),
    )
    op.add_column("domains", sa.Column("verified_by", sa.Text(), nullable=True))
    _backfill_verified_by()


def _backfill_verified_by() -> None:
    """The latest kept `domain.verified` event of each verified domain says how."""
    bind = op.get_bind()
    events = bind.execute(
        sa.text(
            "SELECT organization_id, reason, detail FROM audit_events "
            "WHERE kind = 'domain.verified' ORDER BY at, id"
        )
    )
    method: dict[tuple[str, str], str] = {}
    for organization_id, reason, detail in events:
        fields = json.loads(detail) if isinstance(detail, str) else detail
        name = fields.get("domain") if isinstance(fields, dict) else None
        if organization_id and isinstance(name, str) and reason:
            method[(organization_id, name)] = reason
    update = sa.text(
        "UPDATE domains SET verified_by = :method "
        "WHERE organization_id = :org AND name = :name AND verified_at IS NOT NULL"
    )
    for (organization_id, name), how in method.items():
        bind.execute(update, {"method": how, "org": organization_id, "name": name})


def downgrade() -> None:
    op.drop_table("certificate_notices")
    op.drop_table("domain_rechecks")
    op.drop_table("job_runs")
    with op.batch_alter_table("domains") as batch:
        batch.drop_column("verified_by")

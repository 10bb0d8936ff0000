"""Bulk changes as background jobs, and the indexes retention purges by.

On PostgreSQL the three indexes on existing tables are built with `CREATE INDEX
CONCURRENTLY`, outside a transaction, so a large live `notifications` table
keeps taking writes meanwhile. An index a failed build left invalid is dropped
and built again on the next run; since the revision commits in two steps
(the new table, then each index), every step may be run again.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# (index, table): indexes on tables that may be large and busy when this runs.
_ON_LIVE_TABLES = (
    ("ix_notifications_created", "notifications"),
    ("ix_processed_events_created", "processed_events"),
    ("ix_deliveries_created", "deliveries"),
)


def upgrade() -> None:
    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("filter", sa.Text, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("cursor", sa.String(26), nullable=False),
        sa.Column("changed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger, nullable=True),
        # The run that built the indexes below may have stopped after this had committed.
        if_not_exists=True,
    )
    op.create_index(
        "ix_bulk_jobs_status", "bulk_jobs", ["status", "lease_until"], if_not_exists=True
    )
    op.create_index("ix_bulk_jobs_vendor", "bulk_jobs", ["vendor_id", "id"], if_not_exists=True)
    if op.get_bind().dialect.name != "postgresql":
        for name, table in _ON_LIVE_TABLES:
            op.create_index(name, table, ["created_at"], if_not_exists=True)
        return
    with op.get_context().autocommit_block():
        for name, table in _ON_LIVE_TABLES:
            invalid = op.get_bind().scalar(
                sa.text(
                    "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"
                ),
                {"name": name},
            )
            if invalid:
                op.drop_index(name, table, postgresql_concurrently=True, if_exists=True)
            op.create_index(
                name, table, ["created_at"], postgresql_concurrently=True, if_not_exists=True
            )


def downgrade() -> None:
    op.drop_index("ix_deliveries_created", "deliveries")
    op.drop_index("ix_processed_events_created", "processed_events")
    op.drop_index("ix_notifications_created", "notifications")
    op.drop_table("bulk_jobs")

"""Bulk changes as background jobs, and the indexes retention purges by.

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
    )
    op.create_index("ix_bulk_jobs_status", "bulk_jobs", ["status", "lease_until"])
    op.create_index("ix_bulk_jobs_vendor", "bulk_jobs", ["vendor_id", "id"])
    op.create_index("ix_notifications_created", "notifications", ["created_at"])
    op.create_index("ix_processed_events_created", "processed_events", ["created_at"])
    op.create_index("ix_deliveries_created", "deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_created", "deliveries")
    op.drop_index("ix_processed_events_created", "processed_events")
    op.drop_index("ix_notifications_created", "notifications")
    op.drop_table("bulk_jobs")

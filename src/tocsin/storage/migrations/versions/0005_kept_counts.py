"""Kept unread counts per vendor and type, backfilled from the notifications.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unread_counts",
        sa.Column("vendor_id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(64), primary_key=True),
        sa.Column("unread", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO unread_counts (vendor_id, type, unread) "
        "SELECT vendor_id, type, count(*) FROM notifications "
        "WHERE read_at IS NULL AND archived_at IS NULL GROUP BY vendor_id, type"
    )


def downgrade() -> None:
    op.drop_table("unread_counts")

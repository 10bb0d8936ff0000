"""The delivery audit: tabs a notification was streamed to, deliveries by notification.

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_streams",
        sa.Column("notification_id", sa.String(26), primary_key=True),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("streams", sa.BigInteger, nullable=False),
        sa.Column("polls", sa.BigInteger, nullable=False),
        sa.Column("first_at", sa.BigInteger, nullable=False),
        sa.Column("last_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_deliveries_notification", "deliveries", ["notification_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_notification", table_name="deliveries")
    op.drop_table("notification_streams")

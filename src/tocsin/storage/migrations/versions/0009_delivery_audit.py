"""The delivery audit: the tabs each notification was streamed to.

(Deliveries by notification use `ix_deliveries_notification`, from 0007.)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
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


def downgrade() -> None:
    op.drop_table("notification_streams")

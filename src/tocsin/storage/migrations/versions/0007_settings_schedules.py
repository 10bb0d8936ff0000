"""Vendor settings, preference options, delivery purposes and quiet-hours holds, digests.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("vendors") as batch:
        batch.add_column(sa.Column("locale", sa.String(8), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("quiet_start", sa.String(5), nullable=True))
        batch.add_column(sa.Column("quiet_end", sa.String(5), nullable=True))
        batch.add_column(sa.Column("digest_hour", sa.SmallInteger, nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(12), nullable=False, server_default="instant")
        )
        batch.add_column(sa.Column("held_from", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("held_until", sa.BigInteger, nullable=True))
    op.create_index("ix_deliveries_notification", "deliveries", ["notification_id"])
    op.create_table(
        "preference_options",
        sa.Column("vendor_id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(64), primary_key=True),
        sa.Column("option", sa.String(16), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "digest_items",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("digest_key", sa.String(300), nullable=False),
        sa.Column("notification_id", sa.String(26), nullable=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("link", sa.String(2048), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_digest_items_digest", "digest_items", ["digest_key", "id"])
    op.create_index("ix_digest_items_notification", "digest_items", ["notification_id"])


def downgrade() -> None:
    op.drop_table("digest_items")
    op.drop_table("preference_options")
    op.drop_index("ix_deliveries_notification", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("held_until")
        batch.drop_column("held_from")
        batch.drop_column("purpose")
    with op.batch_alter_table("vendors") as batch:
        batch.drop_column("digest_hour")
        batch.drop_column("quiet_end")
        batch.drop_column("quiet_start")
        batch.drop_column("timezone")
        batch.drop_column("locale")

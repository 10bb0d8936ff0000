"""Initial schema: vendors, notifications, outbox, embedded event log, meta, API keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNREAD = "read_at IS NULL AND archived_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("link", sa.String(2048), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("read_at", sa.BigInteger, nullable=True),
        sa.Column("archived_at", sa.BigInteger, nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.UniqueConstraint("vendor_id", "dedupe_key", name="uq_notifications_dedupe"),
    )
    op.create_index("ix_notifications_vendor_id", "notifications", ["vendor_id", "id"])
    op.create_index("ix_notifications_vendor_created", "notifications", ["vendor_id", "created_at"])
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["vendor_id", "type", "id"],
        postgresql_where=sa.text(UNREAD),
        sqlite_where=sa.text(UNREAD),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "event_log",
        sa.Column("vendor_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_event_log_created", "event_log", ["created_at"])
    op.create_table(
        "tocsin_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("api_keys", "tocsin_meta", "event_log", "outbox", "notifications", "vendors"):
        op.drop_table(table)

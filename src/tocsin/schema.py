"""Table definitions (SQLAlchemy Core), shared by the store and the migrations.

Times are integer milliseconds since the Unix epoch on both SQLite and
PostgreSQL: one representation, exact comparisons, cheap keyset pagination.
JSON is stored as text and decoded explicitly (`databases` returns it
differently per driver).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# An autoincrementing 64-bit key that SQLite accepts as its rowid alias.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

vendors = sa.Table(
    "vendors",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("phone", sa.String(32), nullable=True),
    # Last event sequence number handed out for this vendor: gapless, and
    # incremented under the row lock, so per-vendor events commit in order.
    sa.Column("seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
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
    sa.Index("ix_notifications_vendor_id", "vendor_id", "id"),
    sa.Index("ix_notifications_vendor_created", "vendor_id", "created_at"),
    sa.Index(
        "ix_notifications_unread",
        "vendor_id",
        "type",
        "id",
        postgresql_where=sa.text("read_at IS NULL AND archived_at IS NULL"),
        sqlite_where=sa.text("read_at IS NULL AND archived_at IS NULL"),
    ),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("vendor_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# The embedded event log (used when no Redis is configured).
event_log = sa.Table(
    "event_log",
    metadata,
    sa.Column("vendor_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_event_log_created", "created_at"),
)

meta = sa.Table(
    "tocsin_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

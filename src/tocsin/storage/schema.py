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
    # The vendor's settings (migration 0007); NULL: the default of `model.VendorSettings`.
    sa.Column("locale", sa.String(8), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=True),
    # Vendor-local "HH:MM"; both set or both NULL (no quiet hours).
    sa.Column("quiet_start", sa.String(5), nullable=True),
    sa.Column("quiet_end", sa.String(5), nullable=True),
    sa.Column("digest_hour", sa.SmallInteger, nullable=True),
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
    sa.Column("seen_at", sa.BigInteger, nullable=True),  # migration 0006
    sa.Column("archived_at", sa.BigInteger, nullable=True),
    sa.Column("dedupe_key", sa.String(200), nullable=True),
    sa.UniqueConstraint("vendor_id", "dedupe_key", name="uq_notifications_dedupe"),
    sa.Index("ix_notifications_vendor_id", "vendor_id", "id"),
    sa.Index("ix_notifications_vendor_created", "vendor_id", "created_at"),
    sa.Index("ix_notifications_created", "created_at"),  # retention (migration 0008)
    sa.Index(
        "ix_notifications_unread",
        "vendor_id",
        "type",
        "id",
        postgresql_where=sa.text("read_at IS NULL AND archived_at IS NULL"),
        sqlite_where=sa.text("read_at IS NULL AND archived_at IS NULL"),
    ),
)

# Kept unread counts (migration 0005): a vendor's notifications with neither
# `read_at` nor `archived_at`, per type, changed in the same transaction as the
# notifications, so reading them never counts rows (DESIGN.md, Wave 2).
unread_counts = sa.Table(
    "unread_counts",
    metadata,
    sa.Column("vendor_id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(64), primary_key=True),
    sa.Column("unread", sa.BigInteger, nullable=False),
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

# -- marketplace events and delivery (migration 0002) ---------------------------

# One row per event id ever accepted: inserted in the same transaction as the
# event's notifications, so a retried or concurrent duplicate finds it.
processed_events = sa.Table(
    "processed_events",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    # sha256 of the canonical envelope: the same id with another body is a conflict.
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("notifications", sa.Text, nullable=False),  # JSON list of ids
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_processed_events_created", "created_at"),  # retention (migration 0008)
)

# Only the choices a vendor made; the defaults live in `tocsin.marketplace.preferences`.
preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("vendor_id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(64), primary_key=True),
    sa.Column("channel", sa.String(8), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# A vendor's choices per notification type beyond on/off (migration 0007):
# `option` is `email_mode` or `escalate`, `value` its JSON (`"hourly"`,
# `{"push_after_s": 60, "sms_after_s": 900}`, `null` for "never escalate").
preference_options = sa.Table(
    "preference_options",
    metadata,
    sa.Column("vendor_id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(64), primary_key=True),
    sa.Column("option", sa.String(16), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# The email/SMS queue's truth: a message rendered once, and where it stands.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # `evt:<event id>:<vendor>:<channel>`: one delivery per event, vendor and channel.
    sa.Column("key", sa.String(300), nullable=False, unique=True),
    sa.Column("vendor_id", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(200), nullable=True),
    sa.Column("notification_id", sa.String(26), nullable=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("message", sa.Text, nullable=False),  # JSON: subject/text/html or text
    # pending → sending → sent | failed (pending again between retries)
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
    sa.Column("lease_until", sa.BigInteger, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # Why it exists (migration 0007): `instant`, `grace` (a push once unseen for the
    # grace), `escalation` (a push or SMS once unseen for the vendor's delay) or
    # `digest` (one email listing a period's `digest_items`).
    sa.Column("purpose", sa.String(12), nullable=False, server_default="instant"),
    # Quiet hours moved it: it was due at `held_from` and waits until `held_until` (ms).
    sa.Column("held_from", sa.BigInteger, nullable=True),
    sa.Column("held_until", sa.BigInteger, nullable=True),
    # The vendor changed its quiet hours while they held it (migration 0010): due from
    # then (ms), before `held_until`; the worker's claim holds it again if the new ones
    # cover that moment (and clears this).
    sa.Column("released_at", sa.BigInteger, nullable=True),
    sa.Index("ix_deliveries_vendor", "vendor_id", "id"),
    sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_deliveries_notification", "notification_id"),
    sa.Index("ix_deliveries_created", "created_at"),  # retention (migration 0008)
)

# A notification an email digest lists instead of mailing it alone (migration 0007):
# `digest_key` is the `deliveries.key` of the digest (`digest:<vendor>:<period end ms>`),
# so "which digest included notification X" is one lookup. An item joins the
# digest of the period it arrived in, or the next one if that digest has already
# left; its `key` (the email it replaces) makes it belong to one digest only.
digest_items = sa.Table(
    "digest_items",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(300), nullable=False, unique=True),
    sa.Column("vendor_id", sa.String(64), nullable=False),
    sa.Column("digest_key", sa.String(300), nullable=False),
    sa.Column("notification_id", sa.String(26), nullable=True),
    sa.Column("type", sa.String(64), nullable=False),
    # The line the digest shows (the notification's title) and its link, rendered at arrival.
    sa.Column("line", sa.Text, nullable=False),
    sa.Column("link", sa.String(2048), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_digest_items_digest", "digest_key", "id"),
    sa.Index("ix_digest_items_notification", "notification_id"),
)

delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.BigInteger, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    # sending (in flight or its worker died) | sent | failed | interrupted
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("finished_at", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("delivery_id", "attempt", name="uq_delivery_attempts"),
)

# -- admin pages (migration 0003) -------------------------------------------------

admins = sa.Table(
    "admins",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    # Sessions issued before this moment (ms) are void: a new password signs everyone out.
    sa.Column("password_changed_at", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# -- admin sessions (migration 0004) -----------------------------------------------

# One row per signed-in admin session: signing out deletes it, so a copied cookie
# stops working at once. Keyed by the sha256 of the session id (the cookie holds the id).
admin_sessions = sa.Table(
    "admin_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Index("ix_admin_sessions_username", "username"),
)


# -- Web Push (migration 0006) ---------------------------------------------------

# A browser's PushSubscription (RFC 8030 endpoint, RFC 8291 keys), per vendor and device.
push_subscriptions = sa.Table(
    "push_subscriptions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("vendor_id", sa.String(64), nullable=False),
    sa.Column("endpoint", sa.String(2048), nullable=False),
    sa.Column("p256dh", sa.String(200), nullable=False),
    sa.Column("auth", sa.String(100), nullable=False),
    # What the vendor may recognise the device by (a label the browser sends).
    sa.Column("device", sa.String(200), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("vendor_id", "endpoint", name="uq_push_subscriptions_endpoint"),
    sa.Index("ix_push_subscriptions_vendor", "vendor_id", "updated_at"),
)


# -- bulk changes in the background (migration 0008) ------------------------------

# A bulk change too large for one request: it runs in chunks, newest first, and
# `cursor` is the smallest id done so far (the next chunk takes ids below it), so
# a job survives a restart. A runner holds it while `lease_until` (ms) is ahead.
bulk_jobs = sa.Table(
    "bulk_jobs",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("vendor_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("filter", sa.Text, nullable=False),  # JSON: the `ListFilter`
    # running → done | failed
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("cursor", sa.String(26), nullable=False),
    sa.Column("changed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("lease_until", sa.BigInteger, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("finished_at", sa.BigInteger, nullable=True),
    sa.Index("ix_bulk_jobs_status", "status", "lease_until"),
    sa.Index("ix_bulk_jobs_vendor", "vendor_id", "id"),
)


# -- the delivery audit (migration 0009) -------------------------------------------

# How many tabs a notification reached: streams it was written to and polls that
# returned it, summed over every process. Each process counts in memory and adds
# its counts here about once a second (`tocsin.realtime.tally`), so the hub's
# fan-out never waits on a write.
notification_streams = sa.Table(
    "notification_streams",
    metadata,
    sa.Column("notification_id", sa.String(26), primary_key=True),
    sa.Column("vendor_id", sa.String(64), nullable=False),
    sa.Column("streams", sa.BigInteger, nullable=False),
    sa.Column("polls", sa.BigInteger, nullable=False),
    # The first and the last time (ms) a stream or a poll was handed it.
    sa.Column("first_at", sa.BigInteger, nullable=False),
    sa.Column("last_at", sa.BigInteger, nullable=False),
)

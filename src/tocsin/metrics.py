"""Prometheus metrics, one registry per process (`/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OPEN_STREAMS = Gauge("tocsin_open_streams", "Server-Sent Event streams open in this process")
SUBSCRIBERS = Gauge("tocsin_subscribers", "Streams and waiting polls registered with the hub")
EVENTS_PUBLISHED = Counter(
    "tocsin_events_published_total", "Events appended to the event log", ["event"]
)
EVENTS_DELIVERED = Counter(
    "tocsin_events_delivered_total", "Events written to streams and poll responses", ["transport"]
)
SLOW_CONSUMERS = Counter(
    "tocsin_slow_consumer_disconnects_total", "Subscribers closed for falling behind"
)
REPLAYS = Counter("tocsin_replays_total", "Streams and polls that resumed from an event id")
REPLAYED_EVENTS = Counter("tocsin_replayed_events_total", "Events sent from the log on resume")
RESETS = Counter("tocsin_resets_total", "reset events sent", ["reason"])
POLL_REQUESTS = Counter("tocsin_poll_requests_total", "Requests to /api/v1/stream/poll")
NOTIFICATIONS_CREATED = Counter("tocsin_notifications_created_total", "Notifications created")
OUTBOX_PENDING = Gauge("tocsin_outbox_pending", "Outbox rows waiting for the relay")
RELAY_ERRORS = Counter("tocsin_relay_errors_total", "Failed attempts to append to the event log")
REQUEST_LATENCY = Histogram(
    "tocsin_publish_seconds",
    "Time to create a notification (request to commit)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
EVENTS_INGESTED = Counter(
    "tocsin_marketplace_events_total", "Marketplace events received", ["type", "result"]
)
DELIVERY_ATTEMPTS = Counter(
    "tocsin_delivery_attempts_total",
    "Delivery attempts per channel (email, sms, push) and result (sent, retry, failed, skipped)",
    ["channel", "result"],
)
DELIVERY_LAG = Histogram(
    "tocsin_delivery_due_to_sent_seconds",
    "From when a delivery attempt was due (queued, held or retried until then) to it being sent",
    ["channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
PUBLISH_TO_STREAM = Histogram(
    "tocsin_publish_to_stream_seconds",
    "From a notification's created_at to the hub handing it to this process's streams",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WRITE_BATCH = Histogram(
    "tocsin_write_batch_size",
    "Units of work committed together by one group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

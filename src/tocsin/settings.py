"""Settings: every `TOCSIN_*` variable, typed and read once (see `Settings.from_env`).

A `.env` file in the working directory may hold the same variables; the real
environment wins over it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tocsin.errors import ConfigError

DEV_SECRET = "tocsin-development-secret-do-not-use-in-production"  # noqa: S105
# Outside production, with no TOCSIN_API_KEYS, this publisher key works (README's examples).
DEV_API_KEY = "dev-publisher-key"


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _as_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _as_number(name: str, raw: str, kind: type[int] | type[float]) -> int | float:
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, not {raw!r}")
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def _as_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration; `field.metadata["env"]` names each variable."""

    database_url: str = field(default="sqlite:///./tocsin.db", metadata={"env": "DATABASE_URL"})
    redis_url: str | None = field(default=None, metadata={"env": "REDIS_URL"})
    secret_key: str = field(default=DEV_SECRET, metadata={"env": "SECRET_KEY"})
    api_keys: tuple[str, ...] = field(default=(), metadata={"env": "API_KEYS"})
    env: str = field(default="development", metadata={"env": "ENV"})
    heartbeat_seconds: float = field(default=15.0, metadata={"env": "HEARTBEAT_SECONDS"})
    # SSE: `retry:` sent to browsers (ms), the longest a stream stays open (s),
    # the most events one replay sends before it answers `reset`.
    retry_ms: int = field(default=2000, metadata={"env": "RETRY_MS"})
    stream_max_seconds: float = field(default=3600.0, metadata={"env": "STREAM_MAX_SECONDS"})
    replay_max_events: int = field(default=10_000, metadata={"env": "REPLAY_MAX_EVENTS"})
    # A subscriber more than this many events behind is disconnected.
    subscriber_queue_size: int = field(default=1000, metadata={"env": "SUBSCRIBER_QUEUE_SIZE"})
    send_timeout_seconds: float = field(default=10.0, metadata={"env": "SEND_TIMEOUT_SECONDS"})
    # Event log retention, in events per vendor and in seconds.
    retention_events: int = field(default=10_000, metadata={"env": "RETENTION_EVENTS"})
    retention_seconds: float = field(default=7 * 86400.0, metadata={"env": "RETENTION_SECONDS"})
    redis_prefix: str = field(default="tocsin", metadata={"env": "REDIS_PREFIX"})
    # Connections for appends, replays and polls; the live reader has one more of its own.
    redis_pool_size: int = field(default=16, metadata={"env": "REDIS_POOL_SIZE"})
    # Vendors hash into this many partitions (Redis Cluster hash tags); fixed per deployment.
    redis_partitions: int = field(default=64, metadata={"env": "REDIS_PARTITIONS"})
    relay_interval_seconds: float = field(default=1.0, metadata={"env": "RELAY_INTERVAL_SECONDS"})
    # How often each process adds its "streamed to N tabs" counts to SQL (the delivery audit).
    stream_tally_seconds: float = field(default=1.0, metadata={"env": "STREAM_TALLY_SECONDS"})
    # An event log failing this long while Redis answers makes `/healthz` answer 503.
    liveness_seconds: float = field(default=30.0, metadata={"env": "LIVENESS_SECONDS"})
    max_body_bytes: int = field(default=256 * 1024, metadata={"env": "MAX_BODY_BYTES"})
    # Open streams plus waiting polls per vendor (across processes with Redis); 0: no cap.
    max_streams_per_vendor: int = field(default=50, metadata={"env": "MAX_STREAMS_PER_VENDOR"})
    # How long the stream slots of a process that died without releasing them stay taken.
    slot_ttl_seconds: float = field(default=30.0, metadata={"env": "SLOT_TTL_SECONDS"})
    # Requests a second per publisher API key (token bucket); 0: no limit;
    # unset: 1000 in production, no limit otherwise (see `publisher_rate_limit`).
    publisher_rate: float | None = field(default=None, metadata={"env": "PUBLISHER_RATE"})
    token_max_ttl: int = field(default=30 * 86400, metadata={"env": "TOKEN_MAX_TTL"})
    cors_origins: tuple[str, ...] = field(default=(), metadata={"env": "CORS_ORIGINS"})
    # Proxies whose X-Forwarded-For/-Proto are believed (uvicorn's forwarded_allow_ips).
    forwarded_allow_ips: str = field(default="127.0.0.1", metadata={"env": "FORWARDED_ALLOW_IPS"})
    # How long an idle keep-alive connection stays open (s): longer than a proxy's or load
    # balancer's own idle timeout (nginx's upstream keepalive_timeout is 60 s), so the
    # proxy always closes first and never sends a request into a connection being closed.
    keep_alive_seconds: float = field(default=75.0, metadata={"env": "KEEP_ALIVE_SECONDS"})
    run_workers: bool = field(default=True, metadata={"env": "RUN_WORKERS"})
    # Apply migrations when the app starts; unset: only on SQLite (the embedded mode).
    migrate_on_start: bool | None = field(default=None, metadata={"env": "MIGRATE_ON_START"})
    log_level: str = field(default="info", metadata={"env": "LOG_LEVEL"})
    # Marketplace events: a directory whose templates override the defaults
    # (`templates/notifications/`), and email/SMS delivery.
    templates_dir: str = field(default="", metadata={"env": "TEMPLATES_DIR"})
    # Where vendors open links from emails: `/orders/1` becomes `<public_url>/orders/1`.
    public_url: str = field(default="", metadata={"env": "PUBLIC_URL"})
    smtp_host: str = field(default="", metadata={"env": "SMTP_HOST"})  # unset: no email
    smtp_port: int = field(default=25, metadata={"env": "SMTP_PORT"})
    smtp_from: str = field(default="tocsin@localhost", metadata={"env": "SMTP_FROM"})
    smtp_username: str = field(default="", metadata={"env": "SMTP_USERNAME"})
    smtp_password: str = field(default="", metadata={"env": "SMTP_PASSWORD"})
    smtp_starttls: bool = field(default=False, metadata={"env": "SMTP_STARTTLS"})
    smtp_tls: bool = field(default=False, metadata={"env": "SMTP_TLS"})  # implicit TLS (465)
    smtp_timeout_seconds: float = field(default=15.0, metadata={"env": "SMTP_TIMEOUT_SECONDS"})
    sms_provider: str = field(default="log", metadata={"env": "SMS_PROVIDER"})  # log | webhook
    sms_webhook_url: str = field(default="", metadata={"env": "SMS_WEBHOOK_URL"})
    # The whole `Authorization` header value sent to the webhook, e.g. `Bearer s3cret`.
    sms_webhook_auth: str = field(default="", metadata={"env": "SMS_WEBHOOK_AUTH"})
    sms_timeout_seconds: float = field(default=10.0, metadata={"env": "SMS_TIMEOUT_SECONDS"})
    # Retries: the n-th failed attempt waits `backoff * 2**(n-1)` s, at most `backoff_max` s.
    delivery_max_attempts: int = field(default=6, metadata={"env": "DELIVERY_MAX_ATTEMPTS"})
    delivery_backoff_seconds: float = field(
        default=5.0, metadata={"env": "DELIVERY_BACKOFF_SECONDS"}
    )
    delivery_backoff_max_seconds: float = field(
        default=900.0, metadata={"env": "DELIVERY_BACKOFF_MAX_SECONDS"}
    )
    # A claimed delivery whose worker went silent this long is taken over by another.
    delivery_lease_seconds: float = field(default=60.0, metadata={"env": "DELIVERY_LEASE_SECONDS"})
    delivery_poll_seconds: float = field(default=1.0, metadata={"env": "DELIVERY_POLL_SECONDS"})
    delivery_concurrency: int = field(default=8, metadata={"env": "DELIVERY_CONCURRENCY"})
    # Bulk changes by filter: up to `bulk_sync_limit` rows change in the request;
    # more run as a background job, `bulk_chunk` rows per transaction.
    bulk_sync_limit: int = field(default=5000, metadata={"env": "BULK_SYNC_LIMIT"})
    bulk_chunk: int = field(default=2000, metadata={"env": "BULK_CHUNK"})
    # Retention (0: keep forever): read or archived notifications older than
    # `keep_read_days`, every notification, processed event and settled delivery
    # older than `keep_days`; purged every `purge_interval_seconds`, `purge_batch` rows
    # per transaction.
    keep_read_days: float = field(default=90.0, metadata={"env": "KEEP_READ_DAYS"})
    keep_days: float = field(default=365.0, metadata={"env": "KEEP_DAYS"})
    purge_interval_seconds: float = field(
        default=3600.0, metadata={"env": "PURGE_INTERVAL_SECONDS"}
    )
    purge_batch: int = field(default=2000, metadata={"env": "PURGE_BATCH"})
    # Web Push (RFC 8030) with VAPID (RFC 8292): the key pair `tocsin vapid-keys` prints
    # (unset: no push is queued) and the contact push services see in every request.
    vapid_public_key: str = field(default="", metadata={"env": "VAPID_PUBLIC_KEY"})
    vapid_private_key: str = field(default="", metadata={"env": "VAPID_PRIVATE_KEY"})
    vapid_subject: str = field(default="mailto:tocsin@localhost", metadata={"env": "VAPID_SUBJECT"})
    # A push waits this long and is not sent if a live tab has seen the notification by then.
    push_grace_seconds: float = field(default=10.0, metadata={"env": "PUSH_GRACE_SECONDS"})
    # `host` or `host:port` a push endpoint may name besides public https hosts (plain
    # http included): a push service on a private network, or a test's.
    push_allow_hosts: tuple[str, ...] = field(default=(), metadata={"env": "PUSH_ALLOW_HOSTS"})
    push_timeout_seconds: float = field(default=10.0, metadata={"env": "PUSH_TIMEOUT_SECONDS"})

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
    ) -> Settings:
        """Read `TOCSIN_*` from `environ` (default: `os.environ`) over `dotenv`."""
        source: dict[str, str] = _read_dotenv(dotenv) if dotenv is not None else {}
        source.update(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = "TOCSIN_" + f.metadata["env"]
            if name not in source:
                continue
            raw = source[name]
            default = f.default
            if isinstance(default, bool) or f.name == "migrate_on_start":
                values[f.name] = _as_bool(name, raw)
            elif f.name == "publisher_rate":
                values[f.name] = float(_as_number(name, raw, float)) if raw.strip() else None
            elif isinstance(default, int):
                values[f.name] = int(_as_number(name, raw, int))
            elif isinstance(default, float):
                values[f.name] = float(_as_number(name, raw, float))
            elif isinstance(default, tuple):
                values[f.name] = _as_list(raw)
            else:
                values[f.name] = raw.strip() or None if f.name == "redis_url" else raw.strip()
        return cls(**values).checked()

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes).checked()

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def publisher_keys(self) -> tuple[str, ...]:
        """The API keys from the environment; the dev key when none are set outside production."""
        if self.api_keys or self.production:
            return self.api_keys
        return (DEV_API_KEY,)

    @property
    def publisher_rate_limit(self) -> float:
        """Requests a second per publisher key; 0 for no limit."""
        if self.publisher_rate is not None:
            return self.publisher_rate
        return 1000.0 if self.production else 0.0

    @property
    def cors_credentials(self) -> bool:
        """Whether CORS answers may carry credentials: never for a wildcard origin."""
        return bool(self.cors_origins) and "*" not in self.cors_origins

    def warnings(self) -> list[str]:
        """What is allowed in development but must be said loudly at start-up."""
        out = []
        if self.api_keys and self.secret_key == DEV_SECRET:
            out.append(
                "TOCSIN_API_KEYS is set but TOCSIN_SECRET_KEY is the public default: anyone "
                "can sign vendor tokens. Set TOCSIN_SECRET_KEY before this leaves development."
            )
        if "*" in self.cors_origins:
            out.append("TOCSIN_CORS_ORIGINS=*: any site may call the API, without credentials")
        return out

    @property
    def embedded(self) -> bool:
        """True when the event log lives in the SQL database (no Redis)."""
        return not self.redis_url

    def checked(self) -> Settings:
        if self.env not in {"development", "production", "test"}:
            raise ConfigError("TOCSIN_ENV must be development, production or test")
        if not self.database_url.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ConfigError("TOCSIN_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("TOCSIN_REDIS_URL must be a redis:// URL")
        if not 1 <= self.redis_partitions <= 16384:
            raise ConfigError("TOCSIN_REDIS_PARTITIONS must be between 1 and 16384")
        if self.api_keys and self.secret_key == DEV_SECRET and self.env != "development":
            # Anyone can read the default secret in this source: tokens it signs prove nothing.
            raise ConfigError(
                f"TOCSIN_API_KEYS is set but TOCSIN_SECRET_KEY is the public default: "
                f"TOCSIN_ENV={self.env} refuses it; set a random value of at least 32 characters"
            )
        if self.production:
            if self.secret_key == DEV_SECRET:
                raise ConfigError(
                    "TOCSIN_ENV=production refuses the default TOCSIN_SECRET_KEY: "
                    "set a random value of at least 32 characters"
                )
            if len(self.secret_key) < 32:
                raise ConfigError("TOCSIN_SECRET_KEY must be at least 32 characters")
        if self.heartbeat_seconds <= 0:
            raise ConfigError("TOCSIN_HEARTBEAT_SECONDS must be positive")
        if self.stream_tally_seconds <= 0:
            raise ConfigError("TOCSIN_STREAM_TALLY_SECONDS must be positive")
        if self.subscriber_queue_size < 1 or self.replay_max_events < 1:
            raise ConfigError("queue and replay limits must be at least 1")
        if self.slot_ttl_seconds < 3:
            raise ConfigError("TOCSIN_SLOT_TTL_SECONDS must be at least 3")
        if self.bulk_chunk < 1 or self.purge_batch < 1:
            raise ConfigError("TOCSIN_BULK_CHUNK and TOCSIN_PURGE_BATCH must be at least 1")
        if self.purge_interval_seconds <= 0:
            raise ConfigError("TOCSIN_PURGE_INTERVAL_SECONDS must be positive")
        self._check_delivery()
        self._check_push()
        return self

    @property
    def push(self) -> bool:
        """Whether Web Push is configured (a VAPID key pair)."""
        return bool(self.vapid_public_key and self.vapid_private_key)

    def _check_push(self) -> None:
        if bool(self.vapid_public_key) != bool(self.vapid_private_key):
            raise ConfigError(
                "set both TOCSIN_VAPID_PUBLIC_KEY and TOCSIN_VAPID_PRIVATE_KEY "
                "(`tocsin vapid-keys` prints a pair), or neither"
            )
        if not self.vapid_subject.startswith(("mailto:", "https://")):
            raise ConfigError("TOCSIN_VAPID_SUBJECT must be a mailto: or https:// URL")
        # Push services contact the subject about a misbehaving sender (RFC 8292 §2.1);
        # a localhost address reaches no one.
        if self.production and self.push and "localhost" in self.vapid_subject.lower():
            raise ConfigError(
                "TOCSIN_ENV=production refuses a localhost TOCSIN_VAPID_SUBJECT: set "
                "mailto:<an address push services can reach> or your site's https:// URL"
            )

    def _check_delivery(self) -> None:
        if self.sms_provider not in {"log", "webhook"}:
            raise ConfigError("TOCSIN_SMS_PROVIDER must be log or webhook")
        if self.sms_provider == "webhook" and not self.sms_webhook_url.startswith(
            ("http://", "https://")
        ):
            raise ConfigError("TOCSIN_SMS_PROVIDER=webhook needs an http(s) TOCSIN_SMS_WEBHOOK_URL")
        if self.smtp_tls and self.smtp_starttls:
            raise ConfigError(
                "set TOCSIN_SMTP_TLS (implicit TLS) or TOCSIN_SMTP_STARTTLS, not both"
            )
        if self.keep_alive_seconds < 1:
            raise ConfigError("TOCSIN_KEEP_ALIVE_SECONDS must be at least 1")
        if self.delivery_max_attempts < 1 or self.delivery_concurrency < 1:
            raise ConfigError("delivery attempts and concurrency must be at least 1")
        # A send still running when its lease ends would be taken over and sent twice.
        timeouts = [self.smtp_timeout_seconds, self.sms_timeout_seconds]
        if self.push:
            timeouts.append(self.push_timeout_seconds)
        if self.delivery_lease_seconds <= max(timeouts):
            raise ConfigError(
                "TOCSIN_DELIVERY_LEASE_SECONDS must exceed the SMTP, SMS and push timeouts"
            )

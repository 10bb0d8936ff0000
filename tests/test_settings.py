"""`Settings.from_env`: typed values, clear errors, and the production checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.errors import ConfigError
from tocsin.settings import DEV_SECRET, Settings

STRONG = "s" * 40


def from_env(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(env, dotenv=tmp_path / "no.env")


def test_defaults_are_the_embedded_mode(tmp_path: Path) -> None:
    s = from_env(tmp_path)
    assert s.database_url == "sqlite:///./tocsin.db"
    assert s.redis_url is None
    assert s.embedded
    assert s.env == "development"
    assert not s.production
    assert s.heartbeat_seconds == 15.0
    assert s.secret_key == DEV_SECRET
    assert s.api_keys == ()


def test_values_are_typed(tmp_path: Path) -> None:
    s = from_env(
        tmp_path,
        TOCSIN_DATABASE_URL="postgresql://u@db/tocsin",
        TOCSIN_REDIS_URL="redis://cache:6379/0",
        TOCSIN_API_KEYS=" k1, ,k2 ",
        TOCSIN_HEARTBEAT_SECONDS="2.5",
        TOCSIN_MAX_BODY_BYTES="1024",
        TOCSIN_RUN_WORKERS="no",
        TOCSIN_MIGRATE_ON_START="yes",
        TOCSIN_CORS_ORIGINS="https://a.example,https://b.example",
    )
    assert s.database_url == "postgresql://u@db/tocsin"
    assert s.redis_url == "redis://cache:6379/0"
    assert not s.embedded
    assert s.api_keys == ("k1", "k2")
    assert s.heartbeat_seconds == 2.5
    assert s.max_body_bytes == 1024
    assert s.run_workers is False
    assert s.migrate_on_start is True
    assert s.cors_origins == ("https://a.example", "https://b.example")


def test_empty_redis_url_means_embedded(tmp_path: Path) -> None:
    assert from_env(tmp_path, TOCSIN_REDIS_URL="").embedded


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TOCSIN_SECRET_KEY"):
        from_env(tmp_path, TOCSIN_ENV="production")
    with pytest.raises(ConfigError, match="TOCSIN_SECRET_KEY"):
        from_env(tmp_path, TOCSIN_ENV="production", TOCSIN_SECRET_KEY=DEV_SECRET)


def test_production_refuses_a_short_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="32"):
        from_env(tmp_path, TOCSIN_ENV="production", TOCSIN_SECRET_KEY="short")


def test_production_with_a_strong_secret_starts(tmp_path: Path) -> None:
    s = from_env(tmp_path, TOCSIN_ENV="production", TOCSIN_SECRET_KEY=STRONG)
    assert s.production
    assert s.secret_key == STRONG


def test_development_accepts_the_default_secret(tmp_path: Path) -> None:
    assert from_env(tmp_path, TOCSIN_ENV="development").secret_key == DEV_SECRET


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOCSIN_HEARTBEAT_SECONDS", "fast"),
        ("TOCSIN_HEARTBEAT_SECONDS", "0"),
        ("TOCSIN_HEARTBEAT_SECONDS", "-1"),
        ("TOCSIN_HEARTBEAT_SECONDS", "nan"),
        ("TOCSIN_HEARTBEAT_SECONDS", "inf"),
        ("TOCSIN_MAX_BODY_BYTES", "1.5"),
        ("TOCSIN_MAX_BODY_BYTES", "-1"),
        ("TOCSIN_MAX_BODY_BYTES", "256k"),
        ("TOCSIN_MAX_BODY_BYTES", ""),
        ("TOCSIN_RETENTION_SECONDS", "nan"),
        ("TOCSIN_SUBSCRIBER_QUEUE_SIZE", "0"),
        ("TOCSIN_RUN_WORKERS", "maybe"),
        ("TOCSIN_ENV", "staging"),
        ("TOCSIN_DATABASE_URL", "mysql://db/tocsin"),
        ("TOCSIN_REDIS_URL", "http://cache"),
    ],
)
def test_bad_values_are_a_config_error_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        from_env(tmp_path, **{name: value})
    assert name.removeprefix("TOCSIN_") in str(info.value) or "limits" in str(info.value)


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# a comment\n"
        "export TOCSIN_HEARTBEAT_SECONDS=7\n"
        "TOCSIN_API_KEYS='from-file'\n"
        'TOCSIN_LOG_LEVEL="debug"\n'
        "not a setting\n",
        encoding="utf-8",
    )
    s = Settings.from_env({"TOCSIN_API_KEYS": "from-env"}, dotenv=dotenv)
    assert s.heartbeat_seconds == 7.0
    assert s.api_keys == ("from-env",)
    assert s.log_level == "debug"


def test_dotenv_production_default_secret_is_refused(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TOCSIN_ENV=production\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        Settings.from_env({}, dotenv=dotenv)


def test_with_checks_again() -> None:
    s = Settings()
    with pytest.raises(ConfigError):
        s.with_(env="production")
    assert s.with_(env="production", secret_key=STRONG).production


def test_api_keys_with_the_default_secret_are_refused_outside_development(
    tmp_path: Path,
) -> None:
    for env in ("test", "production"):
        with pytest.raises(ConfigError, match="TOCSIN_SECRET_KEY is the public default"):
            from_env(tmp_path, TOCSIN_ENV=env, TOCSIN_API_KEYS="k1")


def test_api_keys_with_the_default_secret_warn_loudly_in_development(tmp_path: Path) -> None:
    s = from_env(tmp_path, TOCSIN_API_KEYS="k1")
    assert any("public default" in w for w in s.warnings())
    assert from_env(tmp_path, TOCSIN_API_KEYS="k1", TOCSIN_SECRET_KEY=STRONG).warnings() == []


def test_a_cors_wildcard_never_comes_with_credentials(tmp_path: Path) -> None:
    assert not from_env(tmp_path, TOCSIN_CORS_ORIGINS="*").cors_credentials
    assert not from_env(tmp_path, TOCSIN_CORS_ORIGINS="https://a.example,*").cors_credentials
    assert from_env(tmp_path, TOCSIN_CORS_ORIGINS="https://a.example").cors_credentials


def test_web_push_needs_both_keys_and_production_a_reachable_subject(tmp_path: Path) -> None:
    assert not from_env(tmp_path).push
    with pytest.raises(ConfigError, match="both TOCSIN_VAPID_PUBLIC_KEY"):
        from_env(tmp_path, TOCSIN_VAPID_PUBLIC_KEY="pub")
    keys = {"TOCSIN_VAPID_PUBLIC_KEY": "pub", "TOCSIN_VAPID_PRIVATE_KEY": "priv"}
    s = from_env(tmp_path, **keys)
    assert s.push
    assert s.push_grace_seconds == 10.0
    assert s.vapid_subject == "mailto:tocsin@localhost"
    with pytest.raises(ConfigError, match="mailto: or https://"):
        from_env(tmp_path, **keys, TOCSIN_VAPID_SUBJECT="ops@shop.example")
    prod = {**keys, "TOCSIN_ENV": "production", "TOCSIN_SECRET_KEY": STRONG}
    with pytest.raises(ConfigError, match="refuses a localhost TOCSIN_VAPID_SUBJECT"):
        from_env(tmp_path, **prod)
    with pytest.raises(ConfigError, match="localhost"):
        from_env(tmp_path, **prod, TOCSIN_VAPID_SUBJECT="https://LOCALHOST:8000")
    ok = from_env(tmp_path, **prod, TOCSIN_VAPID_SUBJECT="mailto:ops@shop.example")
    assert ok.vapid_subject == "mailto:ops@shop.example"
    allow = from_env(tmp_path, TOCSIN_PUSH_ALLOW_HOSTS="push.internal, 10.0.0.5:8080")
    assert allow.push_allow_hosts == ("push.internal", "10.0.0.5:8080")


def test_limits_default_to_50_streams_and_a_publisher_rate_in_production_only(
    tmp_path: Path,
) -> None:
    dev = from_env(tmp_path)
    assert dev.max_streams_per_vendor == 50
    assert dev.publisher_rate_limit == 0  # off
    assert from_env(tmp_path, TOCSIN_ENV="test").publisher_rate_limit == 0
    prod = from_env(tmp_path, TOCSIN_ENV="production", TOCSIN_SECRET_KEY=STRONG)
    assert prod.publisher_rate_limit == 1000
    tuned = from_env(
        tmp_path,
        TOCSIN_ENV="production",
        TOCSIN_SECRET_KEY=STRONG,
        TOCSIN_PUBLISHER_RATE="0",
        TOCSIN_MAX_STREAMS_PER_VENDOR="5",
    )
    assert tuned.publisher_rate_limit == 0
    assert tuned.max_streams_per_vendor == 5
    assert from_env(tmp_path, TOCSIN_PUBLISHER_RATE="2.5").publisher_rate_limit == 2.5
    with pytest.raises(ConfigError, match="TOCSIN_PUBLISHER_RATE"):
        from_env(tmp_path, TOCSIN_PUBLISHER_RATE="fast")

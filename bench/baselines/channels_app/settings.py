"""Django settings for the Channels baseline: no database, no middleware."""

from __future__ import annotations

import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.baselines.channels_app.urls"
DATABASES: dict[str, object] = {}
USE_TZ = True
ASGI_APPLICATION = "bench.baselines.channels_app.asgi.application"

# redis-py 8's default pool caps at 100 connections; with it this design
# answers 500 "Too many connections" while many sockets join their groups at
# once. Raised so the benchmark measures delivery, not that failure.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": os.environ.get("BENCH_CHANNELS_REDIS", "redis://127.0.0.1:6379/13"),
                    "max_connections": int(os.environ.get("BENCH_CHANNELS_POOL", "1000")),
                }
            ],
        },
    }
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # INFO here logs each group_send that found a process inbox full
    # ("over capacity"): the benchmark counts those messages as dropped.
    "loggers": {"channels_redis": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

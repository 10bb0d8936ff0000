"""A description of the machine and software a run measured."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from typing import Any

import psutil
import redis

PACKAGES = (
    "tocsin",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "databases",
    "asyncpg",
    "redis",
    "Django",
    "channels",
    "channels-redis",
    "websockets",
    "psutil",
    "matplotlib",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _postgres() -> str:
    try:
        out = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-tAc",
                "SHOW server_version",
            ],
            capture_output=True,
            check=True,
            timeout=10,
        )
        return out.stdout.decode().strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _redis(url: str) -> str:
    try:
        client = redis.Redis.from_url(url)
        version = str(client.info("server")["redis_version"])
        client.close()
        return version
    except redis.RedisError:
        return "unknown"


def _revision() -> str:
    """The commit measured, and whether `src/` differed from it."""
    try:
        head = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, check=True, timeout=10
            )
            .stdout.decode()
            .strip()
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], capture_output=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (with uncommitted changes in src/)" if dirty else head


def describe(redis_url: str = "redis://127.0.0.1:6379/0") -> dict[str, Any]:
    return {
        "revision": _revision(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": _postgres(),
        "redis_server": _redis(redis_url),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def redis_pid(url: str = "redis://127.0.0.1:6379/0") -> int | None:
    try:
        client = redis.Redis.from_url(url)
        pid = int(client.info("server")["process_id"])
        client.close()
        return pid
    except redis.RedisError:
        return None

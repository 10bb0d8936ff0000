"""The systems under test and how the generator talks to each.

All three answer the same publish and token calls; the streams differ only in
transport (SSE or WebSocket). Catch-up and polling apply where a system has
them: the old Channels design has neither.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import redis

from bench import paths
from bench.httpclient import ClientPool
from bench.loadgen.protocols import sse_request, ws_request
from bench.proc import ServerProcess

HOST = "127.0.0.1"
PG_URL = "postgresql://postgres@127.0.0.1:5432"
API_KEY = "benchkey"


@dataclass
class System:
    name: str
    label: str
    port: int
    kind: str  # "sse" or "ws"
    replay: bool
    poll: bool
    redis_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Log lines worth counting in the report: label -> bytes to look for.
    log_counters: dict[str, bytes] = field(default_factory=dict)

    def argv(self) -> list[str]:
        raise NotImplementedError

    async def prepare(self) -> None:
        """Start from empty state: flush this system's Redis database."""
        if self.redis_url:
            client = redis.Redis.from_url(self.redis_url)
            await asyncio.to_thread(client.flushdb)
            client.close()

    def server(self, log_dir: Path) -> ServerProcess:
        return ServerProcess(
            self.name, self.argv(), self.env, self.port, log_dir / f"{self.name}.log"
        )

    async def mint(self, client: ClientPool, vendor: str) -> str:
        resp = await client.json(
            "POST", "/api/v1/tokens", {"vendor_id": vendor, "ttl": 3600}, self.publisher_headers()
        )
        if resp.status not in (200, 201):
            raise RuntimeError(
                f"{self.name}: token for {vendor}: {resp.status} {resp.body[:200]!r}"
            )
        token: str = resp.json()["token"]
        return token

    def publisher_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_KEY}"}

    def publish_path(self, vendor: str) -> str:
        return f"/api/v1/vendors/{quote(vendor)}/notifications"

    def stream_request(self, token: str, vendor: str, last_event_id: str | None = None) -> bytes:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else None
        return sse_request(HOST, self.port, f"/api/v1/stream?access_token={quote(token)}", headers)

    def poll_request(self, token: str, after: str, limit: int) -> bytes:
        path = f"/api/v1/stream/poll?after={quote(after)}&wait=0&limit={limit}"
        return (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()


class Tocsin(System):
    db_name = "tocsin_bench"
    workers = 1  # `tocsin serve --workers`

    def argv(self) -> list[str]:
        exe = Path(sys.executable).parent / "tocsin"
        return [str(exe), "serve", "--host", HOST, "--port", str(self.port)] + (
            ["--workers", str(self.workers)] if self.workers > 1 else []
        )

    async def prepare(self) -> None:
        await super().prepare()
        psql = ["psql", "-q", "-h", HOST, "-U", "postgres", "-d", "postgres", "-c"]
        await _run([*psql, f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)"])
        await _run([*psql, f"CREATE DATABASE {self.db_name}"])
        exe = Path(sys.executable).parent / "tocsin"
        await _run([str(exe), "migrate"], env=self.env)


class NoAuth(System):
    """The baselines check no token: a vendor's token is its id, no call needed."""

    async def mint(self, client: ClientPool, vendor: str) -> str:
        return vendor


class Channels(NoAuth):
    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bench.baselines.channels_app.serve",
            "--port",
            str(self.port),
        ]

    def stream_request(self, token: str, vendor: str, last_event_id: str | None = None) -> bytes:
        return ws_request(HOST, self.port, f"/ws/vendors/{quote(vendor)}/")


class Raw(NoAuth):
    def argv(self) -> list[str]:
        return [sys.executable, "-m", "bench.baselines.raw_server", "--port", str(self.port)]


async def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    proc = await asyncio.to_thread(
        subprocess.run,
        argv,
        env={**os.environ, **(env or {})},
        capture_output=True,
        cwd=paths.ROOT,
        check=False,
    )
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{out}")


def all_systems() -> dict[str, System]:
    tocsin_redis = "redis://127.0.0.1:6379/14"
    channels_redis = "redis://127.0.0.1:6379/13"
    return {
        "tocsin": Tocsin(
            name="tocsin",
            label="tocsin (PostgreSQL + Redis)",
            port=8123,
            kind="sse",
            replay=True,
            poll=True,
            redis_url=tocsin_redis,
            env={
                "TOCSIN_DATABASE_URL": f"{PG_URL}/{Tocsin.db_name}",
                "TOCSIN_REDIS_URL": tocsin_redis,
                "TOCSIN_API_KEYS": API_KEY,
                "TOCSIN_SECRET_KEY": "bench-secret-0123456789abcdef0123456789",
                # Like the baselines: no access log line per request.
                "TOCSIN_LOG_LEVEL": "warning",
                # One vendor holds every stream of the broadcast: no cap (the default is 50).
                "TOCSIN_MAX_STREAMS_PER_VENDOR": "0",
            },
        ),
        "channels": Channels(
            name="channels",
            label="old design (Channels + channels_redis, WebSocket)",
            port=8122,
            kind="ws",
            replay=False,
            poll=False,
            redis_url=channels_redis,
            env={"BENCH_CHANNELS_REDIS": channels_redis},
            log_counters={
                "group_send calls that dropped messages (process inbox over capacity)": (
                    b"over capacity in group"
                ),
            },
        ),
        "raw": Raw(
            name="raw",
            label="raw ceiling (bare uvloop)",
            port=8121,
            kind="sse",
            replay=True,
            poll=True,
        ),
    }

"""The big-vendor benchmark: a vendor with 1,000,000 notifications beside a fresh one.

python -m bench.bigvendor [--count 1000000] [--calls 200] [--backends postgres,sqlite]

Per backend: a new database; the big vendor filled by `tocsin demo --vendor`'s
bulk path (timed); a tocsin server (PostgreSQL + Redis, or the embedded
default on SQLite); then, interleaving the big and the fresh vendor call by
call, `--calls` sequential creates, first pages, unread pages and unread
counts over HTTP, and the same queries in a bare driver (asyncpg or sqlite3)
in the same run. Last, mark-all-read of the big vendor: time to the 202, time
to the job's end, and the creates of the big vendor meanwhile. Results go to
`bench/.out/bigvendor.json`; the section between the bigvendor markers of
`docs/benchmarks.md` and `docs/bench-bigvendor.png` are rewritten from them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import paths
from bench.report.bigvendor import plot, section
from bench.stats import summarize
from bench.systems import HOST, PG_URL
from tocsin._ids import new_notification_id, now_ms

RESULTS = paths.OUT / "bigvendor.json"
PLOT = paths.DOCS / "bench-bigvendor.png"
START, END = "<!-- bigvendor:start -->", "<!-- bigvendor:end -->"
PORT = 8143
API_KEY = "benchkey"
BIG, FRESH = "big-vendor", "fresh-vendor"
PG_DB = "tocsin_bigvendor"
SQLITE_DB = paths.OUT / "bigvendor.db"

# The SQL each endpoint runs, for the bare driver (`:v` the vendor).
PAGE = (
    "SELECT * FROM notifications WHERE vendor_id = :v AND archived_at IS NULL "
    "ORDER BY id DESC LIMIT 21"
)
UNREAD_PAGE = (
    "SELECT * FROM notifications WHERE vendor_id = :v AND read_at IS NULL "
    "AND archived_at IS NULL ORDER BY id DESC LIMIT 21"
)
TOTAL = "SELECT coalesce(sum(unread), 0) FROM unread_counts WHERE vendor_id = :v"
BY_TYPE = "SELECT type, unread FROM unread_counts WHERE vendor_id = :v AND unread > 0"
CREATE = (
    "INSERT INTO vendors (id, seq, created_at) VALUES (:v, 1, 0) "
    "ON CONFLICT (id) DO UPDATE SET seq = vendors.seq + 1 RETURNING seq",
    "INSERT INTO notifications (id, vendor_id, type, title, body, data, priority, created_at) "
    "VALUES (:id, :v, 'order_created', 'New order', 'body', '{}', 'normal', :at)",
    "INSERT INTO unread_counts (vendor_id, type, unread) VALUES (:v, 'order_created', 1) "
    "ON CONFLICT (vendor_id, type) DO UPDATE SET unread = unread_counts.unread + 1",
    "INSERT INTO outbox (vendor_id, seq, event, payload, created_at) "
    "VALUES (:v, :seq, 'new_notification', '{}', 0)",
)
MARK_ALL = "UPDATE notifications SET read_at = 1 WHERE vendor_id = :v AND read_at IS NULL"

Timed = Callable[[str], Awaitable[None]]


def load() -> tuple[float, float]:
    """The 1- and 5-minute load averages (the box is shared)."""
    one, five, *_ = Path("/proc/loadavg").read_text().split()
    return float(one), float(five)


def database_url(backend: str) -> str:
    return f"{PG_URL}/{PG_DB}" if backend == "postgres" else f"sqlite:///{SQLITE_DB}"


def fresh_database(backend: str) -> None:
    from tocsin.storage import migrate

    if backend == "postgres":
        for sql in (f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)", f"CREATE DATABASE {PG_DB}"):
            subprocess.run(["psql", "-q", "-h", HOST, "-U", "postgres", "-c", sql], check=True)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_DB}{suffix}").unlink(missing_ok=True)
    migrate.upgrade(database_url(backend))


def server_env(backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(
        {
            "TOCSIN_DATABASE_URL": database_url(backend),
            "TOCSIN_API_KEYS": API_KEY,
            "TOCSIN_SECRET_KEY": "bench-secret-bench-secret-bench-secret-0123",
            "TOCSIN_ENV": "test",
            "TOCSIN_LOG_LEVEL": "warning",
            "TOCSIN_MIGRATE_ON_START": "false",
        }
    )
    if backend == "postgres":
        env["TOCSIN_REDIS_URL"] = "redis://127.0.0.1:6379/14"
        env["TOCSIN_REDIS_PREFIX"] = f"bigvendor{os.getpid()}"
    return env


class Server:
    def __init__(self, backend: str) -> None:
        self.log = (paths.OUT / f"bigvendor-{backend}.log").open("wb")
        self.proc = subprocess.Popen(
            [str(paths.VENV_BIN / "tocsin"), "serve", "--port", str(PORT)],
            env=server_env(backend),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"http://{HOST}:{PORT}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


async def timed(calls: int, ops: dict[str, Timed]) -> dict[str, dict[str, float]]:
    """Each op `calls` times, the vendors interleaved call by call; latency summaries."""
    samples: dict[str, list[int]] = {name: [] for name in ops}
    for _ in range(calls):
        for name, op in ops.items():
            started = time.perf_counter_ns()
            await op(name)
            samples[name].append(time.perf_counter_ns() - started)
    return {name: summarize(values) for name, values in samples.items()}


class Http:
    def __init__(self, tokens: dict[str, str]) -> None:
        self.client = httpx.AsyncClient(base_url=f"http://{HOST}:{PORT}", timeout=60)
        self.tokens = tokens
        self.n = 0

    def _vendor(self, name: str) -> str:
        return BIG if name.startswith("big") else FRESH

    def _auth(self, vendor: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[vendor]}"}

    async def create(self, name: str) -> None:
        self.n += 1
        r = await self.client.post(
            f"/api/v1/vendors/{self._vendor(name)}/notifications",
            json={"type": "order_created", "title": f"New order #{self.n}", "body": "bench"},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert r.status_code == 201, r.text

    async def get(self, name: str, path: str) -> None:
        r = await self.client.get(path, headers=self._auth(self._vendor(name)))
        assert r.status_code == 200, r.text

    async def page(self, name: str) -> None:
        await self.get(name, "/api/v1/notifications?limit=20")

    async def unread_page(self, name: str) -> None:
        await self.get(name, "/api/v1/notifications?limit=20&unread=true")

    async def count(self, name: str) -> None:
        await self.get(name, "/api/v1/notifications/unread-count")


class Bare:
    """The same statements in the bare driver, on one connection."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.pg: Any = None
        self.lite: sqlite3.Connection | None = None
        self.n = 0

    async def open(self) -> None:
        if self.backend == "postgres":
            self.pg = await asyncpg.connect(f"{PG_URL}/{PG_DB}")
        else:
            self.lite = sqlite3.connect(SQLITE_DB, isolation_level=None)
            self.lite.execute("PRAGMA synchronous=FULL")

    async def close(self) -> None:
        if self.pg is not None:
            await self.pg.close()
        if self.lite is not None:
            self.lite.close()

    async def q(self, sql: str, **values: Any) -> list[Any]:
        if self.pg is not None:
            names: list[str] = []

            def number(m: re.Match[str]) -> str:
                names.append(m.group(1))
                return f"${len(names)}"

            text = re.sub(r"(?<!:):([a-z]+)", number, sql)
            return list(await self.pg.fetch(text, *[values[n] for n in names]))
        assert self.lite is not None
        return self.lite.execute(sql, values).fetchall()

    async def begin(self) -> None:
        await self.q("BEGIN" if self.pg is not None else "BEGIN IMMEDIATE")

    def vendor(self, name: str) -> str:
        return BIG if name.startswith("big") else FRESH

    async def create(self, name: str) -> None:
        v = self.vendor(name)
        self.n += 1
        await self.begin()
        seq = (await self.q(CREATE[0], v=v))[0][0]
        await self.q(CREATE[1], id=new_notification_id(), v=v, at=now_ms())
        await self.q(CREATE[2], v=v)
        await self.q(CREATE[3], v=v, seq=seq)
        await self.q("COMMIT")

    async def page(self, name: str) -> None:
        await self.q(PAGE, v=self.vendor(name))
        await self.q(TOTAL, v=self.vendor(name))

    async def unread_page(self, name: str) -> None:
        await self.q(UNREAD_PAGE, v=self.vendor(name))
        await self.q(TOTAL, v=self.vendor(name))

    async def count(self, name: str) -> None:
        await self.q(BY_TYPE, v=self.vendor(name))

    async def mark_all_read_seconds(self) -> float:
        """One `UPDATE` of every unread row of the big vendor, rolled back: the cost of
        doing it in one statement (and how long it would hold the vendor's lock)."""
        await self.begin()
        started = time.perf_counter()
        await self.q(MARK_ALL, v=BIG)
        seconds = time.perf_counter() - started
        await self.q("ROLLBACK")
        if self.pg is not None:
            await self.pg.execute("VACUUM ANALYZE notifications")
        return seconds


async def mark_all_read(http: Http, calls_per_s: float = 20.0) -> dict[str, Any]:
    """Mark-all-read of the big vendor while it keeps receiving creates."""
    client = http.client
    stop = asyncio.Event()
    during: list[int] = []

    async def creates() -> None:
        while not stop.is_set():
            started = time.perf_counter_ns()
            await http.create("big")
            during.append(time.perf_counter_ns() - started)
            await asyncio.sleep(1 / calls_per_s)

    counts = await client.get("/api/v1/notifications/unread-count", headers=http._auth(BIG))
    unread_before = counts.json()["total"]
    loop = asyncio.create_task(creates())
    await asyncio.sleep(1.0)
    started = time.perf_counter()
    r = await client.post(
        "/api/v1/notifications/bulk",
        json={"action": "mark_read", "all": True},
        headers=http._auth(BIG),
    )
    to_answer = time.perf_counter() - started
    assert r.status_code in (200, 202), r.text
    if r.status_code == 200:  # under TOCSIN_BULK_SYNC_LIMIT: done in the request
        job = {"status": "done in the request", "updated": r.json()["updated"]}
    while r.status_code == 202:
        job = (await client.get(r.headers["location"], headers=http._auth(BIG))).json()["job"]
        if job["status"] != "running":
            break
        await asyncio.sleep(0.1)
    to_done = time.perf_counter() - started
    stop.set()
    await loop
    return {
        "unread_before": unread_before,
        "updated": job["updated"],
        "status": job["status"],
        "to_202_s": round(to_answer, 3),
        "to_done_s": round(to_done, 2),
        "creates_during": summarize(during),
    }


async def run_backend(backend: str, count: int, calls: int) -> dict[str, Any]:
    from tocsin.demo import fill
    from tocsin.settings import Settings

    load_before = load()
    print(f"{backend}: new database, filling {count:,} notifications", flush=True)
    fresh_database(backend)
    settings = Settings().with_(database_url=database_url(backend))
    fill_s = await fill(settings, BIG, count)
    print(f"{backend}: filled in {fill_s:.1f} s", flush=True)
    bare = Bare(backend)
    await bare.open()
    if backend == "postgres":
        await bare.pg.execute("VACUUM ANALYZE")
    server = Server(backend)
    out: dict[str, Any] = {
        "count": count,
        "calls": calls,
        "fill_s": round(fill_s, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        await server.ready()
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{PORT}") as c:
            tokens = {}
            for vendor in (BIG, FRESH):
                r = await c.post(
                    "/api/v1/tokens",
                    json={"vendor_id": vendor, "ttl": 3600},
                    headers={"Authorization": f"Bearer {API_KEY}"},
                )
                tokens[vendor] = r.json()["token"]
        http = Http(tokens)
        ops: dict[str, dict[str, dict[str, float]]] = {}
        for op in ("create", "page", "unread_page", "count"):
            print(f"{backend}: {op}", flush=True)
            ops[op] = await timed(
                calls,
                {
                    "big": getattr(http, op),
                    "fresh": getattr(http, op),
                    "bare_big": getattr(bare, op),
                    "bare_fresh": getattr(bare, op),
                },
            )
        out["ops"] = ops
        print(f"{backend}: bare mark-all-read", flush=True)
        out["bare_mark_all_read_s"] = round(await bare.mark_all_read_seconds(), 2)
        print(f"{backend}: mark-all-read", flush=True)
        out["mark_all_read"] = await mark_all_read(http)
        await http.client.aclose()
    finally:
        server.stop()
        await bare.close()
    out["load_before"] = load_before
    out["load_after"] = load()
    return out


def write_report(data: dict[str, Any]) -> None:
    plot(data, PLOT)
    text = paths.REPORT.read_text()
    block = f"{START}\n{section(data)}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text += f"\n## Big vendor\n\n{block}\n"
    paths.REPORT.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bigvendor", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--count", default=1_000_000, type=int)
    parser.add_argument("--calls", default=200, type=int)
    parser.add_argument("--backends", default="postgres", type=lambda s: s.split(","))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    paths.OUT.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if not args.report_only:
        for backend in args.backends:
            data[backend] = asyncio.run(run_backend(backend, args.count, args.calls))
            RESULTS.write_text(json.dumps(data, indent=1))
    write_report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

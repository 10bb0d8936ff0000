"""The event log on Redis, one node against a Redis Cluster: what one process and one master do.

python -m bench.cluster                       # the local cluster (scripts/services) and Redis db 14
python -m bench.cluster --seconds 10 --vendors 2000

Three measurements, each on `redis://127.0.0.1:6379/14` and on the cluster at
`redis://127.0.0.1:7000`, through `RedisLog` itself (no HTTP, no SQL: those are
in `docs/benchmarks.md`):

- **appends**: the relay's path. Batches of 500 outbox records over V vendors,
  back to back, from one process: appends/s, and the Redis CPU time each append
  costs (the masters' `used_cpu_sys + used_cpu_user` before and after).
- **live**: V vendors watched by this process (one hub subscriber each), appends
  at a fixed rate; latency from `append` called to the event in the subscriber's
  queue (p50/p99), and Redis CPU per append with its announcement delivered.
- **connections**: this process's connections per master while V vendors are watched.
- **publishes** (cluster only): `tocsin serve` on PostgreSQL and the cluster,
  `POST /api/v1/vendors/{v}/notifications` with 32 calls in flight over V
  vendors: publishes/s of one process, and PostgreSQL transactions and rows
  written per publish (`pg_stat_database`), and Redis CPU per publish (the
  relay's appends, the delivery queue, the readiness probes: everything).

Prints a Markdown table for docs/scaling.md, and writes bench/.out/cluster.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from tocsin.model import OutboxRecord
from tocsin.realtime.eventlog.redis import RedisLog
from tocsin.realtime.hub import Hub, Subscriber
from tocsin.settings import Settings
from tocsin.storage import migrate
from tocsin.storage.stores import Stores

PG = "postgresql://postgres@127.0.0.1:5432"
PG_DB = "tocsin_bench_cluster"
API_KEY = "bench-cluster-key"
SINGLE = "redis://127.0.0.1:6379/14"
CLUSTER = "redis://127.0.0.1:7000"
BATCH = 500
IDLE_SECONDS = 5.0
PAYLOAD = '{"notification":{"id":"n","title":"' + "x" * 300 + '"},"unread_count":1}'


def _masters(url: str) -> list[redis.Redis]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        if not int(client.info("cluster").get("cluster_enabled", 0)):
            return [client]
        text = str(client.execute_command("CLUSTER", "NODES"))
    finally:
        client.close()
    found = []
    for line in text.splitlines():
        parts = line.split()
        if "master" in parts[2] and "fail" not in parts[2] and len(parts) > 8:
            host, port = parts[1].split("@")[0].rsplit(":", 1)
            found.append(redis.Redis(host=host, port=int(port), decode_responses=True))
    return found


def _redis_cpu(masters: list[redis.Redis]) -> float:
    return sum(_redis_cpus(masters))


def _redis_cpus(masters: list[redis.Redis]) -> list[float]:
    """Each master's CPU time so far (s)."""
    cpus = []
    for m in masters:
        info = m.info("cpu")
        cpus.append(float(info["used_cpu_sys"]) + float(info["used_cpu_user"]))
    return cpus


class Run:
    def __init__(self, url: str, vendors: int, tmp: Path) -> None:
        self.url = url
        self.vendors = [f"b{n:05d}" for n in range(vendors)]
        self.seq = dict.fromkeys(self.vendors, 0)
        self.next_id = 1
        db = f"sqlite:///{tmp / (url.rsplit(':', 1)[1].replace('/', '_') + '.db')}"
        migrate.upgrade(db)
        self.settings = Settings(
            database_url=db, redis_url=url, redis_prefix=f"bench{int(time.time())}"
        )
        self.stores = Stores(db)
        self.hub = Hub(100_000)
        self.log = RedisLog(self.settings, self.stores.meta)
        self.masters = _masters(url)

    async def __aenter__(self) -> Run:
        await self.stores.connect()
        await self.log.start(self.hub)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.log.close()
        await self.stores.disconnect()
        for m in self.masters:
            m.close()

    def records(self, vendors: list[str], stamp: bool = False) -> list[OutboxRecord]:
        out = []
        for v in vendors:
            self.seq[v] += 1
            payload = f'{{"t":{time.monotonic_ns()}}}' if stamp else PAYLOAD
            out.append(OutboxRecord(self.next_id, v, self.seq[v], "new_notification", payload, 1))
            self.next_id += 1
        return out

    async def appends(self, seconds: float) -> dict[str, Any]:
        cpu0, n, started = _redis_cpu(self.masters), 0, time.monotonic()
        i = 0
        while time.monotonic() - started < seconds:
            batch = [self.vendors[(i + k) % len(self.vendors)] for k in range(BATCH)]
            i += BATCH
            result = await self.log.append(self.records(batch))
            assert not result.gaps
            assert len(result.done) == BATCH
            n += BATCH
        elapsed = time.monotonic() - started
        cpu = _redis_cpu(self.masters) - cpu0
        return {
            "appends": n,
            "per_second": n / elapsed,
            "redis_cpu_us_per_append": cpu / n * 1e6,
        }

    async def live(self, seconds: float, rate: float) -> dict[str, Any]:
        subs: dict[str, Subscriber] = {}
        for start in range(0, len(self.vendors), 100):
            chunk = self.vendors[start : start + 100]
            got = await asyncio.gather(*(self.hub.subscribe(v) for v in chunk))
            subs.update(zip(chunk, got, strict=True))
        latencies: list[float] = []

        async def receive(sub: Subscriber) -> None:
            while True:
                event = await sub.get()
                if event is None:
                    continue
                sent = json.loads(event.data)["t"]
                latencies.append((time.monotonic_ns() - sent) / 1e6)

        readers = [asyncio.create_task(receive(s)) for s in subs.values()]
        cpu0, started, n = _redis_cpu(self.masters), time.monotonic(), 0
        per_tick = max(1, int(rate / 100))
        while time.monotonic() - started < seconds:
            batch = [self.vendors[(n + k) % len(self.vendors)] for k in range(per_tick)]
            await self.log.append(self.records(batch, stamp=True))
            n += per_tick
            due = started + n / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        deadline = time.monotonic() + 10
        while len(latencies) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        cpu = _redis_cpu(self.masters) - cpu0
        for task in readers:
            task.cancel()
        name = self.log.name
        per_master = []
        for m in self.masters:
            clients = m.client_list()
            per_master.append(sum(1 for c in clients if c["name"].startswith(name)))
        for sub in subs.values():
            self.hub.unsubscribe(sub)
        latencies.sort()
        return {
            "watched_vendors": len(subs),
            "appends": n,
            "delivered": len(latencies),
            "rate": rate,
            "p50_ms": latencies[len(latencies) // 2] if latencies else None,
            "p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else None,
            "redis_cpu_us_per_append": cpu / n * 1e6,
            "connections_per_master": per_master,
        }


async def measure(url: str, vendors: int, seconds: float, rate: float, tmp: Path) -> dict[str, Any]:
    async with Run(url, vendors, tmp) as run:
        result = {"url": url, "masters": len(run.masters)}
        result["appends"] = await run.appends(seconds)
        result["live"] = await run.live(seconds, rate)
    return result


def _cpu_of(pid: int) -> float:
    """A process's CPU time so far (s), user and system, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pg(sql: str, db: str = "postgres") -> Any:
    with psycopg.connect(f"{PG}/{db}", autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchone() if cursor.description else None


def _pg_writes() -> tuple[int, int]:
    """Committed transactions and rows written (inserted, updated, deleted) in the bench database.

    WAL bytes would be the better measure, but the WAL is shared by every database of the server.
    """
    row = _pg(
        "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database "
        f"WHERE datname = '{PG_DB}'"
    )
    return int(row[0]), int(row[1])


async def publishes(url: str, vendors: int, seconds: float, tmp: Path) -> dict[str, Any]:
    _pg(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    _pg(f'CREATE DATABASE "{PG_DB}"')
    migrate.upgrade(f"{PG}/{PG_DB}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": f"{PG}/{PG_DB}",
        "TOCSIN_REDIS_URL": url,
        "TOCSIN_REDIS_PREFIX": f"benchpub{int(time.time())}",
        "TOCSIN_API_KEYS": API_KEY,
        "TOCSIN_SECRET_KEY": "bench-secret-0123456789abcdef0123456789",
        "TOCSIN_ENV": "test",
        "TOCSIN_LOG_LEVEL": "warning",
    }
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tocsin.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    masters = _masters(url)
    try:
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30
        ) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            names = [f"p{n:05d}" for n in range(vendors)]
            done = 0
            statuses: dict[int, int] = {}

            async def worker(k: int) -> None:
                nonlocal done
                i = k
                while time.monotonic() < stop:
                    r = await client.post(
                        f"/api/v1/vendors/{names[i % len(names)]}/notifications",
                        json={"type": "order_created", "title": "hello", "body": "x" * 200},
                    )
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    done += r.status_code == 201
                    i += 32

            # What the masters spend with the server idle (gossip, replication, the
            # delivery worker's blocking reads, cron) is not the publishes' cost.
            idle0, idle_started = _redis_cpus(masters), time.monotonic()
            await asyncio.sleep(IDLE_SECONDS)
            idle_rate = [
                (b - a) / (time.monotonic() - idle_started)
                for a, b in zip(idle0, _redis_cpus(masters), strict=True)
            ]
            commits0, rows0 = _pg_writes()
            cpu0, started, serve0 = _redis_cpus(masters), time.monotonic(), _cpu_of(proc.pid)
            stop = time.monotonic() + seconds
            await asyncio.gather(*(worker(k) for k in range(32)))
            elapsed = time.monotonic() - started
            await asyncio.sleep(2)  # the relay's last appends
            commits, rows = _pg_writes()
            serve = _cpu_of(proc.pid) - serve0
            window = time.monotonic() - started
            cpu = [
                b - a - rate * window
                for a, b, rate in zip(cpu0, _redis_cpus(masters), idle_rate, strict=True)
            ]
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        for m in masters:
            m.close()
    return {
        "publishes": done,
        "statuses": statuses,
        "per_second": done / elapsed,
        "pg_commits_per_publish": (commits - commits0) / max(done, 1),
        "pg_rows_per_publish": (rows - rows0) / max(done, 1),
        "serve_cpu_ms_per_publish": serve / max(done, 1) * 1e3,
        "redis_cpu_us_per_publish": sum(cpu) / max(done, 1) * 1e6,
        # The delivery queue is one key: its master does more than the others.
        "redis_cpu_us_per_publish_by_master": [c / max(done, 1) * 1e6 for c in cpu],
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| Redis | masters | appends/s, one process | Redis CPU µs per append | "
        "live: appends/s | p50 / p99 ms | Redis CPU µs per announced append | "
        "connections per master |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        a, lv = r["appends"], r["live"]
        lines.append(
            f"| {'cluster' if r['masters'] > 1 else 'one node'} | {r['masters']} | "
            f"{a['per_second']:,.0f} | {a['redis_cpu_us_per_append']:.0f} | "
            f"{lv['rate']:,.0f} to {lv['watched_vendors']:,} watched vendors | "
            f"{lv['p50_ms']:.1f} / {lv['p99_ms']:.1f} | {lv['redis_cpu_us_per_append']:.0f} | "
            f"{', '.join(map(str, lv['connections_per_master']))} |"
        )
    for r in results:
        if "publish" in r:
            p = r["publish"]
            lines += [
                "",
                "| publishes/s, one `tocsin serve` (PostgreSQL + cluster) | its CPU ms per "
                "publish | PostgreSQL commits per publish | rows written per publish | "
                "Redis CPU µs per publish, less idle |",
                "|---|---|---|---|---|",
                f"| {p['per_second']:,.0f} | {p['serve_cpu_ms_per_publish']:.1f} | "
                f"{p['pg_commits_per_publish']:.2f} | "
                f"{p['pg_rows_per_publish']:.1f} | {p['redis_cpu_us_per_publish']:.0f} ("
                + ", ".join(f"{c:.0f}" for c in p["redis_cpu_us_per_publish_by_master"])
                + " by master) |",
            ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--vendors", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=2000.0, help="live appends per second")
    parser.add_argument("--single", default=SINGLE)
    parser.add_argument("--cluster", default=CLUSTER)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for url in (args.single, args.cluster):
            print(f"measuring {url} ...", flush=True)
            results.append(
                asyncio.run(measure(url, args.vendors, args.seconds, args.rate, Path(tmp)))
            )
        print(f"measuring publishes through tocsin serve on {args.cluster} ...", flush=True)
        results[-1]["publish"] = asyncio.run(
            publishes(args.cluster, args.vendors, args.seconds, Path(tmp))
        )
        _pg(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    out = Path(__file__).parent / ".out"
    out.mkdir(exist_ok=True)
    (out / "cluster.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

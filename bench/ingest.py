"""The ingest benchmark: stepped publish rates on both backends, beside the bare driver.

python -m bench.ingest --label after [--backends sqlite,postgres] [--wait-quiet 60]

Results accumulate per label in `bench/.out/ingest.json` (so a `before` run of
an older build and an `after` run sit side by side); the section between the
ingest markers of `docs/benchmarks.md`, and `docs/bench-ingest.png`, are
rewritten from them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, paths
from bench.baselines import bare_writes
from bench.context import Bench
from bench.httpclient import ClientPool
from bench.limits import raise_nofile
from bench.loadgen.pool import WorkerPool
from bench.proc import Monitor
from bench.report.ingest import plot, section
from bench.run import wait_quiet
from bench.scenarios import ingest
from bench.systems import HOST, PG_URL, Tocsin, all_systems

RESULTS = paths.OUT / "ingest.json"
PLOT = paths.DOCS / "bench-ingest.png"
START, END = "<!-- ingest:start -->", "<!-- ingest:end -->"
# Not the port of the main benchmark's tocsin (8123): the two may run side by side.
PORT = 8133
RATES = (100.0, 200.0, 400.0, 800.0, 1000.0, 1200.0, 1600.0, 2000.0, 2400.0)


def system(backend: str) -> Tocsin:
    base = all_systems()["tocsin"]
    assert isinstance(base, Tocsin)
    base.port = PORT
    if backend == "postgres":
        return base
    db = paths.OUT / "ingest.db"
    env = {k: v for k, v in base.env.items() if k not in ("TOCSIN_REDIS_URL",)}
    env["TOCSIN_DATABASE_URL"] = f"sqlite:///{db}"
    return Embedded(
        name="tocsin-embedded",
        label="tocsin (embedded)",
        port=base.port,
        kind="sse",
        replay=True,
        poll=True,
        env=env,
    )


class Embedded(Tocsin):
    async def prepare(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{paths.OUT / 'ingest.db'}{suffix}").unlink(missing_ok=True)
        from bench.systems import _run

        await _run([str(paths.VENV_BIN / "tocsin"), "migrate"], env=self.env)


async def run_backend(
    backend: str, pool: WorkerPool, monitor: Monitor, args: argparse.Namespace
) -> dict[str, Any]:
    sys_ = system(backend)
    background = await wait_quiet(monitor, args.wait_quiet) if args.wait_quiet else None
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    await sys_.prepare()
    server = sys_.server(paths.OUT)
    await server.start()
    monitor.watch("server", [server.pid])
    client = ClientPool(HOST, sys_.port, size=ingest.IN_FLIGHT)
    bench = Bench(sys_, server, pool, None, monitor, client)  # type: ignore[arg-type]
    try:
        result = await ingest.run(bench, args.vendors, args.rates, args.seconds)
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        client.close()
        await pool.close_all()
        await server.stop()
    result["measured_at"] = measured_at
    result["background_before"] = None if background is None else round(background)
    result["errors_logged"] = server.errors_logged()
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    raise_nofile()
    pool = WorkerPool(2)
    await pool.start()
    monitor = Monitor()
    monitor.watch("generator", [os.getpid(), *pool.pids])
    if (pid := machine.redis_pid()) is not None:
        monitor.watch("redis", [pid])
    monitor.watch_name("postgres", "postgres")
    out: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        out["backends"] = {b: await run_backend(b, pool, monitor, args) for b in args.backends}
    finally:
        await pool.stop()
    return out


def bare(args: argparse.Namespace) -> dict[str, Any]:
    path = paths.OUT / "bare.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    from tocsin.storage import migrate

    migrate.upgrade(f"sqlite:///{path}")
    os.system(
        f'psql -q -h {HOST} -U postgres -c "DROP DATABASE IF EXISTS tocsin_bare WITH (FORCE)"'
    )
    os.system(f'psql -q -h {HOST} -U postgres -c "CREATE DATABASE tocsin_bare"')
    migrate.upgrade(f"{PG_URL}/tocsin_bare")
    return bare_writes.measure(path, f"{PG_URL}/tocsin_bare")


def write_report(data: dict[str, Any]) -> None:
    text = paths.REPORT.read_text()
    block = f"{START}\n{section(data)}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text += f"\n## Ingest\n\n{block}\n"
    paths.REPORT.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--label", default="after")
    parser.add_argument("--backends", default="sqlite,postgres", type=lambda s: s.split(","))
    parser.add_argument("--rates", default=RATES, type=lambda s: tuple(map(float, s.split(","))))
    parser.add_argument("--seconds", default=5.0, type=float)
    parser.add_argument("--vendors", default=500, type=int)
    parser.add_argument("--wait-quiet", default=0.0, type=float, metavar="SECONDS")
    parser.add_argument("--bare", action="store_true", help="measure the bare-driver limit too")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    paths.OUT.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": {}}
    if not args.report_only:
        import uvloop

        if args.bare:
            data["bare"] = bare(args)
            print("bare driver:", data["bare"], flush=True)
        run = uvloop.run(main_async(args))
        data["runs"].setdefault(args.label, {"backends": {}})
        data["runs"][args.label]["backends"].update(run["backends"])
        RESULTS.write_text(json.dumps(data, indent=1))
    write_report(data)
    plot(data, PLOT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every scenario against every system and write `docs/benchmarks.md`.

python -m bench --profile short      # under three minutes
python -m bench --profile full
python -m bench --report-only        # rebuild the report from the last results
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, paths
from bench.config import PROFILES, Profile
from bench.context import Bench
from bench.httpclient import ClientPool
from bench.limits import raise_nofile
from bench.loadgen.pool import WorkerPool
from bench.proc import Monitor
from bench.report import markdown
from bench.scenarios import catchup, fanout, many_vendors, polling
from bench.systems import HOST, System, Tocsin, all_systems

ORDER = ("tocsin", "channels", "raw")


def tocsin_available() -> str | None:
    """None when `tocsin serve` can run here, else why not."""
    exe = Path(sys.executable).parent / "tocsin"
    if not exe.exists():
        return f"{exe} not found"
    proc = subprocess.run([str(exe), "serve", "--help"], capture_output=True, check=False)
    if proc.returncode != 0:
        return "`tocsin serve --help` failed: " + proc.stderr.decode(errors="replace")[-300:]
    return None


async def _scenario(
    name: str, system: System, fn: Callable[[], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    print(f"[{system.name}] {name}", flush=True)
    started = time.monotonic()
    try:
        result = await fn()
    except Exception as exc:
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    result["scenario_seconds"] = round(time.monotonic() - started, 1)
    return result


async def _settle(pool: WorkerPool) -> None:
    """Close every stream and let the server finish its disconnect work."""
    await pool.close_all()
    await asyncio.sleep(1.5)


async def run_system(
    system: System, profile: Profile, pool: WorkerPool, monitor: Monitor
) -> dict[str, Any]:
    result: dict[str, Any] = {"label": system.label, "kind": system.kind}
    if isinstance(system, Tocsin) and (why := tocsin_available()):
        result["error"] = why
        return result
    started = time.monotonic()
    whole = monitor.begin()
    await system.prepare()
    if isinstance(system, Tocsin):
        system.workers = profile.server_workers
    server = system.server(paths.OUT)
    await server.start()
    monitor.watch("server", [server.pid])
    client = ClientPool(HOST, system.port, size=32)
    bench = Bench(system, server, pool, profile, monitor, client)
    try:
        result["fanout"] = await _scenario("idle + broadcast", system, lambda: fanout.run(bench))
        await _settle(pool)
        if not profile.fanout_only:
            await _other_scenarios(bench, result)
        result["rss_end"] = server.rss()
    finally:
        result["cpu"] = monitor.end(whole).cpu
        client.close()
        await pool.close_all()
        await server.stop()
        result["errors_logged"] = server.errors_logged()
        result["log_counts"] = {k: server.count_logged(v) for k, v in system.log_counters.items()}
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


async def _other_scenarios(bench: Bench, result: dict[str, Any]) -> None:
    system = bench.system
    result["many_vendors"] = await _scenario(
        "many vendors", system, lambda: many_vendors.run(bench)
    )
    await _settle(bench.pool)
    if system.replay:
        result["catchup"] = await _scenario("catch-up", system, lambda: catchup.run(bench))
        ids = result["catchup"].pop("ids", [])
        if system.poll and ids:
            result["polling"] = await _scenario("polling", system, lambda: polling.run(bench, ids))


async def wait_quiet(monitor: Monitor, limit: float, threshold: float = 25.0) -> float:
    """Wait up to `limit` seconds for other processes to use < `threshold` % of a core."""
    deadline = time.monotonic() + limit
    while True:
        phase = monitor.begin()
        await asyncio.sleep(1.0)
        other = monitor.end(phase).cpu.get("other", 0.0)
        if other < threshold or time.monotonic() >= deadline:
            return other
        print(f"   machine busy: other processes use {other:.0f}% of a core; waiting", flush=True)
        await asyncio.sleep(4.0)


async def run(profile: Profile, names: list[str], quiet: float = 0.0) -> dict[str, Any]:
    raise_nofile()
    systems = all_systems()
    pool = WorkerPool(profile.workers)
    await pool.start()
    monitor = Monitor()
    monitor.watch("generator", [os.getpid(), *pool.pids])
    if (pid := machine.redis_pid()) is not None:
        monitor.watch("redis", [pid])
    monitor.watch_name("postgres", "postgres")
    started = time.monotonic()
    results: dict[str, Any] = {
        "profile": profile.name,
        "config": profile.__dict__,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.describe(),
        "systems": {},
    }
    try:
        for name in names:
            print(f"== {name}", flush=True)
            background = await wait_quiet(monitor, quiet) if quiet else None
            measured_at = datetime.now(UTC).isoformat(timespec="seconds")
            results["systems"][name] = await run_system(systems[name], profile, pool, monitor)
            results["systems"][name]["measured_at"] = measured_at
            results["systems"][name]["background_before"] = background
    finally:
        await pool.stop()
    results["seconds"] = round(time.monotonic() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--systems", default=",".join(ORDER), help="comma-separated subset")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report only")
    parser.add_argument("--no-report", action="store_true", help="keep docs/ untouched")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each system, wait up to this long for unrelated CPU load to stop",
    )
    args = parser.parse_args(argv)
    paths.OUT.mkdir(parents=True, exist_ok=True)
    results_path = paths.OUT / f"results-{args.profile}.json"
    if args.report_only:
        results = json.loads(results_path.read_text())
    else:
        names = [n for n in args.systems.split(",") if n]
        import uvloop

        results = uvloop.run(run(PROFILES[args.profile], names, args.wait_quiet))
        if set(names) != set(ORDER) and results_path.exists():
            # A partial run replaces its systems in the last full results.
            earlier = json.loads(results_path.read_text())
            earlier["systems"].update(results["systems"])
            merged = earlier["systems"]
            results["systems"] = {n: merged[n] for n in ORDER if n in merged}
            results["partial"] = True
        results_path.write_text(json.dumps(results, indent=1))
        shutil.copyfile(results_path, paths.OUT / "results-latest.json")
        print(f"results: {results_path} ({results['seconds']} s)")
    if not args.no_report:
        markdown.write(results, paths.REPORT, paths.DOCS)
        print(f"report: {paths.REPORT}")
    return 0

"""Writes `docs/benchmarks.md` and its plots from one run's results.

The prose lives in `template.md`; the tables come from `tables.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import bigvendor, ingest, plots
from bench.report.tables import (
    NAMES,
    TYPICAL_SECONDS,
    broadcast,
    catchup,
    idle,
    machine,
    many_vendors,
    num,
    polling,
    problems,
    summary,
    targets,
)

TEMPLATE = Path(__file__).with_name("template.md")


def write(results: dict[str, Any], report: Path, docs: Path) -> None:
    images = plots.write_all(results, docs)
    cfg = results["config"]
    minutes = results["seconds"] / 60
    ingest_results = report.parent.parent / "bench" / ".out" / "ingest.json"
    ingest_text = (
        ingest.section(json.loads(ingest_results.read_text()))
        if ingest_results.exists()
        else "No ingest results yet."
    )
    big_results = report.parent.parent / "bench" / ".out" / "bigvendor.json"
    big_text = (
        bigvendor.section(json.loads(big_results.read_text()))
        if big_results.exists()
        else "No big-vendor results yet."
    )
    text = TEMPLATE.read_text().format(
        ingest=ingest_text,
        bigvendor=big_text,
        profile=results["profile"],
        started=results["started_at"],
        minutes=f"{minutes:.1f}",
        typical_short=TYPICAL_SECONDS["short"],
        typical_full=TYPICAL_SECONDS["full"],
        levels=", ".join(num(n) for n in cfg["levels"]),
        paced=cfg["paced_events"],
        burst=num(cfg["burst_deliveries"]),
        vendors=num(cfg["vendors"]),
        rate=f"{cfg['vendor_rate']:.0f}",
        vendor_seconds=f"{cfg['vendor_seconds']:.0f}",
        catchup=num(cfg["catchup_events"]),
        poll_seconds=f"{cfg['poll_seconds']:.0f}",
        poll_concurrency=cfg["poll_concurrency"],
        machine=machine(results),
        summary=summary(results),
        targets=targets(results),
        idle=idle(results),
        broadcast=broadcast(results),
        many_vendors=many_vendors(results),
        catchup_table=catchup(results),
        polling=polling(results),
        problems=problems(results),
        img_latency=images[0],
        img_rss=images[1],
        img_throughput=images[2],
    )
    if results.get("partial"):
        when = ", ".join(
            f"{NAMES.get(name, name)} at {system.get('measured_at', '?')}"
            for name, system in results["systems"].items()
        )
        text = text.replace(
            "## Summary",
            f"Not all systems were measured in the same run (the time above is the last "
            f"partial run's): {when}.\n\n## Summary",
            1,
        )
    report.write_text(text)

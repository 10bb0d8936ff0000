"""The ingest section of `docs/benchmarks.md`, from `bench/.out/ingest.json`."""

from __future__ import annotations

from typing import Any

from bench.report.tables import num

BACKENDS = {"sqlite": "embedded (SQLite, one process)", "postgres": "PostgreSQL + Redis"}


def _ms(summary: dict[str, Any], key: str) -> str:
    value = summary.get(key)
    return "-" if value is None else f"{value:,.1f}"


def section(data: dict[str, Any]) -> str:
    lines: list[str] = []
    bare = data.get("bare", {})
    if bare:
        lines += [
            "Bare-driver limit of the same write path (per notification: vendor sequence "
            "under its row lock, notification, unread count, outbox row), measured in the "
            "same run:",
            "",
            "| driver | one transaction each | 32 per transaction |",
            "|---|---|---|",
            f"| sqlite3, WAL, synchronous=FULL | {num(bare['sqlite_tx_per_s'])}/s "
            f"| {num(bare['sqlite_batched_per_s'])}/s |",
            f"| asyncpg, 16 connections, synchronous_commit=on | {num(bare['pg_tx_per_s'])}/s "
            f"| {num(bare['pg_batched_per_s'])}/s |",
            "",
        ]
    lines += [
        "| build | backend | offered /s | achieved /s | publish p50 / p99 ms "
        "| publish→receipt p50 / p99 ms | delivered | CPU % server / PG / Redis / other |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, run in data.get("runs", {}).items():
        for backend, result in run.get("backends", {}).items():
            if "error" in result:
                lines.append(f"| {label} | {BACKENDS[backend]} | error: {result['error']} |")
                continue
            for step in result["steps"]:
                pub = step["publish"]["latency"]
                rec = step["receipt"]
                cpu = step["cpu"]
                lines.append(
                    f"| {label} | {BACKENDS[backend]} | {num(step['rate'])} "
                    f"| {step['publishes_per_s']:,.0f} "
                    f"| {_ms(pub, 'p50')} / {_ms(pub, 'p99')} "
                    f"| {_ms(rec, 'p50')} / {_ms(rec, 'p99')} "
                    f"| {step['delivered']}/{step['expected']} "
                    f"| {cpu.get('server', 0):.0f} / {cpu.get('postgres', 0):.0f} / "
                    f"{cpu.get('redis', 0):.0f} / {cpu.get('other', 0):.0f} |"
                )
    lines += [
        "",
        "| build | backend | saturates at (offered /s) | measured at | other CPU before |",
    ]
    lines += ["|---|---|---|---|---|"]
    for label, run in data.get("runs", {}).items():
        for backend, result in run.get("backends", {}).items():
            sat = result.get("saturates_at")
            lines.append(
                f"| {label} | {BACKENDS[backend]} "
                f"| {'above ' + num(result['steps'][-1]['rate']) if sat is None else num(sat)} "
                f"| {result.get('measured_at', '?')} | {result.get('background_before', '-')} |"
            )
    return "\n".join(lines)

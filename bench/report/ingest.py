"""The ingest section of `docs/benchmarks.md`, from `bench/.out/ingest.json`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

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
    lines += ["", "![ingest](bench-ingest.png)"]
    return "\n".join(lines)


def plot(data: dict[str, Any], path: Path) -> None:
    """Per backend: achieved rate and publish→receipt p99 against the offered rate, per build."""
    backends = [
        b for b in BACKENDS if any(b in r.get("backends", {}) for r in data["runs"].values())
    ]
    if not backends:
        return
    fig, axes = plt.subplots(
        2, len(backends), figsize=(7 * len(backends), 8), dpi=110, squeeze=False
    )
    colors = {"before": "#95a5a6", "after": "#c0392b"}
    for col, backend in enumerate(backends):
        rate_ax, p99_ax = axes[0][col], axes[1][col]
        top = 0.0
        for label, run in data["runs"].items():
            result = run.get("backends", {}).get(backend)
            if not result or "steps" not in result:
                continue
            steps = result["steps"]
            offered = [s["rate"] for s in steps]
            top = max(top, *offered)
            color = colors.get(label)
            rate_ax.plot(
                offered, [s["publishes_per_s"] for s in steps], "o-", color=color, label=label
            )
            p99_ax.plot(
                offered, [s["receipt"].get("p99", 0) for s in steps], "o-", color=color, label=label
            )
        rate_ax.plot([0, top], [0, top], ":", color="black", label="offered")
        rate_ax.axhline(1500, color="#2c3e50", lw=0.8, ls="--")
        rate_ax.set_title(f"{BACKENDS[backend]}: achieved publishes/s")
        rate_ax.set_xlabel("offered publishes/s")
        p99_ax.axhline(100, color="#2c3e50", lw=0.8, ls="--", label="target 100 ms")
        p99_ax.set_yscale("log")
        p99_ax.set_title(f"{BACKENDS[backend]}: publish→receipt p99 (ms)")
        p99_ax.set_xlabel("offered publishes/s")
        for ax in (rate_ax, p99_ax):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

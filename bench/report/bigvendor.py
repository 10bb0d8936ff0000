"""The big-vendor section of `docs/benchmarks.md` and its plot, from `bench/.out/bigvendor.json`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

BACKENDS = {"postgres": "PostgreSQL + Redis", "sqlite": "embedded (SQLite)"}
OPS = {
    "create": "create",
    "page": "first page",
    "unread_page": "unread page",
    "count": "unread count",
}
TARGET = 1.5


def _ratio(big: float, fresh: float) -> float:
    return big / fresh if fresh else float("inf")


def section(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for backend, run in data.items():
        if "ops" not in run:
            continue
        lines += [
            f"**{BACKENDS.get(backend, backend)}**, a vendor with {run['count']:,} notifications "
            f"(filled in {run['fill_s']} s by `tocsin demo --vendor`'s bulk path) and a fresh one; "
            f"{run['calls']} sequential calls of each, the two vendors interleaved; measured "
            f"{run['measured_at']}, load average {run['load_before'][0]:.1f} before and "
            f"{run['load_after'][0]:.1f} after (2 cores).",
            "",
            "| operation | big p50 / p99 ms | fresh p50 / p99 ms | big ÷ fresh (p50 / p99) "
            "| bare driver, big p50 / p99 ms | bare driver, fresh p50 / p99 ms | target 1.5x |",
            "|---|---|---|---|---|---|---|",
        ]
        for op, label in OPS.items():
            r = run["ops"][op]
            big, fresh, bb, bf = r["big"], r["fresh"], r["bare_big"], r["bare_fresh"]
            p50, p99 = _ratio(big["p50"], fresh["p50"]), _ratio(big["p99"], fresh["p99"])
            met = (
                "met"
                if p50 <= TARGET and p99 <= TARGET
                else ("met at p50, missed at p99" if p50 <= TARGET else "**missed**")
            )
            lines.append(
                f"| {label} | {big['p50']:.1f} / {big['p99']:.1f} "
                f"| {fresh['p50']:.1f} / {fresh['p99']:.1f} | {p50:.2f} / {p99:.2f} "
                f"| {bb['p50']:.2f} / {bb['p99']:.2f} | {bf['p50']:.2f} / {bf['p99']:.2f} | {met} |"
            )
        m = run.get("mark_all_read")
        if m:
            during = m["creates_during"]
            lines += [
                "",
                f"Mark-all-read of the big vendor ({m['unread_before']:,} unread): 202 after "
                f"{m['to_202_s'] * 1000:.0f} ms, job {m['status']} after {m['to_done_s']:.1f} s "
                f"({m['updated']:,} changed); {during['count']} creates for the same vendor "
                f"meanwhile (20/s): p50 {during['p50']:.1f} ms, p99 {during['p99']:.1f} ms, "
                f"max {during['max']:.1f} ms. The bare driver's single `UPDATE` of the same rows "
                f"(rolled back) took {run['bare_mark_all_read_s']:.2f} s — as long as the "
                + (
                    "vendor's lock"
                    if backend == "postgres"
                    else "database's one writer (every vendor's writes)"
                )
                + " would be held if the change were one statement.",
            ]
        lines.append("")
    lines.append("![big vendor](bench-bigvendor.png)")
    return "\n".join(lines)


def plot(data: dict[str, Any], path: Path) -> None:
    runs = [(b, r) for b, r in data.items() if "ops" in r]
    if not runs:
        return
    fig, axes = plt.subplots(1, len(runs), figsize=(7.5 * len(runs), 4.5), dpi=110, squeeze=False)
    series = (
        ("big", "big vendor", "#c0392b"),
        ("fresh", "fresh vendor", "#2c3e50"),
        ("bare_big", "bare driver, big", "#e6a19a"),
        ("bare_fresh", "bare driver, fresh", "#95a5a6"),
    )
    for ax, (backend, run) in zip(axes[0], runs, strict=True):
        width = 0.2
        for i, (key, label, color) in enumerate(series):
            xs = [n + (i - 1.5) * width for n in range(len(OPS))]
            p50 = [run["ops"][op][key]["p50"] for op in OPS]
            p99 = [run["ops"][op][key]["p99"] for op in OPS]
            ax.bar(xs, p50, width, label=label, color=color)
            ax.scatter(xs, p99, marker="_", color="black", s=120, zorder=3)
        ax.set_xticks(range(len(OPS)), list(OPS.values()))
        ax.set_yscale("log")
        ax.set_ylabel("ms (bar p50, tick p99)")
        ax.set_title(f"{BACKENDS.get(backend, backend)}: {run['count']:,} notifications vs fresh")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

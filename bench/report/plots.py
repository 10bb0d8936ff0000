"""The report's PNG plots (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

STYLE = {
    "tocsin": {"color": "#c0392b", "marker": "o"},
    "channels": {"color": "#2c3e50", "marker": "s"},
    "raw": {"color": "#7f8c8d", "marker": "^"},
}


def _plain_log_axes(ax: Axes, y_log: bool) -> None:
    """Log axes labelled 100, 1,000 ... rather than 10^2, 10^3."""
    plain = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(NullFormatter())
    if y_log:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(NullFormatter())


def _levels(system: dict[str, Any]) -> list[dict[str, Any]]:
    fanout = system.get("fanout") or {}
    return [lv for lv in fanout.get("levels", []) if lv.get("open")]


def _short_label(name: str, system: dict[str, Any]) -> str:
    return {"tocsin": "tocsin", "channels": "old design (Channels)", "raw": "raw ceiling"}.get(
        name, system.get("label", name)
    )


def latency(results: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for name, system in results["systems"].items():
        levels = _levels(system)
        if not levels:
            continue
        xs = [lv["open"] for lv in levels]
        style = STYLE.get(name, {})
        label = _short_label(name, system)
        ax.plot(xs, [lv["paced"]["latency"]["p50"] for lv in levels], label=f"{label} p50", **style)
        ax.plot(
            xs,
            [lv["paced"]["latency"]["p99"] for lv in levels],
            label=f"{label} p99",
            linestyle="--",
            **style,
        )
    _plain_log_axes(ax, y_log=True)
    ax.set_xlabel("subscribers of one vendor (N)")
    ax.set_ylabel("publish → receipt (ms)")
    ax.set_title("Broadcast latency, one publish at a time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def rss(results: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for name, system in results["systems"].items():
        levels = _levels(system)
        if not levels:
            continue
        ax.plot(
            [lv["open"] for lv in levels],
            [lv["rss_per_stream"] / 1024 for lv in levels],
            label=_short_label(name, system),
            **STYLE.get(name, {}),
        )
    _plain_log_axes(ax, y_log=False)
    ax.set_xlabel("open streams (N)")
    ax.set_ylabel("server RSS per open stream (KB)")
    ax.set_title("Memory per idle stream")
    ax.set_ylim(bottom=0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def throughput(results: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for name, system in results["systems"].items():
        levels = _levels(system)
        if not levels:
            continue
        ax.plot(
            [lv["open"] for lv in levels],
            [lv["burst"]["deliveries_per_s"] for lv in levels],
            label=_short_label(name, system),
            **STYLE.get(name, {}),
        )
    _plain_log_axes(ax, y_log=True)
    ax.set_xlabel("subscribers of one vendor (N)")
    ax.set_ylabel("deliveries per second")
    ax.set_title("Broadcast throughput, back-to-back publishes")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_all(results: dict[str, Any], docs: Path) -> list[str]:
    """Write every plot into `docs`; return their file names."""
    docs.mkdir(parents=True, exist_ok=True)
    made = []
    for name, fn in (
        ("bench-latency.png", latency),
        ("bench-rss.png", rss),
        ("bench-throughput.png", throughput),
    ):
        fn(results, docs / name)
        made.append(name)
    return made

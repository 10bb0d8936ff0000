"""The report's tables, one function per section, from one run's results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NAMES = {"tocsin": "tocsin", "channels": "old design", "raw": "raw ceiling"}
CPU_GROUPS = ("server", "redis", "postgres", "generator", "other")
CPU_HEADER = "CPU % server / Redis / PG / generator / other"
TYPICAL_SECONDS = {"short": "about 2 minutes", "full": "about 12 minutes"}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def kb(n: float) -> str:
    return f"{n / 1024:.1f}"


def num(n: float) -> str:
    return f"{n:,.0f}"


def ms(lat: dict[str, Any], key: str) -> str:
    return f"{lat[key]:,.1f}" if lat.get("count") else "-"


def _levels(system: dict[str, Any]) -> list[dict[str, Any]]:
    return [lv for lv in (system.get("fanout") or {}).get("levels", []) if lv.get("open")]


def _level(system: dict[str, Any], n: int) -> dict[str, Any] | None:
    return next((lv for lv in _levels(system) if lv["n"] == n), None)


def _cpu(cpu: dict[str, float]) -> str:
    return " / ".join(f"{cpu.get(k, 0):.0f}" for k in CPU_GROUPS)


def machine(results: dict[str, Any]) -> str:
    m = results["machine"]
    rows = [
        ("tocsin revision", m.get("revision", "unknown")),
        ("CPU", f"{m['cpu']}, {m['cores']} cores"),
        ("memory", f"{m['ram_gib']} GiB"),
        ("system", f"{m['os']}, Linux {m['kernel']}"),
        ("Python", m["python"]),
        ("PostgreSQL / Redis", f"{m['postgresql']} / {m['redis_server']}"),
        ("packages", ", ".join(f"{k} {v}" for k, v in m["packages"].items())),
    ]
    return table(("", ""), rows)


def summary(results: dict[str, Any]) -> str:
    rows = []
    for name, s in results["systems"].items():
        if "error" in s and not s.get("fanout"):
            rows.append((NAMES.get(name, name), f"not run: {s['error']}", *[""] * 6))
            continue
        levels = _levels(s)
        top = levels[-1] if levels else None
        at1k = _level(s, 1000)
        peak = max((lv["burst"]["deliveries_per_s"] for lv in levels), default=0)
        mv = s.get("many_vendors") or {}
        cu = s.get("catchup") or {}
        po = s.get("polling") or {}
        rows.append(
            (
                NAMES.get(name, name),
                f"{kb(top['rss_per_stream'])} KB at {num(top['open'])}" if top else "-",
                f"{ms(at1k['paced']['latency'], 'p50')} / {ms(at1k['paced']['latency'], 'p99')}"
                if at1k
                else "-",
                num(peak) if peak else "-",
                f"{num(mv['deliveries_per_s'])} / {ms(mv['latency'], 'p99')}"
                if mv.get("latency")
                else "-",
                f"{cu['drain_seconds']:.2f} s ({num(cu['missed'])})"
                if cu.get("received")
                else "no replay",
                f"{num(po['requests_per_s'])} / {ms(po['latency'], 'p99')}"
                if po.get("latency")
                else "no poll",
                num(cu["publishes_per_s"]) if cu.get("published") else "-",
            )
        )
    return table(
        (
            "system",
            "RSS per stream",
            "N=1,000 p50 / p99 ms",
            "peak deliveries/s",
            "many vendors deliveries/s / p99 ms",
            "catch-up drain",
            "poll req/s / p99 ms",
            "publishes/s",
        ),
        rows,
    )


def targets(results: dict[str, Any]) -> str:
    systems = results["systems"]
    t, old, raw = systems.get("tocsin", {}), systems.get("channels", {}), systems.get("raw", {})
    if not _levels(t):
        return "tocsin did not run, so no target can be judged."
    rows = []
    top = _levels(t)[-1]
    at10k = _level(t, 10_000)
    if at10k:
        ok = at10k["open"] >= 10_000 and at10k["rss_per_stream"] < 30 * 1024
        rows.append(
            (
                "10,000 open streams at < 30 KB each",
                f"{num(at10k['open'])} open, {kb(at10k['rss_per_stream'])} KB each",
                "met" if ok else "**missed**",
            )
        )
    else:
        rows.append(
            (
                "10,000 open streams at < 30 KB each",
                f"not reached in this run (largest: {num(top['open'])} at "
                f"{kb(top['rss_per_stream'])} KB)",
                "-",
            )
        )
    t1k, o1k, r1k = _level(t, 1000), _level(old, 1000), _level(raw, 1000)
    if t1k:
        p99 = t1k["paced"]["latency"]["p99"]
        rows.append(
            (
                "broadcast to 1,000: p99 < 50 ms",
                f"{p99:.1f} ms",
                "met" if p99 < 50 else "**missed**",
            )
        )
    if t1k and o1k:
        ratio = t1k["burst"]["deliveries_per_s"] / max(1.0, o1k["burst"]["deliveries_per_s"])
        p99_ok = t1k["paced"]["latency"]["p99"] <= o1k["paced"]["latency"]["p99"]
        rows.append(
            (
                "≥ 3x the old design's deliveries/s at an equal or better p99 (N=1,000)",
                f"{ratio:.1f}x; p99 {t1k['paced']['latency']['p99']:.1f} vs "
                f"{o1k['paced']['latency']['p99']:.1f} ms",
                "met" if ratio >= 3 and p99_ok else "**missed**",
            )
        )
    if t1k and r1k:
        ratio = r1k["burst"]["deliveries_per_s"] / max(1.0, t1k["burst"]["deliveries_per_s"])
        p99_ratio = t1k["paced"]["latency"]["p99"] / max(0.01, r1k["paced"]["latency"]["p99"])
        rows.append(
            (
                "within 2x of the raw ceiling (N=1,000)",
                f"raw ceiling delivers {ratio:.1f}x as fast; tocsin's p99 is {p99_ratio:.1f}x its",
                "met" if ratio <= 2 and p99_ratio <= 2 else "**missed**",
            )
        )
    return table(("target (issue 6)", "measured", ""), rows)


def idle(results: dict[str, Any]) -> str:
    rows = []
    for name, s in results["systems"].items():
        for lv in _levels(s):
            rows.append(
                (
                    NAMES.get(name, name),
                    num(lv["n"]),
                    num(lv["open"]),
                    f"{lv['rss'] / 2**20:.0f}",
                    kb(lv["rss_per_stream"]),
                    f"{lv['connect']['seconds']:.1f}",
                )
            )
    return table(
        ("system", "N wanted", "open", "server RSS MiB", "KB per stream", "connect s"), rows
    )


def broadcast(results: dict[str, Any]) -> str:
    rows = []
    for name, s in results["systems"].items():
        for lv in _levels(s):
            p, b = lv["paced"], lv["burst"]
            rows.append(
                (
                    NAMES.get(name, name),
                    num(lv["open"]),
                    ms(p["latency"], "p50"),
                    ms(p["latency"], "p99"),
                    ms(p["latency"], "max"),
                    f"{p['delivered']}/{p['expected']}",
                    num(b["deliveries_per_s"]),
                    f"{ms(b['latency'], 'p50')} / {ms(b['latency'], 'p99')}",
                    f"{b['delivered']}/{b['expected']}",
                    _cpu(b["cpu"]),
                )
            )
    return table(
        (
            "system",
            "N",
            "p50 ms",
            "p99 ms",
            "max ms",
            "delivered",
            "burst deliveries/s",
            "burst p50 / p99 ms",
            "burst delivered",
            CPU_HEADER,
        ),
        rows,
    )


def many_vendors(results: dict[str, Any]) -> str:
    rows = []
    for name, s in results["systems"].items():
        mv = s.get("many_vendors") or {}
        if "latency" not in mv:
            if mv.get("error"):
                rows.append((NAMES.get(name, name), f"error: {mv['error']}", *[""] * 7))
            continue
        rows.append(
            (
                NAMES.get(name, name),
                f"{num(mv['vendors'])} / {num(mv['streams'])}",
                f"{mv['publishes_per_s']:.0f} (of {mv['rate']:.0f})",
                num(mv["deliveries_per_s"]),
                f"{mv['delivered']}/{mv['expected']}",
                f"{ms(mv['latency'], 'p50')} / {ms(mv['latency'], 'p99')} / "
                f"{ms(mv['latency'], 'max')}",
                f"{ms(mv['publish']['latency'], 'p50')} / {ms(mv['publish']['latency'], 'p99')}",
                f"{mv['rss'] / 2**20:.0f}",
                _cpu(mv["cpu"]),
            )
        )
    return table(
        (
            "system",
            "vendors / streams",
            "publishes/s",
            "deliveries/s",
            "delivered",
            "p50 / p99 / max ms",
            "publish call p50 / p99 ms",
            "RSS MiB",
            CPU_HEADER,
        ),
        rows,
    )


def catchup(results: dict[str, Any]) -> str:
    rows = []
    for name, s in results["systems"].items():
        cu = s.get("catchup")
        if cu is None:
            rows.append((NAMES.get(name, name), "no replay: missed events are lost", *[""] * 5))
            continue
        if "error" in cu:
            rows.append((NAMES.get(name, name), f"error: {cu['error']}", *[""] * 5))
            continue
        rows.append(
            (
                NAMES.get(name, name),
                num(cu["missed"]),
                f"{cu['drain_seconds']:.3f}",
                num(cu["events_per_s"]),
                "yes" if cu["complete"] else "**no**",
                f"{num(cu['publishes_per_s'])} ({ms(cu['publish']['latency'], 'p50')} / "
                f"{ms(cu['publish']['latency'], 'p99')} ms)",
                f"{cu['relay_seconds']:.2f}",
            )
        )
    return table(
        (
            "system",
            "missed events",
            "drain s",
            "events/s",
            "all, in order, once",
            "publishes/s, 16 in flight (p50 / p99)",
            "all in the log after s",
        ),
        rows,
    )


def polling(results: dict[str, Any]) -> str:
    rows = []
    for name, s in results["systems"].items():
        po = s.get("polling")
        if po is None:
            rows.append((NAMES.get(name, name), "no polling endpoint", *[""] * 4))
            continue
        if "error" in po:
            rows.append((NAMES.get(name, name), f"error: {po['error']}", *[""] * 4))
            continue
        rows.append(
            (
                NAMES.get(name, name),
                f"{po['concurrency']} x {po['seconds']:.0f} s",
                num(po["requests_per_s"]),
                f"{ms(po['latency'], 'p50')} / {ms(po['latency'], 'p99')} / "
                f"{ms(po['latency'], 'max')}",
                ", ".join(f"{k}: {v}" for k, v in po["statuses"].items()),
                _cpu(po["cpu"]),
            )
        )
    return table(
        (
            "system",
            "clients x time",
            "requests/s",
            "p50 / p99 / max ms",
            "answers",
            CPU_HEADER,
        ),
        rows,
    )


def problems(results: dict[str, Any]) -> str:
    lines = []
    for name, s in results["systems"].items():
        label = NAMES.get(name, name)
        if s.get("error"):
            lines.append(f"- {label}: not run — {s['error']}")
        for key in ("fanout", "many_vendors", "catchup", "polling"):
            if isinstance(s.get(key), dict) and s[key].get("error"):
                lines.append(f"- {label}, {key.replace('_', ' ')}: {s[key]['error']}")
        other = (s.get("cpu") or {}).get("other", 0.0)
        if other >= 20:
            lines.append(
                f"- {label}: unrelated processes used {other:.0f}% of a core on average "
                "while it ran; its figures are noisier than they would be on an idle machine"
            )
        if s.get("errors_logged"):
            lines.append(
                f"- {label}: the server logged {s['errors_logged']} tracebacks during the run"
            )
        for what, count in (s.get("log_counts") or {}).items():
            if count:
                lines.append(f"- {label}: {what}: {count}")
        for lv in _levels(s):
            if lv["open"] < lv["n"]:
                lines.append(
                    f"- {label}: {lv['open']} of {lv['n']} streams still open when measured "
                    f"(answers to this level's connects: {lv['connect']['statuses']})"
                )
        mv = s.get("many_vendors") or {}
        if mv.get("expected") and mv.get("delivered", 0) < mv["expected"]:
            lines.append(
                f"- {label}, many vendors: {mv['delivered']} of {mv['expected']} deliveries arrived"
            )
    return "\n".join(lines) if lines else "None: every stream opened and every system ran clean."

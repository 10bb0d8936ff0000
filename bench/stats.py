"""Percentiles over latency samples (nanoseconds in, milliseconds out)."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(sorted_values: Sequence[int], q: float) -> int:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return 0
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def summarize(latencies_ns: Sequence[int]) -> dict[str, float]:
    """p50, p90, p99, max and mean in milliseconds, plus the sample count."""
    values = sorted(latencies_ns)
    if not values:
        return {"count": 0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    ms = 1e6
    return {
        "count": len(values),
        "p50": round(percentile(values, 50) / ms, 2),
        "p90": round(percentile(values, 90) / ms, 2),
        "p99": round(percentile(values, 99) / ms, 2),
        "max": round(values[-1] / ms, 2),
        "mean": round(sum(values) / len(values) / ms, 2),
    }

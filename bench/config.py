"""Scenario sizes for the short and the full run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    levels: tuple[int, ...]  # subscribers of one vendor: idle RSS, then broadcast at each
    paced_events: int  # broadcasts one at a time, each waited for: latency
    burst_deliveries: int  # back-to-back broadcasts sized to about this many deliveries
    burst_max_events: int
    vendors: int  # many-vendors scenario: vendors, each with 1-3 tabs
    vendor_rate: float  # publishes per second, spread over random vendors
    vendor_seconds: float
    vendor_drain_seconds: float  # how long to wait for the last deliveries after publishing
    catchup_events: int  # events missed before the reconnect
    poll_seconds: float
    poll_concurrency: int
    workers: int = 2  # generator processes
    fanout_only: bool = False  # idle + broadcast only (the scale runs)
    server_workers: int = 1  # tocsin's `serve --workers`


SHORT = Profile(
    name="short",
    levels=(100, 1000, 2000),
    paced_events=8,
    burst_deliveries=6_000,
    burst_max_events=100,
    vendors=600,
    vendor_rate=100.0,
    vendor_seconds=4.0,
    vendor_drain_seconds=5.0,
    catchup_events=1000,
    poll_seconds=4.0,
    poll_concurrency=32,
)

FULL = Profile(
    name="full",
    levels=(100, 1000, 5000, 10_000),
    paced_events=20,
    burst_deliveries=30_000,
    burst_max_events=200,
    vendors=2000,
    vendor_rate=200.0,
    vendor_seconds=30.0,
    vendor_drain_seconds=15.0,
    catchup_events=10_000,
    poll_seconds=15.0,
    poll_concurrency=32,
)

# Issue 12: one process up to 20,000 streams, against the bare server in the same run.
SCALE = Profile(
    name="scale",
    levels=(1000, 5000, 10_000, 19_500),  # 20,000 needs more than the hard limit of open files here
    paced_events=20,
    burst_deliveries=40_000,
    burst_max_events=200,
    vendors=0,
    vendor_rate=0.0,
    vendor_seconds=0.0,
    vendor_drain_seconds=0.0,
    catchup_events=0,
    poll_seconds=0.0,
    poll_concurrency=0,
    workers=4,
    fanout_only=True,
)

# Issue 12: 50,000 streams over `tocsin serve --workers 3` (the bare server stays one process).
# Three workers on two cores: a process holds at most RLIMIT_NOFILE's hard limit of streams.
WORKERS = Profile(
    name="workers",
    levels=(10_000, 30_000, 50_000),
    paced_events=10,
    burst_deliveries=100_000,
    burst_max_events=100,
    vendors=0,
    vendor_rate=0.0,
    vendor_seconds=0.0,
    vendor_drain_seconds=0.0,
    catchup_events=0,
    poll_seconds=0.0,
    poll_concurrency=0,
    workers=4,
    fanout_only=True,
    server_workers=3,
)

# RSS per stream and broadcast latency at 1,000, 5,000 and 10,000 streams in one
# process, without the scale profile's ~40,000 loopback sockets.
FANOUT = Profile(
    name="fanout",
    levels=(1000, 5000, 10_000),
    paced_events=20,
    burst_deliveries=40_000,
    burst_max_events=200,
    vendors=0,
    vendor_rate=0.0,
    vendor_seconds=0.0,
    vendor_drain_seconds=0.0,
    catchup_events=0,
    poll_seconds=0.0,
    poll_concurrency=0,
    workers=2,
    fanout_only=True,
)

PROFILES = {p.name: p for p in (SHORT, FULL, SCALE, WORKERS, FANOUT)}

"""Benchmark harness: tocsin beside the old Channels design and a raw asyncio ceiling.

Run with `make bench` (full) or `make bench-short`; see `docs/benchmarks.md`.
Nothing here is part of the test suite.
"""

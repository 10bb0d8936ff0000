"""Turns a results file into `docs/benchmarks.md` and its PNG plots."""

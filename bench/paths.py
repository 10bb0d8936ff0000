"""Where things live: the repository, the run's output folder, the report."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / ".out"
DOCS = ROOT / "docs"
REPORT = DOCS / "benchmarks.md"
VENV_BIN = ROOT / ".venv" / "bin"

from __future__ import annotations

from pathlib import Path
from typing import Any


def write(results: dict[str, Any], report: Path, docs: Path) -> None:
    pass
